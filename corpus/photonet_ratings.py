"""Photo.net's ratings, as Ritendra Datta released them, and published split files.

The ratings file is Datta's `photonet_dataset.txt` (March '09 release, the 20,278 photos the
paper uses), layout `core.layouts.DATTA_PHOTONET`: index, photo id, number of ratings, mean,
variance, counts of ratings 1..7. Read as shipped:

- `votes` are the seven counts (columns 6-12) and `n_votes` is their sum. On 2,780 lines of the
  full release the counts do not add up to column 3's number of ratings (nor is column 4 their
  mean); the counts are what a distribution model learns from, so they are kept, and the build
  report counts those lines.
- 1,173 lines know only the mean (columns 5-12 are -1). No histogram is invented for them:
  they are left out of the splits and counted in the build report (`aesthetic-crawl --ids`
  still crawls them; their pages have comments).
- Column 5, documented as the standard deviation, is the variance of the counts: the splits
  carry it, as released, under the name `variance`.

A split file is `<photo_id> <train|val|test>` per line (`core.layouts.SPLIT_FILE`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aesthetic.core.layouts import DATTA_PHOTONET, SPLIT_FILE, read_layout
from aesthetic.corpus.labels import RatedImages

PHOTONET_SCORES = 7
COUNTS = [f"c{score}" for score in range(1, PHOTONET_SCORES + 1)]
N_VOTES_NOTE = ("n_votes is the sum of the seven counts (columns 6-12); on the lines counted in "
                "counts_not_adding_up_to_n_ratings it differs from column 3, the release's number of ratings")


def read_photonet_ratings(path: Path) -> RatedImages:
    """Datta's Photo.net release, validated line by line, sorted by photo id."""
    table = read_layout(path, "ratings", [DATTA_PHOTONET])
    frame = table.frame
    mean_only = table.unknown()
    counts = frame[COUNTS].to_numpy(np.int32)
    counts[mean_only] = 0
    mismatched = ~mean_only & (counts.sum(axis=1) != frame["n_ratings"].to_numpy())
    order = np.argsort(table.ids, kind="stable")
    return RatedImages(
        ids=table.ids[order],
        votes=counts[order],
        extra={"variance": frame["variance"].to_numpy(np.float64)[order]},
        no_histogram=mean_only[order],
        notes={
            "layout": DATTA_PHOTONET.name,
            "lines": len(frame),
            "mean_only_lines_left_out": int(mean_only.sum()),
            "counts_not_adding_up_to_n_ratings": int(mismatched.sum()),
            "n_votes": N_VOTES_NOTE,
        },
    )


def read_split_file(path: Path) -> pd.DataFrame:
    """A published partition, `<photo_id> <train|val|test>` per line, validated (columns image_id, split)."""
    return read_layout(path, "split file", [SPLIT_FILE]).frame
