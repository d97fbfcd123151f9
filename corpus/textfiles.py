"""Whitespace-separated tables (AVA.txt, .jpgl lists, ratings, split files), read fast and checked.

The files are hundreds of thousands of lines, so the happy path is one pass of
pandas' C parser. When anything looks wrong, a second, line-by-line pass finds
the first bad line and says what is wrong there (file:line), so the user never
sees a parser traceback and never has to bisect a 255,000-line file.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aesthetic.core.errors import UserError, located


@dataclass(frozen=True)
class Column:
    """One column of a table: its name (for messages), type, whether it may be negative and, for
    integers, how many bits its values fit in: counts and tags are stored as int32, ids as int64,
    and a value that does not fit must be an error, not a silently wrapped number."""

    name: str
    kind: str = "int"  # "int" | "float" | "str"
    nonneg: bool = True
    bits: int = 32

    def out_of_range(self, values: np.ndarray | pd.Series | int) -> np.ndarray | bool:
        bound = 1 << (self.bits - 1)
        return (values < -bound) | (values >= bound)


def _check_file(path: Path, role: str) -> None:
    if not path.exists():
        raise UserError(f"{path}: {role} file not found")
    if path.is_dir():
        raise UserError(f"{path}: {role} must be a file, not a folder")


def read_bytes(path: Path, role: str) -> bytes:
    """The whole file, or a UserError saying why it cannot be read (missing, a folder, empty...)."""
    path = Path(path)
    _check_file(path, role)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"{path}: cannot read {role} file: {err.strerror or err}") from err
    if not data or data.isspace():
        raise UserError(f"{path}: {role} file is empty")
    return data


def read_head(path: Path, role: str, size: int = 65536) -> bytes:
    """The first `size` bytes of a non-empty readable file, without reading a big file whole."""
    path = Path(path)
    _check_file(path, role)
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
            while head.isspace() and (more := fh.read(size)):
                head = more
    except OSError as err:
        raise UserError(f"{path}: cannot read {role} file: {err.strerror or err}") from err
    if not head or head.isspace():
        raise UserError(f"{path}: {role} file is empty")
    return head


def numbered_lines(data: bytes) -> list[tuple[int, str]]:
    """(1-based line number, line) of each non-empty line, numbered as the fast C readers (pandas,
    pyarrow) and editors count: after a UTF-8 BOM, at \\n, \\r\\n or \\r only. str.splitlines would
    also split at \\x0b, \\x0c, \\x1c-\\x1e, \\x85 and \\u2028, which can sit inside a line (a comment),
    and then misnumber every later line."""
    text = data.decode("utf-8-sig", errors="replace")
    return [(no, line) for no, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1) if line]


def _lines(data: bytes) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank line."""
    return [(no, fields) for no, line in numbered_lines(data) if (fields := line.split())]


def check_field(path: Path, no: int, column: Column, value: str) -> None:
    """Raise a located UserError if `value` is not a valid value of `column`."""
    if column.kind == "str":
        return
    try:
        number = int(value) if column.kind == "int" else float(value)
    except ValueError:
        kind = "an integer" if column.kind == "int" else "a number"
        raise located(path, no, f"column {column.name!r} must be {kind}, got {value!r}") from None
    if column.nonneg and number < 0:
        raise located(path, no, f"column {column.name!r} must not be negative, got {value!r}")
    if column.kind == "int" and column.out_of_range(number):
        raise located(path, no, f"column {column.name!r} is out of range (a {column.bits}-bit integer), got {value!r}")


def diagnose(path: Path, data: bytes, columns: list[Column], *, extra_ok: bool = False, key: int = 0) -> None:
    """Raise a located UserError at the first line that breaks the layout (wrong column count,
    bad number, negative count, repeated id in column `key`); return if all lines are fine."""
    seen: dict[str, int] = {}
    for no, fields in _lines(data):
        if len(fields) < len(columns) or (len(fields) > len(columns) and not extra_ok):
            expected = f"at least {len(columns)}" if extra_ok else f"{len(columns)}"
            raise located(path, no, f"expected {expected} columns ({' '.join(c.name for c in columns)}), got {len(fields)}")
        for column, value in zip(columns, fields):
            check_field(path, no, column, value)
        value = fields[key]
        if value in seen:
            raise located(path, no, f"duplicate {columns[key].name} {value} (first seen on line {seen[value]})")
        seen[value] = no


def read_table(path: Path, role: str, columns: list[Column], *, extra_ok: bool = False, key: int = 0,
               data: bytes | None = None) -> pd.DataFrame:
    """Parse a whitespace-separated table with the given columns, validated.

    With `extra_ok`, lines may carry extra trailing columns, which are ignored, as in the
    available-ids file (`<id> <label>` or just `<id>`). Column `key` holds the id, which must be unique.
    `data` is the file's content when the caller has already read it (to detect a layout).
    """
    path = Path(path)
    if data is None:
        data = read_bytes(path, role)
    dtypes = {i: {"int": np.int64, "float": np.float64, "str": str}[c.kind] for i, c in enumerate(columns)}
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            sep=r"\s+",
            header=None,
            usecols=range(len(columns)) if extra_ok else None,
            dtype=dtypes,
            engine="c",
            comment=None,
        )
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        diagnose(path, data, columns, extra_ok=extra_ok, key=key)
        raise UserError(f"{path}: cannot parse {role} file: {err}") from err
    if frame.shape[1] != len(columns) or not _valid(frame, columns, key):
        diagnose(path, data, columns, extra_ok=extra_ok, key=key)
        raise UserError(f"{path}: {role} file does not have the expected layout ({' '.join(c.name for c in columns)})")
    frame.columns = [c.name for c in columns]
    return frame


def _valid(frame: pd.DataFrame, columns: list[Column], key: int) -> bool:
    """Cheap whole-table checks; any failure sends us to the line-by-line diagnosis."""
    if frame.iloc[:, key].duplicated().any():
        return False
    for i, column in enumerate(columns):
        if column.kind != "str" and column.nonneg and (frame.iloc[:, i] < 0).any():
            return False
        # int64 columns are bounded by the parser itself (and numpy 1.x compares them with 2**63 as floats)
        if column.kind == "int" and column.bits < 64 and column.out_of_range(frame.iloc[:, i]).any():
            return False
    return True


def line_of(path: Path, value: int, key: int = 0) -> int | None:
    """Line number of the first line whose field `key` is `value` (for error messages only)."""
    for no, fields in _lines(Path(path).read_bytes()):
        if len(fields) > key and fields[key] == str(value):
            return no
    return None


def require_subset(list_path: Path, ids: np.ndarray, known: np.ndarray, list_role: str, index_role: str,
                   allow_unknown: bool = False) -> int:
    """Every id of a list must be in the index it refers to; name the first stray one with its line.

    With `allow_unknown` (the CLI's --ignore-unknown-ids) strays are only counted and
    returned, because third-party lists do not always match the user's copy of the index.
    """
    stray = ids[~np.isin(ids, known)]
    if stray.size and not allow_unknown:
        first = int(stray[0])
        raise located(
            list_path,
            line_of(list_path, first),
            f"{stray.size} id(s) of the {list_role} are not in the {index_role}, first: {first}",
            hint="pass --ignore-unknown-ids to leave them out (they are counted in build_report.json)",
        )
    return int(stray.size)
