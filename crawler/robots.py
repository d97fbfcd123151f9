"""robots.txt rules for one host, with RFC 9309's handling of fetch errors.

Parsing is protego's (the parser Scrapy uses; it understands Crawl-delay and
Request-rate). What this module adds is the verdict when the file cannot be
had, RFC 9309 section 2.3.1:
- 2xx: the file's rules;
- 4xx ("unavailable"): no rules, everything allowed;
- 5xx or no answer ("unreachable"): everything disallowed until a retry succeeds.
  429 counts as unreachable too (as Google's crawler treats it): "too many
  requests" is no licence to fetch everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

AGENT = "aesthetic-comments"
ROBOTS_TTL_S = 24 * 3600.0  # RFC 9309: a cached copy SHOULD NOT be used for more than 24 hours


@dataclass(frozen=True)
class RobotsRules:
    status: str                  # "parsed" | "unavailable" (4xx: allow all) | "unreachable" (disallow all)
    detail: str                  # e.g. "HTTP 503", for messages
    parser: Protego | None = None

    @classmethod
    def from_answer(cls, status: int | None, body: bytes, detail: str = "") -> RobotsRules:
        """The rules implied by a robots.txt answer (`status` None: no answer at all)."""
        if status is not None and 200 <= status < 300:
            return cls("parsed", f"HTTP {status}", Protego.parse(body.decode("utf-8", errors="replace")))
        if status is not None and 400 <= status < 500 and status != 429:
            return cls("unavailable", f"HTTP {status}")
        return cls("unreachable", detail or (f"HTTP {status}" if status is not None else "no answer"))

    @property
    def reachable(self) -> bool:
        return self.status != "unreachable"

    def allowed(self, url: str) -> bool:
        if self.status == "unreachable":
            return False
        return self.parser is None or self.parser.can_fetch(url, AGENT)

    def delay(self) -> float | None:
        """The spacing the file asks for: Crawl-delay, or Request-rate's seconds per request."""
        if self.parser is None:
            return None
        delays = []
        crawl_delay = self.parser.crawl_delay(AGENT)
        if crawl_delay is not None:
            delays.append(float(crawl_delay))
        rate = self.parser.request_rate(AGENT)
        if rate is not None and rate.requests:
            delays.append(rate.seconds / rate.requests)
        return max(delays) if delays else None
