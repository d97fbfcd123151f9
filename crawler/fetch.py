"""The HTTP client: one aiohttp session with the safety rules every request obeys.

- Only http(s), only to the hosts the source allows; redirects are never followed
  here: politeness.py follows them by hand (at most 5), each hop
  through `get_once` and its check, so nothing leaves those hosts.
- A size cap, read in chunks: an endless or huge answer is cut off, not buffered.
- Connect/read timeouts; TLS certificates are verified (aiohttp's default, never turned off).
- The User-Agent names the tool and the operator's contact; the `From` header
  carries the contact too (RFC 9110), so a site admin can reach a human.
Nothing here is site-specific, and nothing from a response is ever used as a path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from aesthetic.core import __version__


class FetchError(Exception):
    """A request that produced no usable HTTP answer (network, timeout, refused by a safety rule)."""

    retryable = True


class RefusedURL(FetchError):
    """A URL (or redirect target) outside the allowed hosts or schemes: never retried."""

    retryable = False


class TooLarge(FetchError):
    """The body passed the size cap: never retried (the page will not shrink)."""

    retryable = False


@dataclass(frozen=True)
class Response:
    url: str                               # the URL that finally answered
    status: int
    reason: str
    headers: list[tuple[str, str]]         # as sent, in order, after decoding
    body: bytes
    request_headers: list[tuple[str, str]]
    elapsed: float                         # seconds, request start to last byte
    archive_ref: object = None             # where the recorder archived it (a store.WarcPointer)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def user_agent(contact: str | None) -> str:
    return f"aesthetic-comments/{__version__}" + (f" (+{contact})" if contact else "")


class HostAllowList:
    """The hosts a source may talk to: exact names plus, optionally, their sub-domains."""

    def __init__(self, hosts: Iterable[str], *, subdomains_of: Iterable[str] = ()) -> None:
        self.hosts = {h.lower() for h in hosts}
        self.suffixes = tuple("." + d.lower() for d in subdomains_of)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise RefusedURL(f"refused {url!r}: only http and https are fetched")
        host = (parts.hostname or "").lower()
        if host not in self.hosts and not (self.suffixes and host.endswith(self.suffixes)):
            raise RefusedURL(f"refused {url!r}: host {host!r} is not one of this source's hosts {sorted(self.hosts)}")


class Fetcher:
    """GET with the rules above. One instance per crawl; close it (or use `async with`)."""

    def __init__(
        self,
        allow: HostAllowList,
        *,
        contact: str | None,
        max_bytes: int = 16 << 20,
        timeout: float = 60.0,
        connect_timeout: float = 15.0,
    ) -> None:
        self.allow = allow
        self.max_bytes = max_bytes
        self.headers = {"User-Agent": user_agent(contact), "Accept-Encoding": "gzip, deflate"}
        if contact:
            self.headers["From"] = contact
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout, sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers=self.headers,
                cookie_jar=aiohttp.DummyCookieJar(),  # no state carried between requests
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_once(self, url: str) -> Response:
        """One GET, no redirect following (politeness.py follows, spacing and checking each hop);
        RefusedURL off the allowed hosts."""
        self.allow.check(url)
        started = time.monotonic()
        try:
            async with self._client().get(url, allow_redirects=False) as resp:
                declared = resp.content_length
                if declared is not None and declared > self.max_bytes:
                    raise TooLarge(f"{url}: {declared} bytes declared, over the {self.max_bytes}-byte cap")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"{url}: body over the {self.max_bytes}-byte cap")
                    chunks.append(chunk)
                request_headers = [(str(k), str(v)) for k, v in resp.request_info.headers.items()]
                return Response(
                    url=url,
                    status=resp.status,
                    reason=resp.reason or "",
                    headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers],
                    body=b"".join(chunks),
                    request_headers=request_headers,
                    elapsed=time.monotonic() - started,
                )
        except FetchError:
            raise
        except asyncio.TimeoutError as exc:
            raise FetchError(f"{url}: timed out") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
