"""The published tabular files the toolkit reads, each layout described once, and how a file's is found.

The crawler takes ids from these files (`aesthetic-crawl --ids`), the corpus takes labels and
partitions from them (`aesthetic-build-splits`); both call `read_layout`, so a file means the
same to both stages. The layout is decided by the whole first data line: every column must
hold what the layout says (count, number type, range, -1 markers), and exactly one known
layout may fit. A line that fits none, fits one only partly (11 columns, a vote count that is
not a number) or fits two is a `file:line` error naming the layouts accepted, never a guess.
Every later line must then follow the same layout, and an id may appear only once.

Blank lines are skipped; there are no header or comment lines in any of these files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aesthetic.core.errors import UserError, located
from aesthetic.core.schemas import SPLITS
from aesthetic.core.textfiles import (Column, first_data_line, line_problem, read_bytes, read_table, shown,
                                      unknown_rows)


@dataclass(frozen=True)
class Layout:
    name: str                      # for logs and the build report
    title: str                     # what the file is, for messages
    shape: str                     # its columns in words, for messages and --help
    columns: tuple[Column, ...]
    id_column: int                 # 0-based
    unknown: range | None = None   # columns a line marks as not known by writing -1 in every one

    def describe(self) -> str:
        return f"{self.title} [{_columns(len(self.columns))}: {self.shape}]"


def _counts(prefix: str, scores: int) -> tuple[Column, ...]:
    return tuple(Column(f"{prefix}{score}") for score in range(1, scores + 1))


IMAGE_ID = Column("image_id", minimum=1, bits=64)  # 64 bits: what the crawl ledger (SQLite INTEGER) can hold

# The AVA distribution's README (June 2012 release).
AVA_TXT = Layout(
    "ava-txt", "AVA.txt", "index, image id, counts of votes 1..10, two semantic tags (0 = none), challenge id",
    (Column("index"), IMAGE_ID, *_counts("votes_", 10), Column("tag_1"), Column("tag_2"), Column("challenge_id")), 1)
# Ritendra Datta's README of the Photo.net dataset (March '09 release, 20,278 photos). Column 5 is
# documented as the standard deviation; it is the variance of the seven counts. Columns 5-12 are -1
# where only the mean is known.
DATTA_PHOTONET = Layout(
    "datta-photonet", "Datta's Photo.net release photonet_dataset.txt",
    "index, photo id, number of ratings, mean, variance, counts of ratings 1..7; columns 5-12 all -1 "
    "where only the mean is known",
    (Column("index"), Column("photo_id", minimum=1, bits=64), Column("n_ratings"),
     Column("mean", kind="float", minimum=None), Column("variance", kind="float"), *_counts("c", 7)),
    1, unknown=range(4, 12))
# Datta's README of the DPChallenge dataset (same release series): -1 in the mean and the ten counts
# of a photo with no rating.
DATTA_DPCHALLENGE = Layout(
    "datta-dpchallenge", "Datta's DPChallenge release dpchallenge_dataset.txt",
    "index, image id, number of ratings, mean, counts of ratings 1..10; columns 4-14 all -1 for a photo "
    "with no rating",
    (Column("index"), IMAGE_ID, Column("n_ratings"), Column("mean", kind="float", minimum=None), *_counts("c", 10)),
    1, unknown=range(3, 14))
ID_LIST = Layout("id-list", "an id list such as AVA's .jpgl files", "one image id per line", (IMAGE_ID,), 0)
ILGNET_IDS = Layout("ilgnet-ids", "ILGnet's available-ids list", "image id, label 0 or 1",
                    (IMAGE_ID, Column("label", choices=(0, 1))), 0)
SPLIT_FILE = Layout("split-file", "a split file", "image id, train|val|test",
                    (IMAGE_ID, Column("split", kind="str", minimum=None, choices=SPLITS)), 0)

LAYOUTS: tuple[Layout, ...] = (AVA_TXT, DATTA_PHOTONET, DATTA_DPCHALLENGE, ID_LIST, ILGNET_IDS, SPLIT_FILE)


def describe(layouts: Sequence[Layout]) -> str:
    """The accepted layouts, as an error message or --help lists them."""
    return "; ".join(layout.describe() for layout in layouts)


def detect(fields: list[str], accepted: Sequence[Layout], known: Sequence[Layout] = LAYOUTS) -> Layout:
    """The one layout of `known` that the first data line's `fields` follow in every column, if it is
    `accepted`; otherwise a UserError (no location: `read_layout` adds it) saying why not."""
    fitting = [layout for layout in known if len(layout.columns) == len(fields)]
    problems = {layout.name: line_problem(layout.columns, fields, layout.unknown) for layout in fitting}
    matching = [layout for layout in fitting if problems[layout.name] is None]
    here = f"accepted here: {describe(accepted)}"
    if len(matching) > 1:
        raise UserError(f"this line could be read as {' or as '.join(m.title for m in matching)}; "
                        f"the file is refused rather than guessed at ({here})")
    if not matching:
        if fitting:
            partly = "; ".join(f"as {layout.title}, {problems[layout.name]}" for layout in fitting)
            raise UserError(f"{_columns(len(fields))}, but not a line of a known layout: {partly} ({here})")
        raise UserError(f"{_columns(len(fields))} ({shown(' '.join(fields), 80)}): no known layout has as many ({here})")
    layout = matching[0]
    if layout not in accepted:
        raise UserError(f"this is a line of {layout.title}, which is not read here ({here})")
    return layout


def _columns(count: int) -> str:
    return f"{count} column" + ("s" if count != 1 else "")


@dataclass(frozen=True)
class Table:
    """A validated file: its layout and one row per data line, in file order, columns named as the layout's."""

    layout: Layout
    frame: pd.DataFrame

    @property
    def ids(self) -> np.ndarray:
        return self.frame.iloc[:, self.layout.id_column].to_numpy(np.int64)

    def unknown(self) -> np.ndarray:
        """Per row, whether it marks the layout's `unknown` columns as not known (all -1)."""
        return unknown_rows(self.frame, self.layout.unknown)


def read_layout(path: Path | str, role: str, accepted: Sequence[Layout]) -> Table:
    """Read `path` in the one accepted layout its first data line follows, every line checked."""
    path = Path(path)
    data = read_bytes(path, role)
    first = first_data_line(data)
    if first is None:
        raise UserError(f"{path}: {role} file has no data line")
    no, fields = first
    try:
        layout = detect(fields, accepted)
    except UserError as err:
        raise located(path, no, str(err)) from None
    frame = read_table(path, role, layout.columns, key=layout.id_column, unknown=layout.unknown, data=data,
                       context=f"read as {layout.title} from line {no}")
    return Table(layout, frame)
