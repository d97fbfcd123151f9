"""Politeness as one policy object: every request to a host goes through `Politeness.request`.

Per host it keeps
- robots.txt rules (robots.py): Disallow obeyed, RFC 9309 error handling;
- a spacing between requests as the server sees them: the floor is
  max(--min-delay, Crawl-delay/Request-rate), raised AutoThrottle-style when the
  host gets slow (Scrapy's rule: move the delay halfway towards latency /
  concurrency, never below the floor). It is counted from the moment the previous
  request really left (aiohttp's trace hook, after connect and TLS), not from when
  our wait ended: on a loaded machine a request can leave late, and spacing from
  the wait would let the next one follow it too closely. With one request in
  flight per host (the default) the floor is also counted from the previous
  answer, so the server's own arrival log never shows two requests closer than
  the floor, however late either was sent;
- a concurrency limit (default 1 request in flight); requests leave one at a
  time, each after the previous one's send time is known;
- a pause: Retry-After on 429/503, otherwise jittered exponential backoff with a cap;
- block detection: the site's block page, or a run of tiny/odd answers, pauses the
  host for a long cool-down; if the block is still there after it, `HostBlocked`
  stops the crawl instead of hammering.
Redirects are followed here, hop by hop, so each hop is spaced, robots-checked,
allow-listed and archived like any other request (robots.txt's own hops too,
without the robots check).
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from urllib.parse import urljoin

from aesthetic.crawler.fetch import FetchError, Fetcher, Response, origin
from aesthetic.crawler.ledger import DISALLOWED
from aesthetic.crawler.robots import ROBOTS_TTL_S, RobotsRules

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class PolitenessConfig:
    min_delay: float = 1.0            # seconds between request starts, at least
    concurrency: int = 1              # requests in flight per host
    autothrottle: bool = True
    max_delay: float = 300.0          # AutoThrottle never spaces requests more than this
    backoff_base: float = 2.0         # first backoff, seconds; doubles per consecutive failure
    backoff_cap: float = 600.0
    max_retry_after: float = 6 * 3600.0  # a longer Retry-After is capped (and logged)
    block_cooldown: float = 1800.0    # pause after a block page
    block_strikes: int = 2            # block pages (each followed by a cool-down) before stopping
    odd_run: int = 5                  # consecutive tiny/odd answers that count as a block


class Disallowed(Exception):
    """robots.txt disallows this URL for us (the message starts with ledger.DISALLOWED)."""


class RobotsUnreachable(Exception):
    """The host's robots.txt gave 5xx or no answer: nothing may be fetched there yet (RFC 9309)."""

    def __init__(self, origin: str, detail: str, retry_at: float, failures: int) -> None:
        super().__init__(f"robots.txt of {origin} is unreachable ({detail}); nothing is fetched there until it answers")
        self.origin = origin
        self.detail = detail
        self.retry_at = retry_at
        self.failures = failures


class HostBlocked(Exception):
    """The host keeps answering with its block page: the crawl must stop."""


def origin_of(url: str) -> str:
    """The host key of the policy: scheme, host and port, normalised (`HTTP://H:80` is `http://h`), so
    one server never gets two spacings."""
    return str(origin(url))


_DELTA_SECONDS = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def parse_retry_after(value: str | None, now_wall: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or not
    one of those (a negative number, "nan", "inf", "soon"...): the normal backoff then applies. Fractional
    seconds are accepted (RFC 9110 has only digits, but servers send "1.5")."""
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now_wall = time.time() if now_wall is None else now_wall
    return max(0.0, when.timestamp() - now_wall)


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Jittered exponential backoff ("equal jitter"): in [d/2, d], d = min(cap, base * 2^(failures-1)).

    The exponent is clamped: a host down for days piles up failures, and 2^1024 overflows a float.
    """
    ceiling = min(cap, base * 2.0 ** min(max(0, failures - 1), 64))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Spacing:
    """What the plan says about one host's spacing."""

    floor: float          # never closer than this
    source: str           # where the floor comes from: "robots.txt" or "--min-delay"
    current: float        # the spacing now (the floor, or more after AutoThrottle raised it)
    robots: float | None  # what robots.txt asks for, if anything


@dataclass
class HostState:
    origin: str
    floor: float                       # max(min_delay, robots delay): never spaced closer
    delay: float                       # current spacing (floor, raised by AutoThrottle)
    slots: asyncio.Semaphore
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)  # one request leaves at a time
    floor_source: str = "--min-delay"
    robots_delay: float | None = None
    robots: RobotsRules | None = None
    robots_at: float = 0.0
    robots_failures: int = 0
    robots_retry_at: float = 0.0
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    paused_until: float = 0.0
    failures: int = 0                  # consecutive failed requests (backoff exponent)
    odd: int = 0                       # consecutive tiny/odd answers
    blocks: int = 0                    # block pages seen since the last normal answer


class Politeness:
    """The policy; `request(url)` is the only way the crawler talks to a host."""

    def __init__(
        self,
        config: PolitenessConfig,
        fetcher: Fetcher,
        *,
        record: Callable[[Response], object] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.fetcher = fetcher
        self.record = record
        self.rng = rng or random.Random()
        self.hosts: dict[str, HostState] = {}

    def host(self, url: str) -> HostState:
        origin = origin_of(url)
        state = self.hosts.get(origin)
        if state is None:
            floor = self.config.min_delay
            state = HostState(origin, floor, floor, asyncio.Semaphore(max(1, self.config.concurrency)))
            self.hosts[origin] = state
        return state

    # --- the request path ------------------------------------------------------
    async def request(self, url: str) -> Response:
        """GET `url` politely, following allowed redirects; raises Disallowed, RobotsUnreachable, FetchError.

        Each URL (the first one too: a photo URL comes from a page) is allow-checked before its host's
        robots.txt is asked for, so a foreign host is refused as such, not mistaken for an unreachable one.
        """
        return await self._follow(url, obey_robots=True)

    async def _follow(self, url: str, *, obey_robots: bool) -> Response:
        """The redirect loop of `request`; robots.txt itself is fetched through it with `obey_robots` off."""
        for _ in range(MAX_REDIRECTS + 1):
            self.fetcher.allow.check(url)
            state = self.host(url)
            if obey_robots:
                rules = await self.robots(state)
                if not rules.allowed(url):
                    raise Disallowed(f"{DISALLOWED}: {url} ({state.origin}/robots.txt)")
            response = await self._spaced_get(state, url)
            location = response.header("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            url = urljoin(url, location)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects, last to {url!r}")

    async def robots(self, state: HostState) -> RobotsRules:
        """The host's rules, fetched on first use and after 24 h; RobotsUnreachable while 5xx/unreachable."""
        async with state.robots_lock:
            now = time.monotonic()
            fresh = state.robots is not None and now - state.robots_at < ROBOTS_TTL_S
            if fresh and state.robots.reachable:  # type: ignore[union-attr]
                return state.robots  # type: ignore[return-value]
            if state.robots is not None and not state.robots.reachable and now < state.robots_retry_at:
                raise RobotsUnreachable(state.origin, state.robots.detail, state.robots_retry_at, state.robots_failures)
            robots_url = state.origin + "/robots.txt"
            try:
                response = await self._follow(robots_url, obey_robots=False)
                rules = RobotsRules.from_answer(response.status, response.body)
            except FetchError as exc:
                rules = RobotsRules.from_answer(None, b"", detail=str(exc))
            state.robots, state.robots_at = rules, time.monotonic()
            if not rules.reachable:
                state.robots_failures += 1
                wait = backoff_delay(state.robots_failures, self.config.backoff_base, self.config.backoff_cap, self.rng)
                state.robots_retry_at = time.monotonic() + wait
                log.warning("robots.txt of %s unreachable (%s); retrying in %.1f s", state.origin, rules.detail, wait)
                raise RobotsUnreachable(state.origin, rules.detail, state.robots_retry_at, state.robots_failures)
            state.robots_failures = 0
            robots_delay = state.robots_delay = rules.delay()
            state.floor = max(self.config.min_delay, robots_delay or 0.0)
            state.floor_source = "robots.txt" if (robots_delay or 0.0) > self.config.min_delay else "--min-delay"
            state.delay = max(state.delay, state.floor)
            # The robots.txt request itself was spaced by the old floor; the next one keeps the new one.
            state.next_start = max(state.next_start, state.robots_at + state.floor)
            if robots_delay is not None:
                log.info("%s asks for %.3g s between requests (robots.txt)", state.origin, robots_delay)
            return rules

    async def _spaced_get(self, state: HostState, url: str) -> Response:
        async with state.slots:
            async with state.sending:
                await self._turn(state)
                # Nothing to space: no need to wait for the send. 3,000 local pages, delays 0, concurrency 8
                # (the perf/crawl.py setting): 511-606 pages/s with this path, 415-510 without (two runs each).
                if state.delay <= 0:
                    fetch = asyncio.ensure_future(self.fetcher.get_once(url))
                else:
                    fetch = await self._send(state, url)
            try:
                response = await fetch
            except FetchError as exc:
                if exc.retryable:
                    self._failed(state, None)
                raise
            finally:
                if self.config.concurrency <= 1:  # one in flight: the floor also counts from the answer
                    state.next_start = max(state.next_start, time.monotonic() + state.floor)
            if self.record is not None:
                response = dataclasses.replace(response, archive_ref=self.record(response))
            self._observe(state, response)
            return response

    async def _send(self, state: HostState, url: str) -> asyncio.Future[Response]:
        """Start the request and return once it has left (or failed): the next request's spacing counts
        from that moment, so a send delayed by a busy machine pushes the next one back too."""
        sent = asyncio.Event()
        fetch = asyncio.ensure_future(self.fetcher.get_once(url, sent=sent.set))
        left = asyncio.ensure_future(sent.wait())
        try:
            await asyncio.wait([fetch, left], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            fetch.cancel()
            raise
        finally:
            left.cancel()
        state.next_start = max(state.next_start, time.monotonic() + state.delay)
        return fetch

    @staticmethod
    async def _turn(state: HostState) -> None:
        """Wait until the host's next request may leave (spacing and any pause)."""
        while (wait := max(state.next_start, state.paused_until) - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    # --- what answers teach us ---------------------------------------------------
    def _observe(self, state: HostState, response: Response) -> None:
        status = response.status
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.header("Retry-After")) if status in (429, 503) else None
            self._failed(state, retry_after)
            return
        state.failures = 0
        if self.config.autothrottle and status < 300:
            target = response.elapsed / max(1, self.config.concurrency)
            proposed = (state.delay + target) / 2
            state.delay = min(max(proposed, state.floor), max(self.config.max_delay, state.floor))

    def _failed(self, state: HostState, retry_after: float | None) -> None:
        state.failures += 1
        if retry_after is not None:
            if retry_after > self.config.max_retry_after:
                log.warning("%s asked to retry after %.0f s; capping at %.0f s",
                            state.origin, retry_after, self.config.max_retry_after)
            wait = min(retry_after, self.config.max_retry_after)
        else:
            wait = backoff_delay(state.failures, self.config.backoff_base, self.config.backoff_cap, self.rng)
        state.paused_until = max(state.paused_until, time.monotonic() + wait)

    def note_normal(self, url: str) -> None:
        """A real page came back: the host is not blocking us."""
        state = self.host(url)
        state.odd = 0
        state.blocks = 0

    def note_odd(self, url: str, why: str) -> None:
        """A tiny or malformed answer; a run of them is treated like a block page."""
        state = self.host(url)
        state.odd += 1
        if state.odd >= self.config.odd_run:
            state.odd = 0
            self.note_block(url, f"{self.config.odd_run} odd answers in a row, the last: {why}")

    def note_block(self, url: str, why: str) -> None:
        """The host is blocking us: cool down, and raise HostBlocked if it persists."""
        state = self.host(url)
        state.blocks += 1
        if state.blocks >= self.config.block_strikes:
            raise HostBlocked(f"{state.origin} is still blocking this client after a {self.config.block_cooldown:g} s "
                              f"cool-down ({why})")
        log.warning("%s looks blocked (%s); pausing it for %g s", state.origin, why, self.config.block_cooldown)
        state.paused_until = max(state.paused_until, time.monotonic() + self.config.block_cooldown)

    def spacing(self, url: str) -> Spacing:
        state = self.host(url)
        return Spacing(state.floor, state.floor_source, state.delay, state.robots_delay)
