"""A run SIGKILLed after a checkpoint and resumed ends exactly like one that never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.benchmark.cli import main
from aesthetic.benchmark.train import KILL_AFTER_EPOCH_ENV, load_checkpoint
from tests.benchmark.conftest import train_args

REPO = Path(__file__).resolve().parents[2]


def _args(tiny_corpus, cache: Path, out: Path) -> list[str]:
    corpus, images = tiny_corpus
    return ["--model", "mracnn", *train_args(corpus, images, out, cache), "--epochs", "3", "--seed", "7", "--limit", "48"]


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_same_final_metrics(tiny_corpus, image_cache, tmp_path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(_args(tiny_corpus, image_cache, whole)) == 0

    env = {**os.environ, KILL_AFTER_EPOCH_ENV: "0", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "aesthetic.benchmark.cli", *_args(tiny_corpus, image_cache, killed)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert load_checkpoint(killed / "checkpoints" / "last.pt")["epoch"] == 0      # one epoch done, then killed
    assert not (killed / "metrics.json").exists()

    assert main([*_args(tiny_corpus, image_cache, killed), "--resume"]) == 0
    a = json.loads((whole / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert a["metrics"] == b["metrics"]                                       # bit-for-bit, not approximately
    assert [h["val_loss"] for h in a["history"]] == [h["val_loss"] for h in b["history"]]
    assert pq.read_table(whole / "predictions.parquet").equals(pq.read_table(killed / "predictions.parquet"))


@pytest.mark.slow
def test_resume_refuses_other_settings_and_fresh_runs_refuse_an_old_run(tiny_corpus, image_cache, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    args = _args(tiny_corpus, image_cache, out)
    args[args.index("--epochs") + 1] = "1"
    assert main(args) == 0
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--resume", "--seed", "8"]) == 2
    assert "seed: 7 -> 8" in capsys.readouterr().err
