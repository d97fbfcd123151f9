"""The peak-memory helper reports the command's own high-water mark, not the one of the big process measuring it."""

from __future__ import annotations

import sys

import pytest

from perf.peak_memory import run_measured

MiB = 2**20


def _own_hwm() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))


def test_a_child_reports_its_own_200_mb_not_the_500_mb_of_its_parent() -> None:
    ballast = b"\x01" * (500 * MiB)  # touched: this process's RSS really is 500 MB more
    assert _own_hwm() >= 500 * MiB
    baseline = run_measured([sys.executable, "-c", "pass"])
    # 200 MB touched, freed, then a pause: a sampler reading after the free would miss the spike.
    child = run_measured([sys.executable, "-c", "import time; b = b'\\x01' * (200 << 20); del b; time.sleep(0.3)"])
    del ballast
    assert baseline.exit_code == child.exit_code == 0
    assert baseline.peak_bytes < 40 * MiB  # an idle interpreter, nothing of the parent's 500 MB
    assert 195 * MiB <= child.peak_bytes - baseline.peak_bytes <= 215 * MiB
    assert child.seconds >= 0.3
    assert baseline.floor_bytes <= baseline.peak_bytes


def test_exit_status_and_output_are_the_commands(tmp_path) -> None:
    out = tmp_path / "out.txt"
    with open(out, "w") as fh:
        done = run_measured([sys.executable, "-c", "import sys; print('hello'); sys.exit(3)"], stdout=fh)
    assert done.exit_code == 3
    assert out.read_text() == "hello\n"


def test_a_command_that_cannot_start_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(RuntimeError, match=r"could not start .*no-such-program.*No such file"):
        run_measured([str(tmp_path / "no-such-program")])
