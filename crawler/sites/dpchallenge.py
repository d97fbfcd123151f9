"""DPChallenge image pages (`image.php?IMAGE_ID=N`), the source of AVA's comments.

Checked against a real page (../shared/data/dpchallenge/image_921974.html,
fetched 2026). The comment table is a flat run of rows: a header row (author
cell with `rowspan` and `<a name="COMMENT_ID">`, then the timestamp cell), a
body row (`table.forum-post`), an optional "Photographer found comment
helpful." row, and, once, the divider row "Comments Made During the
Challenge" with everything below it made while voting ran. Comments are found
by their anchors and the rows after them, not by row counts or the table's
width, so a missing helpful row or a slightly older layout still parses.

Decisions:
- No divider on the page -> `during_challenge` is None: the page does not say.
- A quote of another comment ("Originally posted by X:" and the quoted text)
  is removed, so each comment's text is its author's own words.
- "Message edited by author <time>." is removed from the text and sets `edited`.
- The block page and "Invalid IMAGE_ID provided." are recognised only on pages
  without comment bodies, so a comment that quotes those phrases cannot turn
  a real page into a false block.
- A photo page is recognised by two landmarks of the real page: the photo cell
  (`td#img_container`, class `page-image`, holding the photo after a spacer
  gif) and the comment table (its "Author | Thread" heading row, or comment
  anchors). A page without either (a "Too many requests" text or a login form
  inside the normal frame and footer, an error page) is `unrecognised`, never
  "a photo page with no comments". No real page without comments was in reach;
  this assumes the site keeps the table's heading row when it has no rows, so a
  page that drops it fails with its raw copy archived, for `reparse`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from aesthetic.crawler.html_text import ends_html, html_utf8, node_text
from aesthetic.crawler.sites.base import ParsedComment, ParsedPage, Site, member_id

BASE_URL = "https://www.dpchallenge.com"

BLOCKED_MARKER = "Page cannot be served due to suspicious activity"
MISSING_MARKER = "Invalid IMAGE_ID provided."
DIVIDER_MARKER = "Comments Made During the Challenge"
HELPFUL_MARKER = "found comment helpful"
_BLOCKED = BLOCKED_MARKER.encode()
_MISSING = MISSING_MARKER.encode()
_BODY_MARKER = b"forum-post"
_ANCHOR = "td[rowspan] > a[name]"   # each comment's author cell starts with its anchor
_PHOTO_CELL = "#img_container, td.page-image"
_PHOTO = "#img_container img, td.page-image img"
_HEADING = "tr.forum-heading"
# The anchors and heading rows in one walk of the document (told apart by tag: a, tr): a CSS select
# walks the whole tree each time; on the real page three selects took 113 us, one 92 us.
_LANDMARKS = f"{_ANCHOR}, {_HEADING}"
# The comment table's rows, body cells and profile links in one select (document order: each top-level
# row, then what lies inside it), instead of selects per row and per comment at 4-5 us each (the
# anchor select alone, on the real page's 89 rows, took 420 us).
_TABLE_PARTS = "tr, table.forum-post td, a.fo"
_FOOTER_MARKERS = (b"Current Server Time", b"Challenging Technologies")
QUOTE_HEAD = "Originally posted by"
# QUOTE_HEAD's letters with nothing but whitespace between them (see `_remove_quotes`).
_QUOTE_LETTERS = re.compile(r"\s*".join("".join(QUOTE_HEAD.split())))
EDITED_HEAD = "Message edited by author"
EDITED_LINE = re.compile(rf"^{EDITED_HEAD}\b.*$\n?", re.MULTILINE)
# "02/03/2013 08:14:44 PM", site-local time. Parsed by hand: strptime was a fifth of the parse time.
TIMESTAMP = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AP])M", re.IGNORECASE)


def parse(body: bytes, content_type: str | None) -> ParsedPage:
    """One image page -> its comments, photo URL and statistics (see the module docstring)."""
    utf8 = html_utf8(body, content_type)   # the markers are ASCII: sought in these bytes, as in the text
    has_bodies = _BODY_MARKER in utf8   # tested first: a page with comments needs no other scan
    if not has_bodies and _BLOCKED in utf8:
        return ParsedPage(kind="blocked")
    if not has_bodies and _MISSING in utf8:
        return ParsedPage(kind="missing")
    tree = LexborHTMLParser(utf8)
    complete = looks_complete(utf8)
    anchors, headings = _landmarks(tree)
    image_url = _image_url(tree)
    if image_url is None or (not anchors and not _has_comment_heading(headings)):
        return ParsedPage(kind="unrecognised", complete=complete)
    return ParsedPage(
        kind="ok",
        comments=_comments(anchors),
        image_url=image_url,
        stats=_statistics(headings),
        complete=complete,
    )


class _Numbers(dict):
    """Digit string -> its number: a table of those up to two digits, `int` for any other (such as
    digits of another script, which a regex digit matches too)."""

    def __missing__(self, digits: str) -> int:
        return int(digits)


# The timestamp's two-digit fields from a table: to_datetime took 0.62 us against 0.97 us with int().
_SMALL_NUMBERS = _Numbers({**{str(n): n for n in range(100)}, **{f"{n:02d}": n for n in range(10)}})


def to_datetime(stamp: re.Match[str]) -> datetime | None:
    """A `TIMESTAMP` match -> datetime (12-hour clock), None if the numbers are impossible."""
    month, day, year, hour, minute, second, half = stamp.groups()   # `half` is one letter: A, P, a or p
    number = _SMALL_NUMBERS
    try:
        return datetime(int(year), number[month], number[day], number[hour] % 12 + (12 if half in "Pp" else 0),
                        number[minute], number[second])
    except ValueError:
        return None


def looks_complete(utf8: bytes) -> bool:
    """A page (`html_utf8`'s bytes) cut off in transfer lacks `</html>` or the footer every full page
    ends with."""
    # The markers are sought from the end, where the footer is (~1.5 us against ~15 us for a scan
    # of the whole real page).
    return ends_html(utf8) and any(utf8.rfind(m) >= 0 for m in _FOOTER_MARKERS)


@dataclass
class _Draft:
    """A comment while its rows are being read (header, then body, then helpful)."""

    comment_id: int | None
    author: str | None
    author_id: int | None
    posted_at: datetime | None
    below_divider: bool
    text: str = ""
    edited: bool = False
    helpful: bool = False
    has_body: bool = False


def _landmarks(tree: LexborHTMLParser) -> tuple[list[LexborNode], list[LexborNode]]:
    """The comment anchors and the heading rows, each in document order."""
    anchors: list[LexborNode] = []
    headings: list[LexborNode] = []
    for node in tree.css(_LANDMARKS):
        (anchors if node.tag == "a" else headings).append(node)
    return anchors, headings


def _has_comment_heading(headings: list[LexborNode]) -> bool:
    """The comment table's heading row, "Author | Thread", present even before its first comment."""
    return any([cell.text(strip=True) for cell in row.css("td")] == ["Author", "Thread"] for row in headings)


def _first_per_row(nodes: list[LexborNode], table_body: LexborNode) -> dict[int, LexborNode]:
    """Row `mem_id` -> the first of `nodes` (document order) inside that row of `table_body`, as
    `row.css_first` would give, for all rows at once."""
    body_id = table_body.mem_id
    first: dict[int, LexborNode] = {}
    for node in nodes:
        row = node
        while (parent := row.parent) is not None and parent.mem_id != body_id:
            row = parent
        if parent is not None:
            first.setdefault(row.mem_id, node)
    return first


def _table_parts(table_body: LexborNode) -> tuple[list[tuple[LexborNode, LexborNode | None]], list[LexborNode]]:
    """The rows of `table_body` in order, each with its first `table.forum-post td` (the comment body
    cell, as `row.css_first` would give) or None; and the table's `a.fo` profile links."""
    body_id = table_body.mem_id
    rows: list[list] = []
    links: list[LexborNode] = []
    for node in table_body.css(_TABLE_PARTS):
        tag = node.tag
        if tag == "a":
            links.append(node)
        elif tag == "tr":   # a row of this table, or one nested in a row (those are skipped)
            if node.parent.mem_id == body_id:
                rows.append([node, None])
        elif rows and rows[-1][1] is None:   # a tbody holds only rows, so this cell is in the last one
            rows[-1][1] = node
    return [(row, cell) for row, cell in rows], links


def _comments(anchors: list[LexborNode]) -> list[ParsedComment]:
    if not anchors:
        return []
    table_body = anchors[0].parent.parent.parent  # a -> td -> tr -> tbody
    header_anchor = _first_per_row(anchors, table_body)
    rows, links = _table_parts(table_body)
    author_link = _first_link_per_cell(links, table_body, {a.parent.mem_id for a in header_anchor.values()})
    drafts: list[_Draft] = []
    divider_seen = False
    for row, body_cell in rows:
        anchor = header_anchor.get(row.mem_id)
        if anchor is not None:
            drafts.append(_header(anchor, author_link.get(anchor.parent.mem_id), divider_seen))
            continue
        awaiting_body = bool(drafts) and not drafts[-1].has_body
        if awaiting_body and body_cell is not None:
            _read_body(drafts[-1], body_cell)
            continue
        text = row.text_lexbor()
        if DIVIDER_MARKER in text:
            divider_seen = True
        elif drafts and HELPFUL_MARKER in text:
            drafts[-1].helpful = True
        elif awaiting_body and (cell := row.css_first("td")) is not None:
            _read_body(drafts[-1], cell)   # an older layout without `table.forum-post`
    return [
        ParsedComment.of(
            position=position,
            comment_id=d.comment_id,
            author=d.author,
            author_id=d.author_id,
            text=d.text,
            posted_at=d.posted_at,
            during_challenge=d.below_divider if divider_seen else None,
            edited=d.edited,
            helpful=d.helpful,
        )
        for position, d in enumerate(drafts)
    ]


def _first_link_per_cell(links: list[LexborNode], table_body: LexborNode, cells: set[int]) -> dict[int, LexborNode]:
    """Author cell `mem_id` -> the first of `links` inside it, as `cell.css_first` would give."""
    # A link's walk stops at the first of `cells` above it: a row holds at most one of them (its first
    # anchor's), and a link lies in one row, so no other can hold it (on the real page this spares the
    # row and the table body, 2 of each link's 5 steps).
    body_id = table_body.mem_id
    first: dict[int, LexborNode] = {}
    for link in links:
        node = link.parent
        while node is not None and (node_id := node.mem_id) != body_id:
            if node_id in cells:
                first.setdefault(node_id, link)
                break
            node = node.parent
    return first


def _header(anchor: LexborNode, author_link: LexborNode | None, below_divider: bool) -> _Draft:
    """The author cell (anchor, profile link: its first `a.fo`) and the timestamp cell beside it."""
    # `attrs.get` reads one attribute; `attributes` builds a dict of all (~0.25 us against ~0.5 us).
    name = (anchor.attrs.get("name") or "").strip()
    author_cell = anchor.parent
    if author_link is None:
        named = [a for a in author_cell.css('a[href*="USER_ID="]') if a.text(strip=True)]
        author_link = named[-1] if named else None
    author = author_link.text(strip=True) if author_link is not None else None
    author_id = member_id(author_link.attrs.get("href"), "USER_ID") if author_link is not None else None
    posted_at = None
    cell = author_cell.next
    while cell is not None and cell.tag != "td":
        cell = cell.next
    stamp = TIMESTAMP.search(cell.text_lexbor()) if cell is not None else None
    if stamp is not None:
        posted_at = to_datetime(stamp)
    return _Draft(int(name) if name.isdigit() else None, author or None, author_id, posted_at, below_divider)


def _read_body(draft: _Draft, cell: LexborNode) -> None:
    raw = cell.text_lexbor()
    # A quote's `<b>` reads QUOTE_HEAD once each of its text pieces is stripped, so its cell's text
    # holds QUOTE_HEAD's letters with only whitespace between them; most cells do not, and a search
    # for that spares them the select (~3 us a cell, the search ~0.3 us). A cell left whole keeps its
    # text for `node_text`, which reads it again only if the cell holds elements (3 of the real
    # page's 29 cells).
    if _QUOTE_LETTERS.search(raw):
        _remove_quotes(cell)
        raw = None
    text = node_text(cell, raw)
    edits = 0
    if EDITED_HEAD in text:  # the search costs more than the check: 1.5 us against 0.1 us a comment
        text, edits = EDITED_LINE.subn("", text)
    draft.text = text.strip()
    draft.edited = edits > 0
    draft.has_body = True


def _remove_quotes(cell: LexborNode) -> None:
    """Drop "Originally posted by X:" blocks: a nested table, or a `<b>` then `<hr>` and `<i>`."""
    # Each bold's top (the cell's child holding it) is found once per element on the way up, and a
    # bold whose top already goes is not read: walking up from every bold, and reading every bold's
    # text, took quadratic time on bolds nested thousands deep (8,000 quote bolds in a comment of the real
    # page: 5.5 s of CPU for the parse before, 9 ms after).
    cell_id = cell.mem_id
    top_of: dict[int, LexborNode] = {}
    tops: dict[int, LexborNode] = {}
    for bold in cell.css("b"):
        path: list[int] = []
        node = bold
        while (node_id := node.mem_id) not in top_of:
            parent = node.parent
            if parent is None or parent.mem_id == cell_id:
                top_of[node_id] = node
                break
            path.append(node_id)
            node = parent
        top = top_of[node_id]
        for passed in path:
            top_of[passed] = top
        if top.mem_id not in tops and bold.text(strip=True).startswith(QUOTE_HEAD):
            tops[top.mem_id] = top
    for top in tops.values():
        doomed = [top]
        if top.tag != "table":
            sibling = top.next
            while sibling is not None and sibling.tag in ("hr", "i", "-text"):
                doomed.append(sibling)
                if sibling.tag == "i":
                    break
                sibling = sibling.next
        for node in doomed:
            node.decompose()


def _image_url(tree: LexborHTMLParser) -> str | None:
    """The full-size photo in the page's image cell (the first `<img>` there is a spacer)."""
    # All `_PHOTO` images in page order begin with those of the first cell, so those are tried first:
    # finding that cell stops near the top of the page, where a select of `_PHOTO` walks all of it
    # (~8 us against ~56 us on the real page).
    cell = tree.css_first(_PHOTO_CELL)
    if cell is None:
        return None
    url = _photo_url(img for img in cell.css("img") if img.mem_id != cell.mem_id)  # css() includes cell
    return url if url is not None else _photo_url(tree.css(_PHOTO))


def _photo_url(imgs: Iterable[LexborNode]) -> str | None:
    for img in imgs:
        src = (img.attributes.get("src") or "").strip()
        if src and not src.endswith("/pix.gif"):
            return urljoin(BASE_URL + "/", src)
    return None


def _statistics(headings: list[LexborNode]) -> dict[str, str]:
    """The "Statistics" panel as label -> value, exactly as shown ("Votes" -> "171")."""
    for heading in headings:
        if heading.text(strip=True) != "Statistics":
            continue
        panel = heading.next
        while panel is not None and panel.tag != "tr":
            panel = panel.next
        if panel is None:
            return {}
        stats: dict[str, str] = {}
        for line in node_text(panel).splitlines():
            label, colon, value = line.partition(":")
            if colon and label.strip():
                stats[label.strip()] = value.strip()
        return stats
    return {}


SITE = Site(
    name="dpchallenge",
    dataset="ava",
    default_base_url=BASE_URL,
    sources=("live", "wayback"),
    page_path=lambda image_id: f"/image.php?IMAGE_ID={image_id}",
    parse=parse,
    parser_version="2",  # 2: author_id from the profile link
)
