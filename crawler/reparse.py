"""`aesthetic-crawl reparse DIR`: rebuild comments/ from the raw WARC records, no network.

Why: parsers improve (a layout variant, a quote style) long after a months-long
crawl; the raw archive lets the comments be redone in minutes. The ledger
says where each item's page record is (file and offset), so nothing is
scanned. Each page is judged by the crawl's own decision (crawler/verdict.py),
so the ledger says what the current parser says: a page it now sees as a
block page, or one it does not recognise, leaves its item failed (its page
still archived), never `done` with no comments. The new parts get fresh
sequence numbers and replace the old ones in one ledger transaction
(store.py's two-phase commit), so a kill during a reparse leaves either the
old comments or the new ones, never a mix.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from aesthetic.core.errors import UserError
from aesthetic.core.log import progress
from aesthetic.crawler.engine import comment_rows, open_output
from aesthetic.crawler.sites.base import ParsedPage, Site
from aesthetic.crawler.sources import SOURCES, Source
from aesthetic.crawler.store import DirLock, StoredResponse, WarcPointer, comments_table, read_response
from aesthetic.crawler.verdict import final, judge, needs_parse


@dataclass
class ReparseResult:
    pages: int = 0
    comments: int = 0
    states: dict[str, int] = field(default_factory=dict)


def _stored_page(out: Path, warc_file: str, offset: int) -> StoredResponse:
    """The record the ledger names; a missing or damaged archive stops the reparse before anything is
    replaced (the old comments stay), with the file named instead of a traceback."""
    try:
        return read_response(out / "raw", WarcPointer(warc_file, offset))
    except (OSError, ValueError, EOFError, zlib.error, ArchiveLoadFailed, StatusAndHeadersParserException) as exc:
        raise UserError(f"{out / 'raw' / warc_file}: cannot read the page record at byte {offset}: {exc}",
                        hint="reparse needs the raw/ folder the crawl wrote; nothing was changed") from None


def _source(cache: dict[tuple[str, str], Source], name: str | None, site: Site) -> Source | None:
    """The source a row was crawled from (for its `archived` flag and page check), built once per kind."""
    if name not in SOURCES or name not in site.sources:
        return None
    key = (name, site.dataset)
    if key not in cache:
        cache[key] = SOURCES[name](site, None)
    return cache[key]


def _judge_again(site: Site, source: Source | None, item_id: int,
                 stored: StoredResponse) -> tuple[str, str | None, ParsedPage | None]:
    """(state, reason, page) of a stored answer under the current parser: the crawl's verdict, made final
    (no retry is possible here: a block or odd page that the crawl would retry is a failure)."""
    page, error = None, None
    if needs_parse(stored.status):
        try:
            page = site.parse(stored.body, stored.headers.get("content-type"))
        except Exception as exc:  # keep going: one odd page must not stop a full reparse
            error = f"parse error: {exc!r}"
    if source is None:
        return "failed", f"crawled from an unknown source; cannot credit {stored.url} to item {item_id}", page
    wrong = source.misattributed(item_id, stored.url) if stored.status == 200 else None
    state, reason = final(judge(stored.status, page, archived=source.archived, parse_error=error, misattributed=wrong))
    return state, reason, page


def reparse(out: Path, secret: bytes, sites: Mapping[str, Site], *, part_rows: int = 200_000) -> ReparseResult:
    """Re-parse every archived page of every dataset in `out`; returns what it found."""
    out = Path(out)
    result = ReparseResult()
    sources: dict[tuple[str, str], Source] = {}
    with DirLock(out):
        ledger, parts = open_output(out)
        try:
            old = ledger.committed_batches()
            seq = ledger.next_batch_seq()
            new: list[tuple[int, int, int]] = []
            updates: list[tuple[str, int, str, int | None, str | None, str | None]] = []
            rows: list[dict[str, object]] = []
            items = 0

            def flush() -> None:
                nonlocal seq, rows, items
                if rows:
                    parts.write_pending(seq, comments_table(rows))
                    new.append((seq, len(rows), items))
                    seq, rows, items = seq + 1, [], 0

            for dataset in ledger.datasets():
                site = sites.get(dataset)
                if site is None:
                    raise UserError(f"{out}: the ledger holds dataset {dataset!r}, which no site parser handles")
                for row in progress(ledger.archived_rows(dataset), desc=f"reparse {dataset}", unit="page"):
                    stored = _stored_page(out, row.warc_file or "", row.warc_offset or 0)
                    result.pages += 1
                    state, reason, page = _judge_again(site, _source(sources, row.source, site), row.item_id, stored)
                    if state == "done" and page is not None:
                        page_rows = comment_rows(site, secret, row.item_id, page, source_url=row.url or "",
                                                 source=row.source or "", capture_timestamp=row.capture_timestamp,
                                                 fetched_at=row.fetched_at or 0.0)
                        rows.extend(page_rows)
                        items += 1
                        updates.append((dataset, row.item_id, "done", len(page_rows), page.image_url, None))
                    else:
                        updates.append((dataset, row.item_id, state, None, None, reason))
                    if len(rows) >= part_rows:
                        flush()
            flush()
            ledger.replace_batches(old, new, updates)
            for seq_new, _, _ in new:
                parts.publish(seq_new)
            parts.remove(old)
            for _, _, state, n, _, _ in updates:
                result.states[state] = result.states.get(state, 0) + 1
                result.comments += n or 0
        finally:
            ledger.close()
    return result
