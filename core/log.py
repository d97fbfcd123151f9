"""Logging and progress bars, set up once per CLI so every stage looks the same.

Three modes: normal (human log lines + a tqdm bar on stderr), quiet (warnings
only, no bar) and JSON (one JSON object per log line, no bar) for batch jobs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_bars_enabled = True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(*, quiet: bool = False, json_logs: bool = False, verbose: bool = False) -> None:
    """Configure the root logger for a CLI run; progress bars follow the same mode."""
    global _bars_enabled
    _bars_enabled = not (quiet or json_logs) and sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """A tqdm bar (rate and ETA) when a human is watching; the bare iterable otherwise."""
    if not _bars_enabled:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr)


def progress_bar(*, total: int | None, desc: str = "", unit: str = "it") -> tqdm:
    """A manually-updated bar for async work; disabled (but still callable) in quiet/JSON modes."""
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr, disable=not _bars_enabled)
