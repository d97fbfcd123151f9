"""Fixtures for the corpus build: a generated AVA.txt over the real AVA ids, small Photo.net files."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.core.schemas import COMMENTS_SCHEMA

from tests.conftest import shared_file

N_SCORES = 10


def write_ava_txt(path: Path, ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """AVA.txt in the official 15-column layout with random votes; returns the vote matrix."""
    rng = np.random.default_rng(seed)
    votes = rng.integers(0, 40, (len(ids), N_SCORES))
    votes[:, 4] += 1  # every image has at least one vote
    rows = np.column_stack([np.arange(1, len(ids) + 1), ids, votes,
                            rng.integers(0, 67, (len(ids), 2)), rng.integers(1, 1500, len(ids))])
    np.savetxt(path, rows, fmt="%d")
    return votes


@pytest.fixture(scope="session")
def real_lists() -> tuple[Path, Path]:
    """(aesthetics_image_lists folder, ILGnet available-ids file) from ../shared/data."""
    return (shared_file("ava", "aesthetics_image_lists", "generic_test.jpgl").parent,
            shared_file("ava", "available_ids", "ilgnet_ids_labels.txt"))


@pytest.fixture(scope="session")
def dpc_json() -> Path:
    return shared_file("comments", "dpc_captions_impression_and_subject.json")


@pytest.fixture(scope="session")
def ava_dir(tmp_path_factory: pytest.TempPathFactory, real_lists: tuple[Path, Path]) -> Path:
    """An AVA folder: generated AVA.txt over every real available id and official test id, the real lists."""
    lists, available = real_lists
    folder = tmp_path_factory.mktemp("ava")
    available_ids = np.loadtxt(available, dtype=np.int64, usecols=0)
    test_ids = np.loadtxt(lists / "generic_test.jpgl", dtype=np.int64)
    write_ava_txt(folder / "AVA.txt", np.union1d(available_ids, test_ids))
    os.symlink(lists, folder / "aesthetics_image_lists")
    return folder


@pytest.fixture(scope="session")
def built_ava(tmp_path_factory: pytest.TempPathFactory, ava_dir: Path, real_lists: tuple[Path, Path],
              dpc_json: Path) -> Path:
    """One full AVA build with the real DPC-Captions comments; returns <out>/ava."""
    from aesthetic.corpus.cli import main

    out = tmp_path_factory.mktemp("built")
    assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(dpc_json), "--available-ids",
                 str(real_lists[1]), "--out", str(out), "--quiet"]) == 0
    return out / "ava"


def write_photonet(folder: Path, n: int = 400, seed: int = 1) -> tuple[Path, Path]:
    """A small Photo.net ratings file in the layout of Datta's release (12 columns, CRLF) and a JSONL
    comment dump for it."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1000, 1000 + n)
    votes = rng.integers(0, 9, (n, 7))
    votes[:, 3] += 1
    scores = np.arange(1, 8)
    mean = votes @ scores / votes.sum(axis=1)
    variance = votes @ scores**2 / votes.sum(axis=1) - mean**2
    ratings = folder / "ratings.txt"
    ratings.write_bytes("".join(
        f"{row} {i} {v.sum()} {m:.2f} {var:.15g} {' '.join(map(str, v))}\r\n"
        for row, (i, v, m, var) in enumerate(zip(ids, votes, mean, variance), start=1)).encode())
    comments = folder / "comments.jsonl"
    lines = []
    for i in ids:
        lines.append(f'{{"image_id": {i}, "text": "lovely tones in photo {i}"}}')
        if i % 3 == 0:
            lines.append(f'{{"image_id": {i}, "text": "wow"}}')
    comments.write_text("\n".join(lines) + "\n")
    return ratings, comments


def write_crawl_part(path: Path, rows: list[tuple], dataset: str = "ava") -> None:
    """A crawl output part in the comments contract: rows of (image_id, position, text[, during_challenge])."""
    now = datetime(2026, 9, 5, tzinfo=timezone.utc)
    n = len(rows)
    columns = {f.name: [None] * n for f in COMMENTS_SCHEMA}
    columns.update(dataset=[dataset] * n, image_id=[r[0] for r in rows], position=[r[1] for r in rows],
                   text=[r[2] for r in rows], during_challenge=[r[3] if len(r) > 3 else None for r in rows],
                   source_url=["u"] * n, source=["live"] * n, fetched_at=[now] * n, parser_version=["1"] * n)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(columns, schema=COMMENTS_SCHEMA), path)
