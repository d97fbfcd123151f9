"""The crawl ledger: one SQLite row per (dataset, item id), the single truth for resume.

Why SQLite in WAL mode: a transaction is atomic and durable across kill -9,
readers (`aesthetic-crawl status`) never block the crawler, and it scales to
millions of rows with no server. Comment parts are committed through the
`batches` table in the same transaction that marks their items done, so a part
file the ledger does not name is, by definition, not part of the output
(see store.py for the two-phase commit).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aesthetic.core.errors import UserError

STATES = ("pending", "done", "missing", "failed", "blocked")
# How a robots.txt refusal starts its last_error (politeness.Disallowed's message): `blocked` for such an
# item means "the site asks crawlers to keep away", not "the site blocks us".
DISALLOWED = "disallowed by robots.txt"
FINAL_STATES = ("done", "missing")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    dataset TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    fetched_at REAL,
    source TEXT,
    n_comments INTEGER,
    url TEXT,
    capture_timestamp TEXT,
    warc_file TEXT,
    warc_offset INTEGER,
    image_url TEXT,
    image_state TEXT,
    image_error TEXT,
    PRIMARY KEY (dataset, item_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_state ON items (dataset, state, item_id);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY,
    n_rows INTEGER NOT NULL,
    n_items INTEGER NOT NULL,
    committed_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Outcome:
    """What one item's crawl came to; written to its ledger row."""

    item_id: int
    state: str
    last_status: int | None = None
    last_error: str | None = None
    fetched_at: float | None = None
    source: str | None = None
    n_comments: int | None = None
    url: str | None = None
    capture_timestamp: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class ItemRow:
    dataset: str
    item_id: int
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    fetched_at: float | None
    source: str | None
    n_comments: int | None
    url: str | None
    capture_timestamp: str | None
    warc_file: str | None
    warc_offset: int | None
    image_url: str | None
    image_state: str | None
    image_error: str | None


# Columns added after the first release, with their type: an older ledger gains them when opened.
_ADDED_COLUMNS = {"image_error": "TEXT"}

_ITEM_COLUMNS = ", ".join(ItemRow.__dataclass_fields__)


class Ledger:
    """A thin, typed wrapper over the SQLite file; every write is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk when it returns, so `done` survives a power cut too.
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            have = {row[1] for row in self.db.execute("PRAGMA table_info(items)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    self.db.execute(f"ALTER TABLE items ADD COLUMN {column} {kind}")
        except (OSError, sqlite3.Error) as err:
            # A damaged ledger, or a folder we may not write: the user's to fix, and nothing is touched.
            raise UserError(f"{self.path}: cannot open the crawl ledger ({err})",
                            hint="is the --out folder writable, and is this file a ledger written by aesthetic-crawl?") from err

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- items -----------------------------------------------------------------
    def add_items(self, dataset: str, item_ids: Iterable[int]) -> int:
        """Insert new ids as pending (existing rows keep their state); returns how many were new."""
        before = self.db.total_changes
        with self._tx():
            self.db.executemany(
                "INSERT OR IGNORE INTO items (dataset, item_id) VALUES (?, ?)",
                ((dataset, int(item_id)) for item_id in item_ids),
            )
        return self.db.total_changes - before

    def reset_failed(self, dataset: str) -> int:
        """--retry-failed: failed and blocked items become pending again with a fresh attempt count,
        and photos that failed are tried again."""
        with self._tx():
            cur = self.db.execute(
                "UPDATE items SET state='pending', attempts=0 WHERE dataset=? AND state IN ('failed','blocked')",
                (dataset,),
            )
            self.db.execute("UPDATE items SET image_state=NULL, image_error=NULL WHERE dataset=? "
                            "AND image_state='failed'", (dataset,))
        return cur.rowcount

    def counts(self, dataset: str | None = None) -> dict[str, int]:
        where, args = ("WHERE dataset=?", (dataset,)) if dataset else ("", ())
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute(f"SELECT state, COUNT(*) FROM items {where} GROUP BY state", args):
            counts[state] = n
        return counts

    def datasets(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT dataset FROM items ORDER BY dataset")]

    def iter_ids(self, dataset: str, states: Sequence[str], *, chunk: int = 1000) -> Iterator[int]:
        """Item ids in a state, ascending, read in chunks so memory stays flat in the number of items."""
        marks = ",".join("?" * len(states))
        for (item_id,) in self._chunked(f"SELECT item_id FROM items WHERE dataset=? AND state IN ({marks})",
                                        (dataset, *states), chunk):
            yield item_id

    def iter_image_todo(self, dataset: str, *, chunk: int = 1000) -> Iterator[tuple[int, str, str | None]]:
        """(item id, photo URL, page capture timestamp) of done items whose photo was never tried (a later
        `--images` run fetches only those; failed photos wait for --retry-failed)."""
        return self._chunked("SELECT item_id, image_url, capture_timestamp FROM items WHERE dataset=? "
                             "AND state='done' AND image_url IS NOT NULL AND image_state IS NULL", (dataset,), chunk)

    def _chunked(self, select: str, args: tuple[object, ...], chunk: int) -> Iterator[tuple]:
        """Rows of `select` (a SELECT whose first column is item_id, ending in its WHERE clause), ascending
        by item_id, fetched `chunk` at a time after the last id seen: no cursor stays open while the caller
        writes to the ledger, and memory stays flat in the number of items."""
        last = -(1 << 62)
        while True:
            rows = self.db.execute(f"{select} AND item_id>? ORDER BY item_id LIMIT ?", (*args, last, chunk)).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def image_counts(self, dataset: str) -> dict[str, int]:
        """Photos of done items: stored (verified), failed (waiting for --retry-failed), todo (never tried)."""
        counts = {"stored": 0, "failed": 0, "todo": 0}
        names = {"ok": "stored", "failed": "failed", None: "todo"}
        for state, n in self.db.execute(
            "SELECT image_state, COUNT(*) FROM items WHERE dataset=? AND state='done' AND image_url IS NOT NULL "
            "GROUP BY image_state", (dataset,),
        ):
            counts[names.get(state, "todo")] += n
        return counts

    def image_failures(self, dataset: str, limit: int) -> list[tuple[int, str | None]]:
        """(item id, why) of the first `limit` done items whose photo failed."""
        return self.db.execute(
            "SELECT item_id, image_error FROM items WHERE dataset=? AND state='done' AND image_state='failed' "
            "ORDER BY item_id LIMIT ?", (dataset, limit),
        ).fetchall()

    def count_disallowed(self, dataset: str) -> int:
        """Blocked items that robots.txt keeps us from (retrying them cannot help while it says so)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM items WHERE dataset=? AND state='blocked' AND last_error LIKE ?",
            (dataset, DISALLOWED + "%"),
        ).fetchone()[0]

    def get(self, dataset: str, item_id: int) -> ItemRow | None:
        row = self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE dataset=? AND item_id=?",
            (dataset, item_id),
        ).fetchone()
        return ItemRow(*row) if row else None

    def rows(self, dataset: str, states: Sequence[str]) -> Iterator[ItemRow]:
        marks = ",".join("?" * len(states))
        cur = self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE dataset=? AND state IN ({marks}) "
            "ORDER BY item_id",
            (dataset, *states),
        )
        for row in cur:
            yield ItemRow(*row)

    def note_attempt(self, dataset: str, item_id: int, status: int | None, error: str | None) -> None:
        """Record one failed try (the item stays pending)."""
        with self._tx():
            self.db.execute(
                "UPDATE items SET attempts=attempts+1, last_status=?, last_error=? WHERE dataset=? AND item_id=?",
                (status, error, dataset, item_id),
            )

    def record(self, dataset: str, outcomes: Iterable[Outcome]) -> None:
        """Write outcomes that carry no comment rows (failed, blocked) in one transaction."""
        with self._tx():
            self._write_outcomes(dataset, outcomes)

    def commit_batch(self, dataset: str, seq: int | None, n_rows: int, outcomes: Sequence[Outcome]) -> None:
        """Mark a batch's items final and name its part `seq` as committed, atomically."""
        with self._tx():
            if seq is not None:
                self.db.execute(
                    "INSERT INTO batches (seq, n_rows, n_items, committed_at) VALUES (?, ?, ?, ?)",
                    (seq, n_rows, len(outcomes), time.time()),
                )
            self._write_outcomes(dataset, outcomes)

    def set_image_state(self, dataset: str, item_id: int, state: str, error: str | None = None) -> None:
        with self._tx():
            self.db.execute("UPDATE items SET image_state=?, image_error=? WHERE dataset=? AND item_id=?",
                            (state, error, dataset, item_id))

    def _write_outcomes(self, dataset: str, outcomes: Iterable[Outcome]) -> None:
        self.db.executemany(
            "UPDATE items SET state=?, attempts=attempts+1, last_status=?, last_error=?, "
            "fetched_at=COALESCE(?, fetched_at), source=COALESCE(?, source), n_comments=?, url=COALESCE(?, url), "
            "capture_timestamp=?, warc_file=COALESCE(?, warc_file), warc_offset=COALESCE(?, warc_offset), "
            "image_url=COALESCE(?, image_url) WHERE dataset=? AND item_id=?",
            (
                (
                    o.state, o.last_status, o.last_error, o.fetched_at, o.source, o.n_comments, o.url,
                    o.capture_timestamp, o.warc_file, o.warc_offset, o.image_url, dataset, o.item_id,
                )
                for o in outcomes
            ),
        )

    # --- batches (comment parts) -------------------------------------------------
    def archived_rows(self, dataset: str) -> Iterator[ItemRow]:
        """Items whose page answered 200 and is in the raw archive (what reparse can redo), in WARC order."""
        cur = self.db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE dataset=? AND warc_file IS NOT NULL "
            "AND last_status=200 AND state IN ('done','missing','failed') ORDER BY warc_file, warc_offset",
            (dataset,),
        )
        for row in cur:
            yield ItemRow(*row)

    def committed_batches(self) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT seq FROM batches")}

    def batch_rows(self) -> list[tuple[int, int]]:
        """(seq, n_rows) of every committed comments part, in order."""
        return self.db.execute("SELECT seq, n_rows FROM batches ORDER BY seq").fetchall()

    def next_batch_seq(self) -> int:
        return (self.db.execute("SELECT MAX(seq) FROM batches").fetchone()[0] or 0) + 1

    def replace_batches(
        self,
        old: Iterable[int],
        new: Sequence[tuple[int, int, int]],
        reparsed: Iterable[tuple[str, int, str, int | None, str | None, str | None]] = (),
    ) -> None:
        """Swap committed parts (compaction, reparse) in one transaction: `new` is (seq, n_rows, n_items);
        `reparsed` is (dataset, item_id, state, n_comments, image_url, last_error) for items a reparse changed."""
        with self._tx():
            self.db.executemany(
                "UPDATE items SET state=?, n_comments=?, image_url=COALESCE(?, image_url), last_error=? "
                "WHERE dataset=? AND item_id=?",
                ((state, n, image_url, error, dataset, item_id) for dataset, item_id, state, n, image_url, error in reparsed),
            )
            self.db.executemany("DELETE FROM batches WHERE seq=?", ((seq,) for seq in old))
            now = time.time()
            self.db.executemany(
                "INSERT INTO batches (seq, n_rows, n_items, committed_at) VALUES (?, ?, ?, ?)",
                ((seq, n_rows, n_items, now) for seq, n_rows, n_items in new),
            )

    def small_batches(self, max_rows: int) -> list[tuple[int, int, int]]:
        """(seq, n_rows, n_items) of committed parts under `max_rows` rows."""
        return self.db.execute(
            "SELECT seq, n_rows, n_items FROM batches WHERE n_rows<? ORDER BY seq", (max_rows,)
        ).fetchall()

    def recent_rate(self, dataset: str, window_s: float = 3600.0) -> float | None:
        """Items reaching a final state per second over the last `window_s` of crawling, if any."""
        newest = self.db.execute(
            "SELECT MAX(fetched_at) FROM items WHERE dataset=? AND state IN ('done','missing')", (dataset,)
        ).fetchone()[0]
        if newest is None:
            return None
        n, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(fetched_at) FROM items WHERE dataset=? AND state IN ('done','missing') "
            "AND fetched_at>=?",
            (dataset, newest - window_s),
        ).fetchone()
        if n < 2 or newest <= oldest:
            return None
        return (n - 1) / (newest - oldest)

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error (the sqlite3 module's own handling is implicit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
