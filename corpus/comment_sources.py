"""Readers for every comment source the builder accepts, and format auto-detection.

All readers return the same Arrow table: `image_id` (int64), `position` (int32, page
order within the image in that source), `text` (string, raw) and, for the sources that
know it, `during_challenge` (bool; null where the source does not say). Formats:

- crawl: a crawl output folder (`comments/*.parquet`, the contract in DESIGN.md and
  core/schemas.py; at least image_id, position, text), a folder of parts, or one part;
- dpc-sql: the njtwomey/dpc SQLite dumps of DPChallenge's comments (corpus/dpc_sql.py);
- dpc-json: DPC-Captions, `{"<id>.jpg": ["comment", ...], ...}`;
- ava-captions: AVA-Captions' raw `AVA_Comments_Full.txt`, one line per image,
  `<line index>#<image id>#<comment>#<comment>...`;
- ava-captions-json: AVA-Captions' cleaned `CLEAN_AVA_FULL_COMMENTS.json`;
- csv: a header row with at least `image_id,text` (optional `position`);
- jsonl: one object per line with at least `image_id` and `text` (optional `position`).

Formats are a registry (name -> reader, detector), so a new dump format is one entry;
a path is auto-detected only when exactly one detector accepts it. The big formats are
parsed by pyarrow's C++ readers; Python reads a file line by line only to say where a
file the C++ reader refused goes wrong.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from aesthetic.core.errors import UserError, located
from aesthetic.core.schemas import COMMENTS_REQUIRED
from aesthetic.core.textfiles import numbered_lines, read_bytes, read_head
from aesthetic.corpus import dpc_sql

COMMENT_COLUMNS = pa.schema([("image_id", pa.int64()), ("position", pa.int32()), ("text", pa.string())])
PERIOD_COLUMN = "during_challenge"  # optional fourth column: True while voting ran, False after, null unknown
_ID_SUFFIX = r"(?i)\.jpe?g$"
_INTEGER = r"^\s*[0-9]{1,18}\s*$"


@dataclass(frozen=True)
class CommentSource:
    """One `--comments` path, its format and the files it stands for (hashed for provenance)."""

    path: Path
    format: str
    files: tuple[Path, ...]


Reader = Callable[[CommentSource, str], pa.Table]


@dataclass(frozen=True)
class Format:
    """A comment format: how to read it, how to recognise it, and what it can hold.

    `period`: whether the format can say, per comment, if it was written while voting ran
    (`--comments-period during|after` needs it). `datasets`: the datasets whose comments it
    holds (a DPChallenge dump joined to Photo.net ids would be a silent wrong join).
    """

    name: str
    read: Reader
    detect: Callable[["_Probe"], bool]
    period: bool = False
    datasets: tuple[str, ...] = ("ava", "photonet")


FORMATS: dict[str, Format] = {}


def comment_format(name: str, detect: Callable[["_Probe"], bool], *, period: bool = False,
                   datasets: tuple[str, ...] = ("ava", "photonet")) -> Callable[[Reader], Reader]:
    def register(fn: Reader) -> Reader:
        FORMATS[name] = Format(name, fn, detect, period, datasets)
        return fn

    return register


def _table(ids: pa.Array, positions: pa.Array, texts: pa.Array) -> pa.Table:
    return pa.table([ids, positions, texts], schema=COMMENT_COLUMNS)


LineOf = Callable[[int], int | None]  # row of a table -> its line in the file, for messages (None: no lines)


def _no_line(row: int) -> None:
    """Rows of a Parquet part or entries of a JSON object are not lines: messages name the value instead."""
    return None


def _ids(column: pa.Array | pa.ChunkedArray, path: Path, line_of: LineOf) -> pa.Array:
    """Image ids as int64 from ints or strings such as "123" / "123.jpg"; bad or missing ones are located."""
    if pa.types.is_integer(column.type) and not column.null_count:
        return pc.cast(column, pa.int64())
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(pc.cast(column, pa.string())), _ID_SUFFIX, "")
    ok = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{1,18}$"), False)
    if not pc.all(ok).as_py():
        row = int(np.argmin(np.asarray(ok)))
        raise located(path, line_of(row), f"image id must be an integer (optionally with .jpg), got {column[row].as_py()!r}")
    return pc.cast(text, pa.int64())


def _positions(column: pa.Array | pa.ChunkedArray, path: Path, line_of: LineOf) -> pa.Array | pa.ChunkedArray:
    """Page positions as int32; a missing or non-integer one is a UserError, not a cast traceback."""
    try:
        positions = pc.cast(column, pa.int32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise UserError(f"{path}: position must be an integer: {err}") from err
    if positions.null_count:
        row = int(np.argmax(np.asarray(pc.is_null(positions))))
        raise located(path, line_of(row), "position is missing (give every comment one, or leave the column out)")
    return positions


def _page_positions(ids: np.ndarray) -> np.ndarray:
    """0-based order of each row among the rows of the same image (file order = page order)."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.r_[0, np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1]
    run = np.zeros(len(ids), dtype=np.int64)
    run[starts] = starts
    rank = np.arange(len(ids)) - np.maximum.accumulate(run)
    positions = np.empty(len(ids), dtype=np.int32)
    positions[order] = rank
    return positions


def _texts(column: pa.ChunkedArray | pa.Array, path: Path) -> pa.Array:
    """Comment texts as one string array; a missing text is an empty comment (the cleaning drops it)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    try:
        return pc.fill_null(pc.cast(column, pa.string()), "")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise UserError(f"{path}: text must be a string, got {column.type} values") from err


def _require(path: Path, names: list[str], wanted: tuple[str, ...], fmt: str) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        raise UserError(f"{path}: {fmt} comments need the column(s) {', '.join(wanted)}; missing {', '.join(missing)} "
                        f"(found: {', '.join(names) or 'none'})")


# -- detection -------------------------------------------------------------------------------
_FIRST_LINE_CAP = 1 << 26  # a first line longer than 64 MiB decides by its start alone


@dataclass
class _Probe:
    """What detection looks at, each read once and only if a detector asks: a folder's listing, or a
    file's head (64 KB) and first non-blank line, read in full however long it is (up to 64 MiB)."""

    path: Path

    @cached_property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @cached_property
    def head(self) -> bytes:
        return read_head(self.path, "comments")

    @cached_property
    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")

    @cached_property
    def first_line(self) -> tuple[str, bool]:
        """The first non-blank line and whether it is complete (ended by a newline or the file's end)."""
        with open(self.path, "rb") as fh:
            line = b""
            while not line.strip():
                line = fh.readline(_FIRST_LINE_CAP)
                if not line:
                    return "", True
            complete = line.endswith(b"\n") or not fh.read(1)
        return line.decode("utf-8", errors="replace").lstrip("\ufeff").strip(), complete

    @cached_property
    def json_layout(self) -> str | None:
        return json_layout(self.first_line, self.text) if self.text.lstrip().startswith("{") else None


_FIRST_KEY = re.compile(r'^\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_AVA_CAPTIONS_KEYS = {"images", "dataset"}


def json_layout(first_line: tuple[str, bool], head: str) -> str | None:
    """Which JSON comment layout a file is in, from its first line and head; None if none fits.

    JSON Lines: the first line alone is a whole object with an `image_id`. Otherwise the file is
    one object, told apart by its first key: `"<id>.jpg"` for DPC-Captions, `"images"` or
    `"dataset"` for AVA-Captions' cleaned file.
    """
    line, complete = first_line
    if complete:
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):   # too deeply nested for json: no layout's first line
            obj = None
        if isinstance(obj, dict) and "image_id" in obj:
            return "jsonl"
    key = _FIRST_KEY.match(head)
    if key is None:
        return None
    if re.fullmatch(r"\s*[0-9]{1,18}(?i:\.jpe?g)?\s*", key.group(1)):
        return "dpc-json"
    return "ava-captions-json" if key.group(1) in _AVA_CAPTIONS_KEYS else None


def _crawl_parts(path: Path) -> tuple[Path, ...]:
    folder = path / "comments" if (path / "comments").is_dir() else path
    return tuple(sorted(folder.glob("*.parquet")))


def _is_crawl(probe: _Probe) -> bool:
    return bool(_crawl_parts(probe.path)) if probe.is_dir else probe.path.suffix == ".parquet"


def _is_dpc_sql(probe: _Probe) -> bool:
    if probe.is_dir:
        return bool(dpc_sql.dump_files(probe.path))
    if probe.path.suffix == ".parquet":
        return False
    return dpc_sql.is_sqlite_database(probe.head) or dpc_sql.looks_like_dump(probe.text)


_AVA_CAPTIONS_LINE = re.compile(r"^\s*[0-9]{1,18}\s*#\s*[0-9]{1,18}\s*(?:#|$)")


def _file_detector(test: Callable[[_Probe], bool]) -> Callable[[_Probe], bool]:
    return lambda probe: not probe.is_dir and probe.path.suffix != ".parquet" and test(probe)


def _first_text_line(probe: _Probe) -> str:
    return next((line for line in probe.text.splitlines() if line.strip()), "")


def _is_csv(probe: _Probe) -> bool:
    header = [field.strip().lower() for field in _first_text_line(probe).split(",")]
    return len(header) > 1 and {"image_id", "text"} <= set(header)


def _refuse_unknown(path: Path, probe: _Probe) -> UserError:
    first = "" if probe.is_dir else _first_text_line(probe)
    if probe.is_dir:
        message = f"{path}: a comments folder must be a crawl output (comments/*.parquet) or a folder of dpc-sql dumps " \
                  "(<challenge>.sql); none found"
    else:
        message = f"{path}: unknown comments format (first line: {first[:60]!r})"
    hint = f"pass --comments-format {'|'.join(FORMATS)}"
    if re.match(r"^\s*[0-9]+(?i:\.jpe?g)?\s*#", first):
        hint = ("AVA-Captions' AVA_Comments_Full.txt lines are `<line index>#<image id>#<comment>#...`, both "
                "integers; this line's second field is not an image id. " + hint)
    return UserError(message, hint=hint)


def detect_format(path: Path) -> str:
    """The one format whose detector accepts `path`; several or none is a UserError, never a guess."""
    probe = _Probe(Path(path))
    matches = [f.name for f in FORMATS.values() if f.detect(probe)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _refuse_unknown(path, probe)
    raise UserError(f"{path}: could be read as {' or '.join(matches)}; refusing to guess",
                    hint=f"pass --comments-format {matches[0]} (or another), or split the folder")


# -- crawl parts -----------------------------------------------------------------------------
@comment_format("crawl", _is_crawl, period=True)
def read_crawl(source: CommentSource, dataset: str) -> pa.Table:
    parts = []
    for part in source.files:
        try:
            names = pq.read_schema(part).names
            _require(part, names, COMMENTS_REQUIRED, "crawl")
            extra = [c for c in ("dataset", PERIOD_COLUMN) if c in names]
            table = pq.read_table(part, columns=[*COMMENTS_REQUIRED, *extra])
        except (pa.ArrowInvalid, OSError) as err:
            raise UserError(f"{part}: not a readable Parquet comments part: {err}") from err
        if "dataset" in table.column_names:
            table = table.filter(pc.equal(table["dataset"], dataset))
        period = (pc.cast(table[PERIOD_COLUMN], pa.bool_()).combine_chunks() if PERIOD_COLUMN in table.column_names
                  else pa.nulls(table.num_rows, pa.bool_()))
        parts.append(_table(_ids(table["image_id"], part, _no_line), _positions(table["position"], part, _no_line),
                            _texts(table["text"], part)).append_column(PERIOD_COLUMN, period))
    return pa.concat_tables(parts) if parts else COMMENT_COLUMNS.append(pa.field(PERIOD_COLUMN, pa.bool_())).empty_table()


# -- the njtwomey/dpc SQLite dumps -----------------------------------------------------------
@comment_format("dpc-sql", _is_dpc_sql, period=True, datasets=("ava",))
def read_dpc_sql(source: CommentSource, dataset: str) -> pa.Table:
    table = dpc_sql.import_dumps(source.files)
    return table.select(["image_id", "position", "text", PERIOD_COLUMN])


# -- DPC-Captions ----------------------------------------------------------------------------
@comment_format("dpc-json", _file_detector(lambda p: p.json_layout == "dpc-json"), datasets=("ava",))
def read_dpc_json(source: CommentSource, dataset: str) -> pa.Table:
    try:
        data = json.loads(read_bytes(source.path, "comments"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise located(source.path, line, f"not valid DPC-Captions JSON: {getattr(err, 'msg', err)}") from err
    except RecursionError:
        raise located(source.path, None, "not valid DPC-Captions JSON: nested too deeply to read (the file is "
                      "one object of comment lists)") from None
    if not isinstance(data, dict):
        raise UserError(f"{source.path}: DPC-Captions JSON must be an object {{\"<id>.jpg\": [comments]}}")
    keys, positions, texts = [], [], []
    for key, comments in data.items():
        if isinstance(comments, str):
            comments = [comments]
        if not isinstance(comments, list) or not all(isinstance(c, str) for c in comments):
            raise UserError(f"{source.path}: entry {key!r} must be a list of comment strings")
        keys.extend([key] * len(comments))
        positions.extend(range(len(comments)))
        texts.extend(comments)
    ids = _ids(pa.array(keys, pa.string()), source.path, _no_line) if keys else pa.array([], pa.int64())
    return _table(ids, pa.array(positions, pa.int32()), pa.array(texts, pa.string()))


# -- AVA-Captions ----------------------------------------------------------------------------
def _lines(path: Path) -> pa.Array:
    """The non-empty lines of a text file as an Arrow string array, split by pyarrow's C++ reader.

    The unit separator (0x1f) as delimiter makes each line one field; a file that contains it, or
    is not UTF-8, goes through Python instead (invalid bytes replaced), split the same way.
    """
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=["line"], block_size=1 << 24),
                               parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
                               convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()},
                                                                    strings_can_be_null=False))
        return table["line"]
    except pa.ArrowInvalid:
        return pa.array([line for _, line in numbered_lines(read_bytes(path, "comments"))], pa.string())


def _line_number(path: Path, row: int) -> int:
    """1-based line number of the row-th non-empty line (for error messages only)."""
    return numbered_lines(read_bytes(path, "comments"))[row][0]


def _first_repeat(ids: np.ndarray) -> tuple[int, int] | None:
    """(row of the first value seen before, row where it was first seen), or None if all differ."""
    order = np.argsort(ids, kind="stable")
    same = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if not same.size:
        return None
    later = order[same + 1]
    row = int(later.min())
    first = int(np.flatnonzero(ids == ids[row])[0])
    return row, first


@comment_format("ava-captions", _file_detector(lambda p: bool(_AVA_CAPTIONS_LINE.match(_first_text_line(p)))),
                datasets=("ava",))
def read_ava_captions(source: CommentSource, dataset: str) -> pa.Table:
    """AVA_Comments_Full.txt: `<line index>#<image id>#<comment>#...`, one line per image.

    Field 1 is the line's own index and field 2 the AVA image id, as the AVA-Captions authors'
    published reader takes them (Ghosal et al., ICCVW 2019). No copy of the file itself was at
    hand when this reader was written, so it trusts nothing else: a line whose first two fields
    are not both integers, or an image id on two lines, is refused with its line number (taking
    the index for the id would join every comment to the wrong photo).
    """
    read_head(source.path, "comments")
    lines = _lines(source.path)
    rows = np.arange(len(lines))  # row of each kept line among the file's non-empty lines
    blank = np.asarray(pc.match_substring_regex(lines, r"^\s*$"))
    if blank.any():  # lines of nothing but spaces: no image, no comment
        rows = rows[~blank]
        lines = lines.filter(pa.array(~blank))

    def refuse(row: int, why: str) -> UserError:
        return located(source.path, _line_number(source.path, int(rows[row])), why)

    fields = pc.split_pattern(lines, "#")
    lengths = pc.list_value_length(fields).to_numpy()
    ok = lengths >= 2
    if ok.all():
        ids_text = pc.list_element(fields, 1)
        ok = (np.asarray(pc.match_substring_regex(pc.list_element(fields, 0), _INTEGER))
              & np.asarray(pc.match_substring_regex(ids_text, _INTEGER)))
    if not ok.all():
        row = int(np.argmin(ok))
        raise refuse(row, "an AVA-Captions line is `<line index>#<image id>#<comment>#...` with both first fields "
                          f"integers, got {lines[row].as_py()[:80]!r}")
    del lines  # free each big intermediate as soon as it is used: fresh memory is what costs most here
    ids = pc.cast(pc.utf8_trim_whitespace(ids_text), pa.int64()).to_numpy()
    repeat = _first_repeat(ids)
    if repeat is not None:
        first = _line_number(source.path, int(rows[repeat[1]]))
        raise refuse(repeat[0], f"image id {ids[repeat[0]]} is also on line {first}; AVA_Comments_Full.txt has one "
                                "line per image (is the first field really the line index and the second the id?)")
    counts = lengths - 2
    flat = pc.list_flatten(fields)
    del fields
    is_comment = np.ones(len(flat), dtype=bool)
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    is_comment[starts] = False
    is_comment[starts + 1] = False
    texts = flat.filter(pa.array(is_comment))
    positions = (np.arange(len(texts)) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)
    return _table(pa.array(np.repeat(ids, counts)), pa.array(positions), texts)


_SENTENCE = pa.struct([("raw", pa.string()), ("imgid", pa.int64())])
_AVA_CAPTIONS_SCHEMA = pa.schema([
    ("images", pa.list_(pa.struct([("filename", pa.string()), ("imgid", pa.int64()),
                                   ("sentences", pa.list_(_SENTENCE))]))),
    ("dataset", pa.string()),
])
_MAX_BLOCK = (1 << 31) - 1  # pyarrow's block size is a 32-bit integer


@comment_format("ava-captions-json", _file_detector(lambda p: p.json_layout == "ava-captions-json"), datasets=("ava",))
def read_ava_captions_json(source: CommentSource, dataset: str) -> pa.Table:
    """CLEAN_AVA_FULL_COMMENTS.json: `{"images": [{"filename", "imgid", "sentences": [{"raw", "clean", ...}]}]}`.

    Each sentence's `raw` is taken, not `clean`: the authors' `clean` is lower-cased with every
    digit and punctuation mark removed, so `7/10` or `I gave it a 9` could no longer be found by
    the score-mention audit, and the rule set here would clean an already cleaned text. The
    file's own `split` (a random one of the authors') is ignored; the partition is AVA's standard one.
    `filename` must be `<imgid>.jpg`: a disagreement is an error naming the entry. As for the raw
    file, the layout is the one the authors' published code writes; no real copy was at hand.
    """
    path = source.path
    size = path.stat().st_size
    if size >= _MAX_BLOCK:
        raise UserError(f"{path}: AVA-Captions JSON over 2 GiB is more than pyarrow's JSON reader takes in one piece",
                        hint="use the raw AVA_Comments_Full.txt instead (--comments-format ava-captions)")
    read_head(path, "comments")
    try:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=size + 1),
                                 parse_options=pajson.ParseOptions(explicit_schema=_AVA_CAPTIONS_SCHEMA,
                                                                   unexpected_field_behavior="ignore",
                                                                   newlines_in_values=True))
    except pa.ArrowInvalid as err:
        raise UserError(f"{path}: not AVA-Captions JSON ({{\"images\": [{{\"filename\", \"imgid\", \"sentences\": "
                        f"[{{\"raw\", ...}}]}}]}}): {err}") from err
    if table.num_rows != 1:
        raise UserError(f"{path}: AVA-Captions JSON is one object; found {table.num_rows}")
    name = table["dataset"][0].as_py()
    if name is not None and name.lower() != "ava":
        raise UserError(f"{path}: this AVA-Captions-style file says \"dataset\": {name!r}, not AVA")
    images = pc.list_flatten(table["images"]).combine_chunks()
    if images.null_count:
        raise UserError(f"{path}: images[{int(np.argmax(np.asarray(images.is_null())))}] is null")
    ids = _ava_captions_ids(path, images)
    repeat = _first_repeat(ids)
    if repeat is not None:
        raise UserError(f"{path}: images[{repeat[0]}] repeats the image id {ids[repeat[0]]} of images[{repeat[1]}]")
    sentences = images.field("sentences")
    counts = np.asarray(pc.fill_null(pc.list_value_length(sentences), 0), dtype=np.int64)
    flat = pc.list_flatten(sentences)
    owner = np.repeat(ids, counts)
    if flat.null_count:
        row = int(np.argmax(np.asarray(flat.is_null())))
        raise UserError(f"{path}: a sentence of image {owner[row]} is null")
    stated = flat.field("imgid")
    clash = np.flatnonzero(np.asarray(pc.fill_null(pc.not_equal(stated, pa.array(owner)), False)))
    if clash.size:
        row = int(clash[0])
        raise UserError(f"{path}: a sentence of image {owner[row]} says \"imgid\": {stated[row].as_py()}")
    positions = (np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)
    return _table(pa.array(owner, pa.int64()), pa.array(positions), _texts(flat.field("raw"), path))


def _ava_captions_ids(path: Path, images: pa.StructArray) -> np.ndarray:
    """Each image's id from `imgid` and `filename` (`<id>.jpg`), which must agree where both are given."""
    stated, filename = images.field("imgid"), images.field("filename")
    from_name = pc.extract_regex(filename, r"^\s*(?P<id>[0-9]{1,18})\.jpe?g\s*$").flatten()[0]  # null where no match
    bad_name = np.asarray(pc.and_(pc.is_valid(filename), pc.is_null(from_name)))
    if bad_name.any():
        row = int(np.argmax(bad_name))
        raise UserError(f"{path}: images[{row}]: filename must be `<image id>.jpg`, got {filename[row].as_py()!r}")
    named = pc.cast(from_name, pa.int64())
    both_missing = np.asarray(pc.and_(pc.is_null(stated), pc.is_null(named)))
    if both_missing.any():
        raise UserError(f"{path}: images[{int(np.argmax(both_missing))}] has neither an imgid nor a filename")
    disagree = np.asarray(pc.fill_null(pc.not_equal(stated, named), False))
    if disagree.any():
        row = int(np.argmax(disagree))
        raise UserError(f"{path}: images[{row}]: filename {filename[row].as_py()!r} and imgid {stated[row].as_py()} "
                        "disagree; which photo these comments belong to is unknown")
    return pc.coalesce(stated, named).to_numpy()


# -- CSV and JSON Lines ----------------------------------------------------------------------
def _straddles(err: pa.ArrowInvalid) -> bool:
    return "straddl" in str(err)


def _read_blocks(read: Callable[[int], pa.Table], path: Path, kind: str) -> pa.Table:
    """Read with 16 MiB blocks, or with the whole file as one block when a record is longer than
    a block (pyarrow cannot split one); past 2 GiB that is a clear refusal, not pyarrow's message."""
    try:
        return read(1 << 24)
    except pa.ArrowInvalid as err:
        if not _straddles(err):
            raise
    size = path.stat().st_size
    try:
        table = read(min(size + 1, _MAX_BLOCK))
    except pa.ArrowInvalid as err:
        if not _straddles(err):
            raise
        raise UserError(f"{path}: a {kind} record longer than 2 GiB (a quote never closed?)") from err
    return table


def _tabular(source: CommentSource, table: pa.Table, fmt: str, line_of: LineOf) -> pa.Table:
    _require(source.path, table.column_names, ("image_id", "text"), fmt)
    ids = _ids(table["image_id"].combine_chunks(), source.path, line_of)
    if "position" in table.column_names:
        positions = _positions(table["position"], source.path, line_of)
    else:
        positions = pa.array(_page_positions(ids.to_numpy()))
    return _table(ids, positions, _texts(table["text"], source.path))


@contextmanager
def _any_field_size() -> Iterator[None]:
    previous = csv.field_size_limit()
    csv.field_size_limit(_MAX_BLOCK)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each record, skipping empty lines as pyarrow does; a quote left open
    or a stray quote is a located error at the record's first line."""
    with _any_field_size(), open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh, strict=True)
        start = 1
        try:
            for fields in reader:
                if fields:
                    yield start, fields
                start = reader.line_num + 1
        except csv.Error as err:
            raise located(path, start, f"not valid CSV: {err}") from None


def _odd_quotes(path: Path) -> bool:
    """Whether the file holds an odd number of `"`: every quoted field, its doubled quotes included,
    has an even number, so an odd count means a quote left open (counted in C, chunk by chunk)."""
    with open(path, "rb") as fh:
        return sum(chunk.count(b'"') for chunk in iter(lambda: fh.read(1 << 24), b"")) % 2 == 1


def _csv_line_of(path: Path) -> LineOf:
    """Row of the table (records after the header) -> the line the record starts on."""
    def line_of(row: int) -> int | None:
        for i, (line, _) in enumerate(_csv_records(path)):
            if i == row + 1:
                return line
        return None

    return line_of


def _diagnose_csv(path: Path, err: pa.ArrowInvalid) -> UserError:
    """Where a CSV that pyarrow refused goes wrong, by Python's csv module (only run on failure)."""
    width = None
    for line, fields in _csv_records(path):
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            return located(path, line, f"expected {width} fields as in the header, got {len(fields)}")
    return UserError(f"{path}: not a valid comments CSV (header image_id,text): {err}")


@comment_format("csv", _file_detector(_is_csv))
def read_csv(source: CommentSource, dataset: str) -> pa.Table:
    read_head(source.path, "comments")

    def read(block: int) -> pa.Table:
        return pacsv.read_csv(source.path, read_options=pacsv.ReadOptions(block_size=block),
                              convert_options=pacsv.ConvertOptions(column_types={"text": pa.string(),
                                                                                 "image_id": pa.string()}),
                              parse_options=pacsv.ParseOptions(newlines_in_values=True))

    try:
        table = _read_blocks(read, source.path, "CSV")
    except pa.ArrowInvalid as err:
        raise _diagnose_csv(source.path, err) from err
    if _odd_quotes(source.path):  # pyarrow reads a quote left open as one value holding the rest of the file
        for _ in _csv_records(source.path):
            pass
    return _tabular(source, table, "csv", _csv_line_of(source.path))


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of each line holding something but JSON whitespace, as pyarrow counts them."""
    with open(path, "rb") as fh:
        for no, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace")
            if no == 1:
                line = line.lstrip("\ufeff")
            if line.strip(" \t\r\n"):
                yield no, line


def _jsonl_line_of(path: Path) -> LineOf:
    def line_of(row: int) -> int | None:
        for i, (no, _) in enumerate(_jsonl_lines(path)):
            if i == row:
                return no
        return None

    return line_of


_JSONL_TYPES = {"image_id": (int, str), "text": (str,), "position": (int,)}


def _json_kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), "null")


def _diagnose_jsonl(path: Path, err: pa.ArrowInvalid) -> UserError:
    """The first line that is not a JSON object, has a field of the wrong type, or changes a field's
    type from an earlier line (what pyarrow refuses, reported by it only as a row of a block)."""
    first: dict[str, tuple[str, int]] = {}
    for no, line in _jsonl_lines(path):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as bad:
            return located(path, no, f"not valid JSON: {bad.msg} (column {bad.colno})")
        except RecursionError:
            return located(path, no, "not a JSON Lines comment: nested too deeply to read")
        if not isinstance(obj, dict):
            return located(path, no, f"a JSON Lines comment is an object, got {type(obj).__name__}")
        for key, types in _JSONL_TYPES.items():
            value = obj.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, types):
                wanted = " or ".join("an integer" if t is int else "a string" for t in types)
                return located(path, no, f"{key} must be {wanted}, got {json.dumps(value)[:60]}")
            kind, seen = first.setdefault(key, (_json_kind(value), no))
            if kind != _json_kind(value):
                return located(path, no, f"{key} is {_json_kind(value)} here but {kind} on line {seen}; write every "
                                         f"{key} the same way")
    return UserError(f"{path}: not valid JSON Lines (one object per line with image_id and text): {err}")


@comment_format("jsonl", _file_detector(lambda p: p.json_layout == "jsonl"))
def read_jsonl(source: CommentSource, dataset: str) -> pa.Table:
    read_head(source.path, "comments")

    def read(block: int) -> pa.Table:
        return pajson.read_json(source.path, read_options=pajson.ReadOptions(block_size=block))

    try:
        table = _read_blocks(read, source.path, "JSON Lines")
    except pa.ArrowInvalid as err:
        raise _diagnose_jsonl(source.path, err) from err
    return _tabular(source, table, "jsonl", _jsonl_line_of(source.path))


# -- resolving -------------------------------------------------------------------------------
def resolve(paths: list[Path], fmt: str, dataset: str | None = None) -> list[CommentSource]:
    """Each `--comments` path with its format (auto-detected unless forced) and files."""
    sources = []
    for path in map(Path, paths):
        if not path.exists():
            raise UserError(f"{path}: comments path not found")
        kind = detect_format(path) if fmt == "auto" else fmt
        if dataset is not None and dataset not in FORMATS[kind].datasets:
            raise UserError(f"{path}: {kind} comments are DPChallenge (AVA) comments; they cannot be joined to "
                            f"{dataset} images")
        if kind == "crawl":
            files = _crawl_parts(path) if path.is_dir() else (path,)
            if not files:
                raise UserError(f"{path}: no comments/*.parquet parts in this crawl output")
        elif kind == "dpc-sql":
            files = dpc_sql.dump_files(path) if path.is_dir() else (path,)
            if not files:
                raise UserError(f"{path}: no <challenge>.sql dumps in this folder")
        else:
            if path.is_dir():
                raise UserError(f"{path}: --comments-format {kind} needs a file, not a folder")
            files = (path,)
        sources.append(CommentSource(path, kind, files))
    return sources


def read_comments(source: CommentSource, dataset: str) -> pa.Table:
    """The comments of one source, as (image_id, position, text[, during_challenge])."""
    return FORMATS[source.format].read(source, dataset)
