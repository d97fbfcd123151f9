"""The contract every crawlable site implements; adding a site is one module beside this.

A site knows three things: which URL holds an item, how to turn that page into
comments, and what kind of page it is: a photo page it recognises, the site's
"no such item" or "you are blocked" answer, or something else. The engine
(fetching, politeness, ledger, storage) knows nothing site-specific; what a
page of each kind means for an item is decided in crawler/verdict.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

# ok: a photo page the parser recognises by its own landmarks (its comments, possibly none, are real);
# missing: the site says there is no such item; blocked: the site's block page;
# unrecognised: anything else (a soft block or rate-limit text inside the normal frame, a login wall,
# an error page): never to be taken for "no comments".
PageKind = Literal["ok", "missing", "blocked", "unrecognised"]


@dataclass(frozen=True)
class ParsedComment:
    position: int                   # 0-based, in page order
    comment_id: int | None          # the site's own id, if the page shows one
    author: str | None              # raw username: the engine hashes it, it is never stored
    text: str                       # plain text; quotes of other comments removed
    posted_at: datetime | None      # the site's local time, as shown on the page
    during_challenge: bool | None   # None where the site has no such notion
    edited: bool = False
    helpful: bool = False
    author_id: int | None = None    # the member's id from their profile link: keys the author where present

    @classmethod
    def of(cls, **values: object) -> ParsedComment:
        """The comment with every field given by name, built without the frozen dataclass's `__init__`
        (one `object.__setattr__` a field): ~1.6 us against ~3.4 us, 29 times on the real DPChallenge
        page. Equal, hashed and shown exactly as one built by `ParsedComment(...)`."""
        if values.keys() != _COMMENT_FIELDS:
            raise TypeError(f"ParsedComment.of needs exactly the fields {sorted(_COMMENT_FIELDS)}")
        comment = object.__new__(cls)
        comment.__dict__.update(values)
        return comment


_COMMENT_FIELDS = frozenset(f.name for f in fields(ParsedComment))


def member_id(href: str | None, parameter: str) -> int | None:
    """The member id a profile link carries (`/profile.php?USER_ID=108069`), when it is one plain number."""
    href = href or ""
    # The usual link, one plain number after `?`: read without urlsplit, whose ~1.8 us a new link is
    # most of the cost (its cache hides that when one page is parsed over and over, as benchmarks do).
    # Without a `#`, urlsplit's query is what follows the first `?`, less the tabs and line breaks it drops,
    # which a plain number cannot hold.
    query = href.partition("?")[2]
    if "#" not in href and "&" not in query and query.startswith(parameter + "="):
        value = query[len(parameter) + 1:]
        if value.isascii() and value.isdigit():   # nothing to decode in a plain number
            return int(value)
    query = urlsplit(href).query
    if "%" in query or "+" in query:
        values = parse_qs(query).get(parameter, [])
    else:   # nothing to decode: parse_qs's split, at ~1 us a link against its ~4 us
        values = [value for name, eq, value in (pair.partition("=") for pair in query.split("&"))
                  if eq and value and name == parameter]
    return int(values[0]) if len(values) == 1 and values[0].isascii() and values[0].isdigit() else None


@dataclass(frozen=True)
class ParsedPage:
    kind: PageKind
    comments: list[ParsedComment] = field(default_factory=list)
    image_url: str | None = None    # absolute URL of the full-size photo
    stats: dict[str, str] = field(default_factory=dict)  # page statistics, as shown
    complete: bool = True           # False: the page looks cut off (retry, don't trust it)


@dataclass(frozen=True)
class Site:
    name: str                        # "dpchallenge", "photonet"
    dataset: str                     # the dataset it feeds: "ava", "photonet"
    default_base_url: str            # scheme://host of the live site
    sources: tuple[str, ...]         # which sources can serve it: "live", "wayback"
    page_path: Callable[[int], str]  # item id -> path+query on the site, e.g. "/image.php?IMAGE_ID=1"
    parse: Callable[[bytes, str | None], ParsedPage]  # (body, Content-Type header) -> page
    parser_version: str              # bump when parse output changes; stored on every row

    def original_url(self, item_id: int) -> str:
        """The canonical URL of an item on the real site (what Wayback indexes)."""
        return self.default_base_url.rstrip("/") + self.page_path(item_id)
