"""Where a crawl's output goes: raw responses into WARC, parsed comments into Parquet parts.

WARC (via warcio) because it is the web-archiving standard: every response is
kept byte for byte with its headers, so `aesthetic-crawl reparse` can rebuild
the comments with a better parser and no network. Files rotate at a size
limit and a run never appends to an old file (a kill may have cut its last
record short).

Comment parts use a two-phase commit with the ledger as the truth:
  1. the part is written (fsynced, renamed) as `comments/.part-<seq>.pending`, a
     name no reader picks up (hidden for pyarrow, no `.parquet` suffix for globs);
  2. one ledger transaction records batch `seq` and marks its items done;
  3. the part is renamed to `comments/part-<seq>.parquet`.
On start, `recover()` rolls every leftover forward or back by asking the ledger:
a pending part whose seq is committed is published, any other is deleted, and
a published part the ledger does not name (superseded by compaction or
reparse) is deleted. So a kill at any moment leaves no duplicate rows.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from aesthetic.core import __version__
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write, fsync_dir
from aesthetic.core.schemas import COMMENTS_SCHEMA
from aesthetic.crawler.ledger import Ledger

_WARC_NAME = re.compile(r"^crawl-(\d{6})\.warc\.gz$")
_PART_NAME = re.compile(r"^part-(\d{8})\.parquet$")
_PENDING_NAME = re.compile(r"^\.part-(\d{8})\.pending$")
# Headers that describe the transfer, not the content we store (aiohttp has already decoded it).
_TRANSFER_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as the fetcher saw them."""

    url: str
    request_headers: Sequence[tuple[str, str]]
    status: int
    reason: str
    response_headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class WarcPointer:
    file: str    # file name inside raw/
    offset: int  # byte offset of the response record


@dataclass(frozen=True)
class StoredResponse:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


class WarcStore:
    """Appends request+response record pairs to `raw/crawl-NNNNNN.warc.gz`, rotating by size."""

    def __init__(self, raw_dir: Path, *, max_bytes: int = 1 << 30) -> None:
        self.raw_dir = Path(raw_dir)
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        existing = [int(m.group(1)) for p in self.raw_dir.iterdir() if (m := _WARC_NAME.match(p.name))]
        self._seq = max(existing, default=0)
        self._fh: io.BufferedWriter | None = None
        self._writer: WARCWriter | None = None
        self._name = ""

    def _open_next(self) -> None:
        self.close()
        self._seq += 1
        self._name = f"crawl-{self._seq:06d}.warc.gz"
        self._fh = open(self.raw_dir / self._name, "xb")
        self._writer = WARCWriter(self._fh, gzip=True)
        info = self._writer.create_warcinfo_record(
            self._name, {"software": f"aesthetic-comments/{__version__}", "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)
        fsync_dir(self.raw_dir)

    def write(self, exchange: Exchange) -> WarcPointer:
        """Write the pair; the response record's position is returned for the ledger."""
        if self._fh is None or self._fh.tell() >= self.max_bytes:
            self._open_next()
        assert self._fh is not None and self._writer is not None
        writer = self._writer
        http = StatusAndHeaders(
            f"{exchange.status} {exchange.reason}".strip(),
            [(k, v) for k, v in exchange.response_headers if k.lower() not in _TRANSFER_HEADERS],
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(
            exchange.url, "response", payload=io.BytesIO(exchange.body), http_headers=http
        )
        offset = self._fh.tell()
        writer.write_record(response)
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(_request_line(exchange.url), list(exchange.request_headers), is_http_request=True),
            warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")},
        )
        writer.write_record(request)
        return WarcPointer(self._name, offset)

    def sync(self) -> None:
        """Flush and fsync: after this, every record written so far survives a crash."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def _request_line(url: str) -> str:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return f"GET {target} HTTP/1.1"


def read_response(raw_dir: Path, pointer: WarcPointer) -> StoredResponse:
    """The response record at `pointer` (used by reparse)."""
    if not _WARC_NAME.match(pointer.file):
        raise ValueError(f"not a WARC file name of this crawler: {pointer.file!r}")
    with open(Path(raw_dir) / pointer.file, "rb") as fh:
        fh.seek(pointer.offset)
        for record in ArchiveIterator(fh):
            if record.rec_type != "response" or record.http_headers is None:
                break
            http = record.http_headers
            return StoredResponse(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                status=int(http.get_statuscode()),
                headers={k.lower(): v for k, v in http.headers},
                body=record.content_stream().read(),
            )
    raise ValueError(f"no response record at {pointer.file}:{pointer.offset}")


class CommentParts:
    """comments/part-<seq>.parquet files, committed through the ledger (see the module docstring)."""

    def __init__(self, comments_dir: Path) -> None:
        self.dir = Path(comments_dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def part_path(self, seq: int) -> Path:
        return self.dir / _part_name(seq)

    def pending_path(self, seq: int) -> Path:
        return self.dir / f".part-{seq:08d}.pending"

    def recover(self, ledger: Ledger) -> None:
        """Roll leftovers of a killed run forward (committed) or back (not committed)."""
        committed = ledger.committed_batches()
        for path in list(self.dir.iterdir()):
            if (m := _PENDING_NAME.match(path.name)) and int(m.group(1)) in committed:
                os.replace(path, self.part_path(int(m.group(1))))
            elif m or ((m := _PART_NAME.match(path.name)) and int(m.group(1)) not in committed):
                path.unlink()
            elif path.name.endswith(".tmp"):
                path.unlink()
        fsync_dir(self.dir)

    def write_pending(self, seq: int, tables: pa.Table | Iterable[pa.Table]) -> None:
        """Write the part (one table, or several streamed one at a time) under its pending name, atomically."""
        def write(sink: BinaryIO) -> None:
            with pq.ParquetWriter(sink, COMMENTS_SCHEMA, compression="zstd") as writer:
                for table in [tables] if isinstance(tables, pa.Table) else tables:
                    writer.write_table(table)

        atomic_write(self.pending_path(seq), write)

    def publish(self, seq: int) -> None:
        os.replace(self.pending_path(seq), self.part_path(seq))
        fsync_dir(self.dir)

    def remove(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            self.part_path(seq).unlink(missing_ok=True)
        fsync_dir(self.dir)

    def compact(self, ledger: Ledger, *, max_rows: int = 5_000, max_small_parts: int = 32) -> bool:
        """Merge many small parts (under `max_rows` rows) into one: a slow crawl commits a part every few items.

        Rows are streamed in record batches, so memory stays flat however large the parts are.
        """
        small = ledger.small_batches(max_rows)
        if len(small) <= max_small_parts:
            return False
        seqs = [seq for seq, _, _ in small]
        new_seq = ledger.next_batch_seq()
        self.write_pending(new_seq, (
            pa.Table.from_batches([batch]).cast(COMMENTS_SCHEMA)  # Parquet keeps seconds as ms
            for seq in seqs
            for batch in pq.ParquetFile(self.part_path(seq)).iter_batches(batch_size=10_000)
        ))
        n_rows, n_items = sum(rows for _, rows, _ in small), sum(items for _, _, items in small)
        ledger.replace_batches(seqs, [(new_seq, n_rows, n_items)])
        self.publish(new_seq)
        self.remove(seqs)
        return True


def damaged_parts(comments_dir: Path, ledger: Ledger, *, deep: bool = True) -> list[str]:
    """Committed parts that are missing, cut off, unreadable or hold another row count than the ledger
    says: one line each. `deep` reads every row (finds damage inside a file too, as `status` does);
    otherwise only each file's footer (enough for a cut-off file, and fast at crawl start). Reads only:
    `status` may run beside a crawl, so a part that a compaction replaced meanwhile is not reported."""
    found: dict[int, str] = {}
    for seq, n_rows in ledger.batch_rows():
        path = Path(comments_dir) / _part_name(seq)
        try:
            with pq.ParquetFile(path) as part:
                rows = (sum(b.num_rows for b in part.iter_batches(batch_size=65_536)) if deep
                        else part.metadata.num_rows)
        except FileNotFoundError:
            found[seq] = f"{path.name} is missing"
            continue
        except (OSError, pa.ArrowException) as exc:
            found[seq] = f"{path.name} is damaged ({type(exc).__name__}: {exc})"
            continue
        if rows != n_rows:
            found[seq] = f"{path.name} holds {rows:,} rows, the ledger committed {n_rows:,}"
    still = ledger.committed_batches() if found else set()
    return [problem for seq, problem in found.items() if seq in still]


def _part_name(seq: int) -> str:
    return f"part-{seq:08d}.parquet"


def comments_table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=COMMENTS_SCHEMA)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


class DirLock:
    """An exclusive lock on an output folder: two crawlers writing one ledger would duplicate work.

    flock is released by the kernel when the process dies, so a kill -9 never leaves a stale lock.
    """

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> DirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"another aesthetic-crawl is working in {self.path.parent}; wait for it or stop it") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
