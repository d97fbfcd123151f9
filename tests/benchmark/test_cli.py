"""The command line: `train` is implied, both forms parse the same, help documents every option."""

from __future__ import annotations

import pytest

from aesthetic.benchmark.cli import _with_default_command, build_parser, main
from aesthetic.benchmark.config import TrainConfig, from_values, parsed_values


def test_train_is_the_default_command() -> None:
    parser = build_parser()
    implied = parser.parse_args(_with_default_command(["--model", "mracnn", "--corpus", "c", "--out", "o"]))
    explicit = parser.parse_args(_with_default_command(["train", "--model", "mracnn", "--corpus", "c", "--out", "o"]))
    assert implied == explicit and implied.command == "train"
    cfg = from_values(TrainConfig, parsed_values(TrainConfig, implied))
    assert cfg.batch_size == 32 and cfg.lr == 1e-3 and cfg.model.glimpses == 3 and cfg.model.fusion == "mfb"


def test_evaluate_parses() -> None:
    args = build_parser().parse_args(["evaluate", "--checkpoint", "b.pt", "--corpus", "c"])
    assert args.command == "evaluate" and args.out is None


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["evaluate", "--help"]])
def test_help_exits_zero(argv, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "--corpus" in out or "train" in out


def test_train_help_documents_the_issue_flags(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for flag in ("--model", "--corpus", "--images", "--out", "--trunk", "--trunk-weights", "--glove", "--glimpses",
                 "--lstm-layers", "--fusion", "--epochs", "--batch-size", "--lr", "--device", "--limit", "--seed",
                 "--resume", "--compare-paper", "--image-size", "--freeze-trunk", "--workers", "--quiet",
                 "--allow-missing-images", "--cache-dir"):
        assert flag in out, flag
    # A bare % in a help string makes argparse print its internal dict (which also holds the raw text).
    assert "more than 0.5% are missing or unreadable" in " ".join(out.split()) and "option_strings" not in out


def test_bad_choices_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--model", "nope", "--corpus", "c", "--out", "o"])
    assert stop.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--batch-size", "0"), ("--epochs", "0"), ("--patience", "0"),
                                             ("--limit", "0"), ("--workers", "-1"), ("--batch-size", "x"),
                                             ("--image-size", "0")])
def test_counts_out_of_range_are_usage_errors(flag, value, capsys) -> None:
    # --batch-size 0 used to end in a DataLoader traceback, --epochs 0 in "best.pt: checkpoint not found",
    # --limit 0 and --image-size 0 in silently using every image / the trunk's own size.
    with pytest.raises(SystemExit) as stop:
        main(["--model", "text", "--corpus", "c", "--out", "o", flag, value])
    assert stop.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
