"""Bytes of a fetched page -> str, and an HTML node -> the plain text a reader sees.

Both site parsers need the same two things: decode a page the way a browser
would (the declared charset first, then UTF-8, then Windows-1252, because old
DPChallenge pages are cp1252 and often say nothing), and turn a comment's HTML
into text where `<br>` and block boundaries are line breaks while the source's
own line breaks (including the live site's `\\r\\n`) are just spaces.
"""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborNode

# A private-use character marks forced line breaks while HTML whitespace is collapsed.
BREAK = "\ue000"
# Elements a browser starts on a new line (`<br>` ends one); the BeautifulSoup baseline uses the same list.
BLOCK_TAGS = ("p", "div", "li", "tr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table")
_BREAKING_TAGS = ", ".join(("br", *BLOCK_TAGS))
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0\u200b]+")
_MANY_BREAKS = re.compile(r"\n{3,}")

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Browsers (WHATWG Encoding) read these labels as Windows-1252; so must we, or 0x80-0x9F break.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset the server declared: HTTP header parameter first, then a `<meta>` in the head."""
    if content_type:
        found = _HEADER_CHARSET.search(content_type)
        if found:
            return found.group(1)
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii") if found else None


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode a page: declared charset, else UTF-8, else Windows-1252 (never fails).

    A declaration that is unknown or contradicted by the bytes is ignored, as
    browsers effectively do for these sites' legacy pages.
    """
    candidates: list[str] = []
    declared = declared_charset(body, content_type)
    if declared:
        label = declared.strip().lower()
        candidates.append("cp1252" if label in _AS_CP1252 else label)
    candidates += ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            codecs.lookup(encoding)
            text = body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
        return text[1:] if text.startswith("\ufeff") else text
    # cp1252 leaves five bytes undefined; replacing them is the only lossy case.
    return body.decode("cp1252", errors="replace")


def node_text(node: LexborNode) -> str:
    """The visible text of `node`: `<br>`/blocks become newlines, other whitespace one space.

    Entities are already decoded by the parser. Images contribute nothing.
    Modifies the subtree (breaks are inserted as text), so call it last.
    """
    for element in node.css(_BREAKING_TAGS):
        if element.tag == "br":
            element.replace_with(BREAK)
        else:
            element.insert_before(BREAK)
            element.insert_after(BREAK)
    return collapse_text(node.text(deep=True))


def collapse_text(raw: str) -> str:
    """Collapse HTML whitespace; `BREAK` marks become single newlines (at most one blank line)."""
    lines = (line.strip() for line in _SPACES.sub(" ", raw).split(BREAK))
    return _MANY_BREAKS.sub("\n\n", "\n".join(lines)).strip()

