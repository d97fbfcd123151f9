"""Labels from vote counts, and deterministic partitions."""

from __future__ import annotations

import numpy as np

from aesthetic.corpus.labels import compute_labels
from aesthetic.corpus.splits import SPLIT_CODES, carve_val, hash_partition, unit_hash


def test_labels_from_votes() -> None:
    votes = np.array([[0, 0, 0, 0, 2, 0, 0, 0, 0, 2], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10])
    labels = compute_labels(votes, threshold=5.0)
    assert labels.n_votes.tolist() == [4, 1, 0]
    assert labels.mean[:2].tolist() == [7.5, 1.0]
    assert labels.std[:2].tolist() == [2.5, 0.0]
    assert labels.high[:2].tolist() == [True, False]
    assert np.isnan(labels.mean[2])  # no votes, no label: the build drops these and counts them


def test_threshold_is_strict_and_configurable() -> None:
    votes = np.array([[0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1, 0]])
    assert compute_labels(votes, 5.0).high.tolist() == [False, True]
    assert compute_labels(votes, 6.0).high.tolist() == [False, False]


def test_unit_hash_is_stable_and_uniform() -> None:
    ids = np.arange(20_000)
    h = unit_hash(ids, "ava:val")
    assert np.array_equal(h, unit_hash(ids, "ava:val"))
    assert np.array_equal(unit_hash(ids[::-1], "ava:val"), h[::-1])  # depends on the id only
    assert abs(h.mean() - 0.5) < 0.01 and 0 <= h.min() and h.max() < 1


def test_val_is_carved_from_train_only_and_independent_of_other_images() -> None:
    ids = np.arange(10_000)
    codes = np.where(ids % 10 == 0, SPLIT_CODES["test"], SPLIT_CODES["train"]).astype(np.int8)
    carved = carve_val(ids, codes, 0.05, "ava")
    assert np.all(carved[codes == SPLIT_CODES["test"]] == SPLIT_CODES["test"])
    assert abs((carved == SPLIT_CODES["val"]).sum() / (codes == SPLIT_CODES["train"]).sum() - 0.05) < 0.01
    half = carve_val(ids[:5000], codes[:5000], 0.05, "ava")
    assert np.array_equal(half, carved[:5000])


def test_hash_partition_follows_the_proportions() -> None:
    ids = np.arange(50_000)
    part = hash_partition(ids, np.ones(len(ids), bool), {"train": 11754, "val": 782, "test": 2409}, "photonet")
    counts = part.counts()
    assert part.method == "hash"
    assert abs(counts["test"] / 50_000 - 2409 / 14945) < 0.01
    assert abs(counts["val"] / 50_000 - 782 / 14945) < 0.01
