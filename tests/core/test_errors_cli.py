"""UserError wording and the CLI wrapper's exit codes: what a user sees when something goes wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aesthetic.core.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, run
from aesthetic.core.errors import UserError, located


def test_user_error_message_and_hint() -> None:
    assert str(UserError("no such file")) == "no such file"
    assert str(UserError("no such file", hint="check --ava-dir")) == "no such file\n  hint: check --ava-dir"


def test_located_points_at_file_and_line() -> None:
    assert str(located("AVA.txt", 12, "expected 15 columns, got 3")) == "AVA.txt:12: expected 15 columns, got 3"
    assert str(located("AVA.txt", None, "empty file")) == "AVA.txt: empty file"
    assert isinstance(located("x", 1, "m"), UserError)


def test_run_passes_arguments_and_exit_status_through() -> None:
    seen = []

    def main(argv):
        seen.append(argv)
        return 7

    assert run("prog", main, ["--flag"]) == 7
    assert seen == [["--flag"]]


def test_user_error_becomes_exit_2_and_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    def main(argv):
        raise UserError("AVA.txt:3: negative vote count")

    assert run("aesthetic-build-splits", main, []) == EXIT_USAGE == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "aesthetic-build-splits: error: AVA.txt:3: negative vote count\n"
    assert "Traceback" not in err


def test_ctrl_c_becomes_exit_130_with_resume_advice(capsys: pytest.CaptureFixture[str]) -> None:
    def main(argv):
        raise KeyboardInterrupt

    assert run("aesthetic-crawl", main, []) == EXIT_INTERRUPTED == 130
    assert "interrupted" in capsys.readouterr().err


def test_bugs_keep_their_traceback() -> None:
    def main(argv):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run("prog", main, [])


def test_broken_pipe_is_a_quiet_success() -> None:
    """`aesthetic-crawl status DIR | head`: the reader leaving early is no error, and no traceback."""
    code = (
        "from aesthetic.core.cli import run\n"
        "def main(argv):\n"
        "    for _ in range(100000):\n"
        "        print('line ' * 20)\n"
        "    return 0\n"
        "raise SystemExit(run('prog', main, []))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == EXIT_OK
    assert "Traceback" not in stderr
