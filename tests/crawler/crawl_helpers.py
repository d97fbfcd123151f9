"""Helpers for reading the fake site's request log (imported by the crawl-engine tests)."""

from __future__ import annotations

from demo.site import RequestRecord


def page_requests(log: list[RequestRecord], prefix: str = "/image.php") -> list[RequestRecord]:
    return [r for r in log if r.path.startswith(prefix)]


def gaps(records: list[RequestRecord]) -> list[float]:
    """Seconds between consecutive request arrivals."""
    return [b.time - a.time for a, b in zip(records, records[1:])]
