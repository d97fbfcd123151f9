"""Whitespace-separated tables (AVA.txt, .jpgl lists, ratings, split files), read fast and checked.

The files are hundreds of thousands of lines, so the happy path is one pass of
pandas' C parser. When anything looks wrong, a second, line-by-line pass finds
the first bad line and says what is wrong there (file:line), so the user never
sees a parser traceback and never has to bisect a 255,000-line file. Which
columns a file has is decided by `core.layouts`; this module only reads and checks.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aesthetic.core.errors import UserError, located

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Column:
    """One column of a table: its name (for messages), type, smallest value and, for integers, how
    many bits its values fit in: counts and tags are stored as int32, ids as int64, and a value
    that does not fit must be an error, not a silently wrapped number. `choices`, when set, are
    the only values allowed (a split name, a 0/1 label)."""

    name: str
    kind: str = "int"  # "int" | "float" | "str"
    minimum: float | None = 0
    bits: int = 32
    choices: tuple[int | str, ...] | None = None

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


def first_data_line(data: bytes, head: int = 1 << 16) -> tuple[int, list[str]] | None:
    """Number and fields of the first non-blank line (None if there is none), read from the file's
    head when that holds it whole: detecting a layout must not split a 255,000-line file into lines."""
    if len(data) > head:
        for no, fields in _lines(data[:head])[:-1]:  # the head's last line may be cut short
            return no, fields
    return next(iter(_lines(data)), None)


def shown(value: str, limit: int = 40) -> str:
    """A field as an error message quotes it: a 5,000-digit line must not become a 5,000-digit message."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value):,} characters)"


def field_problem(column: Column, value: str) -> str | None:
    """What is wrong with `value` as a value of `column`, or None if nothing is."""
    number: float | int | str
    if column.kind == "str":
        number = value
    elif column.kind == "int":
        if not _INT.fullmatch(value):
            return f"column {column.name!r} must be an integer, got {shown(value)}"
        if len(value.lstrip("+-")) > 20:  # int() refuses over 4,300 digits; no count or id has 21
            return f"column {column.name!r} is out of range (a {column.bits}-bit integer), got {shown(value)}"
        number = int(value)
        if column.out_of_range(number):
            return f"column {column.name!r} is out of range (a {column.bits}-bit integer), got {shown(value)}"
    else:
        if not _FLOAT.fullmatch(value) or not math.isfinite(number := float(value)):
            return f"column {column.name!r} must be a number, got {shown(value)}"
    if column.choices is not None and number not in column.choices:
        return f"column {column.name!r} must be one of {', '.join(map(str, column.choices))}, got {shown(value)}"
    if column.minimum is not None and not isinstance(number, str) and number < column.minimum:
        bound = "must not be negative" if column.minimum == 0 else f"must be at least {column.minimum:g}"
        return f"column {column.name!r} {bound}, got {shown(value)}"
    return None


def is_unknown(fields: list[str], unknown: range | None) -> bool:
    """Whether the line marks the columns of `unknown` as not known (every one of them -1, as
    Datta's releases write a photo whose ratings were not available)."""
    return unknown is not None and all(_FLOAT.fullmatch(fields[i]) and float(fields[i]) == -1 for i in unknown)


def line_problem(columns: tuple[Column, ...], fields: list[str], unknown: range | None = None) -> str | None:
    """What is wrong with a line's fields under `columns`, or None if it follows them."""
    if len(fields) != len(columns):
        return f"expected {len(columns)} columns ({' '.join(c.name for c in columns)}), got {len(fields)}"
    skip = unknown if is_unknown(fields, unknown) else range(0)
    for i, (column, value) in enumerate(zip(columns, fields)):
        if i not in skip and (problem := field_problem(column, value)):
            return problem
    return None


def diagnose(path: Path, data: bytes, columns: tuple[Column, ...], *, key: int = 0,
             unknown: range | None = None, context: str = "") -> None:
    """Raise a located UserError at the first line that breaks the layout (wrong column count,
    bad number, negative count, repeated id in column `key`); return if all lines are fine.
    `context` (how the file is being read) ends each message."""
    after = f" ({context})" if context else ""
    seen: dict[int | str, int] = {}
    for no, fields in _lines(data):
        if problem := line_problem(columns, fields, unknown):
            raise located(path, no, problem + after)
        value = int(fields[key]) if columns[key].kind == "int" else fields[key]  # 07 and 7 are one id
        if value in seen:
            raise located(path, no, f"duplicate {columns[key].name} {value} (first seen on line {seen[value]}){after}")
        seen[value] = no


def read_table(path: Path, role: str, columns: tuple[Column, ...], *, key: int = 0,
               unknown: range | None = None, data: bytes | None = None, context: str = "") -> pd.DataFrame:
    """Parse a whitespace-separated table with the given columns, validated.

    Column `key` holds the id, which must be unique. `unknown`: the columns a line may
    mark as not known by writing -1 in every one of them (Datta's releases). `data` is the file's
    content when the caller has already read it (to detect a layout); `context` ends the messages.
    """
    path = Path(path)
    if data is None:
        data = read_bytes(path, role)
    dtypes = {i: {"int": np.int64, "float": np.float64, "str": str}[c.kind] for i, c in enumerate(columns)}
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=r"\s+", header=None, dtype=dtypes, engine="c",
                            comment=None, na_filter=False)
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        diagnose(path, data, columns, key=key, unknown=unknown, context=context)
        raise UserError(f"{path}: cannot parse {role} file: {err}") from err
    if frame.shape[1] != len(columns) or not _valid(frame, columns, key, unknown):
        diagnose(path, data, columns, key=key, unknown=unknown, context=context)
        raise UserError(f"{path}: {role} file does not have the expected layout ({' '.join(c.name for c in columns)})")
    frame.columns = [c.name for c in columns]
    return frame


def unknown_rows(frame: pd.DataFrame, unknown: range | None) -> np.ndarray:
    """Rows that mark every column of `unknown` as not known (-1), as `is_unknown` reads a line."""
    if unknown is None:
        return np.zeros(len(frame), dtype=bool)
    return (frame.iloc[:, list(unknown)] == -1).all(axis=1).to_numpy()


def _valid(frame: pd.DataFrame, columns: tuple[Column, ...], key: int, unknown: range | None) -> bool:
    """The whole-table form of `line_problem`; any failure sends us to the line-by-line diagnosis."""
    if frame.iloc[:, key].duplicated().any():
        return False
    exempt = unknown_rows(frame, unknown)
    for i, column in enumerate(columns):
        values = frame.iloc[:, i]
        if column.kind == "str":
            if column.choices is not None and not values.isin(column.choices).all():
                return False
            continue
        bad = np.zeros(len(frame), dtype=bool)
        if column.kind == "float":
            bad |= ~np.isfinite(values.to_numpy())
        if column.minimum is not None:
            bad |= (values < column.minimum).to_numpy()
        # int64 columns are bounded by the parser itself (and numpy 1.x compares them with 2**63 as floats)
        if column.kind == "int" and column.bits < 64:
            bad |= np.asarray(column.out_of_range(values))
        if column.choices is not None:
            bad |= ~values.isin(column.choices).to_numpy()
        if unknown is not None and i in unknown:
            bad &= ~exempt
        if bad.any():
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
