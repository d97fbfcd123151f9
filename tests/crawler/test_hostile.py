"""The crawler against a hostile web (tests/crawler/hostile.py): what reaches the ledger and comments/.

Each case asserts the ledger row and the stored text: nothing unsure is stored as done, and `reparse`
(the same verdict, crawler/verdict.py) leaves the ledger saying what the current parser says.
"""

from __future__ import annotations

import dataclasses
import struct
import time
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.crawler import wayback
from aesthetic.crawler.ledger import Ledger
from aesthetic.crawler.reparse import reparse
from aesthetic.crawler.sites import SITES
from demo.site import BLOCK_TEXT, render_message_page, running_app, tiny_jpeg
from tests.crawler.hostile import Answer, framed, hostile_app, html, page_path, photo_page

SOFT_BLOCK = framed("<div class='error'>Too many requests. Please slow down.</div>")
LOGIN_WALL = framed('<form action="/login.php" method="post">Username <input name="USERNAME"> '
                    '<input type="submit" value="Log In"></form>')
SITE_PAGE = "https://www.dpchallenge.com/image.php?IMAGE_ID="


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "out" / "ledger.sqlite")


def _texts(tmp_path: Path) -> dict[int, list[str]]:
    folder = tmp_path / "out" / "comments"
    if not any(folder.glob("part-*.parquet")):
        return {}
    table = pq.read_table(folder).sort_by([("image_id", "ascending"), ("position", "ascending")])
    texts: dict[int, list[str]] = {}
    for image_id, text in zip(table.column("image_id").to_pylist(), table.column("text").to_pylist()):
        texts.setdefault(image_id, []).append(text)
    return texts


def _requests(app, path: str) -> int:
    return sum(r.path == path for r in app["log"])


def _crawl(run_crawl, answers, ids, **kw):
    app = hostile_app(answers)
    with running_app(app) as base:
        result = run_crawl(base, ids, **kw)
    return app, result


# --- 1. one rule for what an answer means ---------------------------------------------------------
def test_soft_blocks_and_login_walls_are_retried_and_failed_with_the_page_kept(run_crawl, tmp_path) -> None:
    """A "Too many requests" text or a login form inside the normal frame and footer is not a photo page
    with no comments: retried, then failed with its raw page named for reparse. A recognised photo page
    that really has no comments is done with 0."""
    answers = {page_path(1): html(SOFT_BLOCK), page_path(2): html(LOGIN_WALL),
               page_path(3): html(photo_page(3, [])), page_path(4): html(photo_page(4, ["Great mood here."]))}
    app, result = _crawl(run_crawl, answers, [1, 2, 3, 4], max_attempts=3, odd_run=10)
    with _ledger(tmp_path) as ledger:
        for item in (1, 2):
            row = ledger.get("ava", item)
            assert (row.state, row.attempts, row.last_status) == ("failed", 3, 200)
            assert "not a photo page" in row.last_error and row.warc_file and row.n_comments is None
            assert _requests(app, page_path(item)) == 3
        assert (ledger.get("ava", 3).state, ledger.get("ava", 3).n_comments) == ("done", 0)
        assert (ledger.get("ava", 4).state, ledger.get("ava", 4).n_comments) == ("done", 1)
    assert _texts(tmp_path) == {4: ["Great mood here."]}
    assert result.counts["failed"] == 2 and result.stopped is None

    outcome = reparse(tmp_path / "out", b"s" * 32, SITES)  # the same verdict: still failed, not done
    assert outcome.states == {"failed": 2, "done": 2}
    with _ledger(tmp_path) as ledger:
        assert [ledger.get("ava", i).state for i in (1, 2, 3, 4)] == ["failed", "failed", "done", "done"]
    assert _texts(tmp_path) == {4: ["Great mood here."]}


def test_unrecognised_pages_count_towards_block_detection(run_crawl, tmp_path) -> None:
    answers = {page_path(i): html(SOFT_BLOCK) for i in range(1, 9)}
    app, result = _crawl(run_crawl, answers, range(1, 9), odd_run=3, block_cooldown=0.2, max_attempts=10)
    assert result.stopped and "3 odd answers in a row, the last: not a photo page" in result.stopped
    assert sum(r.path.startswith("/image.php") for r in app["log"]) == 6  # 3 odd, cool-down, 3 more: stop
    with _ledger(tmp_path) as ledger:
        assert ledger.get("ava", 1).state == "blocked" and ledger.counts("ava")["done"] == 0


def test_reparse_keeps_the_ledger_the_truth_when_the_parser_now_rejects_a_page(run_crawl, tmp_path,
                                                                               monkeypatch) -> None:
    """Pages an older, lenient parser took for photo pages without comments (a block page, a soft block)
    are `done` in the ledger; reparse with the current parser leaves them failed (their comments, none,
    and the ledger agree), and keeps the real page done with its comments."""
    real = SITES["ava"]

    def lenient(body: bytes, content_type: str | None):
        page = real.parse(body, content_type)
        return dataclasses.replace(page, kind="ok", complete=True)

    monkeypatch.setitem(SITES, "ava", dataclasses.replace(real, parse=lenient))
    answers = {page_path(1): html(render_message_page(BLOCK_TEXT)), page_path(2): html(SOFT_BLOCK),
               page_path(3): html(photo_page(3, ["Strong diagonal.", "Too much sky."]))}
    _crawl(run_crawl, answers, [1, 2, 3])
    with _ledger(tmp_path) as ledger:
        assert ledger.counts("ava")["done"] == 3
    monkeypatch.setitem(SITES, "ava", real)

    outcome = reparse(tmp_path / "out", b"s" * 32, SITES)
    assert outcome.states == {"failed": 2, "done": 1} and outcome.comments == 2
    with _ledger(tmp_path) as ledger:
        one, two, three = (ledger.get("ava", i) for i in (1, 2, 3))
        assert (one.state, two.state, three.state) == ("failed", "failed", "done")
        assert "block page" in one.last_error and "not a photo page" in two.last_error
        assert one.n_comments is None and three.n_comments == 2
        assert one.warc_file and one.last_status == 200  # still archived: a later reparse can redo it
    assert _texts(tmp_path) == {3: ["Strong diagonal.", "Too much sky."]}


def _cdx_path(original: str) -> str:
    return wayback.cdx_query_url(original, "http://x")[len("http://x"):]


def _cdx(*rows: tuple[str, str]) -> Answer:
    import json

    header = ["timestamp", "original", "statuscode", "mimetype", "digest", "length"]
    body = [header] + [[stamp, original, "200", "text/html", "D" + stamp, "1"] for stamp, original in rows]
    return Answer(json.dumps(body).encode(), content_type="application/json")


def test_a_wayback_capture_of_another_page_is_not_credited(run_crawl, tmp_path) -> None:
    one, two, three = (SITE_PAGE + str(i) for i in (1, 2, 3))
    other = SITE_PAGE + "99"
    answers = {
        # The index lists only a capture of another IMAGE_ID: not trusted, retried, failed; nothing fetched.
        _cdx_path(one): _cdx(("20150101000000", other)),
        # The capture listed for our page redirects to a capture of another one.
        _cdx_path(two): _cdx(("20150101000000", two)),
        f"/web/20150101000000id_/{two}": Answer(status=302, headers={"Location": f"/web/20150101000000id_/{other}"}),
        f"/web/20150101000000id_/{other}": html(photo_page(99, ["Words about photo 99."])),
        # Another page's newer capture is listed too (a bad index row): ours is the one fetched.
        _cdx_path(three): _cdx(("20200101000000", other), ("20150101000000", "http://dpchallenge.com/image.php"
                                                                           "?IMAGE_ID=3")),
        "/web/20150101000000id_/http://dpchallenge.com/image.php?IMAGE_ID=3": html(photo_page(3, ["Mine."])),
    }
    app, result = _crawl(run_crawl, answers, [1, 2, 3], source="wayback", max_attempts=2)
    with _ledger(tmp_path) as ledger:
        row = ledger.get("ava", 1)
        assert (row.state, row.attempts) == ("failed", 2) and "only captures of other pages" in row.last_error
        row = ledger.get("ava", 2)
        assert row.state == "failed" and "another page than" in row.last_error and row.warc_file
        assert ledger.get("ava", 3).state == "done"
    # Item 1: two index queries, no capture fetched; item 2: its capture and the redirect; item 3: one.
    assert sum(r.path.startswith("/web/") for r in app["log"]) == 3
    assert _texts(tmp_path) == {3: ["Mine."]}
    reparse(tmp_path / "out", b"s" * 32, SITES)
    with _ledger(tmp_path) as ledger:
        assert [ledger.get("ava", i).state for i in (1, 2, 3)] == ["failed", "failed", "done"]
    assert _texts(tmp_path) == {3: ["Mine."]}


def test_a_live_redirect_to_the_same_page_is_credited(run_crawl, tmp_path) -> None:
    answers = {page_path(1): Answer(status=301, headers={"Location": "/image.php?IMAGE_ID=1&from=old"}),
               "/image.php?IMAGE_ID=1&from=old": html(photo_page(1, ["Same page, other spelling."]))}
    _crawl(run_crawl, answers, [1])
    with _ledger(tmp_path) as ledger:
        assert ledger.get("ava", 1).state == "done"
    assert _texts(tmp_path) == {1: ["Same page, other spelling."]}


# --- 2. text as the page meant it ------------------------------------------------------------------
def _without_meta(page: str) -> str:
    return page.replace('<meta charset="utf-8">', "")


def test_text_is_decoded_as_declared_and_only_bad_bytes_are_replaced(run_crawl, tmp_path) -> None:
    declared = photo_page(1, ["Caf\u00e9 au lait\u2019s glow.", "A stray STRAY byte."]).encode("utf-8")
    declared = declared.replace(b"STRAY", b"\x92")  # one byte that is not UTF-8, in a UTF-8 page
    undeclared = _without_meta(photo_page(2, ["Na\u00efve d\u00e9j\u00e0 vu \u2013 caf\u00e9."])).encode("cp1252")
    answers = {page_path(1): Answer(declared), page_path(2): Answer(undeclared, content_type="text/html")}
    _crawl(run_crawl, answers, [1, 2])
    assert _texts(tmp_path) == {1: ["Caf\u00e9 au lait\u2019s glow.", "A stray \ufffd byte."],
                                2: ["Na\u00efve d\u00e9j\u00e0 vu \u2013 caf\u00e9."]}


def test_comment_text_is_only_what_a_reader_sees(run_crawl, tmp_path) -> None:
    hidden = ("Soft<script>alert('x')</script> light<style>b{}</style> and<template><p>t</p></template> "
              "good<noscript>enable JS</noscript> tones\x01\x7f&#x8d;. \u202eevil\u202c \u2067x\u2069")
    page = photo_page(1, ["PLACEHOLDER"]).replace("PLACEHOLDER", hidden)
    _crawl(run_crawl, {page_path(1): html(page)}, [1])
    assert _texts(tmp_path) == {1: ["Soft light and good tones. evil x"]}


# --- 3. fail closed on the network -----------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "-5", "soon", "1e3"])
def test_a_bad_retry_after_means_the_normal_backoff(run_crawl, tmp_path, value: str) -> None:
    answers = {page_path(1): [Answer(b"busy", status=503, headers={"Retry-After": value}), html(photo_page(1))]}
    app, result = _crawl(run_crawl, answers, [1], backoff_base=0.4, backoff_cap=0.4)
    tries = [r for r in app["log"] if r.path == page_path(1)]
    assert len(tries) == 2 and result.counts["done"] == 1
    assert tries[1].time - tries[0].time >= 0.4 / 2 * 0.9  # the jittered backoff, not "retry at once"


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels in 100 bytes: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _crawl_photos(run_crawl, photos: dict[int, bytes], **kw):
    """Pages whose photo is on the same test server, and those photos."""
    answers = {f"/images/{i}.jpg": Answer(body, content_type="image/jpeg") for i, body in photos.items()}
    for i in photos:
        answers[page_path(i)] = lambda base, i=i: html(photo_page(i, [f"Comment on {i}."], image_base=base))
    return _crawl(run_crawl, answers, list(photos), images=True, **kw)


def test_photos_over_the_pixel_limit_or_bombs_are_refused_quietly(run_crawl, tmp_path, capfd, recwarn) -> None:
    photos = {1: tiny_jpeg(1), 2: _png_header(6000, 6000), 3: _png_header(10_000, 10_000),
              4: _png_header(20_000, 20_000), 5: tiny_jpeg(5, size=64)}
    _, result = _crawl_photos(run_crawl, photos, max_pixels=3000)
    with _ledger(tmp_path) as ledger:
        states = {i: (ledger.get("ava", i).image_state, ledger.get("ava", i).image_error) for i in photos}
    assert states[1] == ("ok", None)
    assert states[2][0] == "failed" and "6000 x 6000 pixels, over the limit of 3,000" in states[2][1]
    assert states[3][0] == states[4][0] == "failed"
    assert states[5][0] == "failed" and "64 x 64 pixels" in states[5][1]
    assert result.photos == {"stored": 1, "failed": 4, "todo": 0} and result.counts["done"] == 5
    assert (tmp_path / "out" / "images" / "1.jpg").exists() and not (tmp_path / "out" / "images" / "3.jpg").exists()
    assert "DecompressionBomb" not in capfd.readouterr().err
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


def test_a_slow_photo_decode_does_not_stall_the_crawl(run_crawl, tmp_path, monkeypatch) -> None:
    """The photo of item 1 takes 1.5 s to decode; the next pages are fetched meanwhile."""
    from aesthetic.crawler import engine

    real = engine.store_image

    def slow(images_dir, item_id, body, **kw):
        if item_id == 1:
            time.sleep(1.5)
        return real(images_dir, item_id, body, **kw)

    monkeypatch.setattr(engine, "store_image", slow)
    app, result = _crawl_photos(run_crawl, {i: tiny_jpeg(i) for i in (1, 2, 3)})
    log = app["log"]
    photo_1 = next(r.time for r in log if r.path == "/images/1.jpg")
    page_2 = next(r.time for r in log if r.path == page_path(2))
    assert page_2 - photo_1 < 1.0  # not held up by the decode
    assert result.photos == {"stored": 3, "failed": 0, "todo": 0}
