"""Per-image labels from a vote histogram: count, mean, standard deviation, high/low.

As in the MRACNN paper (and NIMA before it): over scores s_1..s_N the distribution p = counts / n, the mean
mu = sum s_i p_i, its standard deviation, and label_high = mu > threshold (5 in the
paper, configurable). Vectorised over all images at once with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class RatedImages:
    """The rating index of a dataset, one row per image, sorted by image id.

    `extra` holds the dataset's own columns (AVA: semantic_tags, challenge_id; Photo.net:
    variance) as arrays aligned with `ids`, in the order of the split schema. `no_histogram`
    marks the lines that give no vote counts (Datta's mean-only lines): their `votes` are zero
    and the build leaves them out. `notes` says what the reader found, for the build report.
    """

    ids: np.ndarray          # int64, sorted, unique
    votes: np.ndarray        # int32 (n, number of scores)
    extra: dict[str, np.ndarray]
    no_histogram: np.ndarray  # bool, aligned with ids
    notes: dict[str, Any]


@dataclass
class Labels:
    """Derived labels, aligned with the vote matrix they came from."""

    n_votes: np.ndarray      # int32
    mean: np.ndarray         # float64; NaN where n_votes == 0
    std: np.ndarray          # float64; NaN where n_votes == 0
    high: np.ndarray         # bool


def compute_labels(votes: np.ndarray, threshold: float) -> Labels:
    """Mean and (population) std of the score for each row of `votes` (counts for scores 1..N).

    Images without any vote get NaN; the build drops them and counts them in the report.
    """
    counts = votes.astype(np.float64)
    n = counts.sum(axis=1)
    scores = np.arange(1, votes.shape[1] + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = counts @ scores / n
        var = counts @ (scores**2) / n - mean**2
    std = np.sqrt(np.clip(var, 0.0, None))
    return Labels(n_votes=n.astype(np.int32), mean=mean, std=std, high=mean > threshold)
