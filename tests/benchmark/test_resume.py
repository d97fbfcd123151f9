"""A run SIGKILLed after a checkpoint and resumed ends exactly like one that never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.benchmark.cli import main
from aesthetic.benchmark.checkpoint import load_checkpoint
from tests.benchmark.conftest import train_args

REPO = Path(__file__).resolve().parents[2]


def _args(tiny_corpus, cache: Path, out: Path) -> list[str]:
    corpus, images = tiny_corpus
    return ["--model", "mracnn", *train_args(corpus, images, out, cache), "--epochs", "3", "--seed", "7", "--limit", "48"]


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_same_final_metrics(tiny_corpus, image_cache, tmp_path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(_args(tiny_corpus, image_cache, whole)) == 0

    # A real process, killed from outside as soon as its first checkpoint lands (mid-epoch 2, typically).
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "aesthetic.benchmark.cli", *_args(tiny_corpus, image_cache, killed)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = killed / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 240
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    stderr = proc.communicate(timeout=60)[1].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, stderr[-2000:]
    assert load_checkpoint(last)["loop"]["epochs_done"] < 3         # killed before the last epoch was saved
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
    assert "--seed: 7 -> 8" in capsys.readouterr().err
