"""Politeness, each rule proved against a local server that records when requests arrive.

Delays are small (0.05-0.3 s) to keep the suite fast; lower bounds get a 10 %
tolerance for timer granularity on a loaded machine, never an upper bound on speed.
"""

from __future__ import annotations

import random

import pytest
from tests.crawler.crawl_helpers import gaps, page_requests

from aesthetic.crawler.ledger import Ledger
from aesthetic.crawler.politeness import backoff_delay, parse_retry_after
from demo.site import SiteConfig, fake_items, make_app, running_app

TOL = 0.9
IDS = list(range(1000, 1006))


def _crawl_site(run_crawl, tmp_path, config: SiteConfig, ids=IDS, **kw):
    app = make_app(fake_items(8), config)
    with running_app(app) as base:
        result = run_crawl(base, ids, **kw)
    return app["log"], result, Ledger(tmp_path / "out" / "ledger.sqlite")


def test_robots_disallow_is_obeyed(run_crawl, tmp_path) -> None:
    log, result, ledger = _crawl_site(run_crawl, tmp_path, SiteConfig(disallow=["/image.php?IMAGE_ID=1002"]))
    assert "/image.php?IMAGE_ID=1002" not in [r.path for r in log]
    row = ledger.get("ava", 1002)
    assert row.state == "blocked" and "disallowed by" in row.last_error
    assert result.counts["done"] == len(IDS) - 1


def test_crawl_delay_is_obeyed(run_crawl, tmp_path) -> None:
    log, result, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(crawl_delay=0.2))
    pages = page_requests(log)
    assert len(pages) == len(IDS) and result.counts["done"] == len(IDS)
    assert min(gaps(pages)) >= 0.2 * TOL


def test_min_delay_wins_over_a_smaller_crawl_delay(run_crawl, tmp_path) -> None:
    log, _, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(crawl_delay=0.02), min_delay=0.2)
    assert min(gaps(page_requests(log))) >= 0.2 * TOL


@pytest.mark.parametrize(("concurrency", "min_delay"), [(1, 0.0), (3, 0.0), (3, 0.02)])
def test_per_host_concurrency(run_crawl, tmp_path, concurrency: int, min_delay: float) -> None:
    """With 0.15 s latency, one request in flight means arrivals >= 0.15 s apart; with three, requests
    overlap, still spaced by the delay counted from each send (the send hook does not wait for answers)."""
    log, result, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(latency=0.15), concurrency=concurrency,
                                 min_delay=min_delay)
    assert result.counts["done"] == len(IDS)
    spacing = gaps(page_requests(log))
    if concurrency == 1:
        assert min(spacing) >= 0.15 * TOL
    else:  # the same measurement sees overlap when overlap is allowed
        assert min(spacing) < 0.1 and min(spacing) >= min_delay - 0.001


def test_robots_4xx_means_allowed(run_crawl, tmp_path) -> None:
    log, result, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(robots_status=404, disallow=["/"]))
    assert result.counts["done"] == len(IDS)


def test_robots_5xx_means_nothing_fetched_and_retried_later(run_crawl, tmp_path) -> None:
    log, result, ledger = _crawl_site(run_crawl, tmp_path, SiteConfig(robots_status=503), max_attempts=3)
    assert [r.path for r in log] == ["/robots.txt"] * 3
    assert min(gaps(log)) >= 0.05 / 2 * TOL  # spaced by the (jittered) backoff
    assert result.stopped and "robots.txt" in result.stopped and "unreachable" in result.stopped
    assert ledger.counts("ava")["pending"] == len(IDS)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(run_crawl, tmp_path, status: int) -> None:
    config = SiteConfig(faults={1001: [(status, 0.3)]})
    log, result, ledger = _crawl_site(run_crawl, tmp_path, config)
    paths = [r.path for r in page_requests(log)]
    fault = paths.index("/image.php?IMAGE_ID=1001")
    assert paths[fault + 1] == "/image.php?IMAGE_ID=1001"  # the same item, retried
    pages = page_requests(log)
    assert pages[fault + 1].time - pages[fault].time >= 0.3 * TOL
    assert result.counts["done"] == len(IDS) and ledger.get("ava", 1001).attempts == 2


def test_backoff_is_bounded_jittered_and_attempts_are_capped(run_crawl, tmp_path) -> None:
    config = SiteConfig(faults={1000: [(500, None)] * 10})
    log, result, ledger = _crawl_site(run_crawl, tmp_path, config, ids=[1000, 1001], max_attempts=4,
                                      backoff_base=0.1, backoff_cap=0.2)
    tries = [r for r in log if r.path == "/image.php?IMAGE_ID=1000"]
    assert len(tries) == 4
    spacing = gaps(tries)
    assert all(0.1 / 2 * TOL <= g for g in spacing)       # at least half the first backoff
    assert all(g <= 0.2 + 0.25 for g in spacing)           # never beyond the cap (+ scheduling slack)
    row = ledger.get("ava", 1000)
    assert (row.state, row.attempts, row.last_status) == ("failed", 4, 500)
    assert ledger.get("ava", 1001).state == "done"


def test_backoff_delay_formula_is_jittered_exponential_and_capped() -> None:
    rng = random.Random(1)
    draws = [backoff_delay(3, 1.0, 100.0, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in draws) and len({round(d, 6) for d in draws}) > 100
    assert all(25.0 <= backoff_delay(20, 1.0, 50.0, rng) <= 50.0 for _ in range(50))
    # A host down for days: thousands of consecutive failures stay at the cap instead of overflowing.
    assert all(300.0 <= backoff_delay(n, 2.0, 600.0, rng) <= 600.0 for n in (1025, 5000, 10**6))


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 40.0),
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),          # a date already past: now
    # Not delta-seconds nor an HTTP date: absent, so the normal backoff applies (NaN used to mean "at once").
    ("nan", None), ("NaN", None), ("-5", None), ("-0", None), ("inf", None), ("1e3", None), ("0x10", None),
    ("soon", None), ("", None), (None, None), ("Wed, 99 Foo 2015 07:28:00 GMT", None),
])
def test_retry_after_parses_seconds_and_http_dates(value, seconds) -> None:
    parsed = parse_retry_after(value, now_wall=1445412440.0)
    assert parsed == (pytest.approx(seconds) if seconds is not None else None)


def test_block_page_pauses_then_stops_with_bounded_requests(run_crawl, tmp_path) -> None:
    log, result, ledger = _crawl_site(run_crawl, tmp_path, SiteConfig(block_after=2), ids=list(range(1000, 1008)),
                                      block_cooldown=0.3)
    pages = page_requests(log)
    assert len(pages) == 4  # 2 pages, the block page, one probe after the cool-down; then nothing
    assert pages[3].time - pages[2].time >= 0.3 * TOL
    assert result.stopped and "still blocking" in result.stopped
    counts = ledger.counts("ava")
    assert (counts["done"], counts["blocked"]) == (2, 1)


def test_run_of_odd_answers_counts_as_a_block(run_crawl, tmp_path) -> None:
    config = SiteConfig(faults={1000: [(403, None)] * 20})
    log, result, _ = _crawl_site(run_crawl, tmp_path, config, ids=list(range(1000, 1008)), odd_run=3,
                                 block_cooldown=0.2, max_attempts=10)
    assert result.stopped and "odd answers" in result.stopped
    assert len(page_requests(log)) == 6  # 3 odd answers, cool-down, 3 more: stop


def test_user_agent_and_from_carry_the_contact(run_crawl, tmp_path) -> None:
    log, _, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(), ids=[1000])
    for record in log:
        assert record.headers["User-Agent"].startswith("aesthetic-comments/")
        assert "(+crawler-tests@example.org)" in record.headers["User-Agent"]
        assert record.headers["From"] == "crawler-tests@example.org"


@pytest.mark.parametrize("where", ["another host name", "the same host on another port"])
def test_redirect_off_host_is_refused(run_crawl, tmp_path, where: str) -> None:
    elsewhere = make_app(fake_items(3), SiteConfig())  # a server the source does not own
    with running_app(elsewhere) as other:
        port = other.rsplit(":", 1)[1]
        host = "localhost" if where == "another host name" else "127.0.0.1"
        redirects = {1000: f"http://{host}:{port}/image.php?IMAGE_ID=1000", 1001: "/image.php?IMAGE_ID=1002"}
        with running_app(make_app(fake_items(3), SiteConfig(redirects=redirects))) as base:
            result = run_crawl(base, [1000, 1001, 1002])
    assert elsewhere["log"] == []  # nothing reached the other server
    ledger = Ledger(tmp_path / "out" / "ledger.sqlite")
    row = ledger.get("ava", 1000)
    assert row.state == "failed" and "not one of this source's hosts" in row.last_error
    # An on-host redirect is followed, but to another item's page: that page is not credited to 1001.
    row = ledger.get("ava", 1001)
    assert row.state == "failed" and "another page than" in row.last_error and row.n_comments is None
    assert ledger.get("ava", 1002).state == "done"
    assert result.counts["failed"] == 2


def test_size_cap(run_crawl, tmp_path) -> None:
    log, result, ledger = _crawl_site(run_crawl, tmp_path, SiteConfig(), ids=[1000], max_bytes=1500)
    row = ledger.get("ava", 1000)
    assert row.state == "failed" and "cap" in row.last_error
    assert len(page_requests(log)) == 1  # not retried: the page will not shrink


def test_autothrottle_follows_latency_and_never_goes_below_the_floor() -> None:
    from aesthetic.crawler.fetch import Response
    from aesthetic.crawler.politeness import Politeness, PolitenessConfig

    policy = Politeness(PolitenessConfig(min_delay=0.5, max_delay=10.0), fetcher=None)  # type: ignore[arg-type]
    state = policy.host("http://h.test/x")

    def answer(status: int, elapsed: float) -> None:
        policy._observe(state, Response("http://h.test/x", status, "", [], b"", [], elapsed))

    for _ in range(10):
        answer(200, 4.0)
    assert 3.5 < state.delay <= 4.0          # a slow host gets requests spaced like its latency
    for _ in range(30):
        answer(200, 0.01)
    assert state.delay == pytest.approx(0.5)  # a fast host never gets more than the floor allows


def test_block_page_served_with_403_is_recognised_as_a_block(run_crawl, tmp_path) -> None:
    log, result, _ = _crawl_site(run_crawl, tmp_path, SiteConfig(block_after=1, block_status=403), ids=[1000, 1001, 1002])
    assert result.stopped and "still blocking" in result.stopped
    assert len(page_requests(log)) == 3


def test_robots_answer_statuses_follow_rfc_9309() -> None:
    from aesthetic.crawler.robots import RobotsRules

    url = "http://h.test/image.php?IMAGE_ID=1"
    assert RobotsRules.from_answer(404, b"").allowed(url) and RobotsRules.from_answer(403, b"").allowed(url)
    for status in (500, 503, 429, None):
        assert not RobotsRules.from_answer(status, b"").allowed(url)
    rules = RobotsRules.from_answer(200, b"User-agent: *\nDisallow: /image.php\nRequest-rate: 1/10\n")
    assert not rules.allowed(url) and rules.delay() == 10.0


def test_a_client_error_fails_the_item_at_once(run_crawl, tmp_path) -> None:
    """400 will be 400 again: one request, not --max-attempts of them; a 5xx is still retried."""
    config = SiteConfig(faults={1000: [(400, None)] * 5, 1001: [(502, None)]})
    log, result, ledger = _crawl_site(run_crawl, tmp_path, config, ids=[1000, 1001], max_attempts=3)
    assert [r.path for r in page_requests(log)].count("/image.php?IMAGE_ID=1000") == 1
    row = ledger.get("ava", 1000)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("failed", 1, 400, "HTTP 400")
    assert ledger.get("ava", 1001).state == "done" and result.counts["failed"] == 1


def test_robots_txt_redirect_hops_are_spaced_checked_and_archived_like_any_request() -> None:
    """robots.txt behind a redirect (http -> https, www -> bare are common): its rules still apply, and
    every hop goes through the same allow-list, spacing and WARC recorder as page requests."""
    import asyncio

    from aiohttp import web

    from aesthetic.crawler.fetch import Fetcher, HostAllowList
    from aesthetic.crawler.politeness import Disallowed, Politeness, PolitenessConfig

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/robots-real.txt")

    async def rules(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private\n")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>ok</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/robots.txt", moved)
    app.router.add_get("/robots-real.txt", rules)
    app.router.add_get("/{name}", page)
    recorded: list[tuple[str, int]] = []

    async def crawl(base: str) -> None:
        async with Fetcher(HostAllowList([base]), contact="t@example.org") as fetcher:
            policy = Politeness(PolitenessConfig(min_delay=0.0), fetcher,
                                record=lambda r: recorded.append((r.url[len(base):], r.status)))
            assert (await policy.request(base + "/public")).status == 200
            with pytest.raises(Disallowed):
                await policy.request(base + "/private")

    with running_app(app) as base:
        asyncio.run(crawl(base))
    assert recorded == [("/robots.txt", 301), ("/robots-real.txt", 200), ("/public", 200)]


CPU_HOG = "while True:\n    pass\n"


def _busiest_second(times: list[float]) -> int:
    """The most arrivals in any window [t, t + 1 s)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.slow
def test_crawl_delay_holds_at_the_server_while_the_cpus_are_saturated(run_crawl, tmp_path) -> None:
    """One busy-looping process per core competes with the crawler (and with the server thread that logs
    arrivals): a late send must not be followed by an early one. From the server's own arrival log, every
    request (robots.txt included) is at least the Crawl-delay after the one before, less 1 ms of clock
    tolerance, and no second holds more requests than the delay allows."""
    import os
    import subprocess
    import sys

    delay, n = 0.05, 60
    hogs = [subprocess.Popen([sys.executable, "-c", CPU_HOG]) for _ in range(os.cpu_count() or 2)]
    try:
        app = make_app(fake_items(n), SiteConfig(crawl_delay=delay))
        with running_app(app) as base:
            result = run_crawl(base, range(1000, 1000 + n), autothrottle=True)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    log = app["log"]
    assert result.counts["done"] == n and len(log) == n + 1
    assert min(gaps(log)) >= delay - 0.001, sorted(gaps(log))[:5]
    assert _busiest_second([r.time for r in log]) <= int(1 / delay) + 1
