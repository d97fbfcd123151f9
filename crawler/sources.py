"""Where an item's page comes from: the live site, or the Internet Archive's copy of it.

A source turns an item id into the URL to fetch (asking the Archive's CDX API
first, for Wayback), names the hosts it may talk to, and maps a page's photo
URL to one it can fetch. All requests go through the same politeness object,
so the Archive's robots.txt, Crawl-delay, 429/Retry-After and block handling
apply to it exactly as they do to the live site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from aesthetic.core.errors import UserError
from aesthetic.crawler import wayback
from aesthetic.crawler.fetch import FetchError, HostAllowList, Response
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


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--base-url must be an http(s) URL with a host, got {base_url!r}")
    return base_url.rstrip("/")


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
        self.allow = HostAllowList([host], subdomains_of=subdomains)
        self.entry_url = self.base_url + "/"

    async def locate(self, item_id: int, request: Request) -> Located:
        return Located(self.base_url + self.site.page_path(item_id), self.site.original_url(item_id), None)

    def image_fetch_url(self, image_url: str, located: Located) -> str:
        return image_url


class WaybackSource:
    """The Internet Archive: CDX lookup, then the capture's original bytes (`/web/<ts>id_/<url>`)."""

    name = "wayback"
    requests_per_item = 2
    archived = True

    def __init__(self, site: Site, base_url: str | None = None) -> None:
        self.site = site
        self.base_url = _check_base_url(base_url or wayback.ARCHIVE_URL)
        self.allow = HostAllowList([urlsplit(self.base_url).hostname or ""])
        self.entry_url = self.base_url + "/"

    async def locate(self, item_id: int, request: Request) -> Located:
        original = self.site.original_url(item_id)
        response = await request(wayback.cdx_query_url(original, self.base_url))
        if response.status != 200:
            raise FetchError(f"CDX query for {original} answered HTTP {response.status}")
        try:
            capture = wayback.best_capture(wayback.parse_cdx(response.body))
        except wayback.CdxError as exc:
            raise FetchError(f"CDX query for {original}: {exc}") from None
        if capture is None:
            raise NoCapture(f"the Internet Archive has no usable capture of {original}")
        return Located(wayback.raw_capture_url(capture.timestamp, capture.original, self.base_url),
                       original, capture.timestamp)

    def image_fetch_url(self, image_url: str, located: Located) -> str:
        # The Archive redirects to the capture of the photo nearest to the page's own.
        return wayback.raw_capture_url(located.capture_timestamp or "2", image_url, self.base_url)


SOURCES: dict[str, Callable[[Site, str | None], Source]] = {"live": LiveSource, "wayback": WaybackSource}


def make_source(kind: str, site: Site, base_url: str | None) -> Source:
    if kind not in site.sources:
        raise UserError(f"{site.name} cannot be crawled from the {kind!r} source; it supports {', '.join(site.sources)}")
    return SOURCES[kind](site, base_url)
