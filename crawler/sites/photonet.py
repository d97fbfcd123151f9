"""Photo.net photo pages (`/photodb/photo?photo_id=N`), as archived by the Wayback Machine.

UNVERIFIED AGAINST REAL CAPTURES: no captured Photo.net photo page was in
reach while this was written. The page-level fields follow what public
scrapers and the dataset's README document (`<avg>/7 average`, a
`ratings-breakdown?photo_id=` link whose text is the number of ratings,
`Uploaded&nbsp;Date</th><td>YYYY-MM-DD`, tag links to
`/gallery/tag-search/search`, the photo inside `div.photo`, medium images at
`http://gallery.photo.net/photo/<id>-md.jpg`). The comment markup is not
documented anywhere we could read, so comments are found by two plausible
shapes, tried in order:

1. containers classed as one comment (`div.comment`, `li.photo-comment`,
   `tr.comment-item`...; not the parts `comment-text` nor the list `comments`)
   that hold a member link (`user_id=`); one holding others is a wrapper;
2. the ArsDigita-style `<blockquote>text -- <a href=...user_id=...>Name</a>, date</blockquote>`
   that photo.net's ACS-era pages used for user contributions.

Everything specific to this site lives here, so fixing it against real
captures touches one module; bump `parser_version` when it changes.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from aesthetic.crawler.html_text import ends_html, html_utf8, node_text
from aesthetic.crawler.sites.base import ParsedComment, ParsedPage, Site, member_id

BASE_URL = "http://photo.net"
IMAGE_URL = "http://gallery.photo.net/photo/{photo_id}-md.jpg"

# From the first digit of a run only: a later start can end only where the first could, so it finds
# nothing more, and trying every digit of a long run made the search quadratic (8,000 digits: 1.0 s,
# `python perf/hostile_text.py`).
_AVERAGE = re.compile(r"(?<!\d)(\d+(?:\.\d+)?)\s*/\s*7\s+average", re.IGNORECASE)
_PHOTO_ID = re.compile(r"photo_id=(\d+)")
_NOT_FOUND = re.compile(
    r"(photo|image)\s+(has been|was)\s+(deleted|removed)|no such photo|photo (could not be|was not) found"
    r"|photo_id\s+\d+\s+(does not exist|not found)",
    re.IGNORECASE,
)
_MEMBER_LINK = 'a[href*="user_id="]'
# "comment", "photo-comment", "comment-item"... but not its parts ("comment-text") or the list ("comments").
_CONTAINER_CLASS = re.compile(r"^(?:[a-z]+[-_])?comment(?:[-_]?(?:item|entry|row|block|box|container|wrapper))?$")
_ID_DIGITS = re.compile(r"(\d+)$")
_SIGNATURE = re.compile(r"\n?\s*--\s*[^\n]*$")   # "-- Name, date" ending a comment: run by `_strip_signature`
# Dates as photo.net printed them: ISO, or "Jan 05, 2004; 10:15 p.m." (ACS style), which
# `_find_date` first reduces to "Jan 05 2004 10:15 PM".
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"),
     ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")),
    (re.compile(r"[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}(?:[;,]? \d{1,2}:\d{2} ?[ap]\.?m\.?)?", re.IGNORECASE),
     ("%b %d %Y %I:%M %p", "%B %d %Y %I:%M %p", "%b %d %Y", "%B %d %Y")),
)


def parse(body: bytes, content_type: str | None) -> ParsedPage:
    """One archived photo page -> comments, photo URL and rating statistics (unverified layout)."""
    utf8 = html_utf8(body, content_type)
    tree = LexborHTMLParser(utf8)
    stats = _statistics(tree)
    image_url = _image_url(tree)
    is_photo_page = bool(stats) or tree.css_first("div.photo") is not None
    complete = ends_html(utf8)
    if not is_photo_page:
        # Not a photo page we recognise: never to be taken for "no comments".
        missing = _NOT_FOUND.search(tree.body.text() if tree.body else "")
        return ParsedPage(kind="missing" if missing else "unrecognised", complete=complete)
    return ParsedPage(
        kind="ok",
        comments=_container_comments(tree) or _blockquote_comments(tree),
        image_url=image_url,
        stats=stats,
        complete=complete,  # cut off: don't trust it
    )


def _statistics(tree: LexborHTMLParser) -> dict[str, str]:
    stats: dict[str, str] = {}
    average = _AVERAGE.search(tree.body.text() if tree.body else "")
    if average:
        stats["rating_average"] = average.group(1)
    count_link = tree.css_first('a[href*="ratings-breakdown"]')
    if count_link is not None:
        count = re.search(r"\d[\d,]*", count_link.text())
        if count:
            stats["ratings_count"] = count.group(0).replace(",", "")
    for header in tree.css("th"):
        if " ".join(header.text().replace("\xa0", " ").split()).lower() == "uploaded date":
            cell = _next_element(header)
            if cell is not None:
                stats["uploaded_date"] = cell.text(strip=True)
            break
    tags = [a.text(strip=True) for a in tree.css('a[href*="/gallery/tag-search/search"]')]
    if any(tags):
        stats["tags"] = ", ".join(t for t in tags if t)
    return stats


def _image_url(tree: LexborHTMLParser) -> str | None:
    """The photo inside `div.photo`, else the documented `-md.jpg` URL of the page's own id.

    Other gallery images on the page (thumbnails of other photos) are never taken.
    """
    img = tree.css_first("div.photo img[src]")
    if img is not None and (img.attributes.get("src") or "").strip():
        return urljoin(BASE_URL + "/", (img.attributes.get("src") or "").strip())
    for link in tree.css('a[href*="ratings-breakdown"], link[rel="canonical"], meta[property="og:url"]'):
        found = _PHOTO_ID.search(link.attributes.get("href") or link.attributes.get("content") or "")
        if found:
            return IMAGE_URL.format(photo_id=found.group(1))
    return None


def _container_comments(tree: LexborHTMLParser) -> list[ParsedComment]:
    candidates = [
        node for node in tree.css('[class*="comment"]')
        if any(_CONTAINER_CLASS.match(token) for token in (node.attributes.get("class") or "").lower().split())
        and node.css_first(_MEMBER_LINK) is not None
    ]
    ids = {node.mem_id for node in candidates}
    wrappers = {_ancestor_in(node, ids) for node in candidates} - {None}
    comments: list[ParsedComment] = []
    for node in candidates:
        if node.mem_id in wrappers:
            continue
        author_link = node.css_first(_MEMBER_LINK)
        author = author_link.text(strip=True) or None
        author_id = member_id(author_link.attributes.get("href"), "user_id")
        date_node = node.css_first('[class*="date"], [class*="time"], time')
        date_text = date_node.text() if date_node is not None else node.text()
        body = node.css_first('[class*="text"], [class*="body"], [class*="content"], p')
        if body is None:
            # No marked-up body: the container minus its author line and date.
            for part in [author_link] + ([date_node] if date_node is not None else []):
                part.decompose()
            body = node
        comments.append(ParsedComment(
            position=len(comments),
            comment_id=_comment_id(node),
            author=author,
            author_id=author_id,
            text=node_text(body),
            posted_at=_find_date(date_text),
            during_challenge=None,
        ))
    return comments


def _ancestor_in(node: LexborNode, ids: set[int]) -> int | None:
    """The mem_id of the nearest ancestor of `node` that is also a candidate, if any."""
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return parent.mem_id
        parent = parent.parent
    return None


def _blockquote_comments(tree: LexborHTMLParser) -> list[ParsedComment]:
    comments: list[ParsedComment] = []
    for quote in tree.css("blockquote"):
        links = quote.css(_MEMBER_LINK)
        if not links:
            continue
        author_link = links[-1]  # the signature comes last: "-- <a>Name</a>, date"
        author = author_link.text(strip=True) or None
        text = node_text(quote)
        posted_at = _find_date(text.rsplit("--", 1)[-1])
        comments.append(ParsedComment(
            position=len(comments),
            comment_id=_comment_id(quote),
            author=author,
            author_id=member_id(author_link.attributes.get("href"), "user_id"),
            text=_strip_signature(text).strip(),
            posted_at=posted_at,
            during_challenge=None,
        ))
    return comments


def _strip_signature(text: str) -> str:
    """`_SIGNATURE.sub("", text)`, with the search started where its match must start.

    Left to itself `re` tries every start, scanning to the line's end from each `--`: `-- ` repeated
    on one line above the last took quadratic time (20 KB: 0.9-1.4 s, `python perf/hostile_text.py`).
    Its one match ends the text, so its `--` is either the first in the last line or the one that ends
    the text above that line, only whitespace following; it starts where the whitespace before that
    `--` does."""
    body_end = len(text) - 1 if text.endswith("\n") else len(text)   # `$` also matches before a final newline
    last_line = text.rfind("\n", 0, body_end) + 1
    above = text[:last_line].rstrip()   # str.isspace() is `re`'s `\s`, character for character
    dashes = len(above) - 2 if above.endswith("--") else text.find("--", last_line)
    if dashes < 0:
        return text
    start = len(text[:dashes].rstrip())
    return text[:start] + _SIGNATURE.sub("", text[start:], count=1)


def _comment_id(node: LexborNode) -> int | None:
    """The id a comment's markup carries (`id="comment-123"`, `data-comment-id`, `<a name="123">`)."""
    attrs = node.attributes
    for raw in (attrs.get("data-comment-id"), attrs.get("id")):
        found = _ID_DIGITS.search(raw or "")
        if found:
            return int(found.group(1))
    anchor = node.css_first("a[name]")
    name = (anchor.attributes.get("name") or "") if anchor is not None else ""
    return int(name) if name.isdigit() else None


def _find_date(text: str) -> datetime | None:
    for pattern, formats in _DATE_PATTERNS:
        found = pattern.search(text)
        if not found:
            continue
        value = re.sub(r"[;,]?\s+", " ", found.group(0).replace(",", "").replace(".", ""))
        value = re.sub(r"\b([ap])m\b", lambda m: m.group(1).upper() + "M", value, flags=re.IGNORECASE)
        for fmt in formats:
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
    return None


def _next_element(node: LexborNode) -> LexborNode | None:
    sibling = node.next
    while sibling is not None and not sibling.is_element_node:
        sibling = sibling.next
    return sibling


SITE = Site(
    name="photonet",
    dataset="photonet",
    default_base_url=BASE_URL,
    sources=("wayback",),
    page_path=lambda photo_id: f"/photodb/photo?photo_id={photo_id}",
    parse=parse,
    parser_version="2",  # 2: author_id from the member link
)
