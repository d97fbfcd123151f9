"""Inputs and a JSON form for the parser pins (tests/crawler/test_parse_pins.py).

The pins hold the full output of the DPChallenge parser on the real page and on
variants made from it by string edits, one per branch of the parser (quotes,
edited lines, the helpful row, the divider, timestamps, authors, charsets, cut-off
pages, pages that are not photo pages), and the HTML-to-text of every comment cell
in the real njtwomey/dpc dumps. They were written by the parser as it was before
it was made faster, so a faster parser must give the same bytes.

Rewrite the pins only when the output is meant to change (and bump the site's
parser_version then):  .venv/bin/python -m tests.crawler.parse_pins
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict
from pathlib import Path

from aesthetic.corpus.dpc_sql import cell_text
from aesthetic.crawler.sites.base import ParsedPage
from aesthetic.crawler.sites.dpchallenge import parse

PINS = Path(__file__).with_name("pins") / "dpchallenge_parse.json"
UTF8 = "text/html; charset=UTF-8"
HTML = "text/html"

_FIRST_BODY = '<td valign="top">\nSensational!</td>'
_FIRST_HEADER_LINK = '<a title="Neat; currently offline" href="/profile.php?USER_ID=114285" class="fo ">Neat</a>'
_HELPFUL_ROW = ('<tr class="forum-bg1"><td class="textsm">&nbsp;<img src="/images/ratings/helpful.gif" '
                'width="27" height="16" border="0"> Photographer found comment helpful.</td></tr>')
_POST_TABLE = re.compile(r'<td valign="top"><table cellspacing="0" cellpadding="4" class="forum-post"><tr>'
                         r'(<td valign="top">.*?</td>)</tr></table></td>', re.DOTALL)
_COMMENT_HEADING = '<tr class="forum-heading"><td width="150">Author</td><td>Thread</td></tr>'
_COMMENT_TABLE = '<table width="90%" cellspacing="1" cellpadding="2" bgcolor="#00000" align="center">'
_COMMENT_TABLE_END = '</table>\n<img src="images/pix.gif"'
_PHOTO_CELL = '<a name="img"></a><table><tr><td id="img_container"'
_DIVIDER_ROW = '<tr bgcolor="#B6BECA" height="30">'
_BLOCKED = "Page cannot be served due to suspicious activity detected from your address"
# One comment with everything the HTML-to-text handles: invisible elements, blocks, entities, odd characters.
_RICH = ("\n  Line one &amp; <b>bold</b>&nbsp;&nbsp;x<br><br><br><br>after breaks"
         "<script>var x = '<p>no</p>';</script><style>p {}</style><noscript>enable</noscript>"
         "<template><div>hidden</div></template><p>para <i>it</i></p><div>div<div>inner</div></div>"
         "<ul><li>one</li><li>two</li></ul><blockquote>bq</blockquote><h1>h1</h1><pre>  pre\n  text </pre>"
         "<table><tr><td>cell a</td><td>cell b</td></tr></table>"
         "ctl\x01\x7f\x9f &#1; &#x8d; bidi\u202eabc\u202c \u2066i\u2069 zw\u200bsp \u00a0nb "
         "emoji \U0001f600 \u00e9\u0301 &lt;tag&gt; &#8217; &copy;\r\n\t tail ")


def _edit(html: str, old: str, new: str, count: int = 1) -> str:
    if html.count(old) < count:
        raise AssertionError(f"the real page no longer contains {old[:60]!r}")
    return html.replace(old, new, count)


def _cut(html: str, start: str, end: str, end_included: bool = True) -> str:
    """`html` without the span from `start` to `end` (`end` itself kept unless included)."""
    i = html.index(start)
    j = html.index(end, i) + (len(end) if end_included else 0)
    return html[:i] + html[j:]


def _shell(html: str, content: str) -> str:
    """The site's frame (head, menus, footer) around other content, as its error pages are."""
    head = html[: html.index("<!-- START RIGHT COLUMN -->")]
    return head + content + html[html.index('<img src="images/pix.gif" width="1" height="1" id="rate">'):]


def _in_first_body(html: str, words: str) -> str:
    return _edit(html, _FIRST_BODY, f'<td valign="top">{words}</td>')


def page_variants(html: str, quote_fragment: str) -> dict[str, tuple[bytes, str | None]]:
    """name -> (body, Content-Type) for the real page (`html`, decoded) and its variants."""
    utf8 = {
        "real": html,
        "crlf": html.replace("\n", "\r\n"),
        "quote-table": _edit(html, _FIRST_BODY, quote_fragment.strip()),
        "quote-bold-hr-italic": _in_first_body(html, '<div class="textsm"><b>Originally posted by Someone:</b></div>'
                                               '<hr/><i>their words<br>more</i><br/>My own &quot;reply&quot;.'),
        "quote-bold-without-italic": _in_first_body(html, "<b>Originally posted by X:</b><hr>quoted?<br>reply"),
        "quote-deep-bold": _in_first_body(html, "<div><span><b> Originally posted by Y:</b></span></div><hr>"
                                          "<i>q</i> mine"),
        "quote-two": _in_first_body(html, "<table><tr><td><b>Originally posted by A:</b> a</td></tr></table>first"
                                    "<br><b>Originally posted by B:</b><i>b</i>second"),
        "quote-in-quote": _in_first_body(html, "<table><tr><td><b>Originally posted by A:</b><table><tr><td><b>"
                                         "Originally posted by B:</b> b</td></tr></table> a</td></tr></table>mine"),
        "quote-bold-not-a-quote": _in_first_body(html, "<b>Originally</b> posted by me, <b>bold</b> words"),
        "edited": _edit(html, "A divine intervention.</td>", "A divine intervention.<br/><br/><i>Message edited "
                        "by author 2012-07-03 10:01:02.</i></td>"),
        "edited-mid-text": _in_first_body(html, "before<br>Message edited by author 2012.<br>after"),
        "edited-inline": _in_first_body(html, "words. Message edited by author 2012."),
        "no-helpful-first": _edit(html, _HELPFUL_ROW, ""),
        "no-helpful-any": re.sub(r'<tr class="forum-bg\d"><td class="textsm">&nbsp;<img src="/images/ratings/'
                                 r'helpful\.gif"[^>]*> Photographer found comment helpful\.</td></tr>', "", html),
        "helpful-before-first-comment": _edit(html, _COMMENT_HEADING, _COMMENT_HEADING + _HELPFUL_ROW),
        "extra-row-before-body": _edit(html, '<tr class="forum-bg1"><td valign="top"><table cellspacing="0" '
                                       'cellpadding="4" class="forum-post">', '<tr><td>not a body</td></tr>'
                                       '<tr class="forum-bg1"><td valign="top"><table cellspacing="0" '
                                       'cellpadding="4" class="forum-post">'),
        "helpful-words-in-body": _in_first_body(html, "The photographer found comment helpful, said nobody"),
        "divider-words-in-body": _in_first_body(html, "Comments Made During the Challenge were kind"),
        "no-divider": _cut(html, _DIVIDER_ROW, "</tr>"),
        "two-dividers": _edit(html, _HELPFUL_ROW, _HELPFUL_ROW + '<tr><td colspan="2"><b>Comments Made During the '
                              "Challenge</b></td></tr>"),
        "no-timestamp": _edit(html, "02/03/2013 08:14:44 PM", ""),
        "impossible-timestamp": _edit(html, "02/03/2013 08:14:44 PM", "13/45/2013 08:14:44 PM"),
        "timestamp-lowercase-am": _edit(html, "02/03/2013 08:14:44 PM", "2/3/2013 12:04:05am"),
        "timestamp-noon": _edit(html, "02/03/2013 08:14:44 PM", "02/03/2013 12:00:00 PM"),
        "no-timestamp-cell": _edit(html, '<td class="textsm" height="14">\n02/03/2013 08:14:44 PM\t\t\t</td>', ""),
        "author-without-fo-link": _edit(html, 'class="fo ">Neat</a>', 'class="x">Neat</a>'),
        "author-without-links": _edit(html, _FIRST_HEADER_LINK, "Neat"),
        "author-blank": _edit(html, 'class="fo ">Neat</a>', 'class="fo ">  </a>'),
        "anchor-not-digits": _edit(html, '<a name="6970835">', '<a name="c6970835">'),
        "anchor-blank": _edit(html, '<a name="6970835">', '<a name="">'),
        "older-layout-first": _edit(html, '<td valign="top"><table cellspacing="0" cellpadding="4" '
                                    'class="forum-post"><tr><td valign="top">\nSensational!</td></tr></table></td>',
                                    _FIRST_BODY),
        "older-layout-all": _POST_TABLE.sub(r"\1", html),
        "body-cell-in-a-cell": _edit(html, '<table cellspacing="0" cellpadding="4" class="forum-post"><tr><td '
                                     'valign="top">\nSensational!</td></tr></table>', _FIRST_BODY),
        "rich-comment": _in_first_body(html, _RICH),
        "empty-comment": _in_first_body(html, ""),
        "no-comments": (html[: html.index(_COMMENT_HEADING) + len(_COMMENT_HEADING)]
                        + html[html.index(_COMMENT_TABLE_END):]),
        "no-photo-cell": _cut(html, _PHOTO_CELL, "</table>"),
        "no-comment-table": _cut(html, _COMMENT_TABLE, _COMMENT_TABLE_END, end_included=False),
        "photo-cell-spacer-only": _edit(html, 'src="https://images.dpchallenge.com/images_challenge/',
                                        'src="/images/pix.gif" data-x="'),
        "photo-relative-src": _edit(html, 'src="https://images.dpchallenge.com/images_challenge/',
                                    'src="  images_challenge/'),
        "no-statistics": _edit(html, "<td nowrap>Statistics</td>", "<td nowrap>Stats</td>"),
        "shell-rate-limit": _shell(html, "<div class='error'>Too many requests. Please slow down.</div>"),
        "shell-login": _shell(html, '<form action="/login.php" method="post">Username <input name="USERNAME">'
                                    "</form>"),
        "shell-missing": _shell(html, '<div class="error">Invalid IMAGE_ID provided.</div>'),
        "shell-blocked": _shell(html, f"<b>{_BLOCKED}</b>"),
        "blocked-phrase-in-comment": _edit(html, "Sensational!", _BLOCKED),
        "missing-phrase-in-comment": _edit(html, "Sensational!", "Invalid IMAGE_ID provided."),
        "no-footer": _cut(html, "<br>DPChallenge, and website content", "</div>", end_included=False),
    }
    out = {name: (text.encode("utf-8"), HTML if name != "real" else UTF8) for name, text in utf8.items()}
    out["real-no-content-type"] = (html.encode("utf-8"), None)
    out["blocked-bare"] = (f"<html><body>{_BLOCKED}.</body></html>".encode(), None)
    out["empty"] = (b"", None)
    out["not-html"] = (b"\x00\xff\xfe plain \x81 bytes", "application/octet-stream")
    # Charsets: declared in <meta>, in the header over <meta>, undeclared (guessed), a BOM, invalid bytes.
    out["cp1252-meta"] = (html.replace('<meta charset="utf-8">', '<meta charset="windows-1252">').encode("cp1252"),
                          HTML)
    out["cp1252-header"] = (html.encode("cp1252"), "text/html; charset=windows-1252")
    out["cp1252-latin1-label"] = (html.encode("cp1252"), 'text/html; charset="ISO-8859-1"')
    out["cp1252-undeclared"] = (html.replace('<meta charset="utf-8">', "").encode("cp1252"), HTML)
    out["utf8-declared-cp1252-bytes"] = (html.encode("cp1252"), UTF8)
    out["utf8-undeclared-stray-byte"] = (
        html.replace('<meta charset="utf-8">', "").encode("utf-8").replace(b"Sensational!", b"Sensational\x92!"), HTML)
    out["utf8-bom"] = (b"\xef\xbb\xbf" + html.encode("utf-8"), "text/html; charset=windows-1252")
    out["utf16-bom"] = (b"\xff\xfe" + html.encode("utf-16-le"), None)
    # Cut off in transfer, at every twentieth of the page (some cuts fall inside a tag or a character).
    body = html.encode("utf-8")
    for k in range(1, 20):
        out[f"truncated-{k:02d}of20"] = (body[: len(body) * k // 20], HTML)
    return out


def page_json(page: ParsedPage) -> dict:
    """Every field of a parsed page, datetimes as ISO text."""
    data = asdict(page)
    for comment in data["comments"]:
        if comment["posted_at"] is not None:
            comment["posted_at"] = comment["posted_at"].isoformat()
    return data


def dump_cells(sql_folder: Path) -> dict[str, str]:
    """"<file>:<comment id>" -> raw_comment of every row of the njtwomey/dpc dumps in `sql_folder`."""
    cells: dict[str, str] = {}
    for path in sorted(sql_folder.glob("*.sql")):
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE comments (id, image_id, commenter_id, raw_comment, comment, date, edited, "
                   "made_during_challenge)")
        db.executescript(path.read_text("utf-8"))
        for comment_id, raw in db.execute("SELECT id, raw_comment FROM comments ORDER BY id"):
            cells[f"{path.name}:{comment_id}"] = raw or ""
    return cells


def current(shared_data: Path) -> dict:
    """What the parser gives now on every pinned input."""
    html = (shared_data / "dpchallenge" / "image_921974.html").read_text("utf-8")
    fragment = (shared_data / "dpchallenge" / "comment_7035001_quote_reply.fragment.html").read_text("utf-8")
    pages = {name: page_json(parse(body, ctype)) for name, (body, ctype) in page_variants(html, fragment).items()}
    cells = {key: cell_text(raw) for key, raw in dump_cells(shared_data / "comments" / "dpc_sql").items()}
    return {"pages": pages, "dump_cells": cells}


def render(pins: dict) -> str:
    return json.dumps(pins, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


if __name__ == "__main__":
    from tests.conftest import SHARED_DATA

    PINS.parent.mkdir(exist_ok=True)
    PINS.write_text(render(current(SHARED_DATA)), encoding="ascii")
    print(f"wrote {PINS}")
