"""Sources: the live site and the Internet Archive (CDX lookup, raw capture), and --images."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from PIL import Image

from aesthetic.core.errors import UserError
from aesthetic.crawler.images import BadImage, as_verified_jpeg
from aesthetic.crawler.ledger import Ledger
from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sources import LiveSource, WaybackSource, make_source, same_page
from demo.site import FakeItem, SiteConfig, archive_captures, fake_items, make_app, make_archive_app, running_app


def test_wayback_source_finds_captures_records_timestamp_and_fetches_images(run_crawl, tmp_path) -> None:
    items = fake_items(4, images=True)
    archive = make_archive_app(archive_captures(items[:3]))  # item 1003 was never captured
    with running_app(archive) as base:
        result = run_crawl(base, [1000, 1001, 1002, 1003], source="wayback", images=True)
    assert result.counts["done"] == 3 and result.counts["missing"] == 1
    paths = [r.path for r in archive["log"]]
    assert sum(p.startswith("/cdx/search/cdx") for p in paths) == 4
    assert "/web/20150607080910id_/https://www.dpchallenge.com/image.php?IMAGE_ID=1000" in paths
    table = pq.read_table(tmp_path / "out" / "comments")
    assert set(table.column("source").to_pylist()) == {"wayback"}
    assert set(table.column("capture_timestamp").to_pylist()) == {"20150607080910"}
    assert set(table.column("source_url").to_pylist()) <= {
        f"https://www.dpchallenge.com/image.php?IMAGE_ID={i}" for i in (1000, 1001, 1002)}
    with Ledger(tmp_path / "out" / "ledger.sqlite") as ledger:
        assert "no usable capture" in ledger.get("ava", 1003).last_error
        assert ledger.get("ava", 1000).image_state == "ok"
    for item in items[:3]:
        with Image.open(tmp_path / "out" / "images" / f"{item.image_id}.jpg") as image:
            assert image.format == "JPEG"


def test_live_images_are_verified_and_a_bad_photo_is_marked_failed(run_crawl, tmp_path) -> None:
    items = fake_items(3, images=True)
    items[1] = FakeItem(items[1].image_id, items[1].comments, b"<html>not a photo</html>")
    app = make_app(items, SiteConfig())

    def photo_requests() -> int:
        return sum(r.path == "/images/1001.jpg" for r in app["log"])

    with running_app(app) as base:
        run_crawl(base, [1000, 1001, 1002], images=True)
        images = tmp_path / "out" / "images"
        assert sorted(p.name for p in images.iterdir()) == ["1000.jpg", "1002.jpg"]
        with Ledger(tmp_path / "out" / "ledger.sqlite") as ledger:
            assert ledger.get("ava", 1001).state == "done" and ledger.get("ava", 1001).image_state == "failed"
        tried = photo_requests()
        run_crawl(base, [1000, 1001, 1002], images=True)
        assert photo_requests() == tried  # a failed photo waits for --retry-failed ...
        with Ledger(tmp_path / "out" / "ledger.sqlite") as ledger:
            ledger.reset_failed("ava")
        run_crawl(base, [1000, 1001, 1002], images=True)
        assert photo_requests() > tried   # ... which tries it again


def test_images_of_an_earlier_run_are_fetched_by_a_later_images_run(run_crawl, tmp_path) -> None:
    app = make_app(fake_items(3, images=True), SiteConfig())
    with running_app(app) as base:
        run_crawl(base, [1000, 1001, 1002])
        assert not (tmp_path / "out" / "images").exists()
        run_crawl(base, [1000, 1001, 1002], images=True)
    assert len(list((tmp_path / "out" / "images").glob("*.jpg"))) == 3
    assert sum(r.path.startswith("/image.php") for r in app["log"]) == 3  # pages were not fetched again


def test_image_verification_rejects_truncated_and_reencodes_other_formats() -> None:
    from io import BytesIO

    from demo.site import tiny_jpeg

    jpeg = tiny_jpeg(1, size=64)
    assert as_verified_jpeg(jpeg) == jpeg
    with pytest.raises(BadImage):
        as_verified_jpeg(jpeg[: len(jpeg) // 2])
    png = BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(png, format="PNG")
    assert as_verified_jpeg(png.getvalue())[:3] == b"\xff\xd8\xff"


def test_source_hosts() -> None:
    live = LiveSource(SITES["ava"])
    live.allow.check("https://www.dpchallenge.com/image.php?IMAGE_ID=1")
    live.allow.check("https://images.dpchallenge.com/x.jpg")  # the photo host of the same site
    for bad in ("https://evil.example/x", "ftp://www.dpchallenge.com/x", "https://dpchallenge.com.evil.example/"):
        with pytest.raises(Exception, match="refused"):
            live.allow.check(bad)
    mirror = LiveSource(SITES["ava"], "http://127.0.0.1:9")
    with pytest.raises(Exception, match="refused"):
        mirror.allow.check("https://www.dpchallenge.com/image.php?IMAGE_ID=1")
    archive = WaybackSource(SITES["photonet"])
    archive.allow.check("https://web.archive.org/web/2010id_/http://photo.net/photodb/photo?photo_id=1")
    with pytest.raises(Exception, match="refused"):
        archive.allow.check("http://photo.net/photodb/photo?photo_id=1")  # never the dead site itself


def test_bad_source_choices_are_user_errors() -> None:
    with pytest.raises(UserError, match="wayback"):
        make_source("live", SITES["photonet"], None)
    with pytest.raises(UserError, match="base-url"):
        make_source("live", SITES["ava"], "file:///etc/passwd")


def _photonet_page(photo_id: int) -> bytes:
    return f"""<html><head><meta charset="utf-8"><title>photo</title></head><body>
<div id="crumbs"><a href="/">photo.net</a></div>
<div class="photo"><img src="http://gallery.photo.net/photo/{photo_id}-md.jpg"></div>
<p>4.50/7 average, <a href="/photodb/ratings-breakdown?photo_id={photo_id}">12</a> ratings</p>
<div class="comments"><div class="comment" id="comment-{photo_id}1">
<div class="comment-author"><a href="/photodb/member-photos?user_id=3">Someone</a></div>
<div class="comment-date">2004-05-07 10:15:00</div>
<div class="comment-text">Good framing of photo {photo_id}.</div></div></div>
</body></html>""".encode()


def test_photonet_crawls_from_the_archive_without_a_contact(tmp_path, capsys) -> None:
    from aesthetic.crawler.cli import main
    from demo.site import FakeCapture

    captures = {f"http://photo.net/photodb/photo?photo_id={i}": [FakeCapture("20050101000000", _photonet_page(i))]
                for i in (11, 12)}
    ids = tmp_path / "ids.txt"
    ids.write_text("11\n12\n13\n")
    with running_app(make_archive_app(captures)) as base:
        code = main(["photonet", "--ids", str(ids), "--out", str(tmp_path / "out"), "--base-url", base,
                     "--min-delay", "0"])
    assert code == 0, capsys.readouterr().err
    table = pq.read_table(tmp_path / "out" / "comments")
    assert sorted(table.column("image_id").to_pylist()) == [11, 12]
    assert table.column("text").to_pylist()[0].startswith("Good framing of photo")
    assert set(table.column("dataset").to_pylist()) == {"photonet"}


def test_a_block_page_or_cut_off_page_in_the_archive_fails_that_item_only(run_crawl, tmp_path) -> None:
    """A capture holding the site's block page (the site blocked the Archive's crawler back then), or a
    cut-off page, stays that way: the item fails after one fetch, with its WARC record named for reparse,
    and the Archive is neither paused nor taken for a host blocking us."""
    from demo.site import BLOCK_TEXT, FakeCapture, render_message_page

    items = fake_items(4)
    captures = archive_captures(items)
    page = "https://www.dpchallenge.com/image.php?IMAGE_ID="
    captures[f"{page}1000"] = [FakeCapture("20150607080910", render_message_page(BLOCK_TEXT).encode())]
    whole = captures[f"{page}1001"][0].body
    captures[f"{page}1001"] = [FakeCapture("20150607080910", whole[: len(whole) // 2])]
    archive = make_archive_app(captures)
    with running_app(archive) as base:
        result = run_crawl(base, [1000, 1001, 1002, 1003], source="wayback", block_cooldown=5.0, odd_run=1)
    assert result.stopped is None
    assert (result.counts["done"], result.counts["failed"]) == (2, 2)
    fetched = [r.path for r in archive["log"] if r.path.startswith("/web/")]
    assert len(fetched) == len(set(fetched)) == 4  # each capture once
    with Ledger(tmp_path / "out" / "ledger.sqlite") as ledger:
        blocked, cut = ledger.get("ava", 1000), ledger.get("ava", 1001)
        assert "block page" in blocked.last_error and "truncated" in cut.last_error
        assert blocked.warc_file and cut.warc_file and blocked.last_status == cut.last_status == 200


def test_a_decompression_bomb_is_a_bad_image_not_a_crash(monkeypatch) -> None:
    """Pillow raises DecompressionBombError (not an OSError) for an image whose dimensions are far past its
    pixel limit; a page's photo must not be able to end the crawl with a traceback."""
    from demo.site import tiny_jpeg

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 32x32 photo is then "twice over the limit"
    with pytest.raises(BadImage, match="decompression bomb"):
        as_verified_jpeg(tiny_jpeg(1))


PAGE_1 = "https://www.dpchallenge.com/image.php?IMAGE_ID=1"


@pytest.mark.parametrize(("got", "on_a_mirror", "same"), [
    (PAGE_1, False, True),
    ("http://dpchallenge.com/image.php?IMAGE_ID=1", False, True),        # the Archive's canonical forms
    ("https://WWW.DPChallenge.com:443/image.php?IMAGE_ID=1", False, True),
    ("https://www.dpchallenge.com/image.php?IMAGE_ID=1&sort=asc", False, True),
    ("https://www.dpchallenge.com/image.php?IMAGE_ID=2", False, False),   # another IMAGE_ID
    ("https://www.dpchallenge.com/image.php?IMAGE_ID=1&IMAGE_ID=2", False, False),
    ("https://www.dpchallenge.com/image.php", False, False),
    ("https://www.dpchallenge.com/profile.php?IMAGE_ID=1", False, False),  # another path
    ("https://www.dpchallenge.com/old/image.php?IMAGE_ID=1", False, False),
    ("https://evil.example/image.php?IMAGE_ID=1", False, False),          # another host
    ("https://www.dpchallenge.com:8443/image.php?IMAGE_ID=1", False, False),
    ("http://127.0.0.1:9/image.php?IMAGE_ID=1", True, True),              # a mirror: host is the allow-list's
    ("http://127.0.0.1:9/mirror/image.php?IMAGE_ID=1", True, True),
    ("http://127.0.0.1:9/image.php?IMAGE_ID=2", True, False),
    ("http://127.0.0.1:9/login.php?IMAGE_ID=1", True, False),
])
def test_which_answers_are_the_items_page(got: str, on_a_mirror: bool, same: bool) -> None:
    assert same_page(PAGE_1, got, on_a_mirror=on_a_mirror) is same


def test_each_source_says_when_an_answer_is_for_another_page() -> None:
    live, archive = LiveSource(SITES["ava"], "http://127.0.0.1:9"), WaybackSource(SITES["ava"], "http://127.0.0.1:9")
    assert live.misattributed(1, "http://127.0.0.1:9/image.php?IMAGE_ID=1") is None
    assert "another page" in live.misattributed(1, "http://127.0.0.1:9/image.php?IMAGE_ID=7")
    assert archive.misattributed(1, "http://127.0.0.1:9/web/2015id_/http://dpchallenge.com/image.php?IMAGE_ID=1") is None
    assert archive.misattributed(1, "http://127.0.0.1:9/web/2015id_/https:/www.dpchallenge.com/image.php?IMAGE_ID=1") is None
    assert "capture is of" in archive.misattributed(1, "http://127.0.0.1:9/web/2015id_/" + PAGE_1[:-1] + "9")
    assert "not a raw capture" in archive.misattributed(1, "http://127.0.0.1:9/somewhere")
