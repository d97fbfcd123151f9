"""A deliberately hostile web for the crawler tests: any answer at any URL, in order.

demo/site.py is the well-behaved fake DPChallenge (and the fake Archive) the demo
uses; this module serves whatever a test scripts instead: soft blocks inside the
normal frame, login walls, pages with bad bytes or hidden text, captures of
another page, bombs. Every request is logged by demo.site's recording middleware
(`app["log"]`: arrival time, path, status, headers), the evidence the tests read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from urllib.parse import parse_qsl, unquote

from aiohttp import web

from demo.site import FakeComment, FakeItem, recording_app, render_image_page, render_message_page

ALLOW_ALL = "User-agent: *\nAllow: /\n"


@dataclass(frozen=True)
class Answer:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"   # None: no Content-Type header at all
    headers: dict[str, str] = field(default_factory=dict)


# An answer, or a function of the server's own base URL giving one (a page naming its photo's URL).
Scripted = Answer | Callable[[str], Answer]


def hostile_app(answers: dict[str, Scripted | Sequence[Scripted]], *, robots: str = ALLOW_ALL) -> web.Application:
    """Serve `answers` by path and query (`/image.php?IMAGE_ID=1`, compared decoded, as the client's URL
    library may re-quote them); a sequence is answered in order, its last answer repeated; anything else
    is 404. robots.txt is `robots` unless `answers` has its own."""
    queues = {_key(path): list(a) if isinstance(a, Sequence) else [a] for path, a in answers.items()}
    queues.setdefault(_key("/robots.txt"), [Answer(robots.encode(), content_type="text/plain")])

    async def answer(request: web.Request) -> web.Response:
        queue = queues.get((request.path, tuple(request.query.items())))
        if not queue:
            return web.Response(status=404, text="not here")
        scripted = queue.pop(0) if len(queue) > 1 else queue[0]
        if not isinstance(scripted, Answer):
            scripted = scripted(f"{request.scheme}://{request.host}")
        headers = dict(scripted.headers)
        if scripted.content_type is not None:
            headers["Content-Type"] = scripted.content_type
        response = web.Response(body=scripted.body, status=scripted.status, headers=headers)
        if scripted.content_type is None:
            response.content_type = ""  # aiohttp would add application/octet-stream
        return response

    app = recording_app()
    app.router.add_route("GET", "/{tail:.*}", answer)
    return app


def _key(path_qs: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    path, _, query = path_qs.partition("?")
    return unquote(path), tuple(parse_qsl(query, keep_blank_values=True))


def page_path(item_id: int) -> str:
    return f"/image.php?IMAGE_ID={item_id}"


def photo_page(item_id: int, comments: Sequence[str] = ("Lovely light and tones.",), *,
               image_base: str = "https://images.dpchallenge.com") -> str:
    """A DPChallenge photo page (demo.site's rendering of the real layout) with these comment texts."""
    from datetime import datetime

    item = FakeItem(item_id, [FakeComment(9000 + n, f"user{n}", text, datetime(2012, 1, 1 + n, 10), True)
                              for n, text in enumerate(comments)])
    return render_image_page(item, image_base)


def framed(message_html: str) -> str:
    """The site's normal frame and footer around other content (how its soft error pages look)."""
    return render_message_page("MESSAGE").replace("<b>MESSAGE</b>", message_html)


def html(text: str, *, charset: str | None = "utf-8", encoding: str = "utf-8") -> Answer:
    return Answer(text.encode(encoding, errors="strict"),
                  content_type=f"text/html; charset={charset}" if charset else "text/html")
