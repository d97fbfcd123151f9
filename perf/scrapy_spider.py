"""The Scrapy baseline for perf/crawl.py: the same job as `aesthetic-crawl`, written the usual Scrapy way.

Fetch every image page from the fake site (robots.txt obeyed, no delay, the
same concurrency), parse it with the same DPChallenge parser, hash authors the
same way, and write one JSON line per comment. Run by the benchmark in a
subprocess so its peak memory can be measured on its own.

    python perf/scrapy_spider.py --base-url URL --ids FILE --out FILE --concurrency 8
"""

from __future__ import annotations

import argparse
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess

from aesthetic.crawler.privacy import author_key
from aesthetic.crawler.sites import SITES

SECRET = b"benchmark-secret-benchmark-secret"


class CommentSpider(scrapy.Spider):
    name = "comments"

    def __init__(self, base_url: str, ids: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.ids_path = ids
        self.site = SITES["ava"]

    async def start(self):  # type: ignore[no-untyped-def,override]
        with open(self.ids_path) as fh:
            for line in fh:
                if line.strip():
                    item_id = int(line)
                    yield scrapy.Request(self.base_url + self.site.page_path(item_id), cb_kwargs={"item_id": item_id})

    def parse(self, response, item_id: int):  # type: ignore[no-untyped-def,override]
        page = self.site.parse(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
        for c in page.comments:
            yield {
                "image_id": item_id, "position": c.position, "comment_id": c.comment_id,
                "author_key": author_key(SECRET, c.author) if c.author else None, "text": c.text,
                "posted_at": c.posted_at.isoformat() if c.posted_at else None,
                "during_challenge": c.during_challenge, "edited": c.edited, "helpful": c.helpful,
            }


def main() -> None:
    cli = argparse.ArgumentParser()
    cli.add_argument("--base-url", required=True)
    cli.add_argument("--ids", required=True)
    cli.add_argument("--out", required=True, type=Path)
    cli.add_argument("--concurrency", type=int, default=8)
    args = cli.parse_args()
    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None},
        "LOG_LEVEL": "WARNING",
        "USER_AGENT": "aesthetic-comments-benchmark (+bench@example.org)",
        "FEEDS": {str(args.out): {"format": "jsonlines"}},
    })
    process.crawl(CommentSpider, base_url=args.base_url, ids=args.ids)
    process.start()


if __name__ == "__main__":
    main()
