"""The crawl loop: ledger -> source -> politeness -> fetch -> WARC -> parse -> comment parts -> ledger.

Why this shape: every piece of state that matters lives in the output folder
(ledger, WARC, parts), so the process can die at any instruction and the next
run continues. Items are read from the ledger in chunks and handed to a small
bounded queue, so memory does not grow with the number of items. Finished
items are committed in batches (Committer): fsync the WARC, write the part,
one ledger transaction, publish the part (see store.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aesthetic.crawler.fetch import FetchError, Fetcher, Response
from aesthetic.crawler.images import BadImage, store_image
from aesthetic.crawler.ledger import Ledger, Outcome
from aesthetic.crawler.politeness import Disallowed, HostBlocked, Politeness, PolitenessConfig, RobotsUnreachable
from aesthetic.crawler.privacy import author_key
from aesthetic.crawler.sites.base import ParsedPage, Site
from aesthetic.crawler.sources import Located, NoCapture, Source
from aesthetic.crawler.store import CommentParts, DirLock, Exchange, WarcPointer, WarcStore, comments_table, utc
from aesthetic.core.log import progress_bar

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def retryable(status: int) -> bool:
    """An answer that may change on a later try: a timeout, too-early, rate limit or any server error.
    Other statuses (400, 401, 451, a redirect without Location...) fail the item at once: asking again
    would only cost the site requests (--retry-failed tries them again on purpose)."""
    return status in RETRY_STATUSES or status >= 500
MISSING_STATUSES = {404, 410}


@dataclass(frozen=True)
class CrawlOptions:
    site: Site
    source: Source
    out: Path
    secret: bytes
    contact: str | None = None
    politeness: PolitenessConfig = field(default_factory=PolitenessConfig)
    images: bool = False
    limit: int | None = None
    max_attempts: int = 5
    max_bytes: int = 16 << 20
    timeout: float = 60.0
    batch_items: int = 200           # commit after this many finished items ...
    batch_seconds: float = 5.0       # ... or this long after the oldest uncommitted one
    warc_max_bytes: int = 1 << 30


@dataclass(frozen=True)
class CrawlResult:
    counts: dict[str, int]           # ledger states of the dataset after the run
    processed: int                   # items that reached any state in this run
    stopped: str | None              # why the crawl stopped early, if it did


class StopCrawl(Exception):
    """Stop every worker: the message says why and what to do."""


def ledger_path(out: Path) -> Path:
    return Path(out) / "ledger.sqlite"


def open_output(out: Path) -> tuple[Ledger, CommentParts]:
    """The ledger and comment parts of an output folder, with a killed run's leftovers resolved."""
    ledger = Ledger(ledger_path(out))
    parts = CommentParts(Path(out) / "comments")
    parts.recover(ledger)
    return ledger, parts


class Committer:
    """Batches finished items; `flush` makes them durable in the order WARC, part, ledger, publish."""

    def __init__(self, ledger: Ledger, parts: CommentParts, warc: WarcStore, dataset: str,
                 batch_items: int, batch_seconds: float) -> None:
        self.ledger, self.parts, self.warc, self.dataset = ledger, parts, warc, dataset
        self.batch_items, self.batch_seconds = batch_items, batch_seconds
        self.outcomes: list[Outcome] = []
        self.rows: list[dict[str, object]] = []
        self.oldest: float | None = None

    def add(self, outcome: Outcome, rows: list[dict[str, object]]) -> None:
        self.outcomes.append(outcome)
        self.rows.extend(rows)
        self.oldest = self.oldest or time.monotonic()
        if len(self.outcomes) >= self.batch_items:
            self.flush()

    def due(self) -> bool:
        return self.oldest is not None and time.monotonic() - self.oldest >= self.batch_seconds

    def flush(self) -> None:
        if not self.outcomes:
            return
        self.warc.sync()
        seq = None
        if self.rows:
            seq = self.ledger.next_batch_seq()
            self.parts.write_pending(seq, comments_table(self.rows))
        self.ledger.commit_batch(self.dataset, seq, len(self.rows), self.outcomes)
        if seq is not None:
            self.parts.publish(seq)
            self.parts.compact(self.ledger)
        self.outcomes, self.rows, self.oldest = [], [], None


class Crawler:
    """One run over the pending items of one dataset in one output folder."""

    def __init__(self, options: CrawlOptions) -> None:
        self.o = options
        self.dataset = options.site.dataset
        self._lock = DirLock(options.out).__enter__()  # released at the end of run()
        self.ledger, self.parts = open_output(options.out)
        self.warc = WarcStore(Path(options.out) / "raw", max_bytes=options.warc_max_bytes)
        self.committer = Committer(self.ledger, self.parts, self.warc, self.dataset,
                                   options.batch_items, options.batch_seconds)
        self.images_dir = Path(options.out) / "images"
        self.processed = 0
        self.stopped: str | None = None
        self.politeness: Politeness
        self._bar = None

    # --- setup -----------------------------------------------------------------
    def add_ids(self, ids: Sequence[int]) -> int:
        return self.ledger.add_items(self.dataset, ids)

    def todo(self) -> int:
        pending = self.ledger.counts(self.dataset)["pending"]
        return pending if self.o.limit is None else min(pending, self.o.limit)

    def _record(self, response: Response) -> WarcPointer:
        return self.warc.write(Exchange(response.url, response.request_headers, response.status,
                                        response.reason, response.headers, response.body))

    # --- run -------------------------------------------------------------------
    async def run(self) -> CrawlResult:
        try:
            async with Fetcher(self.o.source.allow, contact=self.o.contact, max_bytes=self.o.max_bytes,
                               timeout=self.o.timeout) as fetcher:
                self.politeness = Politeness(self.o.politeness, fetcher, record=self._record)
                await self._plan()
                await self._run_workers()
        finally:
            self.committer.flush()
            self.warc.close()
            counts = self.ledger.counts(self.dataset)
            self.ledger.close()
            self._lock.__exit__()
        return CrawlResult(counts, self.processed, self.stopped)

    async def _plan(self) -> None:
        """Fetch the main host's robots.txt first, so the plan states the real delay."""
        entry = self.o.source.entry_url
        try:
            await self.politeness.robots(self.politeness.host(entry))
        except RobotsUnreachable as exc:
            log.warning("%s", exc)
        todo = self.todo()
        counts = self.ledger.counts(self.dataset)
        delay = self.politeness.effective_delay(entry)
        per_item = self.o.source.requests_per_item
        eta = todo * per_item * delay
        fields = {"todo": todo, "delay_s": delay, "eta_s": eta, **{f"n_{k}": v for k, v in counts.items()}}
        log.info(
            "plan: %s pages to fetch from %s (%s source; %s already final); effective delay %s s between "
            "requests (the larger of --min-delay %s s and robots.txt), %d in flight per host",
            f"{todo:,}", self.o.source.entry_url, self.o.source.name,
            f"{counts['done'] + counts['missing']:,}", f"{delay:g}", f"{self.o.politeness.min_delay:g}",
            self.o.politeness.concurrency, extra={"fields": fields},
        )
        log.info("ETA: %s pages at 1 per %s s%s ≈ %s (a lower bound: retries and slow answers add to it)",
                 f"{todo:,}", f"{delay:g}", f", {per_item} requests each" if per_item > 1 else "",
                 human_duration(eta))
        if eta > 86400:
            wayback = "wayback" in self.o.site.sources and self.o.source.name != "wayback"
            log.info("alternatives: %sskip crawling and import a comment dump (e.g. DPC-Captions JSON) with "
                     "`aesthetic-build-splits %s --comments DUMP`",
                     "--source wayback (the Internet Archive's copies, under its own limits), or " if wayback else "",
                     self.dataset)

    async def _run_workers(self) -> None:
        n_workers = max(1, self.o.politeness.concurrency)
        queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=4 * n_workers)
        self._bar = progress_bar(total=self.todo(), desc=f"crawl {self.dataset}", unit="page")
        stop = asyncio.Event()
        workers = [asyncio.create_task(self._worker(queue, stop)) for _ in range(n_workers)]
        feeder = asyncio.create_task(self._feed(queue, n_workers))
        ticker = asyncio.create_task(self._tick())
        all_done = asyncio.gather(*workers)
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([all_done, stopped], return_when=asyncio.FIRST_COMPLETED)
            if all_done.done():
                all_done.result()  # a worker's unexpected exception is a bug: let it surface
            if self.o.images and not stop.is_set():
                await self._image_backlog()
        finally:
            others = [all_done, stopped, feeder, ticker]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            self._bar.close()

    async def _feed(self, queue: asyncio.Queue[int | None], n_workers: int) -> None:
        for n, item_id in enumerate(self.ledger.iter_ids(self.dataset, ["pending"])):
            if self.o.limit is not None and n >= self.o.limit:
                break
            await queue.put(item_id)
        for _ in range(n_workers):
            await queue.put(None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.committer.due():
                self.committer.flush()

    async def _worker(self, queue: asyncio.Queue[int | None], stop: asyncio.Event) -> None:
        while (item_id := await queue.get()) is not None:
            try:
                await self._crawl_item(item_id)
            except StopCrawl as exc:
                self.stopped = str(exc)
                stop.set()
                return
            self.processed += 1
            self._bar.update(1)

    # --- one item ----------------------------------------------------------------
    async def _crawl_item(self, item_id: int) -> None:
        row = self.ledger.get(self.dataset, item_id)
        attempts = row.attempts if row else 0
        while True:
            error, status = await self._try_item(item_id)
            if error is None:
                return
            attempts += 1
            if attempts >= self.o.max_attempts:
                self._settle(item_id, "failed", status, error)
                log.warning("item %d failed after %d attempts: %s", item_id, attempts, error)
                return
            self.ledger.note_attempt(self.dataset, item_id, status, error)
            log.info("item %d: attempt %d failed (%s); retrying", item_id, attempts, error)

    async def _try_item(self, item_id: int) -> tuple[str | None, int | None]:
        """One attempt: (None, None) when the item reached a state, else (error, HTTP status) to retry."""
        source = self.o.source
        try:
            located = await source.locate(item_id, self.politeness.request)
            response = await self.politeness.request(located.fetch_url)
        except NoCapture as exc:
            self.committer.add(Outcome(item_id, "missing", None, str(exc), time.time(), source.name,
                                       url=self.o.site.original_url(item_id)), [])
            return None, None
        except Disallowed as exc:
            self._settle(item_id, "blocked", None, str(exc), fetched=False)
            return None, None
        except RobotsUnreachable as exc:
            if exc.failures >= self.o.max_attempts:
                raise StopCrawl(f"{exc} after {exc.failures} tries; nothing was fetched from it. "
                                "Run the same command later to resume.") from None
            await asyncio.sleep(max(0.0, exc.retry_at - time.monotonic()))
            return await self._try_item(item_id)
        except FetchError as exc:
            if not exc.retryable:
                self._settle(item_id, "failed", None, str(exc))
                return None, None
            return str(exc), None
        return await self._judge(item_id, located, response)

    async def _judge(self, item_id: int, located: Located, response: Response) -> tuple[str | None, int | None]:
        status, url = response.status, response.url
        if status in MISSING_STATUSES:
            self._finish(item_id, located, response, "missing", None)
            return None, None
        if status == 403:
            if self._is_block_page(response):
                return await self._blocked(item_id, url, status)
            self._note_odd(item_id, url, "HTTP 403")
            return "HTTP 403", status
        if status != 200:
            if retryable(status):
                return f"HTTP {status}", status
            self._settle(item_id, "failed", status, f"HTTP {status}")
            return None, None
        try:
            page = self.o.site.parse(response.body, response.header("Content-Type"))
        except Exception as exc:  # a parser bug must not kill the crawl; the raw page is kept for reparse
            log.exception("parser failed on item %d", item_id)
            self._unusable_page(item_id, located, response, f"parse error: {exc!r}")
            return None, None
        if page.kind == "blocked":
            if self.o.source.archived:
                self._unusable_page(item_id, located, response, "the capture is the site's block page")
                return None, None
            return await self._blocked(item_id, url, status)
        if page.kind == "missing":
            self._finish(item_id, located, response, "missing", page)
            return None, None
        if not page.complete:
            if self.o.source.archived:
                self._unusable_page(item_id, located, response, "the capture looks truncated or unlike a photo page")
                return None, None
            self._note_odd(item_id, url, "truncated page")
            return "page looks truncated", status
        self.politeness.note_normal(url)
        self._finish(item_id, located, response, "done", page)
        if self.o.images and page.image_url:
            await self._fetch_image(item_id, source_url=self.o.source.image_fetch_url(page.image_url, located))
        return None, None

    def _is_block_page(self, response: Response) -> bool:
        try:
            return self.o.site.parse(response.body, response.header("Content-Type")).kind == "blocked"
        except Exception:  # an unparseable 403 is just an odd answer
            return False

    async def _blocked(self, item_id: int, url: str, status: int) -> tuple[str | None, int | None]:
        """The site's block page: cool down and try the item again, or stop the crawl if it persists."""
        try:
            self.politeness.note_block(url, "the site's block page")
        except HostBlocked as exc:
            self._settle(item_id, "blocked", status, str(exc))
            raise StopCrawl(f"{exc}. Wait (hours or days), make sure --contact reaches you, consider a "
                            "larger --min-delay, then run the same command to resume.") from None
        return await self._try_item(item_id)

    def _note_odd(self, item_id: int, url: str, why: str) -> None:
        try:
            self.politeness.note_odd(url, why)
        except HostBlocked as exc:
            self._settle(item_id, "blocked", None, str(exc))
            raise StopCrawl(f"{exc}. Check what the site answers in a browser, then run the same command "
                            "to resume.") from None

    def _finish(self, item_id: int, located: Located, response: Response, state: str, page: ParsedPage | None) -> None:
        fetched = time.time()
        rows = self._rows(item_id, located, page, fetched) if state == "done" and page else []
        self.committer.add(
            Outcome(
                item_id, state, response.status, None, fetched, self.o.source.name,
                n_comments=len(rows) if state == "done" else None, url=located.original_url,
                capture_timestamp=located.capture_timestamp, image_url=page.image_url if page else None,
                **_archived_at(response),
            ),
            rows,
        )

    def _unusable_page(self, item_id: int, located: Located, response: Response, error: str) -> None:
        """A 200 page that will not parse into comments: failed now, with its WARC record named so that
        `aesthetic-crawl reparse` can redo it once the parser knows better."""
        self.warc.sync()  # the ledger names the record: it must be on disk first
        self._settle(item_id, "failed", response.status, error, url=located.original_url,
                     capture_timestamp=located.capture_timestamp, **_archived_at(response))

    def _settle(self, item_id: int, state: str, status: int | None, error: str, *, fetched: bool = True,
                **fields: Any) -> None:
        """A failed or blocked item carries no comment rows, so its row is written at once, not batched
        (`fetched`: False when robots.txt kept us from asking for it)."""
        self.ledger.record(self.dataset, [Outcome(item_id, state, status, error, time.time() if fetched else None,
                                                  self.o.source.name, **fields)])

    def _rows(self, item_id: int, located: Located, page: ParsedPage, fetched: float) -> list[dict[str, object]]:
        return comment_rows(self.o.site, self.o.secret, item_id, page, source_url=located.original_url,
                            source=self.o.source.name, capture_timestamp=located.capture_timestamp,
                            fetched_at=fetched)

    # --- images --------------------------------------------------------------------
    async def _fetch_image(self, item_id: int, source_url: str) -> None:
        for attempt in range(1, self.o.max_attempts + 1):
            try:
                response = await self.politeness.request(source_url)
                if response.status == 200:
                    store_image(self.images_dir, item_id, response.body)
                    self.ledger.set_image_state(self.dataset, item_id, "ok")
                    return
                error = f"HTTP {response.status}"
                if not retryable(response.status):
                    break
            except (FetchError, BadImage, Disallowed) as exc:
                error = str(exc)
                if isinstance(exc, Disallowed) or not getattr(exc, "retryable", True):
                    break
            except RobotsUnreachable as exc:
                error = str(exc)
                await asyncio.sleep(max(0.0, exc.retry_at - time.monotonic()))
        log.warning("image of item %d not stored: %s", item_id, error)
        self.ledger.set_image_state(self.dataset, item_id, "failed")

    async def _image_backlog(self) -> None:
        """Done items (from earlier runs) whose photo is not stored yet."""
        for item_id, image_url, capture_timestamp in self.ledger.iter_image_todo(self.dataset):
            located = Located("", "", capture_timestamp)  # all a photo URL depends on: the page's capture
            await self._fetch_image(item_id, self.o.source.image_fetch_url(image_url, located))


def comment_rows(site: Site, secret: bytes, item_id: int, page: ParsedPage, *, source_url: str, source: str,
                 capture_timestamp: str | None, fetched_at: float) -> list[dict[str, object]]:
    """A parsed page as rows of the comments contract (core/schemas.py); usernames become keyed hashes."""
    fetched = utc(fetched_at)
    return [
        {
            "dataset": site.dataset,
            "image_id": item_id,
            "position": c.position,
            "comment_id": c.comment_id,
            "author_key": author_key(secret, c.author) if c.author else None,
            "text": c.text,
            "posted_at": c.posted_at,
            "during_challenge": c.during_challenge,
            "edited": c.edited,
            "helpful": c.helpful,
            "source_url": source_url,
            "source": source,
            "capture_timestamp": capture_timestamp,
            "fetched_at": fetched,
            "parser_version": site.parser_version,
        }
        for c in page.comments
    ]


def _archived_at(response: Response) -> dict[str, Any]:
    """The ledger fields naming the WARC record the recorder wrote for `response` (none if unrecorded)."""
    pointer = response.archive_ref
    return {"warc_file": pointer.file, "warc_offset": pointer.offset} if isinstance(pointer, WarcPointer) else {}


def human_duration(seconds: float) -> str:
    """177 days, 3.2 hours, 45 min, 12 s: the unit a human would say."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"

