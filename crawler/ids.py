"""Read the image ids to crawl from whatever file the user has: AVA.txt, a .jpgl list, a plain
list, or the Photo.net ratings file.

The layout is detected from the first data line, then every line must follow it,
so a stray line is reported with its number instead of silently becoming an id:
- AVA.txt: 15 integer columns (index, image id, ten vote counts, two tags,
  challenge id); the id is column 2.
- anything else: the id is the first field, whitespace- or comma-separated
  (one id per line, `.jpgl`, `<id> <label>`, the Photo.net ratings file
  `<id> <count 1> … <count 7>`, or its CSV form). One header line naming the
  columns is allowed at the top of such files.
Blank lines and `#` comments are skipped; repeated ids are kept once, in first-seen order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aesthetic.core.errors import UserError, located

AVA_COLUMNS = 15
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class IdList:
    ids: list[int]        # unique, in file order
    layout: str           # "ava" or "id-first"
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
    layout: str | None = None
    seen: dict[int, None] = {}
    duplicates = 0
    header_allowed = True
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f for f in _SPLIT.split(stripped) if f]
        if layout is None:
            if header_allowed and not fields[0].lstrip("+-").isdigit() and _looks_like_header(fields):
                header_allowed = False
                continue
            layout = "ava" if len(fields) == AVA_COLUMNS and all(_is_int(f) for f in fields) else "id-first"
        header_allowed = False
        image_id = _id_of(fields, layout, path, number, line)
        if image_id in seen:
            duplicates += 1
        else:
            seen[image_id] = None
    if not seen:
        raise UserError(f"{path}: no image ids in this file",
                        hint="expected AVA.txt, a .jpgl list, one id per line, or the Photo.net ratings file")
    return IdList(ids=list(seen), layout=layout or "id-first", duplicates=duplicates)


def _id_of(fields: list[str], layout: str, path: Path, number: int, line: str) -> int:
    if layout == "ava":
        if len(fields) != AVA_COLUMNS:
            raise located(path, number, f"AVA.txt lines have {AVA_COLUMNS} columns, this one has "
                                        f"{len(fields)}: {line.strip()[:80]!r}")
        field = fields[1]
    else:
        field = fields[0]
    if not field.isdigit() or int(field) <= 0:
        raise located(path, number, f"expected a positive integer image id, found {field[:40]!r} "
                                    f"in {line.strip()[:80]!r}")
    return int(field)


def _is_int(field: str) -> bool:
    return field.lstrip("+-").isdigit()


def _looks_like_header(fields: list[str]) -> bool:
    """A header names columns: its first field is a word (`id`, `photo_id`), not a broken number."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ .-]*", fields[0]))
