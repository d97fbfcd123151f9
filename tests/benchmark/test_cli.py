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
    assert cfg.amp and not cfg.model.freeze_trunk
    switched = parser.parse_args(["train", "--model", "text", "--corpus", "c", "--out", "o", "--no-amp",
                                  "--freeze-trunk", "--glimpses", "5"])
    cfg = from_values(TrainConfig, parsed_values(TrainConfig, switched))
    assert not cfg.amp and cfg.model.freeze_trunk and (cfg.model.name, cfg.model.glimpses) == ("text", 5)


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
                 "--allow-missing-images", "--cache-dir", "--vision-head", "--vgg-cut", "--attn-score", "--lstm-init",
                 "--mfb-dropout", "--vocabulary"):
        assert flag in out, flag
    # A bare % in a help string makes argparse print its internal dict (which also holds the raw text).
    assert "more than 0.5% are missing or unreadable" in " ".join(out.split()) and "option_strings" not in out


def test_bad_choices_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--model", "nope", "--corpus", "c", "--out", "o"])
    assert stop.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--batch-size", "0", "must be >= 1"), ("--epochs", "0", "must be >= 1"), ("--patience", "0", "must be >= 1"),
    ("--limit", "0", "must be >= 1"), ("--workers", "-1", "must be >= 0"), ("--batch-size", "x", "not an integer"),
    ("--image-size", "0", "must be >= 1"),
    # Until they were declared with their bounds these reached the run: --lr -1 as a ValueError traceback from
    # Adam (after config.json was written), --dropout 1 and --glimpses 0 as errors only when the model was built,
    # --seed -1 as a numpy traceback when a validation split is held out, the rest silently.
    ("--lr", "-1", "must be > 0"), ("--lr", "0", "must be > 0"), ("--lr", "nan", "not a finite number"),
    ("--dropout", "1", "must be in [0, 1)"), ("--dropout", "-0.1", "must be in [0, 1)"),
    ("--mfb-dropout", "1", "must be in [0, 1)"), ("--vision-head", "fc", "invalid choice: 'fc'"),
    ("--attn-score", "each", "invalid choice: 'each'"), ("--vgg-cut", "conv4_3", "invalid choice: 'conv4_3'"),
    ("--glimpses", "0", "must be >= 1"), ("--lstm-layers", "0", "must be >= 1"), ("--lstm-hidden", "0", "must be >= 1"),
    ("--attn-hidden", "0", "must be >= 1"), ("--mfb-k", "0", "must be >= 1"), ("--mfb-o", "0", "must be >= 1"),
    ("--text-maps", "0", "must be >= 1"), ("--embed-dim", "0", "must be >= 1"), ("--seed", "-1", "must be >= 0"),
    ("--threshold", "0.5", "must be >= 1"), ("--threshold", "inf", "not a finite number"),
])
def test_values_out_of_range_are_usage_errors_and_create_nothing(flag, value, message, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        main(["--model", "mracnn", "--corpus", str(tmp_path), "--out", str(out), flag, value])
    assert stop.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err
    assert not out.exists()


# Each case in a fresh interpreter: (argv, what stderr says). The checks that need no data all
# come back before torch is imported (it takes about 2 s and 0.9 GB), and create nothing.
_BEFORE_TORCH = """
import contextlib, io, json, sys
from aesthetic.benchmark.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    try:
        rc = main(json.loads(sys.argv[1]))
    except SystemExit as stop:
        rc = stop.code
print(json.dumps([rc, "torch" in sys.modules, err.getvalue()]))
"""


def test_command_line_mistakes_are_refused_before_torch_is_imported(tmp_path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "corpus").mkdir()
    (tmp_path / "a-file").write_text("x")
    out = str(tmp_path / "run")
    train = ["--model", "mracnn", "--corpus", str(tmp_path / "corpus"), "--out", out]
    cases = [
        (["--model", "text", "--corpus", str(tmp_path / "nowhere"), "--out", out], "nowhere: corpus folder not found"),
        ([*train, "--images", str(tmp_path / "noimages")], "noimages: image folder not found"),
        ([*train, "--trunk-weights", str(tmp_path / "gone.pth")], "gone.pth: PyTorch weights file not found"),
        ([*train, "--glove", str(tmp_path / "gone.txt")], "gone.txt: word-vector file not found"),
        ([*train, "--cache-dir", str(tmp_path / "a-file")], "--cache-dir"),
        ([*train, "--lr", "-1"], "argument --lr: must be > 0, got -1"),
        ([*train, "--trunk", "resnet"], "argument --trunk: invalid choice: 'resnet'"),
        (["evaluate", "--checkpoint", str(tmp_path / "best.pt"), "--corpus", str(tmp_path / "corpus")],
         "best.pt: checkpoint not found"),
        (["suite", "--corpus", str(tmp_path / "nowhere"), "--out", out], "nowhere: corpus folder not found"),
        (["suite", "--corpus", str(tmp_path / "corpus"), "--out", out, "--tables", "V"], "unknown table V"),
        (["suite", "--corpus", str(tmp_path / "corpus"), "--out", out, "--trunk-weights", "vgg16=gone.pth"],
         "gone.pth: PyTorch weights file not found"),
        (["--help"], ""),
    ]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-c", _BEFORE_TORCH, json.dumps(argv)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        rc, torch_loaded, err = json.loads(proc.stdout)
        assert (rc, torch_loaded) == (0 if argv == ["--help"] else 2, False), (argv, err)
        assert message in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "corpus"]
