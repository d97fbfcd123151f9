"""Photo.net ratings: per image, the counts of ratings 1..7, in one of three layouts.

Accepted layouts (detected from the first non-blank line):

- plain: `<photo_id> c1 c2 c3 c4 c5 c6 c7` (8 whitespace-separated columns);
- datta: `<index> <photo_id> <n_ratings> <mean> c1 .. c7` (11 columns; the layout of
  Datta's photo.net / DPChallenge dataset releases, where a photo with no rating has
  -1 as dummy mean and counts); n_ratings must equal c1 + .. + c7;
- csv: a comma-separated file with a header whose first column is `photo_id` (or
  `image_id`) followed by the seven count columns (any names), e.g. `photo_id,c1,..,c7`.

A published split file is `<photo_id> <train|val|test>` per line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from aesthetic.core.errors import UserError, located
from aesthetic.core.schemas import SPLITS
from aesthetic.corpus.labels import RatedImages
from aesthetic.corpus.textfiles import Column, check_field, line_of, numbered_lines, read_bytes, read_table

PHOTONET_SCORES = 7
_COUNTS = [Column(f"c{score}") for score in range(1, PHOTONET_SCORES + 1)]
PHOTO_ID = Column("photo_id", bits=64)
PLAIN_COLUMNS = [PHOTO_ID, *_COUNTS]
DATTA_COLUMNS = [
    Column("index"),
    PHOTO_ID,
    Column("n_ratings", nonneg=False),
    Column("mean", kind="float", nonneg=False),
    *(Column(c.name, nonneg=False) for c in _COUNTS),
]
ID_HEADERS = ("photo_id", "image_id")
LAYOUTS_HELP = (
    "`<photo_id> c1..c7` (8 columns), Datta's release `<index> <photo_id> <n_ratings> <mean> c1..c7` "
    "(11 columns, -1 dummies for unrated photos), or a CSV with header `photo_id,c1,...,c7`"
)


def read_photonet_ratings(path: Path) -> RatedImages:
    """Parse and validate a Photo.net ratings file in any accepted layout, sorted by photo id."""
    path = Path(path)
    data = read_bytes(path, "ratings")
    first = next(line for _, line in numbered_lines(data) if line.strip())
    if "," in first:
        frame = _read_csv(path, data)
    elif len(first.split()) == len(DATTA_COLUMNS):
        frame = _read_datta(path, data)
    elif len(first.split()) == len(PLAIN_COLUMNS):
        frame = read_table(path, "ratings", PLAIN_COLUMNS, data=data)
    else:
        raise located(path, 1, f"unknown ratings layout with {len(first.split())} columns; accepted: {LAYOUTS_HELP}")
    frame = frame.sort_values("photo_id", kind="stable")
    return RatedImages(
        ids=frame["photo_id"].to_numpy(np.int64),
        votes=frame[[c.name for c in _COUNTS]].to_numpy(np.int32),
        extra={},
    )


def _read_datta(path: Path, data: bytes) -> pd.DataFrame:
    frame = read_table(path, "ratings", DATTA_COLUMNS, key=1, data=data)
    counts = frame[[c.name for c in _COUNTS]]
    unrated = frame["n_ratings"] <= 0
    # Datta's releases write -1 in every count of an unrated photo; those become zero votes.
    frame.loc[unrated, counts.columns] = 0
    bad = (~unrated & ((counts < 0).any(axis=1) | (counts.sum(axis=1) != frame["n_ratings"]))).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        photo = int(frame["photo_id"].iloc[row])
        raise located(path, line_of(path, photo, key=1),
                      f"photo {photo}: counts c1..c7 must be non-negative and add up to n_ratings")
    return frame


def _read_csv(path: Path, data: bytes) -> pd.DataFrame:
    # Numbered by the reader's line count, so blank lines before the header or between rows keep
    # the messages' line numbers right.
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace")))  # spreadsheets write a BOM
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    header_no, header_row = rows[0] if rows else (1, [])
    header = [h.strip().lower() for h in header_row]
    if not header or header[0] not in ID_HEADERS or len(header) != 1 + PHOTONET_SCORES:
        raise located(path, header_no, f"CSV header must be `photo_id` then {PHOTONET_SCORES} count columns, got {header_row}")
    seen: dict[int, int] = {}
    parsed = []
    for no, row in rows[1:]:
        if len(row) != len(header):
            raise located(path, no, f"expected {len(header)} columns, got {len(row)}")
        for column, cell in zip(PLAIN_COLUMNS, row):
            check_field(path, no, column, cell.strip())
        values = [int(cell) for cell in row]
        if values[0] in seen:
            raise located(path, no, f"duplicate photo_id {values[0]} (first seen on line {seen[values[0]]})")
        seen[values[0]] = no
        parsed.append(values)
    if not parsed:
        raise UserError(f"{path}: ratings file has a header but no rows")
    return pd.DataFrame(parsed, columns=["photo_id", *(c.name for c in _COUNTS)])


def read_split_file(path: Path) -> pd.DataFrame:
    """A published partition, `<photo_id> <train|val|test>` per line, validated."""
    frame = read_table(path, "split file", [PHOTO_ID, Column("split", kind="str")])
    bad = ~frame["split"].isin(SPLITS)
    if bad.any():
        photo = int(frame["photo_id"][bad].iloc[0])
        raise located(path, line_of(path, photo), f"split must be train, val or test, got {frame['split'][bad].iloc[0]!r}")
    return frame
