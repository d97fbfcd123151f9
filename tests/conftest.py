"""Shared test fixtures: where the real outside-world data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or a skip that says what is missing (CI always has them)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data file {path} is missing (see ../shared/data/README.md)")
    return path
