"""The Internet Archive as a source: find a page's captures (CDX API), pick one, fetch its raw bytes.

Pure functions only (URLs in, URLs or records out); the engine does the
fetching, with the same politeness it uses for any host. `base_url` is the
Archive's root, overridable so tests can point it at a local server.

Which capture: the NEWEST capture that answered 200 with `text/html`. Comments
only accumulate on these sites, so a later capture holds more of them (and
DPChallenge's later pages are the layout the parser is checked against).
Redirects, client and server errors never hold a photo page and are never
chosen; revisit records (status "-": the same bytes as an earlier capture)
rank after real 200s. `rank_captures` gives the full order; the engine fetches
only its head (`best_capture`): a capture that turns out unusable fails the
attempt like any bad answer, and the next attempt asks the CDX API again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

ARCHIVE_URL = "https://web.archive.org"
CDX_FIELDS = ("timestamp", "original", "statuscode", "mimetype", "digest", "length")
_TIMESTAMP = re.compile(r"^\d{1,14}$")  # the Archive accepts a prefix: "2009" = the nearest in 2009


class CdxError(ValueError):
    """The CDX answer is not the JSON table the API documents (a transient or proxy error page)."""


@dataclass(frozen=True)
class Capture:
    timestamp: str          # YYYYMMDDhhmmss, as the Archive indexes it
    original: str           # the URL as it was captured (scheme/host may differ from ours)
    statuscode: str         # "200", "302", "-" for a revisit record
    mimetype: str
    digest: str = ""
    length: str = ""


def cdx_query_url(original_url: str, base_url: str = ARCHIVE_URL) -> str:
    """The CDX query listing every capture of one URL (the Archive canonicalises www./http(s))."""
    query = urlencode({
        "url": original_url,
        "output": "json",
        "fl": ",".join(CDX_FIELDS),
        "collapse": "digest",   # identical bytes captured again and again: list them once
    })
    return f"{base_url.rstrip('/')}/cdx/search/cdx?{query}"


def parse_cdx(body: bytes | str) -> list[Capture]:
    """A CDX JSON answer -> captures. An empty answer (no captures) is `[]`.

    The first row names the columns, so any `fl=` order works; a missing
    optional column reads as "".
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if not text.strip():
        return []
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CdxError(f"CDX answer is not JSON: {exc}; starts with {text[:80]!r}") from None
    except RecursionError:
        raise CdxError(f"CDX answer is nested too deeply to be rows; starts with {text[:80]!r}") from None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise CdxError("CDX answer is not a JSON list of rows")
    if not rows:
        return []
    header = [str(name) for name in rows[0]]
    for needed in ("timestamp", "original", "statuscode", "mimetype"):
        if needed not in header:
            raise CdxError(f"CDX answer lacks the {needed!r} column (header {header})")
    captures = []
    for row in rows[1:]:
        if len(row) != len(header):
            raise CdxError(f"CDX row has {len(row)} fields, header has {len(header)}: {row}")
        record = dict(zip(header, (str(v) for v in row)))
        captures.append(Capture(**{f: record.get(f, "") for f in CDX_FIELDS}))
    return captures


def _rank(capture: Capture) -> int | None:
    """Lower is better; None: never worth fetching."""
    html = capture.mimetype.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
    if capture.statuscode == "200":
        return 0 if html else 1
    if capture.statuscode == "-" and (html or capture.mimetype == "warc/revisit"):
        return 2
    return None


def rank_captures(captures: list[Capture]) -> list[Capture]:
    """Usable captures, best first: 200 HTML, then 200 other, then revisits; newest first within each."""
    usable = [(rank, c) for c in captures if (rank := _rank(c)) is not None and _TIMESTAMP.match(c.timestamp)]
    usable.sort(key=lambda rc: (rc[0], -int(rc[1].timestamp.ljust(14, "0"))))
    return [c for _, c in usable]


def best_capture(captures: list[Capture]) -> Capture | None:
    """The capture to fetch (see the module docstring), or None when none holds a page."""
    ranked = rank_captures(captures)
    return ranked[0] if ranked else None


def raw_capture_url(timestamp: str, original_url: str, base_url: str = ARCHIVE_URL) -> str:
    """`/web/<timestamp>id_/<url>`: the bytes as originally served, without the Archive's rewriting.

    Use the capture's own `original` URL: it is the exact key the Archive stored.
    """
    if not _TIMESTAMP.match(timestamp):
        raise ValueError(f"not a Wayback timestamp: {timestamp!r}")
    return f"{base_url.rstrip('/')}/web/{timestamp}id_/{original_url}"
