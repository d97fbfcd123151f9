"""The DPChallenge parser's full output, pinned: a faster parser must give the same bytes.

tests/crawler/pins/dpchallenge_parse.json was written by tests/crawler/parse_pins.py
from the parser before it was optimised; every field of every comment of the real
page and of its variants, and the text of every comment cell in the real dumps.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA, shared_file
from tests.crawler.parse_pins import PINS, current, render


@pytest.fixture(scope="module")
def pinned() -> dict:
    return json.loads(PINS.read_text("ascii"))


@pytest.fixture(scope="module")
def now() -> dict:
    shared_file("dpchallenge", "image_921974.html")
    shared_file("comments", "dpc_sql", "50.sql")
    return current(SHARED_DATA)


def test_the_pins_cover_the_branches(pinned: dict) -> None:
    """Not a trivial pin file: all page kinds, the real page's 29 comments, cut-off pages, hundreds of cells."""
    pages = pinned["pages"]
    assert {p["kind"] for p in pages.values()} == {"ok", "missing", "blocked", "unrecognised"}
    assert len(pages["real"]["comments"]) == 29 and pages["real"]["complete"]
    assert any(c["edited"] for c in pages["edited"]["comments"])
    assert {c["during_challenge"] for c in pages["no-divider"]["comments"]} == {None}
    assert not pages["truncated-10of20"]["complete"]
    assert len(pinned["dump_cells"]) > 600


def test_every_page_variant_parses_as_pinned(pinned: dict, now: dict) -> None:
    assert sorted(now["pages"]) == sorted(pinned["pages"])
    for name, page in pinned["pages"].items():
        assert now["pages"][name] == page, name


def test_every_dump_cell_reads_as_pinned(pinned: dict, now: dict) -> None:
    assert now["dump_cells"] == pinned["dump_cells"]


def test_byte_for_byte(now: dict) -> None:
    assert render(now) == PINS.read_text("ascii")
