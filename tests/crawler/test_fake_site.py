"""The fake DPChallenge behaves as configured (the other crawler tests rely on it)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from demo.site import BLOCK_TEXT, INVALID_TEXT, SiteConfig, fake_items, make_app, running_app


def _get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def test_fake_site_serves_robots_faults_missing_block_and_logs() -> None:
    items = fake_items(3, images=True)
    config = SiteConfig(crawl_delay=2, disallow=["/x"], faults={1001: [(503, 1.5)]}, missing_ids={1002}, block_after=4)
    app = make_app(items, config)
    with running_app(app) as base:
        status, robots, _ = _get(base + "/robots.txt")
        assert status == 200 and "Crawl-delay: 2" in robots and "Disallow: /x" in robots
        status, page, _ = _get(base + "/image.php?IMAGE_ID=1000")
        assert status == 200 and 'class="forum-post"' in page and f"{base}/images/1000.jpg" in page
        status, _, headers = _get(base + "/image.php?IMAGE_ID=1001")
        assert status == 503 and headers["Retry-After"] == "1.5"
        assert _get(base + "/image.php?IMAGE_ID=1001")[0] == 200
        assert INVALID_TEXT in _get(base + "/image.php?IMAGE_ID=1002")[1]
        assert BLOCK_TEXT in _get(base + "/image.php?IMAGE_ID=1000")[1]
        with urllib.request.urlopen(base + "/images/1000.jpg", timeout=5) as resp:
            assert resp.read(3) == b"\xff\xd8\xff"
        assert _get(base + "/images/99.jpg")[0] == 404
    paths = [(r.path, r.status) for r in app["log"]]
    assert paths[:3] == [("/robots.txt", 200), ("/image.php?IMAGE_ID=1000", 200), ("/image.php?IMAGE_ID=1001", 503)]
    assert all(r.time > 0 for r in app["log"])


@pytest.mark.parametrize("status", [404, 500])
def test_robots_status_is_configurable(status: int) -> None:
    with running_app(make_app([], SiteConfig(robots_status=status))) as base:
        assert _get(base + "/robots.txt")[0] == status
