"""The image ids to crawl, from whichever published file the user has (see `core.layouts`).

Each site takes the files that list its photos: for AVA (DPChallenge) AVA.txt, Datta's
DPChallenge release, a `.jpgl` or other one-id-per-line list, or ILGnet's `<id> <label>` list;
for Photo.net Datta's release (every line, the mean-only ones included: their pages have
comments too), a split file or an id list. The id is the layout's id column, never a line index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aesthetic.core.layouts import (AVA_TXT, DATTA_DPCHALLENGE, DATTA_PHOTONET, ID_LIST, ILGNET_IDS, SPLIT_FILE,
                                    Layout, describe, read_layout)

IDS_LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "ava": (AVA_TXT, DATTA_DPCHALLENGE, ID_LIST, ILGNET_IDS),
    "photonet": (DATTA_PHOTONET, ID_LIST, SPLIT_FILE),
}


@dataclass(frozen=True)
class IdList:
    ids: list[int]        # unique, in file order
    layout: str           # the name of the file's layout in core.layouts

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)


def ids_help(dataset: str) -> str:
    """The files `--ids` takes for `dataset`, for its --help."""
    return describe(IDS_LAYOUTS[dataset])


def read_ids(path: Path | str, dataset: str) -> IdList:
    """All ids in `path`, which must be in one of `dataset`'s layouts; UserError with `file:line` otherwise."""
    table = read_layout(path, "ids", IDS_LAYOUTS[dataset])
    return IdList(ids=table.ids.tolist(), layout=table.layout.name)
