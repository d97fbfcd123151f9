"""When a comment was written: while the challenge was open for voting, or after its results.

DPChallenge lists an image's comments in two groups, those made during the challenge (the
voters had not seen the score) and those made after the results (often "congrats on the
ribbon": they know it). A model trained on after-comments can read its label from them, so
`--comments-period during` keeps only the first group; `all`, the default, is what the MRACNN
paper used (it crawled every comment). Each comment carries a period code.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

PERIODS = ("all", "during", "after")
AFTER, DURING, UNKNOWN = 0, 1, -1
_CODE = {"during": DURING, "after": AFTER}

DESCRIPTION = (
    "during = written while the challenge was open for voting (the score not yet known); after = written once the "
    "results were out; all = both, the MRACNN paper's choice. Comments whose source does not say are counted as "
    "unknown: kept under all, left out of during and after."
)


def codes(flag: pa.Array | pa.ChunkedArray | None, n: int) -> np.ndarray:
    """A during-challenge column (True, False or null) -> period codes (int8); no column: all unknown."""
    out = np.full(n, UNKNOWN, dtype=np.int8)
    if flag is None:
        return out
    values = np.asarray(flag.fill_null(False), dtype=bool)
    known = ~np.asarray(flag.is_null(), dtype=bool)
    out[known] = np.where(values[known], DURING, AFTER)
    return out


def selects(period: str, period_codes: np.ndarray) -> np.ndarray:
    """Which comments `--comments-period period` keeps."""
    if period == "all":
        return np.ones(len(period_codes), dtype=bool)
    return period_codes == _CODE[period]
