"""Bytes of a fetched page -> str, and an HTML node -> the plain text a reader sees.

Both site parsers need the same two things. Decoding as the page meant it: a
byte-order mark, else the charset the server declared (the HTTP header, then a
`<meta>` in the first 4 KiB, as browsers do), with only the bytes that are not
valid in it replaced, so one stray byte cannot turn a UTF-8 page into cp1252
mojibake; only when nothing usable is declared is the encoding guessed (UTF-8
when most of the non-ASCII bytes form UTF-8 sequences, else Windows-1252: old
DPChallenge pages are cp1252 and often say nothing). And text as a reader sees
it: `<br>` and block boundaries are line breaks while the source's own line
breaks (including the live site's `\\r\\n`) are just spaces; `<script>`,
`<style>`, `<template>` and `<noscript>` contribute nothing; invisible control
and bidi characters are removed (aesthetic.core.text, the corpus cleaner's rule too).
"""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborNode

from aesthetic.core.text import INVISIBLE_CHARS, strip_invisible

# A private-use character marks forced line breaks while HTML whitespace is collapsed.
BREAK = "\ue000"
# Elements a browser starts on a new line (`<br>` ends one); the BeautifulSoup baseline uses the same list.
BLOCK_TAGS = ("p", "div", "li", "tr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table")
_BLOCKS = frozenset(BLOCK_TAGS)
# Elements whose content is never shown as text: code, styles, inert templates, the no-script fallback.
INVISIBLE_TAGS = ("script", "style", "template", "noscript")
_INVISIBLE = frozenset(INVISIBLE_TAGS)
_SPACES = re.compile(r"[ \t\n\r\f\v\x85\xa0\u200b]+")
# str.split() collapses whitespace as _SPACES does (U+200B made a space first), except on these: Unicode
# spaces it splits on that HTML keeps as text (those below U+0020 are invisible, removed before).
KEPT_SPACES = "\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A text holding none of those and no invisible character is collapsed by str.split alone: on the real
# page's comments (126 characters on average) _SPACES.sub took 8-9 us a comment, split and join 2 us.
_NEEDS_RULES = re.compile(f"[{INVISIBLE_CHARS}{KEPT_SPACES}]")

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Browsers (WHATWG Encoding) read these labels as Windows-1252; so must we, or 0x80-0x9F break.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}
# Never honoured from a page: UTF-7 smuggles markup past filters (WHATWG drops it too).
_REFUSED = {"utf-7", "utf7", "unicode-1-1-utf-7"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# A well-formed multi-byte UTF-8 sequence (RFC 3629), for guessing undeclared pages.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_UTF8_PIECE = 8192   # bytes `is_utf8` decodes at once; on the real DPChallenge page 4 KiB took 10-11 us, 8 KiB 7-8, 16 KiB 8-9


def _usable(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None if it is unknown or not honoured."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _AS_CP1252:
        return "cp1252"
    if label in _REFUSED:
        return None
    try:
        codec = codecs.lookup(label).name
        "x".encode(codec)  # LookupError also for the codecs that are not text encodings (rot13, base64)
    except LookupError:
        return None
    except UnicodeError:
        pass  # a text encoding that cannot write "x" is still one
    return codec


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The codec of the charset the server declared: HTTP header parameter first, then a `<meta>` in the
    head; a label that is unknown is no declaration."""
    if content_type:
        found = _HEADER_CHARSET.search(content_type)
        if found and (codec := _usable(found.group(1))):
            return codec
    found = _META_CHARSET.search(body[:4096])
    return _usable(found.group(1).decode("ascii")) if found else None


def guess_charset(body: bytes) -> str:
    """For a page that declares nothing: UTF-8 if it decodes, or if most non-ASCII bytes form UTF-8
    sequences (a UTF-8 page with a stray byte); else Windows-1252."""
    if is_utf8(body):
        return "utf-8"
    in_sequences = sum(map(len, _UTF8_SEQUENCE.findall(body)))
    return "utf-8" if 2 * in_sequences > len(_HIGH_BYTE.findall(body)) else "cp1252"


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode a page (see the module docstring); never fails: invalid bytes become U+FFFD."""
    codec, payload = _source(body, content_type)
    return payload.decode(codec, errors="replace")


def html_utf8(body: bytes, content_type: str | None = None) -> bytes:
    """`decode_html`'s text as UTF-8: what lexbor is given (given a str, selectolax encodes it first),
    and where an ASCII marker is sought (it is in the text exactly when its bytes are in these). A page
    that is valid UTF-8 as it came is its own bytes, and its text is never built: decoding the real
    DPChallenge page whole took 30 us, checking it 7-8 us (`is_utf8`)."""
    codec, payload = _source(body, content_type)
    if codec == "utf-8" and is_utf8(payload):
        return payload
    return payload.decode(codec, errors="replace").encode("utf-8")


def _source(body: bytes, content_type: str | None) -> tuple[str, bytes]:
    """The page's codec and the bytes to decode with it (a byte-order mark, which names it, removed)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, body[len(bom):]
    return declared_charset(body, content_type) or guess_charset(body), body


def is_utf8(data: bytes) -> bool:
    """Whether `data` decodes as UTF-8, checked 8 KiB at a time: most pieces of a page are ASCII,
    which the decoder copies at once, where the text of a whole page with one wide character is
    widened and held whole (7-8 us against 30 us on the real DPChallenge page)."""
    decoder = codecs.getincrementaldecoder("utf-8")()   # holds a sequence cut between two pieces
    view = memoryview(data)
    try:
        for start in range(0, len(view), _UTF8_PIECE):
            decoder.decode(view[start:start + _UTF8_PIECE])
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def ends_html(utf8: bytes) -> bool:
    """Whether `</html>`, in any case, is in the last 4 KiB of a page: one cut off in transfer lacks it."""
    return b"</html>" in utf8[-4096:].lower()


def node_text(node: LexborNode, raw: str | None = None) -> str:
    """The visible text of `node`: `<br>`/blocks become newlines, other whitespace one space.

    Entities are already decoded by the parser. Images contribute nothing.
    Modifies the subtree (invisible elements removed, breaks inserted as text), so call it last.
    `raw`: the node's `text_lexbor()` if the caller has just read it; kept when the node holds no
    element, which nothing here changes.
    """
    if _mark_breaks(node) or raw is None:
        raw = node.text_lexbor()
    return collapse_text(raw)


def _mark_breaks(node: LexborNode) -> bool:
    """Below `node`: the outermost invisible elements removed (what is inside goes with them), each
    `<br>` replaced by `BREAK`, each block wrapped in `BREAK`s.

    One walk over the elements in Python instead of CSS selects: selectolax parses the selector again
    on every call, which made a select 3-6 us on a comment cell of the real DPChallenge page, where
    this walk takes ~1 us (and nothing for the 26 of its 29 cells that hold text only).
    The walk keeps its own list of elements still to visit, not Python's call stack: a comment of
    thousands of nested elements, which lexbor parses and a browser shows, would exceed the
    interpreter's recursion limit. Each element's change touches only itself and the text beside
    it, so the order of visits does not matter.
    Says whether `node` holds an element.
    """
    holds_elements = False
    pending = [node]   # elements whose children are still to visit
    while pending:
        for child in pending.pop().iter():   # elements only; it reads each next sibling before yielding
            holds_elements = True
            tag = child.tag
            if tag == "br":
                child.replace_with(BREAK)
            elif tag in _INVISIBLE:
                child.decompose()
            else:
                if tag in _BLOCKS:
                    child.insert_before(BREAK)
                    child.insert_after(BREAK)
                pending.append(child)
    return holds_elements


def collapse_text(raw: str) -> str:
    """Invisible characters removed, HTML whitespace collapsed; `BREAK` marks become single newlines
    (at most one blank line)."""
    if _NEEDS_RULES.search(raw) is None:
        # No line needs splitting apart: collapse the whole text, then drop the spaces around breaks.
        text = " ".join(raw.replace("\u200b", " ").split())
        text = text.replace(" " + BREAK, BREAK).replace(BREAK + " ", BREAK).replace(BREAK, "\n")
    else:
        text = "\n".join(line.strip() for line in _SPACES.sub(" ", strip_invisible(raw)).split(BREAK))
    while "\n\n\n" in text:   # at most one blank line: ~5x faster than substituting `\n{3,}`
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
