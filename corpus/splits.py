"""Assigning images to train / val / test, deterministically.

Two sources of truth: an official or published list (AVA's generic_test.jpgl, a
Photo.net split file), or, when there is none, a hash of the image id. Hashing
(the image id mixed with a blake2b key of "<dataset>:<purpose>", see `unit_hash`) rather than a seeded shuffle means an
image's split never depends on which other images are present: adding comments
or images later never moves an image from train to test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from aesthetic.core.schemas import SPLITS

SPLIT_CODES = {name: code for code, name in enumerate(SPLITS)}  # train 0, val 1, test 2
# GPF-CNN's Photo.net partition, the one MRACNN used (Zhang et al. 2019, as the MRACNN paper reports it).
PHOTONET_PROPORTIONS = {"train": 11754, "val": 782, "test": 2409}


@dataclass
class Partition:
    """Split code (SPLIT_CODES, or -1 = in no split) per image of the index, plus how it was made."""

    codes: np.ndarray        # int8, aligned with the index ids
    method: str              # "official-list" | "split-file" | "hash"
    description: str

    def counts(self, mask: np.ndarray | None = None) -> dict[str, int]:
        codes = self.codes if mask is None else self.codes[mask]
        return {name: int(np.count_nonzero(codes == code)) for name, code in SPLIT_CODES.items()}


def unit_hash(ids: np.ndarray, salt: str) -> np.ndarray:
    """A uniform number in [0, 1) per id, the same for the same (salt, id) on every machine.

    The salt is hashed once with blake2b; each id is then mixed with it by the splitmix64
    finaliser in numpy (wrapping uint64 arithmetic), which is vectorised and platform-independent.
    """
    key = np.uint64(int.from_bytes(hashlib.blake2b(salt.encode(), digest_size=8).digest(), "big"))
    x = ids.astype(np.uint64) ^ key
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def carve_val(ids: np.ndarray, codes: np.ndarray, fraction: float, dataset: str) -> np.ndarray:
    """Move the train images whose id hashes below `fraction` to val; returns new codes."""
    codes = codes.copy()
    train = codes == SPLIT_CODES["train"]
    h = unit_hash(ids[train], f"{dataset}:val")
    sub = codes[train]
    sub[h < fraction] = SPLIT_CODES["val"]
    codes[train] = sub
    return codes


def official_test_partition(ids: np.ndarray, available: np.ndarray, test_ids: np.ndarray,
                            val_fraction: float, dataset: str, list_name: str) -> Partition:
    """test = listed ids that are available; train = the other available ids; val carved from train."""
    codes = np.full(len(ids), -1, dtype=np.int8)
    codes[available] = SPLIT_CODES["train"]
    codes[available & np.isin(ids, test_ids)] = SPLIT_CODES["test"]
    codes = carve_val(ids, codes, val_fraction, dataset)
    return Partition(
        codes,
        "official-list",
        f"test = the ids of {list_name} that are available; train = every other available id; "
        f"val = the train ids whose hash (splitmix64 of the id keyed by blake2b('{dataset}:val')) falls below {val_fraction}",
    )


def split_file_partition(ids: np.ndarray, available: np.ndarray, file_ids: np.ndarray,
                         file_splits: np.ndarray, file_name: str) -> Partition:
    """The published partition, as given; available images the file does not list are in no split."""
    codes = np.full(len(ids), -1, dtype=np.int8)
    pos = np.searchsorted(ids, file_ids)
    codes[pos] = np.array([SPLIT_CODES[s] for s in file_splits], dtype=np.int8)
    codes[~available] = -1
    return Partition(codes, "split-file", f"the published partition in {file_name} (<id> <train|val|test>)")


def hash_partition(ids: np.ndarray, available: np.ndarray, proportions: dict[str, int], dataset: str) -> Partition:
    """Deterministic split in the given proportions by a hash of each image id."""
    total = sum(proportions.values())
    h = unit_hash(ids, f"{dataset}:split")
    test_cut = proportions["test"] / total
    val_cut = test_cut + proportions["val"] / total
    codes = np.where(h < test_cut, SPLIT_CODES["test"], np.where(h < val_cut, SPLIT_CODES["val"], SPLIT_CODES["train"]))
    codes = codes.astype(np.int8)
    codes[~available] = -1
    ratio = " : ".join(f"{proportions[s]:,}" for s in SPLITS)
    return Partition(codes, "hash", f"no split file: deterministic split in the proportions train : val : test = {ratio} "
                     f"by a hash of the id (splitmix64 keyed by blake2b('{dataset}:split'))")
