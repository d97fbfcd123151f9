"""`aesthetic-crawl`: polite, resumable comment crawls of DPChallenge (AVA) and Photo.net.

Exit status: 0 when every item reached a final state (done or missing), 1 when
some are failed or blocked or the crawl had to stop (the summary says which and
how to retry), 2 for bad usage or input, 130 when interrupted.
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
from aesthetic.crawler.ledger import Ledger
from aesthetic.crawler.politeness import PolitenessConfig
from aesthetic.crawler.privacy import SECRET_ENV, load_or_create_secret
from aesthetic.crawler.reparse import reparse
from aesthetic.crawler.sites import SITES
from aesthetic.crawler.sources import make_source

PROG = "aesthetic-crawl"
log = logging.getLogger(PROG)

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL = re.compile(r"^https?://[^\s<>]+$")

EPILOG = (
    "Output folder: ledger.sqlite (one row per item: pending/done/missing/failed/blocked), raw/*.warc.gz (every "
    "response), comments/part-*.parquet (one row per comment; authors only as keyed hashes), images/<id>.jpg "
    "(--images). Kill it at any time and run the same command again: it resumes; nothing committed is lost and at "
    "most the last uncommitted batch (--commit-every, --commit-seconds) is fetched again. Exit status: 0 all items "
    "done or missing, 1 some failed/blocked or the crawl stopped, 2 bad usage, 130 interrupted (Ctrl-C, SIGTERM)."
)


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
                   help="how the site's admins can reach you; sent in the User-Agent and From headers "
                        "(required for the live source)")
    p.add_argument("--source", choices=site.sources, default=site.sources[0],
                   help=f"live: the site itself; wayback: the Internet Archive's captures (default {site.sources[0]})")
    p.add_argument("--base-url", metavar="URL",
                   help="point the source at a mirror or test server (for wayback: the archive's base URL); "
                        "only that host is then contacted")
    p.add_argument("--min-delay", type=float_at_least(0), default=1.0, metavar="SECONDS",
                   help="least time between requests to one host; robots.txt Crawl-delay wins if larger (default 1)")
    p.add_argument("--concurrency", type=int_at_least(1), default=1, metavar="N",
                   help="requests in flight per host (default 1)")
    p.add_argument("--images", action="store_true",
                   help="also download each full-size photo, verify it decodes, store images/<id>.jpg")
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
    status = sub.add_parser("status", help="counts per state, recent rate and ETA of a crawl folder")
    status.add_argument("dir", type=Path, metavar="DIR")
    status.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    status.set_defaults(command="status")
    rep = sub.add_parser("reparse", help="rebuild comments/ from raw/*.warc.gz with the current parser (no network)")
    rep.add_argument("dir", type=Path, metavar="DIR")
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
    ids = read_ids(args.ids, args.dataset)
    options = CrawlOptions(
        site=site, source=source, out=args.out, secret=load_or_create_secret(args.secret), contact=contact,
        politeness=PolitenessConfig(
            min_delay=args.min_delay, concurrency=args.concurrency, autothrottle=not args.no_autothrottle,
            backoff_cap=args.backoff_cap, block_cooldown=args.block_cooldown,
        ),
        images=args.images, limit=args.limit, max_attempts=args.max_attempts, max_bytes=args.max_bytes,
        timeout=args.timeout, batch_items=args.commit_every, batch_seconds=args.commit_seconds,
    )
    crawler = Crawler(options)
    added = crawler.add_ids(ids.ids)
    log.info("%s: %s ids (%s layout), %s new to the ledger", args.ids, f"{len(ids):,}", ids.layout, f"{added:,}")
    if args.retry_failed:
        log.info("--retry-failed: %d failed/blocked items are pending again", crawler.ledger.reset_failed(site.dataset))
    # A crawl runs for days: pyarrow's default pool (mimalloc) keeps the pages it freed, so each
    # compaction of comment parts would ratchet the resident memory up; the system allocator returns them.
    pa.set_memory_pool(pa.system_memory_pool())
    result = asyncio.run(_run_until_signal(crawler))
    return _summarize(args, result)


async def _run_until_signal(crawler: Crawler) -> CrawlResult:
    """SIGTERM stops the crawl like Ctrl-C: finished items are committed, the rest stay pending."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await crawler.run()
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


def _summarize(args: argparse.Namespace, result: CrawlResult) -> int:
    c = result.counts
    unfinished = c["failed"] + c["blocked"]
    log.log(
        logging.WARNING if unfinished or result.stopped else logging.INFO,
        "%s: %s done, %s missing, %s failed, %s blocked, %s pending (%s items processed this run)",
        args.dataset, *(f"{c[k]:,}" for k in ("done", "missing", "failed", "blocked", "pending")),
        f"{result.processed:,}",
    )
    if result.stopped:
        log.error("crawl stopped: %s", result.stopped)
    if unfinished:
        with Ledger(ledger_path(args.out)) as ledger:
            for row in itertools.islice(ledger.rows(args.dataset, ["failed", "blocked"]), 10):
                log.warning("  %s %d: %s", row.state, row.item_id, row.last_error)
        log.warning("%d items are failed or blocked; rerun the same command with --retry-failed to try them again",
                    unfinished)
    if c["pending"] and not result.stopped:
        log.warning("%s items still pending (--limit or an interrupted run): run the same command to continue",
                    f"{c['pending']:,}")
    return EXIT_INCOMPLETE if unfinished or result.stopped else EXIT_OK


def _crawl_folder(folder: Path) -> Path:
    """The ledger of an existing crawl folder; `status` and `reparse` must not create one."""
    path = ledger_path(folder)
    if not path.exists():
        raise UserError(f"{folder} is not a crawl folder (no ledger.sqlite)")
    return path


def _status(args: argparse.Namespace) -> int:
    report = {}
    with Ledger(_crawl_folder(args.dir)) as ledger:
        for dataset in ledger.datasets():
            counts = ledger.counts(dataset)
            rate = ledger.recent_rate(dataset)
            eta = counts["pending"] / rate if rate else None
            report[dataset] = {"counts": counts, "rate_per_s": rate, "eta_s": eta,
                               "images_todo": ledger.count_image_todo(dataset)}
    if args.json:
        print(json.dumps(report, indent=2))
        return EXIT_OK
    if not report:
        print(f"{args.dir}: no items yet")
    for dataset, entry in report.items():
        counts = entry["counts"]
        print(f"{dataset}: {sum(counts.values()):,} items: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if entry["rate_per_s"]:
            per_hour = entry["rate_per_s"] * 3600
            eta = f"ETA for {counts['pending']:,} pending ≈ {human_duration(entry['eta_s'])}" if counts["pending"] else "nothing pending"
            print(f"  rate {per_hour:,.0f} pages/hour over the last hour of crawling; {eta}")
        if entry["images_todo"]:
            print(f"  {entry['images_todo']:,} done items have no stored photo yet (run with --images; "
                  "photos that failed need --retry-failed too)")
    return EXIT_OK


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
