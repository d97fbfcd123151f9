"""WARC storage round trip and rotation; the fetcher's TLS verification and scheme rules."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from aesthetic.crawler.fetch import FetchError, Fetcher, HostAllowList, RefusedURL
from aesthetic.crawler.store import Exchange, WarcStore, read_response
from demo.site import SiteConfig, fake_items, make_app, running_app


def _exchange(i: int, size: int = 2000) -> Exchange:
    body = (f"<html>page {i}</html>" + "x" * size).encode()
    return Exchange(f"http://h.test/image.php?IMAGE_ID={i}", [("User-Agent", "t")], 200, "OK",
                    [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")], body)


def test_warc_records_round_trip_and_files_rotate(tmp_path: Path) -> None:
    store = WarcStore(tmp_path, max_bytes=3000)
    pointers = [store.write(_exchange(i)) for i in range(5)]
    store.close()
    assert len({p.file for p in pointers}) >= 2  # rotated by size
    for i, pointer in enumerate(pointers):
        stored = read_response(tmp_path, pointer)
        assert stored.status == 200 and stored.body.startswith(f"<html>page {i}</html>".encode())
        assert stored.url.endswith(f"IMAGE_ID={i}")
        assert "content-encoding" not in stored.headers  # the body is stored decoded
    with open(tmp_path / pointers[0].file, "rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds[:3] == ["warcinfo", "response", "request"]
    # A new run never appends to an old file (a kill may have cut its last record short).
    again = WarcStore(tmp_path, max_bytes=3000)
    assert again.write(_exchange(9)).file not in {p.file for p in pointers}
    again.close()


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    try:
        context = _self_signed(tmp_path)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"openssl is needed to make a test certificate: {exc}")

    async def fetch(base: str) -> None:
        async with Fetcher(HostAllowList([base]), contact="t@example.org") as fetcher:
            await fetcher.get_once(base + "/image.php?IMAGE_ID=1000")

    with running_app(make_app(fake_items(1), SiteConfig()), ssl_context=context) as base:
        assert base.startswith("https://")
        with pytest.raises(FetchError, match="(?i)certificate"):
            asyncio.run(fetch(base))


def test_only_http_and_https_to_allowed_origins() -> None:
    """An origin is scheme, host and port: the same host on another port or scheme is another server."""
    allow = HostAllowList(["https://www.dpchallenge.com"], subdomains_of=["dpchallenge.com"])
    allow.check("https://www.dpchallenge.com/x")
    allow.check("HTTPS://WWW.dpchallenge.com:443/x")                # the same origin, spelled otherwise
    allow.check("https://images.dpchallenge.com/y.jpg")
    for url in ("file:///etc/passwd", "javascript:alert(1)", "https://127.0.0.1/", "https://xdpchallenge.com/",
                "http://www.dpchallenge.com/x", "https://www.dpchallenge.com:8443/x",
                "http://images.dpchallenge.com/y.jpg", "https://images.dpchallenge.com:444/y.jpg",
                "https://user@www.dpchallenge.com/x", "https://www.dpchallenge.com:99999/x", "https:///x"):
        with pytest.raises(RefusedURL):
            allow.check(url)
    mirror = HostAllowList(["http://127.0.0.1:8080"])
    mirror.check("http://127.0.0.1:8080/image.php?IMAGE_ID=1")
    for url in ("http://127.0.0.1/image.php", "http://127.0.0.1:8081/image.php", "https://127.0.0.1:8080/"):
        with pytest.raises(RefusedURL, match="not one of this source's hosts"):
            mirror.check(url)


def test_a_url_off_the_allowed_hosts_is_refused_before_any_request() -> None:
    """A photo URL comes from a page: a foreign host must be refused as such (not retried), and not
    taken for a host whose robots.txt is unreachable; the fetcher itself refuses it too."""
    from aesthetic.crawler.politeness import Politeness, PolitenessConfig

    async def attempt() -> None:
        async with Fetcher(HostAllowList(["http://127.0.0.1:9"]), contact="t@example.org") as fetcher:
            with pytest.raises(RefusedURL, match="not one of this source's hosts"):
                await fetcher.get_once("http://elsewhere.test/photo.jpg")
            policy = Politeness(PolitenessConfig(min_delay=0.0), fetcher)
            with pytest.raises(RefusedURL, match="not one of this source's hosts"):
                await policy.request("http://elsewhere.test/photo.jpg")
            assert policy.hosts == {}  # no host state, no robots.txt asked for

    asyncio.run(attempt())
