"""A hand-made build report and tiny split files in the exact shapes the corpus build writes.

Shared by the data-card and Croissant tests, so both are checked against one
statement of the build_report.json contract.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from aesthetic.core.schemas import SPLITS, split_schema

_REPORT: dict[str, Any] = {
    "dataset": "ava",
    "tool_version": "0.1.0",
    "inputs": [
        {"role": "index", "path": "/data/ava/AVA.txt", "sha256": "a" * 64},
        {"role": "comments", "path": "/data/dpc.json", "sha256": "b" * 64},
    ],
    "options": {"val_fraction": 0.05, "drop_score_mentions": False, "threshold": 5.0},
    "partition": {"method": "official-list", "description": "test = available ids of generic_test.jpgl"},
    "funnel": {"in_index": 12, "available": 11, "with_any_comment": 9, "with_usable_comment": 6},
    "splits_before_comment_filter": {"train": 7, "val": 1, "test": 3},
    "splits": {"train": 3, "val": 1, "test": 2},
    "comments": {"raw": 40, "usable": 31},
    "comments_period": {
        "chosen": "all",
        "read": {"during": 30, "after": 10, "unknown": 0},
        "splits": {
            "all": {"train": {"images": 3, "comments": 20}, "val": {"images": 1, "comments": 4},
                    "test": {"images": 2, "comments": 7}},
            "during": {"train": {"images": 3, "comments": 15}, "val": {"images": 1, "comments": 4},
                       "test": {"images": 1, "comments": 5}},
            "after": {"train": {"images": 2, "comments": 5}, "val": {"images": 0, "comments": 0},
                      "test": {"images": 1, "comments": 2}},
        },
        "score_mentions": {"all": 2, "during": 2, "after": 0},
    },
    "rules": [
        {"name": "html", "description": "HTML entities and tags to text", "hits": 5},
        {"name": "useless", "description": "fewer than two word tokens", "hits": 9},
    ],
    "useless_comments": {"policy": "drop", "description": "each useless comment is dropped", "kept": 0},
    "label_leakage": {"score_mentions": 2, "images_with_score_mentions": 1, "dropped": False, "description": "x"},
    "dropped_images": {"no_usable_comment": 5},  # keys beyond the contract are allowed and ignored
    "paper": {"note": "the paper's, not ours", "splits": {"train": 206336, "test": 17380}, "usable_images": 223716},
}


def make_report(**overrides: Any) -> dict[str, Any]:
    """A fresh copy of the sample report, with top-level keys replaced."""
    report = copy.deepcopy(_REPORT)
    report.update(overrides)
    return report


def _rows(dataset: str, split: str, ids: list[int]) -> dict[str, list]:
    scale = 10 if dataset == "ava" else 7
    rows: dict[str, list] = {name: [] for name in split_schema(dataset).names}
    for i in ids:
        votes = [(i + k) % 4 for k in range(scale)]
        n = sum(votes)
        mean = sum((k + 1) * v for k, v in enumerate(votes)) / n
        rows["image_id"].append(i)
        rows["split"].append(split)
        rows["votes"].append(votes)
        rows["n_votes"].append(n)
        rows["mean_score"].append(mean)
        rows["std_score"].append(1.0)
        rows["label_high"].append(mean > 5)
        rows["comments"].append([f"nice light on image {i}", "a bit soft"])
        rows["n_comments"].append(2)
        if dataset == "ava":
            rows["semantic_tags"].append([1, 22])
            rows["challenge_id"].append(1396)
        else:
            rows["variance"].append(1.0)
    return rows


def write_splits(dataset_dir: Path, report: dict[str, Any]) -> None:
    """Write `<split>.parquet` files holding report['splits'][split] rows each."""
    dataset = report["dataset"]
    dataset_dir.mkdir(parents=True, exist_ok=True)
    next_id = 1000
    for split in SPLITS:
        count = report["splits"][split]
        ids = list(range(next_id, next_id + count))
        next_id += count
        table = pa.Table.from_pydict(_rows(dataset, split, ids), schema=split_schema(dataset))
        pq.write_table(table, dataset_dir / f"{split}.parquet", compression="zstd")
