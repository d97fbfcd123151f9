"""The njtwomey/dpc backups of DPChallenge's comments: SQLite dumps, one per challenge, imported.

The public njtwomey/dpc project keeps DPChallenge's comments as `backups/sql/
challenge_comments/<challenge id>.sql` (about 4,100 files): an SQLite dump *without* its
`CREATE TABLE`: `PRAGMA foreign_keys=OFF;`, `BEGIN TRANSACTION;`, batches of
`INSERT INTO comments ("id", "image_id", "commenter_id", "raw_comment", "comment", "date",
"edited", "made_during_challenge") VALUES (...), ...;`, then `COMMIT;`. `raw_comment` is the
comment's HTML cell, `comment` its text, `date` `YYYY-MM-DD HH:MM:SS.ffffff`, `edited` NULL
or the date of the edit, `made_during_challenge` 1 while the challenge was open for voting,
0 after its results. Read here by the standard library's SQLite itself (no SQL parsing by
hand): each dump runs (as one script; statement by statement where SQLite refuses that, to name
the statement at fault) into an in-memory database that holds only that file, with the table
this module supplies, so any number of files goes through in the memory of the largest one. An
authorizer lets a dump do nothing but insert into that table, so a file from elsewhere cannot
attach or write a database. An SQLite database file holding
such a `comments` table is read the same way, read-only.

Per comment: image id, position in the order the image's page lists it (newest first: by
date, then comment id, both descending, as on the real page), comment id, text, posted-at,
edited, during-challenge and, given the author-key secret, `commenter_id` as the crawler's
author key (HMAC of the member number; never the number itself).
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from selectolax.lexbor import LexborHTMLParser

from aesthetic.core.errors import UserError, located
from aesthetic.core.log import progress
from aesthetic.crawler.html_text import node_text
from aesthetic.crawler.privacy import comment_author_key
from aesthetic.crawler.sites.dpchallenge import EDITED_LINE
from aesthetic.corpus.quotes import remove_quote

COLUMNS = ("id", "image_id", "commenter_id", "raw_comment", "comment", "date", "edited", "made_during_challenge")
_CREATE = ("CREATE TABLE comments (id INTEGER, image_id INTEGER, commenter_id INTEGER, raw_comment TEXT, "
           "comment TEXT, date TEXT, edited TEXT, made_during_challenge INTEGER)")
# The same table, STRICT, with `_CHECKS` as its types and constraints, for a dump run as one script: SQLite
# holds each row to them as it stores it, which spares the check scan (reading 300 generated dumps of
# 3,000 comments: 6.5 % less CPU, two rounds). A value it can store without loss is stored as the
# column's type ('5' as 5 in id), as the plain table's column affinities store it too.
_CREATE_STRICT = ("CREATE TABLE comments (id INTEGER NOT NULL, image_id INTEGER NOT NULL, commenter_id INTEGER, "
                  "raw_comment TEXT, comment TEXT, date TEXT NOT NULL, edited TEXT, "
                  "made_during_challenge INTEGER CHECK (made_during_challenge IN (0, 1))) STRICT")
SQLITE_MAGIC = b"SQLite format 3\x00"
_DUMP_START = re.compile(r'^\s*(?:PRAGMA\b|BEGIN\b|INSERT\s+INTO\s+["`\[]?comments\b)', re.IGNORECASE)
# The dump's `comment` runs a quoted comment into the reply with no break ("Originally posted by
# X:quoted words reply"), so no text rule can tell the two apart; `raw_comment` still has the
# quote's own table, which the crawler drops. Such rows take their text from the HTML, as a crawl.
_QUOTE = "%originally posted by%"

SCHEMA = pa.schema([
    ("image_id", pa.int64()),
    ("position", pa.int32()),
    ("comment_id", pa.int64()),
    ("author_key", pa.string()),
    ("text", pa.string()),
    ("posted_at", pa.timestamp("s")),
    ("edited", pa.bool_()),
    ("during_challenge", pa.bool_()),
])


@dataclass(frozen=True)
class _Check:
    """A row every dump must pass: `bad` is SQL true for a row that breaks it."""

    column: str
    bad: str
    message: str


# The layout every dump's `date` has, `YYYY-MM-DD HH:MM:SS` then anything (`.ffffff`), checked in Arrow on
# each batch: as a GLOB in the check scan it was 0.26 of that scan's 0.57 ms a generated dump of 755
# comments, the regex over the same dates ~0.03 ms (reading 400 such dumps: 1.5-2.5 % less CPU, two rounds).
_DATE_LAYOUT = r"^[0-9]{4}-[0-1][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
_DATE_MESSAGE = "date must be `YYYY-MM-DD HH:MM:SS[.ffffff]`"


_CHECKS = (
    _Check("id", "typeof(id) != 'integer'", "comment id must be an integer"),
    _Check("image_id", "typeof(image_id) != 'integer'", "image_id must be an integer"),
    _Check("commenter_id", "commenter_id IS NOT NULL AND typeof(commenter_id) != 'integer'",
           "commenter_id must be an integer or NULL"),
    _Check("comment", "typeof(comment) NOT IN ('text', 'null')", "comment must be text or NULL"),
    _Check("raw_comment", "typeof(raw_comment) NOT IN ('text', 'null')", "raw_comment must be text or NULL"),
    _Check("date", "typeof(date) != 'text'", _DATE_MESSAGE),   # its layout: `_DATE_LAYOUT`, in `_batch`
    _Check("edited", "edited IS NOT NULL AND typeof(edited) != 'text'", "edited must be NULL or a date"),
    _Check("made_during_challenge", "made_during_challenge IS NOT NULL AND made_during_challenge NOT IN (0, 1)",
           "made_during_challenge must be 0, 1 or NULL"),
)


def dump_files(folder: Path) -> tuple[Path, ...]:
    """The `.sql` dumps of a folder, by challenge number (`50.sql` before `1000.sql`)."""
    files = [p for p in Path(folder).glob("*.sql") if p.is_file()]
    return tuple(sorted(files, key=lambda p: (not p.stem.isdigit(), int(p.stem) if p.stem.isdigit() else 0, p.name)))


def is_sqlite_database(head: bytes) -> bool:
    return head.startswith(SQLITE_MAGIC)


def looks_like_dump(text: str) -> bool:
    """Whether a file's first statement (after `--` comment lines) opens a comments dump."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("--"):
            return bool(_DUMP_START.match(line))
    return False


def cell_text(raw_comment: str) -> str:
    """A comment's HTML cell -> its author's own words, as the crawler makes them from the page:
    quotes of other comments removed, the crawler's HTML-to-text, "Message edited by author" dropped."""
    body = LexborHTMLParser(remove_quote(raw_comment)).body
    text = node_text(body) if body is not None else ""
    return EDITED_LINE.sub("", text).strip()


# -- loading one file ------------------------------------------------------------------------
_ALLOWED_FUNCTIONS = {"replace", "char", "unistr"}  # what `sqlite3 .dump` writes for line breaks in text


def _authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None) -> int:
    allowed = (
        (action == sqlite3.SQLITE_INSERT and arg1 == "comments" and database == "main")
        or action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SELECT)
        or (action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "foreign_keys")
        or (action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _ALLOWED_FUNCTIONS)
    )
    return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY


# A statement can end only at a `;` that ends its line (then SQLite itself says whether it is complete);
# before one, blank lines and `--` comment lines are skipped.
_LINE_END_SEMICOLON = re.compile(r";[^\S\n]*(?:\n|\Z)")
_SKIPPED_LINES = re.compile(r"(?:[^\S\n]*(?:--[^\n]*)?(?:\n|\Z))*")


def _decoded(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        raise located(path, data.count(b"\n", 0, err.start) + 1,
                      f"not UTF-8 text ({err.reason} at byte {err.start - line_start} of the line): "
                      "not a DPChallenge comments dump") from None
    if (nul := text.find("\0")) >= 0:  # sqlite3 refuses such a statement with a bare ValueError
        raise located(path, text.count("\n", 0, nul) + 1,
                      "a NUL character, which no SQL statement can hold: not a DPChallenge comments dump")
    return text


def _statements(text: str) -> Iterator[tuple[int, str, bool]]:
    """(first line, text, complete) of each statement, cut where SQLite itself says a statement is
    complete. What is left at the end of the file comes last, with SQLite's verdict on it (complete
    only when a `;` ends it before a trailing comment), for the caller to run or refuse.

    The whole file is decoded and cut with `str` searches: cutting it line by line in Python took a
    third of loading the dumps (0.43 of 1.34 s for 200 generated ones, cProfile)."""
    pos, line = 0, 1
    while True:
        start = _SKIPPED_LINES.match(text, pos).end()
        if start >= len(text):
            return
        line += text.count("\n", pos, start)
        end = start
        while cut := _LINE_END_SEMICOLON.search(text, end):
            end = cut.end()
            if sqlite3.complete_statement(statement := text[start:end]):
                yield line, statement, True
                break
        else:
            rest = text[start:]
            yield line, rest, sqlite3.complete_statement(rest)
            return
        line += text.count("\n", start, end)
        pos = end


def _empty_database(create: str) -> sqlite3.Connection:
    # Every INSERT of a dump is a different text: sqlite3's statement cache would only hold them (loading
    # 100 generated dumps took 0.83-0.90 s of CPU without it, 0.90-0.97 s with its default 128; 4 rounds).
    db = sqlite3.connect(":memory:", isolation_level=None, cached_statements=0)
    db.execute(create)
    db.set_authorizer(_authorize)
    return db


def _load_dump(path: Path) -> tuple[sqlite3.Connection, bool]:
    """A dump run into a database of its own -> that database, and whether its table held every row to
    `_CHECKS` already. A whole dump that ends with `;` goes to SQLite as one script, into the STRICT table;
    only if SQLite refuses it, or its transaction stays open, is it run again statement by statement
    (`_load_statements`), into the plain table, which names the statement or the row at fault. (The one
    script: loading 400 generated dumps took 8 % less CPU than cutting them into statements in Python
    first; two rounds.)"""
    text = _decoded(path)
    # Else the last statement may lack its `;`, which a script allows. (Only the tail is stripped: a copy of
    # the whole text was ~230 page faults a generated dump, ~0.7 ms here.)
    if text[-4096:].rstrip().endswith(";"):
        db = _empty_database(_CREATE_STRICT)
        try:
            db.executescript(text)
        except sqlite3.DatabaseError:
            db.close()
        else:
            if not db.in_transaction:
                db.set_authorizer(None)
                return db, True
            db.close()
    return _load_statements(path, text), False


def _load_statements(path: Path, text: str) -> sqlite3.Connection:
    db = _empty_database(_CREATE)
    statements = 0
    for start, statement, complete in _statements(text):
        if not complete and _DUMP_START.match(statement):
            raise located(path, start, "the file ends inside this statement (truncated?)")
        try:
            # Anything else unfinished is only compiled (EXPLAIN runs nothing), for SQLite to say what is wrong.
            db.execute(statement if complete else f"EXPLAIN {statement}")
        except sqlite3.DatabaseError as err:
            why = ("only PRAGMA foreign_keys, BEGIN/COMMIT and INSERT INTO comments are run from a dump"
                   if "not authorized" in str(err) else str(err))
            raise located(path, start, f"not a DPChallenge comments dump (njtwomey/dpc layout): {why}") from None
        if not complete:
            raise located(path, start, "the file ends inside this statement, before its `;` (truncated?)")
        statements += 1
    if not statements:
        raise UserError(f"{path}: no SQL statement in this file: not a DPChallenge comments dump (truncated?)")
    if db.in_transaction:
        raise UserError(f"{path}: the dump's transaction is never committed (no COMMIT at the end): truncated?")
    db.set_authorizer(None)
    return db


def _open_database(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        names = [row[1] for row in db.execute("PRAGMA table_info(comments)")]
    except sqlite3.DatabaseError as err:
        raise UserError(f"{path}: cannot read this SQLite database: {err}") from None
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        found = f"its comments table has {', '.join(names)}" if names else "it has no comments table"
        raise UserError(f"{path}: a DPChallenge comments database needs a comments table with {', '.join(COLUMNS)}; "
                        f"{found}")
    return db


# One scan finds the first check (in _CHECKS' order) any row breaks, and whether an id repeats; only then
# is the breaking row looked up. The checks one scan each took 0.33 s on a hundred generated
# dumps (100,000 comments, perf/import_dumps.py's), this one scan 0.16 s.
_FIRST_BROKEN = ("SELECT min(CASE " + " ".join(f"WHEN {c.bad} THEN {i}" for i, c in enumerate(_CHECKS))
                 + " END), count(*) - count(DISTINCT id) FROM comments")
_REPEATED = "SELECT NULL, count(*) - count(DISTINCT id) FROM comments"


def _check(db: sqlite3.Connection, path: Path, typed: bool) -> None:
    """`typed`: the table held every row to `_CHECKS` as it stored it (`_CREATE_STRICT`)."""
    broken, repeated = db.execute(_REPEATED if typed else _FIRST_BROKEN).fetchone()
    if broken is not None:
        check = _CHECKS[broken]
        row = db.execute(f"SELECT id, {check.column} FROM comments WHERE {check.bad} LIMIT 1").fetchone()
        raise UserError(f"{path}: comment {row[0]!r}: {check.message}, got {row[1]!r}")
    if repeated:
        row = db.execute("SELECT id FROM comments GROUP BY id HAVING count(*) > 1 LIMIT 1").fetchone()
        raise UserError(f"{path}: comment id {row[0]} appears more than once")


# A comment that is empty or quotes another takes its text from the HTML cell, any other its `comment`:
# SQLite calls `cell_text` (registered on the connection as `_CELL_TEXT`) for those few rows only, so the
# text column comes out final; taking the cells out and putting their texts in with Arrow copied the whole
# text column once more, into fresh memory (see `_POOL` for the figures).
_CELL_TEXT = "aesthetic_cell_text"
_SELECT = ("SELECT id, image_id, commenter_id, date, edited IS NOT NULL, made_during_challenge, "
           f"CASE WHEN coalesce(comment, '') = '' OR comment LIKE '{_QUOTE}' "
           f"THEN {_CELL_TEXT}(coalesce(raw_comment, '')) ELSE comment END FROM comments")


_BATCH = 1 << 16  # rows fetched from SQLite at a time: a whole database never sits in Python objects at once


# `_SELECT`'s row, read by pyarrow straight from SQLite's tuples: transposing them in Python first and
# converting each column took ~0.43 ms of a batch of 800 rows, this one conversion ~0.23 ms (reading 400
# generated dumps: 1-2 % less CPU on top of the date check's change, two rounds).
_ROW = pa.struct([("id", pa.int64()), ("image_id", pa.int64()), ("commenter_id", pa.int64()), ("date", pa.string()),
                  ("edited", pa.int8()), ("during_challenge", pa.int8()), ("text", pa.string())])


# The batch's arrays come from the C library's malloc, not Arrow's default mimalloc: that backs fresh
# buffers with transparent huge pages, zeroed by the kernel 2 MiB at a time and handed back when freed, and
# importing perf/import_dumps.py's 4,000 generated dumps spent ~9 % of its time zeroing them (perf record).
# With malloc, and the texts made by SQLite, that benchmark's four runs: peak RSS 936-949 MiB against
# 1,011-1,027 before, 1.74-1.88x the floor against 1.71-2.00x.
_POOL = pa.system_memory_pool()


def _batch(rows: list[tuple], starts: list[int], paths: list[Path], secret: bytes | None) -> pa.Table:
    """Rows of `_SELECT` from one or more files (`paths[k]`'s begin at row `starts[k]`) -> their table."""
    def path(row: int) -> Path:
        return paths[bisect.bisect_right(starts, row) - 1]

    ids, images, authors, stamps, edited, during, texts = pa.array(rows, _ROW, memory_pool=_POOL).flatten()
    keys = pa.nulls(len(ids), pa.string()) if secret is None else pa.array(
        [comment_author_key(secret, a, None) for a in authors.to_pylist()], pa.string())
    laid_out = pc.match_substring_regex(stamps, _DATE_LAYOUT)   # all text: `_check` or STRICT saw to that
    if laid_out.false_count:
        row = int(np.argmin(np.asarray(laid_out)))
        raise UserError(f"{path(row)}: comment {ids[row].as_py()!r}: {_DATE_MESSAGE}, got {stamps[row].as_py()!r}")
    posted = pc.strptime(pc.utf8_slice_codeunits(stamps, 0, 19), format="%Y-%m-%d %H:%M:%S", unit="s",
                         error_is_null=True)
    if posted.null_count:
        row = int(np.argmax(np.asarray(posted.is_null())))
        raise UserError(f"{path(row)}: comment {ids[row].as_py()}: date is not a real date, "
                        f"got {stamps[row].as_py()!r}")
    return pa.table({
        "image_id": images,
        "position": pa.nulls(len(ids), pa.int32()),
        "comment_id": ids,
        "author_key": keys,
        "text": texts,
        "posted_at": posted,
        "edited": edited.cast(pa.bool_()),
        "during_challenge": during.cast(pa.bool_()),
    }, schema=SCHEMA)


def _file_rows(path: Path) -> Iterator[list[tuple]]:
    """One dump (`.sql`) or SQLite database file's rows of `_SELECT`, checked, `_BATCH` at a time."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise UserError(f"{path}: cannot read this comments dump: {err.strerror or err}") from None
    db, typed = (_open_database(path), False) if is_sqlite_database(head) else _load_dump(path)
    try:
        _check(db, path, typed)
        db.create_function(_CELL_TEXT, 1, cell_text, deterministic=True)
        cursor = db.execute(_SELECT)
        while rows := cursor.fetchmany(_BATCH):
            yield rows
    finally:
        db.close()


def _read_files(files: Iterable[Path], secret: bytes | None) -> tuple[list[pa.Table], list[int]]:
    """The files' comments (positions not yet set), as tables of about `_BATCH` rows each however many
    files one spans, and each file's number of comments. A table a file cost Arrow's fixed costs a file
    and left the result in one chunk a file, 4,000 for the public dumps: importing 1,000 generated dumps
    of 750 comments took 9-19 % more CPU that way (two rounds of four alternating imports, under load)."""
    tables: list[pa.Table] = []
    counts: list[int] = []
    rows: list[tuple] = []
    starts: list[int] = []   # where each of `paths`' rows begin in `rows`
    paths: list[Path] = []
    for path in files:
        path = Path(path)
        counts.append(0)
        for chunk in _file_rows(path):
            if not paths or paths[-1] != path:
                starts.append(len(rows))
                paths.append(path)
            rows += chunk
            counts[-1] += len(chunk)
            if len(rows) >= _BATCH:
                tables.append(_batch(rows, starts, paths, secret))
                rows, starts, paths = [], [], []
    if rows:
        tables.append(_batch(rows, starts, paths, secret))
    return tables, counts


def read_file(path: Path, secret: bytes | None = None) -> pa.Table:
    """One dump (`.sql`) or SQLite database file -> its comments (positions not yet set)."""
    tables, _ = _read_files([path], secret)
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def page_positions(image_ids: np.ndarray, posted: np.ndarray, comment_ids: np.ndarray) -> np.ndarray:
    """Each comment's 0-based place on its image's page: newest first (date, then comment id, both
    descending), as DPChallenge lists them, so a crawl and an import of one image agree."""
    order = np.lexsort((-comment_ids, -posted, image_ids))
    sorted_ids = image_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    positions = np.empty(len(order), dtype=np.int32)
    positions[order] = rank
    return positions


def import_dumps(files: Iterable[Path], secret: bytes | None = None) -> pa.Table:
    """All comments of the given dumps (a whole folder: thousands of files), file by file.

    `secret`: the author-key secret (crawler/privacy.py); without it `author_key` stays null.
    The corpus build passes none: its splits carry no author field.
    """
    files = list(files)
    tables, counts = _read_files(progress(files, total=len(files), desc="importing dpc-sql dumps", unit="file"),
                                 secret)
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    comment_ids = table["comment_id"].to_numpy()
    origin = np.repeat(np.arange(len(files), dtype=np.int32), counts)
    order = np.argsort(comment_ids, kind="stable")
    twice = np.flatnonzero(comment_ids[order][1:] == comment_ids[order][:-1])
    if twice.size:
        a, b = order[twice[0]], order[twice[0] + 1]
        raise UserError(f"comment {comment_ids[a]} is in both {files[origin[a]]} and {files[origin[b]]}; "
                        "give each challenge's dump once")
    posted = pc.cast(table["posted_at"], pa.int64()).to_numpy()
    positions = page_positions(table["image_id"].to_numpy(), posted, comment_ids)
    return table.set_column(1, "position", pa.array(positions, pa.int32()))
