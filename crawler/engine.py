"""The crawl loop: ledger -> source -> politeness -> fetch -> WARC -> parse -> verdict -> comment parts -> ledger.

Why this shape: every piece of state that matters lives in the output folder
(ledger, WARC, parts), so the process can die at any instruction and the next
run continues. Items are read from the ledger in chunks and handed to a small
bounded queue, so memory does not grow with the number of items. Finished
items are committed in batches (Committer): fsync the WARC, write the part,
one ledger transaction, publish the part (see store.py). What each answer means
(done, missing, retry, block, fail) is crawler/verdict.py's one pure decision,
the same one `reparse` uses; this module only acts on it, retrying in a loop.
Photos (`--images`) are decoded and verified in a worker thread, so a slow
decode never holds up the next page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aesthetic.core.errors import UserError
from aesthetic.core.log import progress_bar
from aesthetic.crawler.fetch import FetchError, Fetcher, RefusedURL, Response, origin
from aesthetic.crawler.images import DEFAULT_MAX_PIXELS, BadImage, store_image
from aesthetic.crawler.ledger import Ledger, Outcome
from aesthetic.crawler.politeness import (
    Disallowed,
    HostBlocked,
    Politeness,
    PolitenessConfig,
    RobotsUnreachable,
    Spacing,
)
from aesthetic.crawler.privacy import comment_author_key
from aesthetic.crawler.sites.base import ParsedPage, Site
from aesthetic.crawler.sources import Located, NoCapture, Source
from aesthetic.crawler.store import (
    CommentParts,
    DirLock,
    Exchange,
    WarcPointer,
    WarcStore,
    comments_table,
    damaged_parts,
    utc,
)
from aesthetic.crawler.verdict import Verdict, final, judge, needs_parse, retryable

log = logging.getLogger(__name__)

BLOCK_ADVICE = ("Wait hours or days, make sure --contact reaches you, consider a larger --min-delay, then run "
                "the same command to resume.")
ODD_ADVICE = "Look at what the site answers in a browser, then run the same command to resume."
PHOTO_DECODES = 2  # photos decoding at once, off the event loop (bounds the memory of waiting bodies)


@dataclass(frozen=True)
class CrawlOptions:
    site: Site
    source: Source
    out: Path
    secret: bytes
    contact: str | None = None
    politeness: PolitenessConfig = field(default_factory=PolitenessConfig)
    images: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS  # a photo with more pixels is refused (a decompression bomb)
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
    photos: dict[str, int] = field(default_factory=dict)  # photo states of done items (ledger.image_counts)
    added: int = 0                   # ids new to the ledger
    reset: int = 0                   # failed/blocked items made pending again (retry_failed)


class StopCrawl(Exception):
    """Stop every worker: the message says why and what to do."""


@dataclass(frozen=True)
class Tried:
    """One attempt at an item's page: the verdict and what it was made from (None where it never came)."""

    verdict: Verdict
    located: Located | None = None
    response: Response | None = None
    page: ParsedPage | None = None

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None


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


def check_parts(out: Path, parts: CommentParts, ledger: Ledger) -> None:
    """A committed comments part that is missing or cut off stops the crawl here, with the way out:
    `reparse` rebuilds comments/ from raw/ (the crawl would otherwise trip over it when compacting)."""
    problems = damaged_parts(parts.dir, ledger, deep=False)
    if problems:
        raise UserError(f"{out}: {len(problems)} damaged comments part(s), e.g. {problems[0]}",
                        hint=f"run `aesthetic-crawl reparse {out}` to rebuild comments/ from raw/, then crawl again")


class Crawler:
    """One run over the pending items of one dataset in one output folder."""

    def __init__(self, options: CrawlOptions) -> None:
        self.o = options
        self.dataset = options.site.dataset
        self.images_dir = Path(options.out) / "images"
        self.processed = 0
        self.stopped: str | None = None
        self.ledger: Ledger
        self.parts: CommentParts
        self.warc: WarcStore
        self.committer: Committer
        self.politeness: Politeness
        self._bar = None
        self._decodes: set[asyncio.Task[None]] = set()
        self._decode_slots = asyncio.Semaphore(PHOTO_DECODES)
        self._refused_photo_hosts: set[str] = set()

    def todo(self) -> int:
        pending = self.ledger.counts(self.dataset)["pending"]
        return pending if self.o.limit is None else min(pending, self.o.limit)

    def _record(self, response: Response) -> WarcPointer:
        return self.warc.write(Exchange(response.url, response.request_headers, response.status,
                                        response.reason, response.headers, response.body))

    # --- run -------------------------------------------------------------------
    async def run(self, ids: Iterable[int] = (), *, retry_failed: bool = False) -> CrawlResult:
        """Add `ids` to the ledger (known ones keep their state), optionally make failed items pending
        again, and crawl; the folder is locked for the whole run."""
        out = Path(self.o.out)
        with DirLock(out):
            self.ledger, self.parts = open_output(out)
            try:
                check_parts(out, self.parts, self.ledger)
                added = self.ledger.add_items(self.dataset, ids)
                reset = self.ledger.reset_failed(self.dataset) if retry_failed else 0
                log.info("%s ids new to the ledger%s", f"{added:,}",
                         f"; --retry-failed: {reset:,} failed/blocked items are pending again" if retry_failed else "")
                self.warc = WarcStore(out / "raw", max_bytes=self.o.warc_max_bytes)
                self.committer = Committer(self.ledger, self.parts, self.warc, self.dataset,
                                           self.o.batch_items, self.o.batch_seconds)
                try:
                    async with Fetcher(self.o.source.allow, contact=self.o.contact, max_bytes=self.o.max_bytes,
                                       timeout=self.o.timeout) as fetcher:
                        self.politeness = Politeness(self.o.politeness, fetcher, record=self._record)
                        await self._plan()
                        await self._run_workers()
                finally:
                    self.committer.flush()
                    self.warc.close()
                return CrawlResult(self.ledger.counts(self.dataset), self.processed, self.stopped,
                                   self.ledger.image_counts(self.dataset), added, reset)
            finally:
                self.ledger.close()

    async def _plan(self) -> None:
        """Fetch the main host's robots.txt first, so the plan states the real delay."""
        entry = self.o.source.entry_url
        try:
            await self.politeness.robots(self.politeness.host(entry))
        except RobotsUnreachable as exc:
            log.warning("%s", exc)
        todo = self.todo()
        counts = self.ledger.counts(self.dataset)
        spacing = self.politeness.spacing(entry)
        lines, eta = plan_lines(todo=todo, final=counts["done"] + counts["missing"], entry_url=entry,
                                source=self.o.source, spacing=spacing, config=self.o.politeness,
                                dataset=self.dataset, wayback_possible="wayback" in self.o.site.sources)
        fields = {"todo": todo, "delay_s": spacing.floor, "delay_now_s": spacing.current, "eta_s": eta,
                  **{f"n_{k}": v for k, v in counts.items()}}
        log.info("%s", lines[0], extra={"fields": fields})
        for line in lines[1:]:
            log.info("%s", line)

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
            await asyncio.gather(*self._decodes)  # photos still decoding: their verdicts go in the ledger
        finally:
            others = [all_done, stopped, feeder, ticker, *self._decodes]
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
        """Attempts until the item reaches a state: the verdict of each answer says what to do."""
        row = self.ledger.get(self.dataset, item_id)
        attempts = row.attempts if row else 0
        while True:
            tried = await self._attempt(item_id)
            if tried is None:  # the item reached a state without an answer (no capture, robots.txt)
                return
            verdict = tried.verdict
            if verdict.action in ("done", "missing"):
                self._finish(item_id, tried, verdict.action)
                if verdict.action == "done" and self.o.images and tried.page and tried.page.image_url:
                    await self._fetch_image(item_id, self.o.source.image_fetch_url(tried.page.image_url,
                                                                                   tried.located))
                return
            if verdict.action == "fail":
                self._fail(item_id, tried)
                return
            if verdict.action == "block":  # cool down (politeness pauses the host), then the same item
                self._host_trouble(item_id, tried, self.politeness.note_block, BLOCK_ADVICE)
                continue
            if verdict.odd:
                self._host_trouble(item_id, tried, self.politeness.note_odd, ODD_ADVICE)
            attempts += 1
            if attempts >= self.o.max_attempts:
                self._fail(item_id, tried)
                log.warning("item %d failed after %d attempts: %s", item_id, attempts, verdict.reason)
                return
            self.ledger.note_attempt(self.dataset, item_id, tried.status, verdict.reason)
            log.info("item %d: attempt %d failed (%s); retrying", item_id, attempts, verdict.reason)

    async def _attempt(self, item_id: int) -> Tried | None:
        """Locate and fetch the page once (waiting out an unreachable robots.txt) and judge the answer;
        None when the item was settled without one (no capture: missing; robots.txt: blocked)."""
        source = self.o.source
        while True:
            try:
                located = await source.locate(item_id, self.politeness.request)
                response = await self.politeness.request(located.fetch_url)
            except NoCapture as exc:
                self.committer.add(Outcome(item_id, "missing", None, str(exc), time.time(), source.name,
                                           url=self.o.site.original_url(item_id)), [])
                return None
            except Disallowed as exc:
                self._settle(item_id, "blocked", None, str(exc), fetched=False)
                return None
            except RobotsUnreachable as exc:
                if exc.failures >= self.o.max_attempts:
                    raise StopCrawl(f"robots.txt of {exc.origin} stayed unreachable over {exc.failures} tries "
                                    f"({exc.detail}), so nothing was fetched from that host. Run the same command "
                                    "later to resume.") from None
                await asyncio.sleep(max(0.0, exc.retry_at - time.monotonic()))
                continue
            except FetchError as exc:
                return Tried(Verdict("retry" if exc.retryable else "fail", str(exc)))
            return self._judge(item_id, located, response)

    def _judge(self, item_id: int, located: Located, response: Response) -> Tried:
        page, error = None, None
        if needs_parse(response.status):
            try:
                page = self.o.site.parse(response.body, response.header("Content-Type"))
            except Exception as exc:  # a parser bug must not kill the crawl; the raw page is kept for reparse
                log.exception("parser failed on item %d", item_id)
                error = f"parse error: {exc!r}"
        wrong = self.o.source.misattributed(item_id, response.url) if response.status == 200 else None
        verdict = judge(response.status, page, archived=self.o.source.archived, parse_error=error,
                        misattributed=wrong)
        if verdict.normal:
            self.politeness.note_normal(response.url)
        return Tried(verdict, located, response, page)

    def _host_trouble(self, item_id: int, tried: Tried, note: Callable[[str, str], None], advice: str) -> None:
        """Tell politeness about a block page or odd answer; if the host keeps it up, stop the crawl."""
        assert tried.response is not None
        try:
            note(tried.response.url, tried.verdict.reason or "")
        except HostBlocked as exc:
            self._settle(item_id, "blocked", tried.status, str(exc))
            raise StopCrawl(f"{exc}. {advice}") from None

    def _finish(self, item_id: int, tried: Tried, state: str) -> None:
        assert tried.located is not None and tried.response is not None
        fetched = time.time()
        page, located = tried.page, tried.located
        rows = self._rows(item_id, located, page, fetched) if state == "done" and page else []
        self.committer.add(
            Outcome(
                item_id, state, tried.status, None, fetched, self.o.source.name,
                n_comments=len(rows) if state == "done" else None, url=located.original_url,
                capture_timestamp=located.capture_timestamp, image_url=page.image_url if page else None,
                **_archived_at(tried.response),
            ),
            rows,
        )

    def _fail(self, item_id: int, tried: Tried) -> None:
        """The item is failed; a 200 page behind it is named in the ledger (WARC file and offset) so that
        `aesthetic-crawl reparse` can redo it once the parser knows better."""
        state, reason = final(tried.verdict)
        fields: dict[str, Any] = {}
        if tried.verdict.keep_page and tried.response is not None and tried.located is not None:
            self.warc.sync()  # the ledger names the record: it must be on disk first
            fields = dict(url=tried.located.original_url, capture_timestamp=tried.located.capture_timestamp,
                          **_archived_at(tried.response))
        self._settle(item_id, state, tried.status, reason or "failed", **fields)

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

    # --- photos ----------------------------------------------------------------------
    async def _fetch_image(self, item_id: int, url: str) -> None:
        """Fetch the photo (retrying what a retry can change) and hand it to a decode off the event loop,
        so a slow decode never holds up the next page."""
        error = "no answer"
        for _ in range(self.o.max_attempts):
            try:
                response = await self.politeness.request(url)
            except RefusedURL as exc:
                self._photo_refused(item_id, url, exc)
                return
            except Disallowed as exc:
                error = str(exc)
                break
            except RobotsUnreachable as exc:
                error = str(exc)
                await asyncio.sleep(max(0.0, exc.retry_at - time.monotonic()))
                continue
            except FetchError as exc:
                error = str(exc)
                if not exc.retryable:
                    break
                continue
            if response.status == 200:
                await self._decode_slots.acquire()
                task = asyncio.create_task(self._store_photo(item_id, response.body))
                self._decodes.add(task)
                task.add_done_callback(self._decodes.discard)
                return
            error = f"HTTP {response.status}"
            if not retryable(response.status):
                break
        self._photo_failed(item_id, error)

    async def _store_photo(self, item_id: int, body: bytes) -> None:
        try:
            await asyncio.to_thread(store_image, self.images_dir, item_id, body, max_pixels=self.o.max_pixels)
        except BadImage as exc:
            self._photo_failed(item_id, str(exc))
        except OSError as exc:
            self._photo_failed(item_id, f"cannot write the photo: {exc}")
        else:
            self.ledger.set_image_state(self.dataset, item_id, "ok")
        finally:
            self._decode_slots.release()

    def _photo_refused(self, item_id: int, url: str, exc: RefusedURL) -> None:
        """A photo on a host this source may not contact (a mirror given with --base-url serves its own
        host only): said once per host, then each such photo is failed quietly."""
        try:
            host = str(origin(url))
        except RefusedURL:
            host = url
        if host not in self._refused_photo_hosts:
            self._refused_photo_hosts.add(host)
            allowed = ", ".join(str(o) for o in self.o.source.allow.origins)
            log.warning("photos on %s are not fetched: this source contacts only %s (with --base-url, only that "
                        "host). Each such photo is marked failed; this is said once.", host, allowed)
        self._photo_failed(item_id, str(exc), quiet=True)

    def _photo_failed(self, item_id: int, error: str, *, quiet: bool = False) -> None:
        if not quiet:
            log.warning("photo of item %d not stored: %s", item_id, error)
        self.ledger.set_image_state(self.dataset, item_id, "failed", error)

    async def _image_backlog(self) -> None:
        """Done items (from earlier runs) whose photo is not stored yet."""
        for item_id, image_url, capture_timestamp in self.ledger.iter_image_todo(self.dataset):
            located = Located("", "", capture_timestamp)  # all a photo URL depends on: the page's capture
            await self._fetch_image(item_id, self.o.source.image_fetch_url(image_url, located))


def plan_lines(*, todo: int, final: int, entry_url: str, source: Source, spacing: Spacing,
               config: PolitenessConfig, dataset: str, wayback_possible: bool) -> tuple[list[str], float]:
    """The plan a crawl prints before it starts, and its ETA in seconds: what will be fetched, the spacing
    it really keeps and where that number comes from, and the arithmetic (a lower bound)."""
    if spacing.source == "robots.txt":
        why = f"robots.txt asks for it; --min-delay is {config.min_delay:g} s"
    else:
        why = "--min-delay; robots.txt asks for " + (f"{spacing.robots:g} s" if spacing.robots else "no delay")
    counted = "the previous answer" if config.concurrency <= 1 else "the moment the previous request left"
    throttle = (f"; AutoThrottle raises it while the site answers slowly (now {spacing.current:g} s)"
                if config.autothrottle else "; AutoThrottle off")
    lines = [f"plan: {todo:,} pages to fetch from {entry_url} ({source.name} source; {final:,} already final); "
             f"at least {spacing.floor:g} s between requests ({why}), counted from {counted}{throttle}; "
             f"{config.concurrency} in flight per host"]
    per_item = source.requests_per_item
    eta = todo * per_item * spacing.floor
    lines.append(f"ETA: {todo:,} pages at 1 per {spacing.floor:g} s{f', {per_item} requests each' if per_item > 1 else ''}"
                 f" ≈ {human_duration(eta)} (a lower bound: the site's answer times, retries and AutoThrottle add "
                 "to it)")
    if eta > 86400:
        wayback = wayback_possible and source.name != "wayback"
        lines.append("alternatives: " + ("--source wayback (the Internet Archive's copies, under its own limits), "
                                         "or " if wayback else "")
                     + f"skip crawling and import a comment dump (e.g. DPC-Captions JSON) with "
                     f"`aesthetic-build-splits {dataset} --comments DUMP`")
    return lines, eta


def comment_rows(site: Site, secret: bytes, item_id: int, page: ParsedPage, *, source_url: str, source: str,
                 capture_timestamp: str | None, fetched_at: float) -> list[dict[str, object]]:
    """A parsed page as rows of the comments contract (core/schemas.py); authors become keyed hashes."""
    fetched = utc(fetched_at)
    return [
        {
            "dataset": site.dataset,
            "image_id": item_id,
            "position": c.position,
            "comment_id": c.comment_id,
            "author_key": comment_author_key(secret, c.author_id, c.author),
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

