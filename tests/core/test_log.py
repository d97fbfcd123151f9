"""Logging modes: batch jobs get machine-readable JSON lines, quiet runs only warnings."""

from __future__ import annotations

import json
import logging

import pytest

from aesthetic.core import log as core_log
from aesthetic.core.log import progress, progress_bar, setup_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level, bars = root.handlers[:], root.level, core_log._bars_enabled
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    core_log._bars_enabled = bars


def test_json_mode_emits_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(json_logs=True)
    logging.getLogger("aesthetic.test").info("fetched %d pages", 3, extra={"fields": {"host": "example.org"}})
    logging.getLogger("aesthetic.test").warning("slow down")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "fetched 3 pages"
    assert first["level"] == "info" and first["logger"] == "aesthetic.test"
    assert first["host"] == "example.org"
    assert first["time"].endswith("Z")
    assert second["level"] == "warning"


def test_quiet_mode_shows_only_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(quiet=True)
    logging.getLogger("aesthetic.test").info("chatty")
    logging.getLogger("aesthetic.test").warning("important")
    err = capsys.readouterr().err
    assert "important" in err and "chatty" not in err


def test_verbose_mode_shows_debug(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(verbose=True)
    logging.getLogger("aesthetic.test").debug("details")
    assert "details" in capsys.readouterr().err


def test_progress_without_a_terminal_yields_everything_and_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(json_logs=True)
    assert list(progress(range(5), total=5, desc="x")) == [0, 1, 2, 3, 4]
    with progress_bar(total=3, desc="y") as bar:
        bar.update(3)
        assert bar.disable
    assert capsys.readouterr().err == ""
