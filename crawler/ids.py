"""Read the image ids to crawl from whatever file the user has: AVA.txt, a .jpgl list, a plain
list, or the Photo.net ratings file.

The layout is detected from the first data line, then every line must follow it,
so a stray line is reported with its number instead of silently becoming an id:
- `ava`: AVA.txt, 15 integer columns (index, image id, ten vote counts, two
  tags, challenge id); the id is column 2.
- `datta`: Datta's Photo.net release, 11 columns `<index> <photo_id> <n_ratings>
  <mean> <count 1> … <count 7>` (mean is a decimal); the id is column 2.
- `id-first`: anything else; the id is the first field, whitespace- or
  comma-separated (one id per line, `.jpgl`, `<id> <label>`, the Photo.net
  ratings file `<id> <count 1> … <count 7>`, or its CSV form). One header line
  naming the columns is allowed at the top of such files.
Blank lines and `#` comments are skipped; repeated ids are kept once, in first-seen order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aesthetic.core.errors import UserError, located

_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")


@dataclass(frozen=True)
class Layout:
    name: str
    columns: int | None     # every line has exactly this many fields; None: any number
    id_column: int          # 0-based
    describe: str           # for error messages


def _all_ints(fields: list[str]) -> bool:
    return all(f.lstrip("+-").isdigit() for f in fields)


def _is_datta(fields: list[str]) -> bool:
    return _all_ints(fields[:3] + fields[4:]) and bool(_NUMBER.fullmatch(fields[3]))


# Tried in order on the first data line; the last one matches anything.
LAYOUTS: tuple[tuple[Layout, Callable[[list[str]], bool]], ...] = (
    (Layout("ava", 15, 1, "AVA.txt lines"), lambda f: len(f) == 15 and _all_ints(f)),
    (Layout("datta", 11, 1, "Datta's Photo.net lines"), lambda f: len(f) == 11 and _is_datta(f)),
    (Layout("id-first", None, 0, "id lists"), lambda f: True),
)


@dataclass(frozen=True)
class IdList:
    ids: list[int]        # unique, in file order
    layout: str           # a Layout name: "ava", "datta", "id-first"
    duplicates: int       # lines whose id was already listed

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)


def read_ids(path: Path | str) -> IdList:
    """All ids in `path` (see the module docstring); UserError with `file:line` on a bad line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the ids file {path}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8-sig", errors="replace")
    layout: Layout | None = None
    seen: dict[int, None] = {}
    duplicates = 0
    header_allowed = True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.replace(",", " ").split()
        if layout is None:
            if header_allowed and not fields[0].lstrip("+-").isdigit() and _looks_like_header(fields):
                header_allowed = False
                continue
            layout = next(candidate for candidate, matches in LAYOUTS if matches(fields))
        header_allowed = False
        image_id = _id_of(fields, layout, path, number, line)
        if image_id in seen:
            duplicates += 1
        else:
            seen[image_id] = None
    if not seen:
        raise UserError(f"{path}: no image ids in this file",
                        hint="expected AVA.txt, a .jpgl list, one id per line, or the Photo.net ratings file")
    return IdList(ids=list(seen), layout=layout.name if layout else "id-first", duplicates=duplicates)


def _id_of(fields: list[str], layout: Layout, path: Path, number: int, line: str) -> int:
    if layout.columns is not None and len(fields) != layout.columns:
        raise located(path, number, f"{layout.describe} have {layout.columns} columns, this one has "
                                    f"{len(fields)}: {line.strip()[:80]!r}")
    field = fields[layout.id_column]
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses.
    if not (field.isascii() and field.isdigit()) or int(field) <= 0:
        raise located(path, number, f"expected a positive integer image id, found {field[:40]!r} "
                                    f"in {line.strip()[:80]!r}")
    return int(field)


def _looks_like_header(fields: list[str]) -> bool:
    """A header names columns: its first field is a word (`id`, `photo_id`), not a broken number."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .-]*", fields[0]))
