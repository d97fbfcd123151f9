"""`torchrun --nproc_per_node 2` (gloo on CPU) trains with DistributedDataParallel and writes one run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aesthetic.benchmark.checkpoint import load_checkpoint
from tests.benchmark.conftest import train_args

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tiny_corpus, tmp_path) -> None:
    corpus, images = tiny_corpus
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "aesthetic.benchmark.cli", "--model", "mracnn",
           *train_args(corpus, images, out, tmp_path / "cache"), "--epochs", "2", "--limit", "48"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2 and config["device"] == "cpu"
    for name in ("metrics.json", "predictions.parquet", "checkpoints/last.pt", "checkpoints/best.pt",
                 "plots/learning_curves.png", "plots/attention.png"):
        assert (out / name).is_file(), name
    assert proc.stdout.count("test split of") == 1               # only rank 0 reports
    last = load_checkpoint(out / "checkpoints" / "last.pt")
    assert len(last["rng"]) == 2 and last["loop"]["epochs_done"] == 2   # both ranks' RNG states, for exact resume
    assert json.loads((out / "metrics.json").read_text())["metrics"]["n_images"] == 48
