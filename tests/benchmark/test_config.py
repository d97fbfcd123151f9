"""One declaration per option: a dataclass field is the flag, its bound, config.json's entry and the checkpoint's."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from aesthetic.benchmark.config import (
    ModelConfig,
    TrainConfig,
    add_options,
    changed_settings,
    from_dict,
    from_values,
    option,
    parsed_values,
    settings,
    with_values,
)
from aesthetic.core.argtypes import int_at_least
from aesthetic.core.errors import UserError


@dataclass
class KnobModelConfig(ModelConfig):
    knob: int = option(7, help="a model option added for this test", type=int_at_least(2))


@dataclass
class KnobTrainConfig(TrainConfig):
    model: KnobModelConfig


def _options(cls: type = TrainConfig) -> dict:
    return {s.name: s.option for s in settings(cls) if s.option}


def test_the_command_line_offers_exactly_the_registered_names() -> None:
    from aesthetic.benchmark.models import MODELS
    from aesthetic.benchmark.models.baselines import VISION_HEADS
    from aesthetic.benchmark.models.mracnn import ATTENTION_SCORES, FUSION_LAYERS, LSTM_INITS
    from aesthetic.benchmark.models.trunks import DEFAULT_VGG_CUT, TRUNKS, VGG_CUTS

    options = _options()
    assert sorted(options["model.name"].choices) == sorted(MODELS)
    assert tuple(options["model.trunk"].choices) == tuple(TRUNKS)
    assert tuple(options["model.fusion"].choices) == tuple(FUSION_LAYERS)
    assert tuple(options["model.vision_head"].choices) == tuple(VISION_HEADS)
    assert tuple(options["model.attn_score"].choices) == tuple(ATTENTION_SCORES)
    assert tuple(options["model.vgg_cut"].choices) == tuple(VGG_CUTS)
    assert tuple(options["model.lstm_init"].choices) == tuple(LSTM_INITS)
    assert ModelConfig(name="mracnn").vgg_cut == DEFAULT_VGG_CUT


def test_every_option_is_bounded_chosen_a_path_or_a_switch() -> None:
    # A new numeric option cannot forget its bound: it would reach the run unchecked.
    for s in settings(TrainConfig):
        if s.option is not None:
            assert isinstance(s.field.default, bool) or s.option.type or s.option.choices or s.option.path, s.name


def test_a_field_added_to_the_dataclass_is_a_flag_a_config_entry_and_round_trips(tiny_corpus, tmp_path, capsys) -> None:
    """Declaring `knob` above is all it took: --help, the bound, config.json, the checkpoint, --resume."""
    from aesthetic.benchmark.checkpoint import checkpoint_config, load_checkpoint
    from aesthetic.benchmark.runtime import setup_runtime
    from aesthetic.benchmark.train import train

    parser = argparse.ArgumentParser(prog="p")
    add_options(parser, KnobTrainConfig)
    help_text = " ".join(parser.format_help().split())
    assert "--knob KNOB a model option added for this test (default 7)" in help_text
    with pytest.raises(SystemExit):
        parser.parse_args(["--model", "text", "--corpus", "c", "--out", "o", "--knob", "1"])
    assert "argument --knob: must be >= 2, got 1" in capsys.readouterr().err

    corpus, _ = tiny_corpus
    run = tmp_path / "run"
    args = parser.parse_args(["--model", "text", "--corpus", str(corpus), "--out", str(run), "--knob", "3",
                              "--limit", "16", "--batch-size", "16", "--epochs", "1", "--text-maps", "4",
                              "--embed-dim", "8", "--device", "cpu"])
    cfg = from_values(KnobTrainConfig, parsed_values(KnobTrainConfig, args))
    assert cfg.model.knob == 3
    train(cfg, setup_runtime("cpu"))
    assert json.loads((run / "config.json").read_text())["config"]["model"]["knob"] == 3
    best = run / "checkpoints" / "best.pt"
    saved = checkpoint_config(load_checkpoint(best), best, KnobTrainConfig)
    assert saved == with_values(cfg, {"model.n_bins": 10, "model.vocab_size": saved.model.vocab_size,
                                      "model.vector_dim": 8})
    with pytest.raises(UserError, match="--knob: 3 -> 4"):
        train(with_values(cfg, {"model.knob": 4}), setup_runtime("cpu"), resume=True)


def test_config_round_trips_through_dicts_and_json_and_refuses_unknown_settings() -> None:
    cfg = TrainConfig(model=ModelConfig(name="text", text_heights=(2, 3)), corpus="c", out="o", lr=0.5)
    assert from_dict(TrainConfig, asdict(cfg)) == cfg
    assert from_dict(TrainConfig, json.loads(json.dumps(asdict(cfg)))) == cfg      # lists back to tuples
    with pytest.raises(ValueError, match="unknown setting.*wobble"):
        from_dict(TrainConfig, {**asdict(cfg), "wobble": 1})
    with pytest.raises(ValueError, match="unknown setting.*wobble"):
        from_dict(TrainConfig, {**asdict(cfg), "model": {**asdict(cfg.model), "wobble": 1}})


def test_with_values_reaches_into_the_nesting() -> None:
    cfg = TrainConfig(model=ModelConfig(name="mracnn"), corpus="c", out="o")
    changed = with_values(cfg, {"model.glimpses": 1, "lr": 0.01})
    assert (changed.model.glimpses, changed.lr, changed.model.name, changed.corpus) == (1, 0.01, "mracnn", "c")
    assert cfg.model.glimpses == 3                                                  # a copy, not an edit


def test_resume_compares_what_changes_results_and_nothing_else() -> None:
    base = TrainConfig(model=ModelConfig(name="mracnn"), corpus="c", out="o")
    assert changed_settings(base, base) == {}
    harmless = with_values(base, {"epochs": 9, "workers": 2, "device": "cpu", "cache_dir": "x", "compare_paper": True})
    assert changed_settings(base, harmless) == {}
    resolved = with_values(base, {"model.n_bins": 7, "model.vocab_size": 99, "model.vector_dim": 50})
    assert changed_settings(resolved, base) == {}
    other = with_values(base, {"model.glimpses": 1, "lr_step": 5, "seed": 3})
    assert changed_settings(base, other) == {"--glimpses": (3, 1), "--seed": (0, 3), "lr_step": (10, 5)}


def test_paths_are_checked_outputs_first(tmp_path: Path) -> None:
    from aesthetic.benchmark.config import check_paths

    (tmp_path / "file").write_text("x")
    values = {"corpus": str(tmp_path / "nowhere"), "out": str(tmp_path / "file" / "run")}
    with pytest.raises(UserError, match="--out .* cannot be created"):
        check_paths(TrainConfig, values)
    with pytest.raises(UserError, match="nowhere: corpus folder not found"):
        check_paths(TrainConfig, {**values, "out": str(tmp_path / "run")})
    with pytest.raises(UserError, match=r"file: not a folder \(--corpus takes the corpus folder\)"):
        check_paths(TrainConfig, {"corpus": str(tmp_path / "file")})
    with pytest.raises(UserError, match="gone.pth: PyTorch weights file not found"):
        check_paths(TrainConfig, {"corpus": str(tmp_path), "model.trunk_weights": str(tmp_path / "gone.pth")})
    check_paths(TrainConfig, {"corpus": str(tmp_path), "images": None, "glove": str(tmp_path / "file")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]                    # nothing created
