"""Fixtures of the benchmark tests: one tiny synthetic corpus per session, tiny model settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmark.synthetic import make_corpus

# Tiny but real: AlexNet (no BatchNorm, so it learns from scratch in a few steps) at 48 px
# gives a 2x2 feature map for attention; small LSTM/attention/MFB/Text-CNN sizes. The vision and
# fusion models pool that map (--vision-head pooled): AlexNet's whole network, the default head,
# needs 63 px and 61 M parameters; the whole-network head has tests of its own (test_models.py,
# test_suite.py).
TINY = [
    "--trunk", "alexnet", "--image-size", "48", "--batch-size", "16", "--lstm-hidden", "16", "--attn-hidden", "16",
    "--mfb-o", "32", "--mfb-k", "2", "--text-maps", "8", "--embed-dim", "16", "--vision-head", "pooled",
    "--device", "cpu", "--quiet",
]


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus dir, images dir): 96 train / 32 val / 48 test images; brightness and words carry the label."""
    return make_corpus(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One decoded-image cache shared by the runs of a session (the cache key includes ids and size)."""
    return tmp_path_factory.mktemp("cache")


def train_args(corpus: Path, images: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return ["--corpus", str(corpus), "--images", str(images), "--out", str(out), "--cache-dir", str(cache), *TINY, *extra]
