"""A tiny corpus whose images (brightness) and comments (words) both carry the label.

Written in the exact contract of aesthetic-build-splits (core.schemas.split_schema),
so the benchmark reads it as it would a real build.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from aesthetic.core.schemas import split_schema

HIGH_WORDS = ["stunning", "beautiful", "light", "superb", "colors", "sharp", "love"]
LOW_WORDS = ["blurry", "dull", "noisy", "boring", "dark", "flat", "meh"]
NEUTRAL_WORDS = ["the", "photo", "this", "is", "composition", "subject", "nice", "try"]


def _votes(rng: np.random.Generator, high: bool, n_bins: int) -> list[int]:
    centre = 0.72 * n_bins if high else 0.32 * n_bins
    scores = np.clip(np.rint(rng.normal(centre, 0.9, size=60)), 1, n_bins).astype(int)
    return np.bincount(scores - 1, minlength=n_bins).astype(int).tolist()


def _comment(rng: np.random.Generator, high: bool) -> str:
    words = list(rng.choice(HIGH_WORDS if high else LOW_WORDS, size=2)) + list(rng.choice(NEUTRAL_WORDS, size=3))
    rng.shuffle(words)
    return " ".join(words)


def _image(rng: np.random.Generator, high: bool, size: int) -> Image.Image:
    base = 185 if high else 70
    pixels = np.clip(rng.normal(base, 25, size=(size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def make_corpus(
    root: Path,
    *,
    sizes: dict[str, int] | None = None,
    n_bins: int = 10,
    image_size: int = 40,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write `root/corpus/{train,val,test}.parquet` and `root/images/<id>.jpg`; returns (corpus, images)."""
    sizes = sizes or {"train": 96, "val": 32, "test": 48}
    rng = np.random.default_rng(seed)
    corpus, images = Path(root) / "corpus", Path(root) / "images"
    corpus.mkdir(parents=True, exist_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    dataset = "ava" if n_bins == 10 else "photonet"
    schema = split_schema(dataset)
    next_id = 1000
    for split, n in sizes.items():
        rows = []
        for _ in range(n):
            high = bool(rng.random() < 0.5)
            votes = _votes(rng, high, n_bins)
            p = np.asarray(votes, dtype=float) / sum(votes)
            scores = np.arange(1, n_bins + 1)
            mean = float(p @ scores)
            comments = [_comment(rng, high) for _ in range(int(rng.integers(1, 4)))]
            row = {
                "image_id": next_id, "split": split, "votes": votes, "n_votes": sum(votes), "mean_score": mean,
                "std_score": float(np.sqrt(p @ (scores - mean) ** 2)), "label_high": mean > 5,
                "comments": comments, "n_comments": len(comments),
            }
            if dataset == "ava":
                row.update(semantic_tags=[1], challenge_id=7)
            else:
                row.update(variance=row["std_score"] ** 2)
            rows.append(row)
            _image(rng, high, image_size).save(images / f"{next_id}.jpg", quality=90)
            next_id += 1
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), corpus / f"{split}.parquet", compression="zstd")
    return corpus, images
