"""Fixtures for the crawl-engine tests: run a crawl in-process against a fake site on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from aesthetic.crawler.engine import CrawlOptions, Crawler, CrawlResult
from aesthetic.crawler.politeness import PolitenessConfig
from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sources import make_source

CONTACT = "crawler-tests@example.org"

# Fast test defaults: no floor on the delay, short pauses; each test raises what it checks.
FAST = dict(min_delay=0.0, autothrottle=False, backoff_base=0.05, backoff_cap=0.2, block_cooldown=0.2)


@pytest.fixture(autouse=True)
def _author_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never create the user's real ~/.config secret from a test."""
    monkeypatch.setenv("AESTHETIC_AUTHOR_SECRET", str(tmp_path / "author.secret"))


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """The CLI's setup_logging replaces the root handlers; put them back so later tests log normally."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


RunCrawl = Callable[..., CrawlResult]


@pytest.fixture
def run_crawl(tmp_path: Path) -> RunCrawl:
    """run_crawl(base_url, ids, out=None, dataset="ava", source="live", images=False, max_attempts=3, max_bytes,
    limit, max_pixels, **politeness)."""

    def run(base_url: str, ids: Iterable[int], *, out: Path | None = None, dataset: str = "ava",
            source: str = "live", images: bool = False, max_attempts: int = 3, max_bytes: int = 16 << 20,
            limit: int | None = None, max_pixels: int | None = None, **politeness: object) -> CrawlResult:
        site = SITES[dataset]
        options = CrawlOptions(
            site=site, source=make_source(source, site, base_url), out=out or tmp_path / "out",
            secret=b"s" * 32, contact=CONTACT, politeness=PolitenessConfig(**{**FAST, **politeness}),
            images=images, max_attempts=max_attempts, max_bytes=max_bytes, limit=limit, timeout=10.0,
            **({"max_pixels": max_pixels} if max_pixels else {}),
        )
        return asyncio.run(Crawler(options).run(list(ids)))

    return run
