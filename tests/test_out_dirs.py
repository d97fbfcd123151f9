"""Every CLI refuses a bad --out the same way, before any work: one line, exit 2, nothing created."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aesthetic.benchmark.cli import main as benchmark_main
from aesthetic.corpus.cli import main as build_main
from aesthetic.crawler.cli import main as crawl_main


def _crawl(out: str, tmp: Path) -> int:
    return crawl_main(["ava", "--ids", str(tmp / "ids.txt"), "--out", out, "--contact", "me@example.org"])


def _build(out: str, tmp: Path) -> int:
    return build_main(["photonet", "--ratings", str(tmp / "r.txt"), "--comments", str(tmp / "c.json"), "--out", out])


def _benchmark(out: str, tmp: Path) -> int:
    return benchmark_main(["--model", "text", "--corpus", str(tmp / "corpus"), "--out", out])


CLIS: dict[str, Callable[[str, Path], int]] = {"crawl": _crawl, "build": _build, "benchmark": _benchmark}
BAD_OUTS = {
    "a file": ("a-file", "exists and is not a folder"),
    "under a file": ("a-file/run", "is a file, not a folder"),
    "/proc/self": ("/proc/self", "kernel's proc filesystem"),
    "/sys/kernel": ("/sys/kernel/run", "kernel's sysfs filesystem"),
}


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize("case", BAD_OUTS)
def test_bad_out_is_one_line_exit_2_and_nothing_created(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          cli: str, case: str) -> None:
    (tmp_path / "ids.txt").write_text("1\n")
    (tmp_path / "a-file").write_text("mine\n")
    out, message = BAD_OUTS[case]
    before = sorted(tmp_path.rglob("*"))
    assert CLIS[cli](out if out.startswith("/") else str(tmp_path / out), tmp_path) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "error: --out " in err and message in err, err
    assert sorted(tmp_path.rglob("*")) == before and (tmp_path / "a-file").read_text() == "mine\n"
