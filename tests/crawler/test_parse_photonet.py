"""The Photo.net parser on pages built here in the layout public scrapers document.

No real capture exists in reach (../shared/data/README.md), so these pin the
parser's behaviour on the documented page fields and on two plausible comment
shapes; they do not prove it matches real archived pages.
"""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sites.photonet import _strip_signature, parse
from perf.hostile_text import average_found, reference_average_found, reference_strip_signature

PHOTO_ID = 1234

COMMENT_DIVS = """
<div class="comments">
  <div class="comment" id="comment-501">
    <div class="comment-author"><a href="/photodb/member-photos?user_id=77">Ann Adams</a></div>
    <div class="comment-date">2004-05-07 10:15:00</div>
    <div class="comment-text">Lovely light &amp; tones.<br>Crop a bit tighter?</div>
  </div>
  <div class="comment" id="comment-502">
    <div class="comment-author"><a href="/photodb/member-photos?user_id=78">Bo Berg</a></div>
    <div class="comment-date">2004-05-08</div>
    <div class="comment-text">Caf\u00e9 scene done right.</div>
  </div>
</div>
"""

COMMENT_BLOCKQUOTES = """
<h3>Comments</h3>
<blockquote>Strong diagonal.<br><br>Too much sky for me.
<br><br>-- <a href="/shared/community-member?user_id=91">Carl Cole</a>, Jan 05, 2004; 10:15 p.m.</blockquote>
<blockquote>Superb.
-- <a href="/shared/community-member?user_id=92">Dee Dunn</a>, February 1, 2004</blockquote>
"""


def _page(comments: str = COMMENT_DIVS, *, photo_div: bool = True, end: str = "</body></html>") -> str:
    photo = (f'<div class="photo"><img src="//gallery.photo.net/photo/{PHOTO_ID}-lg.jpg" alt=""></div>'
             if photo_div else "")
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>Photo.net photo</title></head><body>
<div id="crumbs"><a href="/">photo.net</a> &gt; <a href="/gallery/">Gallery</a></div>
{photo}
<table><tr><th>Photographer</th><td><a href="/photodb/member-photos?user_id=5">Owner Name</a></td></tr>
<tr><th>Uploaded&nbsp;Date</th><td>2004-05-06</td></tr></table>
<p>Ratings: 5.43/7 average, <a href="/photodb/ratings-breakdown?photo_id={PHOTO_ID}">21</a> ratings</p>
<p>Tags: <a href="/gallery/tag-search/search?query_string=street">street</a>
<a href="/gallery/tag-search/search?query_string=black%20and%20white">black and white</a></p>
<div class="thumbs"><img src="http://gallery.photo.net/photo/999-sm.jpg"></div>
{comments}
{end}"""


def test_registered_as_the_photonet_site() -> None:
    site = SITES["photonet"]
    assert site.sources == ("wayback",)
    assert site.original_url(PHOTO_ID) == f"http://photo.net/photodb/photo?photo_id={PHOTO_ID}"


def test_page_fields() -> None:
    parsed = parse(_page().encode(), "text/html")
    assert parsed.kind == "ok" and parsed.complete
    assert parsed.stats == {"rating_average": "5.43", "ratings_count": "21",
                            "uploaded_date": "2004-05-06", "tags": "street, black and white"}
    assert parsed.image_url == f"http://gallery.photo.net/photo/{PHOTO_ID}-lg.jpg"


def test_image_url_falls_back_to_the_medium_jpg_of_this_photo() -> None:
    parsed = parse(_page(photo_div=False).encode(), "text/html")
    assert parsed.image_url == f"http://gallery.photo.net/photo/{PHOTO_ID}-md.jpg"  # not the 999 thumbnail


def test_comment_containers() -> None:
    comments = parse(_page().encode(), "text/html").comments
    assert [(c.position, c.comment_id, c.author, c.author_id) for c in comments] == [(0, 501, "Ann Adams", 77),
                                                                                   (1, 502, "Bo Berg", 78)]
    assert comments[0].text == "Lovely light & tones.\nCrop a bit tighter?"
    assert comments[0].posted_at == datetime(2004, 5, 7, 10, 15)
    assert comments[1].posted_at == datetime(2004, 5, 8)
    assert {c.during_challenge for c in comments} == {None}


def test_comment_containers_without_marked_up_body() -> None:
    bare = ('<ul><li class="comment"><a href="/photodb/member-photos?user_id=7">Eve</a> '
            '<span class="date">2005-01-02</span> Nice one.</li></ul>')
    comments = parse(_page(bare).encode(), "text/html").comments
    assert [(c.author, c.author_id, c.text, c.posted_at) for c in comments] == [
        ("Eve", 7, "Nice one.", datetime(2005, 1, 2))]


def test_acs_blockquote_comments() -> None:
    comments = parse(_page(COMMENT_BLOCKQUOTES).encode(), "text/html").comments
    assert [c.author for c in comments] == ["Carl Cole", "Dee Dunn"]
    assert comments[0].text == "Strong diagonal.\n\nToo much sky for me."
    assert comments[0].posted_at == datetime(2004, 1, 5, 22, 15)
    assert comments[1].text == "Superb."
    assert comments[1].posted_at == datetime(2004, 2, 1)


def test_cp1252_capture() -> None:
    html = _page().replace("charset=utf-8", "charset=windows-1252")
    comments = parse(html.encode("cp1252"), "text/html").comments
    assert comments[1].text == "Caf\u00e9 scene done right."


def test_page_without_comments() -> None:
    parsed = parse(_page("").encode(), "text/html")
    assert parsed.kind == "ok" and parsed.comments == [] and parsed.complete


def test_truncated_capture_is_incomplete() -> None:
    parsed = parse(_page(end="").encode(), "text/html")
    assert parsed.kind == "ok" and not parsed.complete and len(parsed.comments) == 2


@pytest.mark.parametrize("message", ["This photo has been deleted.", "No such photo."])
def test_deleted_photo_is_missing(message: str) -> None:
    body = f"<html><body><div id='crumbs'>photo.net</div><p>{message}</p></body></html>"
    assert parse(body.encode(), "text/html").kind == "missing"


def test_unrecognised_page_is_not_trusted() -> None:
    parsed = parse(b"<html><body><h1>Welcome to photo.net</h1></body></html>", "text/html")
    assert parsed.kind == "unrecognised" and parsed.comments == []


def test_a_blockquote_inside_another_keeps_its_single_breaks() -> None:
    """The outer comment's text is read first and marks the breaks in the tree the inner one is read
    from again: a `<br>` left in place beside its mark would be marked twice (a blank line)."""
    nested = """
<blockquote>Outer words.
<blockquote>First line.<br>Second line.
-- <a href="/shared/community-member?user_id=94">Inner Ives</a>, Jan 06, 2004</blockquote>
-- <a href="/shared/community-member?user_id=93">Outer Owen</a>, Jan 05, 2004</blockquote>
"""
    comments = parse(_page(nested).encode(), "text/html").comments
    assert [c.author for c in comments] == ["Outer Owen", "Inner Ives"]
    assert comments[1].text == "First line.\nSecond line."


def test_the_signature_is_stripped_as_its_pattern_would() -> None:
    """`_strip_signature` starts `re` where the match must start (perf/hostile_text.py has the pattern alone)."""
    rng = random.Random(20261203)
    pieces = ["--", "-", "---", "- -", " ", "\n", "\n\n", "\t", "\u00a0", "\u2003", "x", "Name", ", 2004"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(20000)]
    assert [t for t in texts if _strip_signature(t) != reference_strip_signature(t)] == []
    assert sum(reference_strip_signature(t) != t for t in texts) > 5000
    hostile = "-- " * 2000 + "\nx\n-- Name"
    assert _strip_signature(hostile) == reference_strip_signature(hostile) == "-- " * 2000 + "\nx"


def test_the_average_is_found_as_its_pattern_would() -> None:
    """`_AVERAGE` starts only at a run's first digit, and finds what the pattern tried from every digit finds."""
    rng = random.Random(20261203)
    pieces = ["1", "12", "5.43", ".", "5", " ", "/", "/7", "7", " average", " AVERAGE", "x", "\n", "\u0663"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(20000)]
    assert [t for t in texts if average_found(t) != reference_average_found(t)] == []
    assert sum(reference_average_found(t) != "None" for t in texts) > 300
    assert average_found("1" * 3000 + "2.5/7 average") == repr(((0, 3013), "1" * 3000 + "2.5"))
