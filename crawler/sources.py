"""Where an item's page comes from: the live site, or the Internet Archive's copy of it.

A source turns an item id into the URL to fetch (asking the Archive's CDX API
first, for Wayback), names the hosts it may talk to, and maps a page's photo
URL to one it can fetch. All requests go through the same politeness object,
so the Archive's robots.txt, Crawl-delay, 429/Retry-After and block handling
apply to it exactly as they do to the live site.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import SplitResult, parse_qs, urlsplit

from aesthetic.core.errors import UserError
from aesthetic.crawler import wayback
from aesthetic.crawler.fetch import FetchError, HostAllowList, RefusedURL, Response, origin
from aesthetic.crawler.sites.base import Site

Request = Callable[[str], Awaitable[Response]]


@dataclass(frozen=True)
class Located:
    fetch_url: str                  # what we GET
    original_url: str               # the page's URL on the real site (stored as source_url)
    capture_timestamp: str | None   # Wayback capture, else None


class NoCapture(Exception):
    """The Archive holds no usable capture of the page: the item is `missing`."""


class Source(Protocol):
    name: str
    allow: HostAllowList
    entry_url: str                  # a URL on the main host (robots.txt and the plan's delay)
    requests_per_item: int          # for the ETA
    # Pages are old copies: a block page or a cut-off page in one is how the capture is, forever,
    # not how the host treats us now, so it fails the item instead of pausing or stopping the crawl.
    archived: bool

    async def locate(self, item_id: int, request: Request) -> Located: ...

    def image_fetch_url(self, image_url: str, located: Located) -> str: ...

    def misattributed(self, item_id: int, answered_url: str) -> str | None:
        """Why the answer that came from `answered_url` (after redirects) is not the item's page, or None.
        Used on every answer by the engine and on every stored record by `reparse`."""
        ...


def _check_base_url(base_url: str) -> str:
    """An http(s) URL with a host, a valid port and no credentials, query or fragment: else a usage error,
    raised before anything is written."""
    try:
        origin(base_url)
    except RefusedURL as exc:
        raise UserError(f"--base-url must be an http(s) URL with a host and a valid port (1-65535), got "
                        f"{base_url!r}: {str(exc).split(': ', 1)[-1]}") from None
    parts = urlsplit(base_url)
    if parts.query or parts.fragment:
        raise UserError(f"--base-url must not have a query or fragment, got {base_url!r}")
    return base_url.rstrip("/")


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").lower().rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    try:
        port = parts.port
    except ValueError:
        return host + ":?"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if port is None or port == default else f"{host}:{port}"


def same_page(want: str, got: str, *, on_a_mirror: bool) -> bool:
    """Whether an answer from `got` is the page `want` names, for crediting it to an item.

    Each query parameter of `want` must have exactly its values in `got` (another may be added, as
    `&sort=asc`; another IMAGE_ID, or a second one, is another page). The path must be `want`'s, or,
    `on_a_mirror` (the live source: the host is the allow-list's business and a mirror may serve under
    a prefix), end with it. Otherwise the hosts must match too, ignoring case, a leading `www.` and the
    default port, as the Archive's canonicalisation does. The scheme never matters.
    """
    w, g = urlsplit(want), urlsplit(got)
    wanted, given = parse_qs(w.query, keep_blank_values=True), parse_qs(g.query, keep_blank_values=True)
    if any(given.get(name) != values for name, values in wanted.items()):
        return False
    want_path, got_path = w.path or "/", g.path or "/"
    if on_a_mirror:
        return got_path.endswith(want_path)
    return got_path == want_path and _host(g) == _host(w)


def _registrable(host: str) -> str:
    """www.dpchallenge.com -> dpchallenge.com: the photos live on sibling hosts (images.dpchallenge.com)."""
    return host[4:] if host.startswith("www.") else host


class LiveSource:
    """The site itself (or a mirror/test server at --base-url)."""

    name = "live"
    requests_per_item = 1
    archived = False

    def __init__(self, site: Site, base_url: str | None = None) -> None:
        self.site = site
        self.base_url = _check_base_url(base_url or site.default_base_url)
        host = urlsplit(self.base_url).hostname or ""
        # A mirror or test server is trusted for exactly its own host; the real site also for its sub-domains.
        subdomains = [] if base_url else [_registrable(host)]
        self.allow = HostAllowList([self.base_url], subdomains_of=subdomains)
        self.entry_url = self.base_url + "/"

    async def locate(self, item_id: int, request: Request) -> Located:
        return Located(self.base_url + self.site.page_path(item_id), self.site.original_url(item_id), None)

    def image_fetch_url(self, image_url: str, located: Located) -> str:
        return image_url

    def misattributed(self, item_id: int, answered_url: str) -> str | None:
        want = self.site.original_url(item_id)
        if same_page(want, answered_url, on_a_mirror=True):
            return None
        return f"the answer came from {answered_url}, another page than {want}"


class WaybackSource:
    """The Internet Archive: CDX lookup, then the capture's original bytes (`/web/<ts>id_/<url>`)."""

    name = "wayback"
    requests_per_item = 2
    archived = True

    def __init__(self, site: Site, base_url: str | None = None) -> None:
        self.site = site
        self.base_url = _check_base_url(base_url or wayback.ARCHIVE_URL)
        self.allow = HostAllowList([self.base_url])
        self.entry_url = self.base_url + "/"

    async def locate(self, item_id: int, request: Request) -> Located:
        original = self.site.original_url(item_id)
        response = await request(wayback.cdx_query_url(original, self.base_url))
        if response.status != 200:
            raise FetchError(f"CDX query for {original} answered HTTP {response.status}")
        try:
            listed = wayback.parse_cdx(response.body)
        except wayback.CdxError as exc:
            raise FetchError(f"CDX query for {original}: {exc}") from None
        # Only captures of this very page count; an index answer listing other pages is not to be trusted.
        ours = [c for c in listed if same_page(original, c.original, on_a_mirror=False)]
        if listed and not ours:
            raise FetchError(f"CDX query for {original} lists only captures of other pages "
                             f"(e.g. {listed[0].original})")
        capture = wayback.best_capture(ours)
        if capture is None:
            raise NoCapture(f"the Internet Archive has no usable capture of {original}")
        return Located(wayback.raw_capture_url(capture.timestamp, capture.original, self.base_url),
                       original, capture.timestamp)

    def image_fetch_url(self, image_url: str, located: Located) -> str:
        # The Archive redirects to the capture of the photo nearest to the page's own.
        return wayback.raw_capture_url(located.capture_timestamp or "2", image_url, self.base_url)

    def misattributed(self, item_id: int, answered_url: str) -> str | None:
        want = self.site.original_url(item_id)
        captured = _RAW_CAPTURE.search(answered_url)
        if captured is None:
            return f"the answer came from {answered_url}, which is not a raw capture (/web/<timestamp>id_/<url>)"
        original = re.sub(r"^(https?):/+", r"\1://", captured.group(1), flags=re.IGNORECASE)
        if same_page(want, original, on_a_mirror=False):
            return None
        return f"the capture is of {original}, another page than {want}"


_RAW_CAPTURE = re.compile(r"/web/\d{1,14}id_/(.+)$")


SOURCES: dict[str, Callable[[Site, str | None], Source]] = {"live": LiveSource, "wayback": WaybackSource}


def make_source(kind: str, site: Site, base_url: str | None) -> Source:
    if kind not in site.sources:
        raise UserError(f"{site.name} cannot be crawled from the {kind!r} source; it supports {', '.join(site.sources)}")
    return SOURCES[kind](site, base_url)
