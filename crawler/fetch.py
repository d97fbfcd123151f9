"""The HTTP client: one aiohttp session with the safety rules every request obeys.

- Only http(s), only to the origins the source allows (an origin is scheme, host
  AND port: the same host on another port is another server); redirects are never
  followed here: politeness.py follows them by hand (at most 5), each hop
  through `get_once` and its check, so nothing leaves those origins.
- A size cap, read in chunks: an endless or huge answer is cut off, not buffered.
- Connect/read timeouts; TLS certificates are verified (aiohttp's default, never turned off).
- The User-Agent names the tool and the operator's contact; the `From` header
  carries the contact too (RFC 9110), so a site admin can reach a human.
- The moment a request's headers really leave (aiohttp's trace hook) is reported
  to the caller, so politeness spaces requests as the server sees them.
Nothing here is site-specific, and nothing from a response is ever used as a path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
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


DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    """Where a URL points, as the same-origin rule sees it (RFC 6454): scheme, host and port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}"


def origin(url: str) -> Origin:
    """The origin of an http(s) URL; RefusedURL for another scheme, no host, a bad port or credentials
    in the URL (`http://user@host/` is never fetched: it would be a second name for the same server)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise RefusedURL(f"refused {url!r}: only http and https are fetched")
    if not parts.hostname:
        raise RefusedURL(f"refused {url!r}: no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedURL(f"refused {url!r}: a URL with credentials in it")
    try:
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"refused {url!r}: {exc}") from None
    if port == 0:
        raise RefusedURL(f"refused {url!r}: port 0")
    return Origin(scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme])


class HostAllowList:
    """The origins a source may talk to: exact origins (URLs such as "https://www.dpchallenge.com"),
    plus, optionally, the sub-domains of a domain under the first origin's scheme and port (the real
    site's photo host)."""

    def __init__(self, origins: Iterable[str], *, subdomains_of: Iterable[str] = ()) -> None:
        self.origins = [origin(o) for o in origins]
        self.suffixes = tuple("." + d.lower() for d in subdomains_of)

    def check(self, url: str) -> Origin:
        """The URL's origin if it is allowed, else RefusedURL."""
        where = origin(url)
        main = self.origins[0]
        if where in self.origins or (where.host.endswith(self.suffixes)
                                     and (where.scheme, where.port) == (main.scheme, main.port)):
            return where
        raise RefusedURL(f"refused {url!r}: {where} is not one of this source's hosts "
                         f"({', '.join(str(o) for o in self.origins)})")


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
        self._trace = aiohttp.TraceConfig()
        self._trace.on_request_headers_sent.append(_headers_sent)
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
                trace_configs=[self._trace],
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_once(self, url: str, sent: Callable[[], None] | None = None) -> Response:
        """One GET, no redirect following (politeness.py follows, spacing and checking each hop);
        RefusedURL off the allowed hosts. `sent` is called the moment the request headers are written
        to the connection (after any connect and TLS handshake), not when the call started."""
        self.allow.check(url)
        started = time.monotonic()
        try:
            async with self._client().get(url, allow_redirects=False, trace_request_ctx=sent) as resp:
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


async def _headers_sent(session: aiohttp.ClientSession, context: SimpleNamespace, params: object) -> None:
    """aiohttp's trace hook: tell the caller of `get_once` that its request has left."""
    sent = context.trace_request_ctx
    if sent is not None:
        sent()
