"""A fake DPChallenge: a local aiohttp server with the real site's page layout.

Why: the crawler must be proved polite, durable and correct without touching
the real site. This server speaks the layout documented in
../shared/data/README.md (comment table, three rows per comment, the
"Comments Made During the Challenge" divider, the block and invalid-id pages)
with invented content, and it can misbehave on purpose: a robots.txt with a
Crawl-delay or Disallow lines or an error status, 429/503 answers with
Retry-After before the real page, a block page after N requests, latency.
Every request is logged (monotonic time, path, status, headers) so tests can
measure the gaps between requests.

Use it from tests with `running_site(items, config)` (a background thread,
port 0 on 127.0.0.1), or by hand: `python demo/site.py --items 100 --port 8080`.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import io
import random
import ssl
import threading
import time
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

BLOCK_TEXT = "Page cannot be served due to suspicious activity detected from your address"
INVALID_TEXT = "Invalid IMAGE_ID provided."
DIVIDER_TEXT = "Comments Made During the Challenge"


@dataclass
class FakeComment:
    comment_id: int
    author: str
    text: str                       # plain text; newlines become <br>
    posted_at: datetime
    during_challenge: bool
    edited: bool = False
    helpful: bool = False


@dataclass
class FakeItem:
    image_id: int
    comments: list[FakeComment]
    image_jpeg: bytes | None = None
    title: str = ""


@dataclass
class SiteConfig:
    crawl_delay: float | None = None
    disallow: list[str] = field(default_factory=list)
    robots_status: int = 200
    # per item id: (status, Retry-After seconds or None) answered, in order, before the real page
    faults: dict[int, list[tuple[int, float | None]]] = field(default_factory=dict)
    block_after: int | None = None  # serve the block page from the (N+1)-th page request on
    block_status: int = 200         # the HTTP status the block page comes with
    missing_ids: set[int] = field(default_factory=set)
    latency: float = 0.0            # seconds slept before every answer
    # per item id: a Location the page request is redirected to (302)
    redirects: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    time: float                     # time.monotonic() when the request arrived
    path: str                       # path and query string
    status: int
    headers: dict[str, str]


def page_order(item: FakeItem) -> list[FakeComment]:
    """Comments in the order the page shows them: after-challenge ones, then the divider, then the rest."""
    return [c for c in item.comments if not c.during_challenge] + [c for c in item.comments if c.during_challenge]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %I:%M:%S %p")


def _user_id(author: str) -> int:
    return zlib.crc32(author.encode("utf-8")) % 900_000 + 1000


def _comment_rows(comment: FakeComment, bg: str) -> str:
    body = "<br>\n".join(html.escape(line) for line in comment.text.split("\n"))
    if comment.edited:
        edited_at = _stamp(comment.posted_at + timedelta(minutes=7))
        body += f'<br><br><font class="textsm"><i>Message edited by author {edited_at}.</i></font>'
    author = html.escape(comment.author)
    helpful = (
        f'&nbsp;<img src="/images/ratings/helpful.gif" width="27" height="16" border="0"> Photographer found comment helpful.'
        if comment.helpful
        else "&nbsp;"
    )
    return f"""\t\t<tr class="{bg}">
\t\t\t<td rowspan="3" valign="top" nowrap width="200" class="{bg}">
\t\t\t\t<a name="{comment.comment_id}"></a>
\t\t\t\t\t<div style="float: left; width: 120px">
\t\t\t\t\t\t<div style="margin-bottom: 4px;"><span><img src="/images/user_icon/31.gif" alt="Registered User"></span><a title="{author}; currently offline" href="/profile.php?USER_ID={_user_id(comment.author)}" class="fo ">{author}</a></div>
\t\t\t\t\t</div>
\t\t\t</td>
\t\t\t<td class="textsm" height="14">
{_stamp(comment.posted_at)}\t\t\t</td>
\t\t</tr>
\t\t<tr class="{bg}"><td valign="top"><table cellspacing="0" cellpadding="4" class="forum-post"><tr><td valign="top">
{body}</td></tr></table></td></tr>
<tr class="{bg}"><td class="textsm">{helpful}</td></tr>
"""


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
\t<meta charset="utf-8">
\t<title>{html.escape(title)}</title>
</head>
<body>
{body}
<div align="center" class="textsm">Fake DPChallenge for tests. Current Server Time: 01/01/2026 12:00:00 PM EST.</div>
</body>
</html>
"""


def render_image_page(item: FakeItem, image_base: str = "https://images.dpchallenge.com") -> str:
    """The image page of `item` in DPChallenge's layout; the photo URL is `<image_base>/images/<id>.jpg`."""
    title = html.escape(item.title or f"Photo {item.image_id}")
    rows: list[str] = []
    divider_done = False
    for index, comment in enumerate(page_order(item)):
        if comment.during_challenge and not divider_done:
            rows.append(
                f'<tr bgcolor="#B6BECA" height="30"><td colspan="2" valign="center"><b>&nbsp;{DIVIDER_TEXT} '
                '<img src="/images/below.gif" width="10" height="10"></b></td></tr>'
            )
            divider_done = True
        rows.append(_comment_rows(comment, "forum-bg1" if index % 2 == 0 else "forum-bg2"))
    body = f"""<div align="center">
<a name="img"></a><table><tr><td id="img_container" class="page-image"><img src="/images/pix.gif" style="position: absolute; z-index: 1;" /><img src="{image_base}/images/{item.image_id}.jpg" style="border: 1px solid black" alt="{title}"></td></tr></table>\t<div class="imagetitle">
\t{title}</div>
</div>
<br>
<table width="90%" cellspacing="1" cellpadding="2" bgcolor="#00000" align="center">
\t<tr class="forum-heading"><td width="150">Author</td><td>Thread</td></tr>
{"".join(rows)}</table>
"""
    return _document(f"DPChallenge: {title}", body)


def render_message_page(message: str) -> str:
    """The site's one-line answer pages: the invalid-id page and the block page."""
    return _document("DPChallenge", f'<div align="center" class="textsm"><b>{html.escape(message)}</b></div>')


def render_robots(config: SiteConfig) -> str:
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in config.disallow]
    if config.crawl_delay is not None:
        lines.append(f"Crawl-delay: {config.crawl_delay:g}")
    return "\n".join(lines) + "\n"


def recording_app(latency: float = 0.0) -> web.Application:
    """An application whose middleware notes every request's arrival time, path, status and headers
    in `app["log"]` (the tests' evidence of politeness), after an optional artificial latency."""
    log: list[RequestRecord] = []

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        arrived = time.monotonic()
        if latency:
            await asyncio.sleep(latency)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            log.append(RequestRecord(arrived, request.path_qs, exc.status, dict(request.headers)))
            raise
        log.append(RequestRecord(arrived, request.path_qs, response.status, dict(request.headers)))
        return response

    app = web.Application(middlewares=[record])
    with warnings.catch_warnings():
        # The brief's contract is the plain key app["log"]; aiohttp prefers AppKey objects.
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["log"] = log
    return app


def make_app(items: list[FakeItem] | dict[int, FakeItem], config: SiteConfig | None = None) -> web.Application:
    """The fake site as an aiohttp application; `app["log"]` lists every request answered."""
    config = config or SiteConfig()
    by_id = items if isinstance(items, dict) else {item.image_id: item for item in items}
    faults = {item_id: list(queue) for item_id, queue in config.faults.items()}
    page_requests = 0

    async def robots(request: web.Request) -> web.Response:
        if config.robots_status != 200:
            return web.Response(status=config.robots_status, text="robots unavailable\n")
        return web.Response(text=render_robots(config), content_type="text/plain")

    async def image_page(request: web.Request) -> web.Response:
        nonlocal page_requests
        page_requests += 1
        if config.block_after is not None and page_requests > config.block_after:
            return web.Response(text=render_message_page(BLOCK_TEXT), content_type="text/html", charset="utf-8",
                                status=config.block_status)
        try:
            item_id = int(request.query.get("IMAGE_ID", ""))
        except ValueError:
            item_id = -1
        queue = faults.get(item_id)
        if queue:
            status, retry_after = queue.pop(0)
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return web.Response(status=status, text=f"error {status}\n", headers=headers)
        if item_id in config.redirects:
            raise web.HTTPFound(config.redirects[item_id])
        item = by_id.get(item_id)
        if item is None or item_id in config.missing_ids:
            return web.Response(text=render_message_page(INVALID_TEXT), content_type="text/html", charset="utf-8")
        base = f"{request.scheme}://{request.host}"
        return web.Response(text=render_image_page(item, base), content_type="text/html", charset="utf-8")

    async def image_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        item = by_id.get(int(name)) if name.isdigit() else None
        if item is None or item.image_jpeg is None:
            raise web.HTTPNotFound()
        return web.Response(body=item.image_jpeg, content_type="image/jpeg")

    app = recording_app(config.latency)
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/image.php", image_page)
    app.router.add_get("/images/{name}.jpg", image_file)
    return app


@dataclass(frozen=True)
class FakeCapture:
    timestamp: str                  # YYYYMMDDhhmmss
    body: bytes
    mimetype: str = "text/html"
    status: int = 200


def archive_captures(items: list[FakeItem], site_base: str = "https://www.dpchallenge.com",
                     timestamp: str = "20150607080910") -> dict[str, list[FakeCapture]]:
    """One capture per item page (and photo, when it has one), as the Archive would hold them."""
    captures: dict[str, list[FakeCapture]] = {}
    image_base = "https://images.dpchallenge.com"
    for item in items:
        page = render_image_page(item, image_base).encode("utf-8")
        captures[f"{site_base}/image.php?IMAGE_ID={item.image_id}"] = [FakeCapture(timestamp, page)]
        if item.image_jpeg is not None:
            captures[f"{image_base}/images/{item.image_id}.jpg"] = [FakeCapture(timestamp, item.image_jpeg, "image/jpeg")]
    return captures


def make_archive_app(captures: dict[str, list[FakeCapture]]) -> web.Application:
    """A fake Internet Archive: the CDX API (`/cdx/search/cdx?url=...&output=json`) and raw captures
    (`/web/<timestamp>id_/<url>`; an inexact timestamp redirects to the nearest capture, as the Archive does)."""
    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nAllow: /\n", content_type="text/plain")

    async def cdx(request: web.Request) -> web.Response:
        rows: list[list[str]] = [["timestamp", "original", "statuscode", "mimetype", "digest", "length"]]
        for c in captures.get(request.query.get("url", ""), []):
            rows.append([c.timestamp, request.query["url"], str(c.status), c.mimetype, f"D{c.timestamp}", str(len(c.body))])
        return web.json_response(rows if len(rows) > 1 else [])

    async def raw(request: web.Request) -> web.Response:
        stamp, original = request.match_info["stamp"], request.match_info["url"]
        if request.query_string:
            original += "?" + request.query_string
        held = captures.get(original)
        if not held:
            raise web.HTTPNotFound()
        exact = next((c for c in held if c.timestamp == stamp), None)
        if exact is None:
            nearest = min(held, key=lambda c: abs(int(c.timestamp) - int(stamp.ljust(14, "0"))))
            raise web.HTTPFound(f"/web/{nearest.timestamp}id_/{original}")
        return web.Response(body=exact.body, status=exact.status, content_type=exact.mimetype)

    app = recording_app()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/cdx/search/cdx", cdx)
    app.router.add_get(r"/web/{stamp:\d+}id_/{url:.+}", raw)
    return app


@contextmanager
def running_app(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) from a background thread; yields its base URL
    (https when an `ssl_context` is given)."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        loop.run_until_complete(site.start())
        state["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state["loop"] = loop
        stop = asyncio.Event()
        state["stop"] = stop
        ready.set()
        loop.run_until_complete(stop.wait())
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="fake-site", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake site did not start within 10 s")
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{state['port']}"
    finally:
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[union-attr]
        thread.join(10)


@contextmanager
def running_site(items: list[FakeItem] | dict[int, FakeItem], config: SiteConfig | None = None) -> Iterator[str]:
    """`make_app` served from a background thread; yields the base URL.

    To read the request log, build the app with `make_app` and serve it with `running_app`.
    """
    with running_app(make_app(items, config)) as base_url:
        yield base_url


_WORDS = (
    "great light composition colours sharp focus lovely mood nice crop tones shadows "
    "background subject detail contrast exposure framing story strong soft beautiful "
    "would love see more space left top edge busy distracting clean simple idea works"
).split()


def tiny_jpeg(seed: int, size: int = 32) -> bytes:
    """A small valid JPEG (a colour gradient), so --images has something that decodes."""
    from PIL import Image

    rng = random.Random(seed)
    base = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    image = Image.new("RGB", (size, size), base)
    for x in range(size):
        image.putpixel((x, x), (255 - base[0], 255 - base[1], 255 - base[2]))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def fake_items(n: int, *, seed: int = 0, first_id: int = 1000, images: bool = False) -> list[FakeItem]:
    """`n` invented items with 0-12 comments each, deterministic in `seed`."""
    rng = random.Random(seed)
    items: list[FakeItem] = []
    comment_id = 5_000_000
    start = datetime(2010, 1, 1, 9, 0, 0)
    for image_id in range(first_id, first_id + n):
        comments = []
        for _ in range(rng.randrange(13)):
            comment_id += 1
            words = rng.choices(_WORDS, k=rng.randrange(1, 25))
            text = " ".join(words).capitalize() + rng.choice([".", "!", "", "\nThanks for sharing."])
            comments.append(
                FakeComment(
                    comment_id=comment_id,
                    author=f"user{rng.randrange(500)}",
                    text=text,
                    posted_at=start + timedelta(minutes=rng.randrange(5_000_000)),
                    during_challenge=rng.random() < 0.8,
                    edited=rng.random() < 0.05,
                    helpful=rng.random() < 0.3,
                )
            )
        items.append(
            FakeItem(image_id, comments, tiny_jpeg(image_id) if images else None, title=f"Photo {image_id}")
        )
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake DPChallenge (invented content) for trying the crawler.")
    parser.add_argument("--items", type=int, default=100, help="number of fake image pages (ids from 1000)")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1")
    parser.add_argument("--crawl-delay", type=float, default=None, help="Crawl-delay announced in robots.txt")
    parser.add_argument("--images", action="store_true", help="also serve a small JPEG per item")
    args = parser.parse_args(argv)
    app = make_app(fake_items(args.items, images=args.images), SiteConfig(crawl_delay=args.crawl_delay))
    print(f"fake DPChallenge on http://127.0.0.1:{args.port}/image.php?IMAGE_ID=1000 .. {999 + args.items}")
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
