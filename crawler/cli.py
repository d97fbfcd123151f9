"""`aesthetic-crawl`: polite, resumable comment crawls of DPChallenge (AVA) and Photo.net.

Exit status: 0 when every item reached a final state (done or missing) and, with
--images, every photo was stored; 1 when some items are failed or blocked, some
photos failed, or the crawl had to stop (the summary says which and how to
retry), 2 for bad usage or input, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import re
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from aesthetic.core.argtypes import float_at_least, int_at_least
from aesthetic.core.cli import EXIT_INCOMPLETE, EXIT_OK, run
from aesthetic.core.errors import UserError
from aesthetic.core.log import setup_logging
from aesthetic.core.outdir import check_out_dir
from aesthetic.crawler.engine import CrawlOptions, Crawler, CrawlResult, human_duration, ledger_path
from aesthetic.crawler.ids import ids_help, read_ids
from aesthetic.crawler.images import DEFAULT_MAX_PIXELS, PILLOW_LIMIT
from aesthetic.crawler.ledger import DISALLOWED, Ledger
from aesthetic.crawler.politeness import PolitenessConfig
from aesthetic.crawler.privacy import SECRET_ENV, load_or_create_secret
from aesthetic.crawler.reparse import reparse
from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sources import make_source
from aesthetic.crawler.store import damaged_parts

PROG = "aesthetic-crawl"
log = logging.getLogger(PROG)

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL = re.compile(r"^https?://[^\s<>]+$")

EPILOG = (
    "Output folder: ledger.sqlite (one row per item: pending/done/missing/failed/blocked), raw/*.warc.gz (every "
    "response), comments/part-*.parquet (one row per comment; authors only as keyed hashes), images/<id>.jpg "
    "(--images). Kill it at any time and run the same command again: it resumes; nothing committed is lost and at "
    "most the last uncommitted batch (--commit-every, --commit-seconds) is fetched again. Exit status: 0 all items "
    "done or missing (and, with --images, every photo stored), 1 some items failed/blocked, photos failed or the "
    "crawl stopped, 2 bad usage, 130 interrupted (Ctrl-C, SIGTERM)."
)
SOURCE_HELP = {"live": "the site itself", "wayback": "the Internet Archive's captures of its pages"}


def _add_crawl_command(sub: argparse._SubParsersAction, dataset: str) -> None:
    site = SITES[dataset]
    p = sub.add_parser(
        dataset, epilog=EPILOG,
        help=f"crawl the comments of {dataset} images from {site.name} ({' or '.join(site.sources)})",
        description=f"Crawl every comment of the listed {dataset} images from {site.name}, politely and resumably.",
    )
    p.add_argument("--ids", type=Path, required=True, metavar="FILE",
                   help=f"the image ids, from one of these files (told apart by the first line; anything else, "
                        f"or a repeated id, is an error naming the line): {ids_help(dataset)}. Ids already in "
                        f"the ledger keep their state")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created; resumed if it exists)")
    p.add_argument("--contact", metavar="EMAIL_OR_URL",
                   help="how the site's admins can reach you; sent in the User-Agent and From headers"
                        + (" (required for the live source)" if "live" in site.sources else " (recommended)"))
    p.add_argument("--source", choices=site.sources, default=site.sources[0],
                   help="; ".join(f"{name}: {SOURCE_HELP[name]}" for name in site.sources)
                        + f" (default {site.sources[0]})")
    p.add_argument("--base-url", metavar="URL",
                   help="point the source at a mirror or test server (for wayback: the archive's base URL); "
                        "only that host is then contacted")
    p.add_argument("--min-delay", type=float_at_least(0), default=1.0, metavar="SECONDS",
                   help="least time between requests to one host; robots.txt Crawl-delay wins if larger (default 1)")
    p.add_argument("--concurrency", type=int_at_least(1), default=1, metavar="N",
                   help="requests in flight per host (default 1)")
    p.add_argument("--images", action="store_true",
                   help="also download each full-size photo, verify it decodes, store images/<id>.jpg")
    p.add_argument("--max-pixels", type=int_at_least(1), default=DEFAULT_MAX_PIXELS, metavar="N",
                   help=f"refuse a photo with more pixels than this, before decoding it (a decompression bomb); "
                        f"at most Pillow's own limit {PILLOW_LIMIT:,} (default {DEFAULT_MAX_PIXELS:,})")
    p.add_argument("--limit", type=int_at_least(1), metavar="N", help="crawl at most N pending items this run")
    p.add_argument("--retry-failed", action="store_true",
                   help="give failed and blocked items (and failed photos) a fresh set of attempts")
    p.add_argument("--max-attempts", type=int_at_least(1), default=5, metavar="N",
                   help="tries per item before it is marked failed (default 5); an answer a retry cannot "
                        "change (e.g. HTTP 400, an oversized or off-host page, an unusable archived capture) "
                        "fails it at once")
    p.add_argument("--backoff-cap", type=float_at_least(0), default=600.0, metavar="SECONDS",
                   help="longest pause of the jittered exponential backoff after errors (default 600)")
    p.add_argument("--block-cooldown", type=float_at_least(0), default=1800.0, metavar="SECONDS",
                   help="pause after the site's block page; if it is still there afterwards, the crawl stops "
                        "(default 1800)")
    p.add_argument("--no-autothrottle", action="store_true",
                   help="keep the delay fixed instead of raising it when the site answers slowly")
    # strictly positive: aiohttp reads a timeout of 0 as "no timeout at all"
    p.add_argument("--timeout", type=float_at_least(0, strict=True), default=60.0, metavar="SECONDS",
                   help="per-request timeout (default 60)")
    p.add_argument("--max-bytes", type=int_at_least(1), default=16 << 20, metavar="BYTES",
                   help="largest response accepted (default 16 MiB)")
    p.add_argument("--commit-every", type=int_at_least(1), default=200, metavar="N",
                   help="make finished items durable in batches of N (or every --commit-seconds); a kill loses "
                        "at most one uncommitted batch, which is fetched again (default 200)")
    p.add_argument("--commit-seconds", type=float_at_least(0), default=5.0, metavar="SECONDS",
                   help="commit finished items at least this often (default 5)")
    p.add_argument("--secret", type=Path, metavar="FILE",
                   help=f"author-key secret (created if missing; default ${SECRET_ENV} or "
                        "~/.config/aesthetic-comments/author-key.secret); keep it private")
    _logging_flags(p)
    p.set_defaults(command="crawl", dataset=dataset)


def _logging_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="warnings and the final summary only, no progress bar")
    p.add_argument("--json-log", action="store_true", help="log one JSON object per line (for batch jobs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, epilog=EPILOG,
        description="Polite, resumable crawler of photo comments (DPChallenge for AVA, Photo.net via the "
                    "Internet Archive) into WARC + Parquet.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join([*SITES, "status", "reparse"]) + "}")
    for dataset in SITES:
        _add_crawl_command(sub, dataset)
    status = sub.add_parser(
        "status", help="counts per state, photos, recent rate and ETA of a crawl folder; checks its comment parts",
        description="Report on a crawl folder without changing it: items per state, photos stored and failed, the "
                    "recent rate and ETA, and whether every committed comments part is whole (exit 1 if not: "
                    "`reparse` rebuilds them from raw/).")
    status.add_argument("dir", type=Path, metavar="DIR", help="the crawl folder (the --out of the crawl)")
    status.add_argument("--json", action="store_true",
                        help="print the figures as one JSON object (one entry per dataset, and "
                             "\"damaged_parts\" when a comments part is damaged)")
    status.set_defaults(command="status")
    rep = sub.add_parser(
        "reparse", help="rebuild comments/ from raw/*.warc.gz with the current parser (no network)",
        description="Parse every archived page of a crawl folder again with the current parser and replace "
                    "comments/ with the result; each item's ledger state follows the new verdict (a page the "
                    "parser now rejects leaves its item failed). Nothing is fetched.")
    rep.add_argument("dir", type=Path, metavar="DIR", help="the crawl folder (the --out of the crawl)")
    rep.add_argument("--secret", type=Path, metavar="FILE", help="author-key secret (as for the crawl)")
    _logging_flags(rep)
    rep.set_defaults(command="reparse")
    return parser


def _check_contact(contact: str | None, source: str) -> str | None:
    if contact is None:
        if source == "live":
            raise UserError("a live crawl needs --contact EMAIL_OR_URL: it goes into the User-Agent and From "
                            "headers so the site's admins can reach you instead of banning you",
                            hint="e.g. --contact you@example.org")
        return None
    if not (_EMAIL.match(contact) or _URL.match(contact)):
        raise UserError(f"--contact must be an e-mail address or an http(s) URL, got {contact!r}")
    return contact


def _crawl(args: argparse.Namespace) -> int:
    site = SITES[args.dataset]
    check_out_dir(args.out)
    contact = _check_contact(args.contact, args.source)
    source = make_source(args.source, site, args.base_url)
    if args.max_pixels > PILLOW_LIMIT:
        raise UserError(f"--max-pixels {args.max_pixels:,} is over Pillow's own limit {PILLOW_LIMIT:,}, "
                        "past which it refuses any image")
    ids = read_ids(args.ids, args.dataset)
    options = CrawlOptions(
        site=site, source=source, out=args.out, secret=load_or_create_secret(args.secret), contact=contact,
        politeness=PolitenessConfig(
            min_delay=args.min_delay, concurrency=args.concurrency, autothrottle=not args.no_autothrottle,
            backoff_cap=args.backoff_cap, block_cooldown=args.block_cooldown,
        ),
        images=args.images, max_pixels=args.max_pixels, limit=args.limit, max_attempts=args.max_attempts, max_bytes=args.max_bytes,
        timeout=args.timeout, batch_items=args.commit_every, batch_seconds=args.commit_seconds,
    )
    log.info("%s: %s ids (%s layout)", args.ids, f"{len(ids):,}", ids.layout)
    crawler = Crawler(options)
    # A crawl runs for days: pyarrow's default pool (mimalloc) keeps the pages it freed, so each
    # compaction of comment parts would ratchet the resident memory up; the system allocator returns them.
    pa.set_memory_pool(pa.system_memory_pool())
    result = asyncio.run(_run_until_signal(crawler, ids.ids, args.retry_failed))
    return _summarize(args, result)


async def _run_until_signal(crawler: Crawler, ids: Sequence[int], retry_failed: bool) -> CrawlResult:
    """SIGTERM stops the crawl like Ctrl-C: finished items are committed, the rest stay pending."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await crawler.run(ids, retry_failed=retry_failed)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


def _summarize(args: argparse.Namespace, result: CrawlResult) -> int:
    c, photos = result.counts, result.photos
    unfinished = c["failed"] + c["blocked"]
    photos_failed = photos.get("failed", 0) if args.images else 0
    log.log(
        logging.WARNING if unfinished or result.stopped or photos_failed else logging.INFO,
        "%s: %s done, %s missing, %s failed, %s blocked, %s pending (%s items processed this run)%s",
        args.dataset, *(f"{c[k]:,}" for k in ("done", "missing", "failed", "blocked", "pending")),
        f"{result.processed:,}",
        f"; photos: {photos['stored']:,} stored, {photos['failed']:,} failed" if args.images else "",
    )
    if result.stopped:
        log.error("crawl stopped: %s", result.stopped)
    with Ledger(ledger_path(args.out)) as ledger:
        disallowed = ledger.count_disallowed(args.dataset)
        retryable = unfinished - disallowed
        if unfinished:
            shown = (row for row in ledger.rows(args.dataset, ["failed", "blocked"])
                     if not (row.last_error or "").startswith(DISALLOWED))
            for row in itertools.islice(shown, 10):
                log.warning("  %s %d: %s", row.state, row.item_id, row.last_error)
        if photos_failed:
            for item_id, error in ledger.image_failures(args.dataset, 10):
                log.warning("  photo %d: %s", item_id, error)
    if disallowed:
        log.warning("%s items are disallowed by robots.txt and were not fetched: the site asks crawlers to keep "
                    "away from them (retrying cannot help while it does)", f"{disallowed:,}")
    if retryable or photos_failed:
        what = " and ".join(part for part in (f"{retryable:,} items are failed or blocked" if retryable else "",
                                              f"{photos_failed:,} photos failed" if photos_failed else "") if part)
        log.warning("%s; rerun the same command with --retry-failed to try them again", what)
    if c["pending"] and not result.stopped:
        log.warning("%s items still pending (--limit or an interrupted run): run the same command to continue",
                    f"{c['pending']:,}")
    return EXIT_INCOMPLETE if unfinished or result.stopped or photos_failed else EXIT_OK


def _crawl_folder(folder: Path) -> Path:
    """The ledger of an existing crawl folder; `status` and `reparse` must not create one."""
    path = ledger_path(folder)
    if not path.exists():
        raise UserError(f"{folder} is not a crawl folder (no ledger.sqlite)")
    return path


def _status(args: argparse.Namespace) -> int:
    report = {}
    path = _crawl_folder(args.dir)
    with Ledger(path) as ledger:
        damaged = damaged_parts(Path(args.dir) / "comments", ledger)
        for dataset in ledger.datasets():
            counts = ledger.counts(dataset)
            rate = ledger.recent_rate(dataset)
            eta = counts["pending"] / rate if rate else None
            report[dataset] = {"counts": counts, "rate_per_s": rate, "eta_s": eta,
                               "photos": ledger.image_counts(dataset),
                               "disallowed": ledger.count_disallowed(dataset)}
    code = EXIT_INCOMPLETE if damaged else EXIT_OK
    if args.json:
        print(json.dumps({**report, "damaged_parts": damaged} if damaged else report, indent=2))
        return code
    if not report:
        print(f"{args.dir}: no items yet")
    for dataset, entry in report.items():
        counts = entry["counts"]
        print(f"{dataset}: {sum(counts.values()):,} items: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if entry["disallowed"]:
            print(f"  {entry['disallowed']:,} of the blocked items are disallowed by robots.txt (not fetched)")
        if entry["rate_per_s"]:
            per_hour = entry["rate_per_s"] * 3600
            eta = f"ETA for {counts['pending']:,} pending ≈ {human_duration(entry['eta_s'])}" if counts["pending"] else "nothing pending"
            print(f"  rate {per_hour:,.0f} pages/hour over the last hour of crawling; {eta}")
        photos = entry["photos"]
        if any(photos.values()):
            print(f"  photos: {photos['stored']:,} stored, {photos['failed']:,} failed, {photos['todo']:,} not "
                  "fetched yet")
        if photos["failed"]:
            print("    the failed ones are tried again by the crawl command with --images --retry-failed")
        if photos["todo"]:
            print("    the others are fetched by the crawl command with --images")
    for problem in damaged:
        print(f"damaged: comments/{problem}")
    if damaged:
        print(f"{len(damaged)} comments part(s) are damaged: run `aesthetic-crawl reparse {args.dir}` to rebuild "
              f"comments/ from raw/ ({path.name} and raw/ are intact)")
    return code


def _reparse(args: argparse.Namespace) -> int:
    _crawl_folder(args.dir)
    started = time.monotonic()
    result = reparse(args.dir, load_or_create_secret(args.secret), SITES)
    log.info("reparse: %s pages parsed into %s comments in %.1f s (%s)", f"{result.pages:,}",
                f"{result.comments:,}", time.monotonic() - started,
                ", ".join(f"{k} {v:,}" for k, v in result.states.items()))
    return EXIT_OK


COMMANDS = {"crawl": _crawl, "status": _status, "reparse": _reparse}


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(quiet=getattr(args, "quiet", False), json_logs=getattr(args, "json_log", False))
    return COMMANDS[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
