"""Wayback CDX helpers: query URL, answer parsing, capture choice, raw-bytes URL."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from aesthetic.crawler.sources import same_page
from aesthetic.crawler.wayback import (
    CDX_FIELDS,
    Capture,
    CdxError,
    best_capture,
    cdx_query_url,
    parse_cdx,
    rank_captures,
    raw_capture_url,
)
from tests.conftest import shared_file

PAGE = "http://photo.net/photodb/photo?photo_id=1234"


def _answer(*rows: tuple[str, ...], header: tuple[str, ...] = CDX_FIELDS) -> bytes:
    return json.dumps([list(header), *map(list, rows)]).encode()


def test_query_url_encodes_the_page_url() -> None:
    url = cdx_query_url(PAGE, base_url="http://127.0.0.1:8080/")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:8080", "/cdx/search/cdx")
    query = parse_qs(parts.query)
    assert query["url"] == [PAGE] and query["output"] == ["json"]
    assert query["fl"] == [",".join(CDX_FIELDS)]
    assert cdx_query_url(PAGE).startswith("https://web.archive.org/cdx/search/cdx?url=http%3A%2F%2Fphoto.net")


def test_parse_answer_by_header_names() -> None:
    body = _answer(("200", "20080101000000", PAGE, "text/html"),
                   header=("statuscode", "timestamp", "original", "mimetype"))
    assert parse_cdx(body) == [Capture("20080101000000", PAGE, "200", "text/html")]


def test_a_real_answer_in_the_default_columns() -> None:
    """The Archive's own answer (`output=json` with its default columns, `urlkey` first and `fl=` not
    given): read by its header, every field verbatim; captures of the page with a query added
    (`?fbclid=...`) count as the page's, and the newest good one is fetched by its own key."""
    body = shared_file("wayback", "cdx_sample.json").read_bytes()
    rows = json.loads(body)
    captures = parse_cdx(body)
    assert [(c.timestamp, c.original, c.mimetype, c.statuscode, c.digest, c.length) for c in captures] == [
        tuple(row[1:]) for row in rows[1:]]
    page = "https://fabtcg.com/articles/banned-and-restricted-announcement-sept21/"
    assert all(same_page(page, c.original, on_a_mirror=False) for c in captures)
    best = best_capture(captures)
    assert (best.timestamp, best.digest) == ("20221208064522", "VD2CIMLUXYBY45R5SJHWPNNLLGWV42WN")
    assert best.original.startswith(f"{page}?fbclid=")
    expected = f"https://web.archive.org/web/{best.timestamp}id_/{best.original}"
    assert raw_capture_url(best.timestamp, best.original) == expected


@pytest.mark.parametrize("empty", [b"", b"  \n", b"[]"])
def test_no_captures(empty: bytes) -> None:
    assert parse_cdx(empty) == []
    assert best_capture(parse_cdx(empty)) is None


@pytest.mark.parametrize("bad", [b"<html>502 Bad Gateway</html>", b'{"a": 1}', b'[["timestamp"], ["1"]]',
                                 b"[" * 100_000,   # nested deeper than the json reader follows
                                 _answer(("20080101000000", PAGE))])
def test_malformed_answer_is_a_cdx_error(bad: bytes) -> None:
    with pytest.raises(CdxError):
        parse_cdx(bad)


def test_newest_good_html_capture_wins_and_redirects_never() -> None:
    captures = parse_cdx(_answer(
        ("20050101000000", PAGE, "200", "text/html", "A", "100"),
        ("20090101000000", PAGE, "200", "text/html; charset=iso-8859-1", "B", "120"),
        ("20120101000000", PAGE, "302", "text/html", "C", "0"),     # newer, but a redirect
        ("20130101000000", PAGE, "404", "text/html", "D", "0"),
        ("20110101000000", PAGE, "200", "image/jpeg", "E", "9"),    # newer, but not a page
        ("20100101000000", PAGE, "-", "warc/revisit", "B", "0"),
    ))
    assert best_capture(captures).timestamp == "20090101000000"
    assert [c.timestamp for c in rank_captures(captures)] == ["20090101000000", "20050101000000",
                                                              "20110101000000", "20100101000000"]


def test_only_redirects_and_errors_means_nothing_to_fetch() -> None:
    captures = parse_cdx(_answer(("20120101000000", PAGE, "301", "text/html", "C", "0"),
                                 ("20130101000000", PAGE, "500", "text/html", "D", "0")))
    assert best_capture(captures) is None


def test_raw_capture_url() -> None:
    assert (raw_capture_url("20090101000000", PAGE)
            == "https://web.archive.org/web/20090101000000id_/http://photo.net/photodb/photo?photo_id=1234")
    assert raw_capture_url("20090101000000", PAGE, base_url="http://127.0.0.1:9/").startswith(
        "http://127.0.0.1:9/web/20090101000000id_/http://")
    assert raw_capture_url("2009", PAGE).startswith("https://web.archive.org/web/2009id_/")  # a prefix is allowed
    with pytest.raises(ValueError, match="timestamp"):
        raw_capture_url("2009/01/01", PAGE)
