"""Readers for every comment source the builder accepts, and format auto-detection.

All readers return the same Arrow table: `image_id` (int64), `position` (int32, page
order within the image in that source) and `text` (string, raw). Formats:

- crawl: a crawl output folder (`comments/*.parquet`, the contract in DESIGN.md and
  core/schemas.py; at least image_id, position, text), a folder of parts, or one part;
- dpc-json: DPC-Captions, `{"<id>.jpg": ["comment", ...], ...}`;
- ava-captions: AVA-Captions raw text, one line per image, `<id>#<comment>#<comment>...`;
- csv: a header row with at least `image_id,text` (optional `position`);
- jsonl: one object per line with at least `image_id` and `text` (optional `position`).

Readers are a registry (name -> reader, detector) so a new dump format is one function.
The big formats are parsed by pyarrow's C++ readers, not Python loops.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
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

COMMENT_COLUMNS = pa.schema([("image_id", pa.int64()), ("position", pa.int32()), ("text", pa.string())])
_ID_SUFFIX = r"(?i)\.jpe?g$"


@dataclass(frozen=True)
class CommentSource:
    """One `--comments` path, its format and the files it stands for (hashed for provenance)."""

    path: Path
    format: str
    files: tuple[Path, ...]


Reader = Callable[[CommentSource, str], pa.Table]
READERS: dict[str, Reader] = {}


def reader(name: str) -> Callable[[Reader], Reader]:
    def register(fn: Reader) -> Reader:
        READERS[name] = fn
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


@reader("crawl")
def read_crawl(source: CommentSource, dataset: str) -> pa.Table:
    parts = []
    for part in source.files:
        try:
            names = pq.read_schema(part).names
            _require(part, names, COMMENTS_REQUIRED, "crawl")
            columns = [*COMMENTS_REQUIRED, *(["dataset"] if "dataset" in names else [])]
            table = pq.read_table(part, columns=columns)
        except (pa.ArrowInvalid, OSError) as err:
            raise UserError(f"{part}: not a readable Parquet comments part: {err}") from err
        if "dataset" in table.column_names:
            table = table.filter(pc.equal(table["dataset"], dataset))
        parts.append(_table(_ids(table["image_id"], part, _no_line), _positions(table["position"], part, _no_line),
                            _texts(table["text"], part)))
    return pa.concat_tables(parts) if parts else COMMENT_COLUMNS.empty_table()


@reader("dpc-json")
def read_dpc_json(source: CommentSource, dataset: str) -> pa.Table:
    try:
        data = json.loads(read_bytes(source.path, "comments"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise located(source.path, line, f"not valid DPC-Captions JSON: {getattr(err, 'msg', err)}") from err
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


@reader("ava-captions")
def read_ava_captions(source: CommentSource, dataset: str) -> pa.Table:
    read_head(source.path, "comments")
    lines = _lines(source.path)
    fields = pc.split_pattern(lines, "#")
    heads = pc.list_element(fields, 0)
    ok = pc.match_substring_regex(heads, r"^\s*[0-9]{1,18}(?i:\.jpe?g)?\s*$")
    if not pc.all(ok).as_py():
        blank = pc.match_substring_regex(lines, r"^\s*$")
        bad = np.flatnonzero(~np.asarray(ok) & ~np.asarray(blank))
        if bad.size:
            row = int(bad[0])
            raise located(source.path, _line_number(source.path, row),
                          f"an AVA-Captions line must start with `<image id>#`, got {lines[row].as_py()[:80]!r}")
        keep = pc.invert(blank)  # lines of nothing but spaces: no image, no comment
        lines, fields, heads = lines.filter(keep), fields.filter(keep), heads.filter(keep)
    del lines  # free each big intermediate as soon as it is used: fresh memory is what costs most here
    ids = _ids(heads, source.path, _no_line).to_numpy()  # every head matched the id pattern above
    lengths = pc.list_value_length(fields).to_numpy() - 1
    flat = pc.list_flatten(fields)
    del fields
    is_comment = np.ones(len(flat), dtype=bool)
    is_comment[np.r_[0, np.cumsum(lengths + 1)[:-1]]] = False
    texts = flat.filter(pa.array(is_comment))
    positions = (np.arange(len(texts)) - np.repeat(np.cumsum(lengths) - lengths, lengths)).astype(np.int32)
    return _table(pa.array(np.repeat(ids, lengths)), pa.array(positions), texts)


def _tabular(source: CommentSource, table: pa.Table, fmt: str, line_of: LineOf) -> pa.Table:
    _require(source.path, table.column_names, ("image_id", "text"), fmt)
    ids = _ids(table["image_id"].combine_chunks(), source.path, line_of)
    if "position" in table.column_names:
        positions = _positions(table["position"], source.path, line_of)
    else:
        positions = pa.array(_page_positions(ids.to_numpy()))
    return _table(ids, positions, _texts(table["text"], source.path))


@reader("csv")
def read_csv(source: CommentSource, dataset: str) -> pa.Table:
    read_head(source.path, "comments")
    try:
        table = pacsv.read_csv(source.path, convert_options=pacsv.ConvertOptions(
            column_types={"text": pa.string(), "image_id": pa.string()}),
            parse_options=pacsv.ParseOptions(newlines_in_values=True))
    except pa.ArrowInvalid as err:
        raise UserError(f"{source.path}: not a valid comments CSV (header image_id,text): {err}") from err
    return _tabular(source, table, "csv", lambda row: row + 2)  # after the header (if no value spans lines)


@reader("jsonl")
def read_jsonl(source: CommentSource, dataset: str) -> pa.Table:
    read_head(source.path, "comments")
    try:
        table = pajson.read_json(source.path)
    except pa.ArrowInvalid as err:
        raise UserError(f"{source.path}: not valid JSON Lines (one object per line with image_id and text): {err}") from err
    return _tabular(source, table, "jsonl", lambda row: _line_number(source.path, row))  # blank lines are skipped


def _crawl_parts(path: Path) -> tuple[Path, ...]:
    folder = path / "comments" if (path / "comments").is_dir() else path
    return tuple(sorted(folder.glob("*.parquet")))


def detect_format(path: Path) -> str:
    """Guess the format of a `--comments` path from its layout and first bytes."""
    if path.is_dir():
        if _crawl_parts(path):
            return "crawl"
        raise UserError(f"{path}: a comments folder must be a crawl output (comments/*.parquet); none found")
    if path.suffix == ".parquet":
        return "crawl"
    head = read_head(path, "comments").decode("utf-8", errors="replace").lstrip("\ufeff")
    first = next((line for line in head.splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        try:
            obj = json.loads(first)
        except json.JSONDecodeError:
            return "dpc-json"
        return "jsonl" if isinstance(obj, dict) and "image_id" in obj else "dpc-json"
    if re.match(r"^\s*\d+(\.jpe?g)?#", first, re.I):
        return "ava-captions"
    if "," in first and "image_id" in first.lower() and "text" in first.lower():
        return "csv"
    raise UserError(
        f"{path}: unknown comments format (first line: {first[:60]!r})",
        hint="pass --comments-format crawl|dpc-json|ava-captions|csv|jsonl",
    )


def resolve(paths: list[Path], fmt: str) -> list[CommentSource]:
    """Each `--comments` path with its format (auto-detected unless forced) and files."""
    sources = []
    for path in map(Path, paths):
        if not path.exists():
            raise UserError(f"{path}: comments path not found")
        kind = detect_format(path) if fmt == "auto" else fmt
        if kind == "crawl":
            files = _crawl_parts(path) if path.is_dir() else (path,)
            if not files:
                raise UserError(f"{path}: no comments/*.parquet parts in this crawl output")
        else:
            if path.is_dir():
                raise UserError(f"{path}: --comments-format {kind} needs a file, not a folder")
            files = (path,)
        sources.append(CommentSource(path, kind, files))
    return sources


def read_comments(source: CommentSource, dataset: str) -> pa.Table:
    """The comments of one source, as (image_id, position, text)."""
    return READERS[source.format](source, dataset)
