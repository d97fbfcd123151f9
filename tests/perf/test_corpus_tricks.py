"""perf/corpus_tricks.py at a tiny scale: it checks both ways agree and prints its ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_prints_the_byte_scan_against_the_regex() -> None:
    done = subprocess.run([sys.executable, str(REPO / "perf" / "corpus_tricks.py"), "--scale", "0.01", "--rounds", "1"],
                          capture_output=True, text=True, timeout=300, check=True)
    assert "comments," in done.stdout and "byte scan" in done.stdout and done.stdout.rstrip().endswith("x")
