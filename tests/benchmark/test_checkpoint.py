"""Damaged, foreign or old checkpoints are one clear line; PyTorch's advice to load unsafely never reaches the user."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from aesthetic.benchmark.checkpoint import CHECKPOINT_FORMAT, load_checkpoint
from aesthetic.benchmark.cli import main
from aesthetic.benchmark.models.trunks import Trunk
from aesthetic.core.errors import UserError


def _saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


GOOD = _saved({"format": CHECKPOINT_FORMAT, "model": {"w": torch.zeros(64, 64)}})
DAMAGED = {
    "truncated": (GOOD[: len(GOOD) // 2], "the file is damaged or truncated"),
    "flipped": (GOOD[:200] + bytes(b ^ 0xFF for b in GOOD[200:400]) + GOOD[400:], "the file is damaged or truncated"),
    "empty": (b"", "the file is empty"),
    "junk": (b"this is not a checkpoint", "not a PyTorch file"),
    "objects": (_saved({"format": CHECKPOINT_FORMAT, "layer": torch.nn.Linear(2, 2)}),
                "it holds Python objects (torch.nn.modules.linear.Linear) beyond tensors and plain values"),
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_checkpoint_is_one_line_without_pytorchs_advice(damage, tiny_corpus, tmp_path, capsys) -> None:
    data, reason = DAMAGED[damage]
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(data)
    corpus, images = tiny_corpus
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--corpus", str(corpus), "--images", str(images),
                 "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aesthetic-benchmark: error: {checkpoint}: not a readable checkpoint: {reason}"), err
    assert err.count("\n") == 1 and "weights_only" not in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


def test_weights_that_hold_a_whole_model_say_so_without_pytorchs_advice(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UserError) as caught:
        Trunk("mobilenet_v2", path)
    assert "not a readable PyTorch weights file: it holds Python objects" in str(caught.value)
    assert "weights_only" not in str(caught.value)


@pytest.mark.parametrize(("payload", "found"), [
    ({"format": "aesthetic-benchmark-checkpoint/1", "train_config": {}}, "format 'aesthetic-benchmark-checkpoint/1'"),
    ({"w": torch.zeros(1)}, "no aesthetic-benchmark format"),
    ([1, 2], "no aesthetic-benchmark format"),
])
def test_checkpoints_of_another_format_are_refused(payload, found, tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(UserError, match=f"other.pt: not a checkpoint this version reads \\({found}; expected "):
        load_checkpoint(path)


# The settings format 3 added (issue 10); a format-2 checkpoint's config has none of them.
FORMAT_3_MODEL_SETTINGS = ("vision_head", "vgg_cut", "attn_score", "mfb_dropout", "map_locations")


def _as_format_2(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["format"] = "aesthetic-benchmark-checkpoint/2"
    for name in FORMAT_3_MODEL_SETTINGS:
        del payload["config"]["model"][name]
    torch.save(payload, path)


def test_a_format_2_checkpoint_rebuilds_the_pooled_vision_model_it_was(tiny_corpus, image_cache, tmp_path) -> None:
    """Format 2's vision models pooled the feature map; `--vision-head full` is today's default, so a
    format-2 config reads back as pooled, and evaluates to the numbers it trained to."""
    import json

    from tests.benchmark.conftest import train_args

    corpus, images = tiny_corpus
    run = tmp_path / "run"
    assert main(["--model", "vision", *train_args(corpus, images, run, image_cache), "--epochs", "1",
                 "--limit", "16"]) == 0
    _as_format_2(run / "checkpoints" / "best.pt")
    assert load_checkpoint(run / "checkpoints" / "best.pt")["config"]["model"]["vision_head"] == "pooled"
    assert main(["evaluate", "--checkpoint", str(run / "checkpoints" / "best.pt"), "--corpus", str(corpus),
                 "--images", str(images), "--out", str(tmp_path / "eval"), "--limit", "16", "--device", "cpu",
                 "--quiet"]) == 0
    trained = json.loads((run / "metrics.json").read_text())["metrics"]
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["metrics"] == trained


def test_a_format_2_mfb_run_is_not_resumed(tiny_corpus, image_cache, tmp_path, capsys) -> None:
    """Its MFB dropped after the sum pooling: evaluate reads it, --resume would not continue the same training."""
    from tests.benchmark.conftest import train_args

    corpus, images = tiny_corpus
    args = ["--model", "mracnn", *train_args(corpus, images, tmp_path / "run", image_cache), "--limit", "16"]
    assert main([*args, "--epochs", "1"]) == 0
    _as_format_2(tmp_path / "run" / "checkpoints" / "last.pt")
    capsys.readouterr()
    assert main([*args, "--epochs", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "last.pt: written by an earlier version whose MFB applied its dropout after the sum pooling" in err
