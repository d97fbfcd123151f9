"""The DPChallenge parser on the real page (../shared/data) and on variants built from it here."""

from __future__ import annotations

from datetime import datetime

import pytest

from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sites.dpchallenge import parse
from tests.conftest import shared_file

HTML_TYPE = "text/html"


@pytest.fixture(scope="module")
def page_bytes() -> bytes:
    return shared_file("dpchallenge", "image_921974.html").read_bytes()


@pytest.fixture(scope="module")
def page_html(page_bytes: bytes) -> str:
    return page_bytes.decode("utf-8")


@pytest.fixture(scope="module")
def real(page_bytes: bytes):
    return parse(page_bytes, "text/html; charset=UTF-8")


def _variant(html: str, old: str, new: str, count: int = 1) -> bytes:
    assert html.count(old) >= count, f"the real page no longer contains {old[:60]!r}"
    return html.replace(old, new, count).encode("utf-8")


def test_registered_as_the_ava_site() -> None:
    site = SITES["ava"]
    assert site.name == "dpchallenge" and site.sources == ("live", "wayback")
    assert site.original_url(921974) == "https://www.dpchallenge.com/image.php?IMAGE_ID=921974"


def test_real_page_counts(real) -> None:
    assert real.kind == "ok" and real.complete
    assert len(real.comments) == 29
    assert [c.position for c in real.comments] == list(range(29))
    during = [c.during_challenge for c in real.comments]
    assert during == [False] * 6 + [True] * 23   # newest first; the divider sits after the 6th
    assert sum(c.helpful for c in real.comments) == 29
    # ../shared/data/README.md says one comment is edited, but the file holds no
    # "Message edited by author" marker at all; edits are tested on a variant below.
    assert sum(c.edited for c in real.comments) == 0


def test_real_page_ids_authors_timestamps_in_order(real) -> None:
    first, divider_next, last = real.comments[0], real.comments[6], real.comments[-1]
    assert (first.comment_id, first.author, first.posted_at) == (6970835, "Neat", datetime(2013, 2, 3, 20, 14, 44))
    assert (divider_next.comment_id, divider_next.author) == (6242547, "De Sousa")
    assert (last.comment_id, last.author, last.posted_at) == (6233467, "tanguera", datetime(2010, 11, 26, 1, 24, 14))
    stamps = [c.posted_at for c in real.comments]
    assert stamps == sorted(stamps, reverse=True)
    assert len({c.comment_id for c in real.comments}) == 29


def test_real_page_texts(real) -> None:
    texts = [c.text for c in real.comments]
    assert texts[0] == "Sensational!"
    assert texts[7] == ("wow, this is just stunning.\n"
                        "I'm giving 5 ribbons total. This is one of my Posthumous Blues.")
    assert texts[19] == ("Almost drew me in, but then spat me out. I went away shaken but not really stirred."
                         "\n\nJust kidding; it's very unusual and seemed to demand my second look. "
                         "That's always welcome. Thank you.")
    assert texts[26] == "black&white+blur+bad exposure=art? not to me"    # &amp; decoded
    assert "DPC it\u2019s a wonderful learning place" in texts[6]          # UTF-8 quote mark
    assert texts[27].startswith("It reminds me a little of Louis' work.")  # inline icon + link flattened
    assert all(t and t == t.strip() and "  " not in t for t in texts)


def test_real_page_image_and_statistics(real) -> None:
    assert real.image_url == ("https://images.dpchallenge.com/images_challenge/1000-1999/1303/1200/"
                              "Copyrighted_Image_Reuse_Prohibited_921974.jpg")
    assert real.stats["Votes"] == "171"
    assert real.stats["Comments"] == "29"
    assert real.stats["Place"] == "22 out of 133"
    assert real.stats["Avg (all users)"] == "6.1520"
    assert len(real.stats) == 10


def test_crlf_line_endings_parse_identically(page_html: str, real) -> None:
    assert parse(page_html.replace("\n", "\r\n").encode("utf-8"), HTML_TYPE) == real


@pytest.mark.parametrize("how", ["meta", "header-over-meta", "undeclared"])
def test_cp1252_pages(page_html: str, real, how: str) -> None:
    html = page_html
    content_type = HTML_TYPE
    if how == "meta":
        html = html.replace('<meta charset="utf-8">', '<meta charset="windows-1252">')
    elif how == "header-over-meta":
        content_type = "text/html; charset=windows-1252"
    else:
        html = html.replace('<meta charset="utf-8">', "")
    body = html.encode("cp1252")
    assert body != page_html.encode("utf-8")   # the curly quote really is a different byte
    parsed = parse(body, content_type)
    assert [c.text for c in parsed.comments] == [c.text for c in real.comments]


COMMENT_HEADING = '<tr class="forum-heading"><td width="150">Author</td><td>Thread</td></tr>'


def test_page_without_comments(page_html: str) -> None:
    """The real page with its comment rows taken out (the table and its heading stay): a recognised photo
    page that really has no comments."""
    start = page_html.index(COMMENT_HEADING) + len(COMMENT_HEADING)
    end = page_html.index('</table>\n<img src="images/pix.gif"')
    parsed = parse((page_html[:start] + page_html[end:]).encode("utf-8"), HTML_TYPE)
    assert parsed.kind == "ok" and parsed.complete
    assert parsed.comments == []
    assert parsed.stats["Votes"] == "171" and parsed.image_url


def _without_photo_cell(html: str) -> str:
    start = html.index('<a name="img"></a><table><tr><td id="img_container"')
    return html[:start] + html[html.index("</table>", start) + len("</table>"):]


def _without_comment_table(html: str) -> str:
    start = html.index('<table width="90%" cellspacing="1" cellpadding="2" bgcolor="#00000" align="center">')
    end = html.index('</table>\n<img src="images/pix.gif"') + len("</table>")
    return html[:start] + html[end:]


@pytest.mark.parametrize("make", [
    _without_photo_cell,
    _without_comment_table,
    lambda html: _without_comment_table(_without_photo_cell(html)),
    # The site's frame and footer around something else: a rate-limit text, a login wall, an error.
    lambda html: _shell(html, "<div class='error'>Too many requests. Please slow down.</div>").decode(),
    lambda html: _shell(html, '<form action="/login.php" method="post">Username <input name="USERNAME"> '
                              'Password <input type="password" name="PASSWORD"><input type="submit" '
                              'value="Log In"></form>').decode(),
    lambda html: _shell(html, "<b>Database error. Please try again later.</b>").decode(),
])
def test_a_page_that_is_not_a_recognised_photo_page_is_unrecognised(page_html: str, make) -> None:
    """Never "a photo page with no comments": the engine retries it, counts it towards a block, and fails
    the item with the page archived (crawler/verdict.py)."""
    html = make(page_html)
    assert "Current Server Time" in html and html.rstrip().endswith("</html>")  # the normal footer is there
    parsed = parse(html.encode("utf-8"), HTML_TYPE)
    assert parsed.kind == "unrecognised" and parsed.comments == [] and parsed.complete


def test_quote_reply_is_removed(page_html: str) -> None:
    fragment = shared_file("dpchallenge", "comment_7035001_quote_reply.fragment.html").read_text("utf-8")
    body = _variant(page_html, '<td valign="top">\nSensational!</td>', fragment.strip())
    comment = parse(body, HTML_TYPE).comments[0]
    assert comment.text == "Heck, I may as well give it to you a third time.\n\n[sorry about that :-)]"
    assert "NiallOTuama" not in comment.text and "asigmatic" not in comment.text


def test_quote_without_table_is_removed(page_html: str) -> None:
    quote = ('<div class="textsm"><b>Originally posted by Someone:</b></div><hr/>'
             '<i>their words<br>more of theirs</i><br/>My own &quot;reply&quot;.')
    body = _variant(page_html, "\nSensational!</td>", f"\n{quote}</td>")
    assert parse(body, HTML_TYPE).comments[0].text == 'My own "reply".'


def test_quotes_in_nested_bolds_go_with_their_top(page_html: str) -> None:
    """A quote's block is the cell's child holding its bold, whatever lies between: bolds nested thousands
    deep (each found from its parent's top, not by walking up from each) and bolds inside other bolds."""
    depth = 3000
    quote = ('<div class="textsm"><b>Originally posted by A:</b></div><hr/><i>their words</i> mine one '
             '<span><b>bold own</b><b>Originally posted by B: ' + "<b>Originally posted by C:" * depth
             + "</b>" * (depth + 1) + "</span> mine two <div>" + "<b>x" * 50 + "<b>Originally posted by D:</b>"
             + "</b>" * 50 + "</div> <i>gone</i> mine three")
    body = _variant(page_html, "\nSensational!</td>", f"\n{quote}</td>")
    # as before: a block without a table takes the text and `<hr>`/`<i>` after it, up to its `<i>`
    assert parse(body, HTML_TYPE).comments[0].text == "mine one mine three"


def test_a_comment_nested_deeper_than_the_recursion_limit_parses(page_html: str) -> None:
    depth = 5000   # lexbor builds such a tree, and a browser shows it; Python's recursion limit is 1000
    nested = "<div>" * depth + "deep<br>words" + "</div>" * depth
    comments = parse(_variant(page_html, "\nSensational!</td>", f"\n{nested} Sensational!</td>"), HTML_TYPE).comments
    assert len(comments) == 29 and comments[0].text == "deep\nwords\n\nSensational!"


def test_edited_marker_sets_flag_and_leaves_text(page_html: str) -> None:
    marker = "<br/><br/><i>Message edited by author 2012-07-03 10:01:02.</i>"
    body = _variant(page_html, "A divine intervention.</td>", f"A divine intervention.{marker}</td>")
    comments = parse(body, HTML_TYPE).comments
    assert comments[1].edited and comments[1].text == "A divine intervention."
    assert sum(c.edited for c in comments) == 1


def test_missing_helpful_row(page_html: str) -> None:
    helpful_row = ('<tr class="forum-bg1"><td class="textsm">&nbsp;<img src="/images/ratings/helpful.gif" '
                   'width="27" height="16" border="0"> Photographer found comment helpful.</td></tr>')
    comments = parse(_variant(page_html, helpful_row, ""), HTML_TYPE).comments
    assert len(comments) == 29
    assert not comments[0].helpful and comments[0].text == "Sensational!"
    assert all(c.helpful for c in comments[1:])


def test_no_divider_means_unknown(page_html: str) -> None:
    start = page_html.index('<tr bgcolor="#B6BECA" height="30">')
    end = page_html.index("</tr>", start) + len("</tr>")
    comments = parse((page_html[:start] + page_html[end:]).encode("utf-8"), HTML_TYPE).comments
    assert len(comments) == 29 and {c.during_challenge for c in comments} == {None}


def _shell(page_html: str, content: str) -> bytes:
    """The site's frame (head, menus, footer) around other content, as its error pages are."""
    head = page_html[: page_html.index("<!-- START RIGHT COLUMN -->")]
    foot = page_html[page_html.index('<img src="images/pix.gif" width="1" height="1" id="rate">'):]
    return (head + content + foot).encode("utf-8")


def test_invalid_id_is_missing(page_html: str) -> None:
    parsed = parse(_shell(page_html, '<div class="error">Invalid IMAGE_ID provided.</div>'), HTML_TYPE)
    assert parsed.kind == "missing" and parsed.comments == []


def test_block_page_is_blocked(page_html: str) -> None:
    message = "Page cannot be served due to suspicious activity detected from your address"
    assert parse(f"<html><body>{message}.</body></html>".encode(), None).kind == "blocked"
    assert parse(_shell(page_html, f"<b>{message}</b>"), HTML_TYPE).kind == "blocked"
    # A comment quoting the phrase does not make a real page a block page.
    quoted = parse(_variant(page_html, "Sensational!", message), HTML_TYPE)
    assert quoted.kind == "ok" and quoted.comments[0].text == message


@pytest.mark.parametrize(("keep", "comments"), [(0.5, 12), (0.97, 29)])
def test_truncated_page_is_incomplete(page_bytes: bytes, keep: float, comments: int) -> None:
    """Cut mid-list or just before the end: what was read is returned, flagged as not to be trusted."""
    parsed = parse(page_bytes[: int(len(page_bytes) * keep)], HTML_TYPE)
    assert parsed.kind == "ok" and not parsed.complete
    assert len(parsed.comments) == comments


def test_page_without_footer_is_incomplete(page_html: str) -> None:
    start = page_html.index("<br>DPChallenge, and website content")
    end = page_html.index("</div>", start)
    parsed = parse((page_html[:start] + page_html[end:]).encode("utf-8"), HTML_TYPE)
    assert len(parsed.comments) == 29 and not parsed.complete
