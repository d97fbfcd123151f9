"""Read a corpus dataset folder (aesthetic-build-splits output) and its images, for training.

Why a decoded-image cache: decoding and resizing ~250k JPEGs every epoch makes
training JPEG-bound. Each split is decoded once into a uint8 array on disk
(numpy memmap, [n, 3, S, S]) keyed by the image ids, the image folder and the
size; later epochs and later runs read raw pixels. Normalisation happens on
the device, so the loader only moves bytes.

Why so strict about missing images: a run that silently trains on fewer
images than the user thinks produces numbers nobody can compare. Missing and
unreadable images are counted, printed and recorded; above a small fraction
the run refuses unless the user says `--allow-missing-images`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from aesthetic.benchmark.config import DEFAULT_VAL_FRACTION
from aesthetic.benchmark.metrics import mean_scores
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text
from aesthetic.core.log import progress_bar
from aesthetic.core.schemas import SPLITS

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("image_id", "votes")
TEXT_COLUMNS = ("comments",)
DEFAULT_THRESHOLD = 5.0          # the paper's: high = mean > 5, for both datasets unless the labels say otherwise
N_BINS_TO_DATASET = {10: "ava", 7: "photonet"}


@dataclass
class Corpus:
    """The splits of one dataset, with what the metrics need to know about its scale."""

    path: Path
    dataset: str
    n_bins: int
    threshold: float
    splits: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)

    def distributions(self, split: str) -> np.ndarray:
        """Normalised vote histograms [n, n_bins] of `split` (the training targets)."""
        return vote_distributions(self.splits[split]).astype(np.float32)

    def labels(self, split: str) -> np.ndarray:
        return self.splits[split]["label_high"].to_numpy(dtype=bool)


def vote_distributions(frame: pd.DataFrame) -> np.ndarray:
    """Each row's vote counts normalised to sum 1: [n, n_bins] float64."""
    votes = np.asarray(frame["votes"].tolist(), dtype=np.float64)
    return votes / votes.sum(axis=1, keepdims=True)


def _read_split(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise UserError(f"{path}: not a readable Parquet file ({err})") from err
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(table.column_names)}",
            hint="--corpus must be a dataset folder written by aesthetic-build-splits",
        )
    frame = table.to_pandas()
    if frame.empty:
        raise UserError(f"{path}: the split is empty (0 images)")
    for column in columns:
        null = np.flatnonzero(frame[column].isna().to_numpy())
        if len(null):
            raise UserError(f"{path}: {column} is null in {len(null)} row(s), the first is row {null[0] + 1} of the file")
    return frame


def _check_votes(path: Path, frame: pd.DataFrame) -> int:
    lengths = frame["votes"].map(len)
    n_bins = int(lengths.iloc[0])
    bad = frame[lengths != n_bins]
    if len(bad):
        raise UserError(
            f"{path}: image {int(bad['image_id'].iloc[0])} has {len(bad['votes'].iloc[0])} vote counts, "
            f"the first image has {n_bins}"
        )
    votes = np.asarray(frame["votes"].tolist())
    for bad, why in ((votes.min(axis=1, initial=0) < 0, "a negative vote count"),
                     (votes.sum(axis=1) <= 0, "no votes (its distribution is undefined)")):
        if bad.any():
            raise UserError(f"{path}: image {int(frame['image_id'].iloc[np.argmax(bad)])} has {why}")
    return n_bins


def _pick_threshold(frame: pd.DataFrame, override: float | None, notes: list[str]) -> float:
    """5.0 (the paper's) unless overridden, or unless the shipped labels were made with another one.

    A corpus built with a different threshold (e.g. Photo.net with its own
    cut-off) still evaluates consistently: we take the midpoint between the
    highest 'low' and the lowest 'high' mean in the train split.
    """
    if override is not None:
        return float(override)
    if "label_high" not in frame:
        return DEFAULT_THRESHOLD
    high = frame["label_high"].to_numpy(dtype=bool)
    means = frame["mean_score"].to_numpy(dtype=np.float64)
    if np.array_equal(means > DEFAULT_THRESHOLD, high) or high.all() or not high.any():
        return DEFAULT_THRESHOLD
    threshold = float((means[~high].max() + means[high].min()) / 2)
    notes.append(f"label_high was not made with mean > {DEFAULT_THRESHOLD}; using threshold {threshold:.4f} from the labels")
    return threshold


def load_corpus(
    path: Path,
    *,
    uses_text: bool,
    limit: int | None = None,
    threshold: float | None = None,
    seed: int = 0,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    splits: Sequence[str] = SPLITS,
) -> Corpus:
    """Read the `splits` (train/val/test.parquet); hold out `val_fraction` of train when there is no val split.

    `limit` keeps the first N images (by image_id) of each split, for quick runs.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: corpus folder not found", hint="pass the dataset folder, e.g. corpus-out/ava")
    columns = REQUIRED_COLUMNS + (TEXT_COLUMNS if uses_text else ())
    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for split in splits:
        file = path / f"{split}.parquet"
        if not file.exists():
            if split == "val" and "train" in splits:
                continue
            found = ", ".join(sorted(p.name for p in path.glob("*.parquet"))) or "no .parquet files"
            raise UserError(f"{file}: missing split file (found {found})", hint="run aesthetic-build-splits first")
        frame = _read_split(file, columns).sort_values("image_id", kind="stable").reset_index(drop=True)
        frames[split] = frame.head(limit).reset_index(drop=True) if limit else frame
    n_bins = {split: _check_votes(path / f"{split}.parquet", frame) for split, frame in frames.items()}
    if len(set(n_bins.values())) != 1:
        raise UserError(f"{path}: the splits disagree on the number of score bins: {n_bins}")
    first = next(iter(frames))
    bins = n_bins[first]
    if threshold is not None and not 1 <= threshold < bins:
        raise UserError(f"--threshold {threshold:g} must lie in [1, {bins}) for {path}, whose scores run from 1 "
                        f"to {bins}: every image would be on one side of it")
    for frame in frames.values():
        frame["mean_score"] = mean_scores(vote_distributions(frame))
    if "val" in splits and "val" not in frames:
        frames["train"], frames["val"] = _hold_out(frames["train"], val_fraction, seed)
        notes.append(f"no val split: held out {len(frames['val'])} train images (fraction {val_fraction}, seed {seed}) for early stopping")
    chosen = _pick_threshold(frames[first], threshold, notes)
    for frame in frames.values():
        if "label_high" not in frame or threshold is not None:   # an explicit --threshold redefines "high"
            frame["label_high"] = frame["mean_score"] > chosen
    if "semantic_tags" in frames[first]:
        dataset = "ava"
    else:
        dataset = N_BINS_TO_DATASET.get(bins, f"{bins}-bin")
    for note in notes:
        log.warning("%s", note)
    return Corpus(path=path, dataset=dataset, n_bins=bins, threshold=chosen, splits=frames, notes=notes)


def _hold_out(train: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    if len(train) < 2:
        raise UserError("the train split has fewer than 2 images and there is no val split to stop early on")
    n_val = min(len(train) - 1, max(1, round(len(train) * fraction)))
    order = np.random.default_rng(seed).permutation(len(train))
    val_rows = np.sort(order[:n_val])
    keep = np.ones(len(train), dtype=bool)
    keep[val_rows] = False
    return train[keep].reset_index(drop=True), train.iloc[val_rows].reset_index(drop=True)


# ---------------------------------------------------------------- images


@dataclass
class ImageProblem:
    split: str
    image_id: int
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.split}, image {self.image_id}): {self.reason}"


def _refuse_if_too_many(problems: list[ImageProblem], total: int, max_fraction: float | None, what: str) -> None:
    if not problems or max_fraction is None or len(problems) <= max_fraction * total:
        return
    shown = "\n  ".join(str(p) for p in problems[:5])
    more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
    raise UserError(
        f"{len(problems)} of {total} images are {what} (more than {max_fraction:.2%}):\n  {shown}{more}",
        hint="fix the image folder, or pass --allow-missing-images to train on the rest (the count is recorded)",
    )


def find_missing_images(corpus: Corpus, images: Path) -> list[ImageProblem]:
    """Every image file the splits name that is not in `images` (a cheap stat, before any decoding)."""
    images = Path(images)
    if not images.is_dir():
        raise UserError(f"{images}: image folder not found", hint="--images must hold <image_id>.jpg files")
    problems = []
    for split, frame in corpus.splits.items():
        for image_id in frame["image_id"]:
            file = images / f"{int(image_id)}.jpg"
            if not file.is_file():
                problems.append(ImageProblem(split, int(image_id), file, "missing file"))
    return problems


@dataclass
class ImageCache:
    """A split's images decoded and resized to [n, 3, size, size] uint8, in a file on disk.

    Opened lazily in each DataLoader worker (memmaps do not survive pickling
    cheaply), so worker processes share the page cache, not copies.
    """

    path: Path
    n: int
    size: int
    ok: np.ndarray                 # [n] bool: decoded fine
    _array: np.ndarray | None = field(default=None, repr=False)

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(self.n, 3, self.size, self.size))
        return self._array

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}


def _decode(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as img:
        img = img.convert("RGB").resize((size, size), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def _cache_key(ids: np.ndarray, images: Path, size: int) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    digest.update(f"{Path(images).resolve()}|{size}".encode())
    return digest.hexdigest()[:16]


def build_image_cache(
    split: str, ids: np.ndarray, images: Path, cache_dir: Path, size: int, *, workers: int = 4
) -> tuple[ImageCache, list[ImageProblem]]:
    """Decode the split's images once (reused while ids, folder and size are unchanged).

    Returns the cache and the images that could not be read (missing or not a
    decodable image); their rows stay zero and `ok` is False.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{split}-{size}px-{_cache_key(ids, images, size)}"
    data, meta = cache_dir / f"{stem}.u8", cache_dir / f"{stem}.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        problems = [ImageProblem(split, int(i), Path(images) / f"{int(i)}.jpg", r) for i, r in info["problems"]]
        log.info("image cache %s: %d images reused", data, len(ids))
        return ImageCache(data, len(ids), size, np.asarray(info["ok"], dtype=bool)), problems
    out = np.memmap(data, dtype=np.uint8, mode="w+", shape=(len(ids), 3, size, size))
    ok = np.zeros(len(ids), dtype=bool)
    problems: list[ImageProblem] = []

    def work(row: int) -> tuple[int, str | None]:
        file = Path(images) / f"{int(ids[row])}.jpg"
        try:
            out[row] = _decode(file, size)
        except FileNotFoundError:
            return row, "missing file"
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
            return row, f"unreadable image ({type(err).__name__}: {err})"
        return row, None

    with progress_bar(total=len(ids), desc=f"decode {split} images", unit="img") as bar, ThreadPoolExecutor(max(1, workers)) as pool:
        for row, reason in pool.map(work, range(len(ids))):
            bar.update(1)
            if reason is None:
                ok[row] = True
            else:
                problems.append(ImageProblem(split, int(ids[row]), Path(images) / f"{int(ids[row])}.jpg", reason))
    out.flush()
    del out
    # The sidecar is written last: its presence means the cache is complete.
    atomic_write_text(meta, json.dumps({"ok": ok.tolist(), "problems": [[p.image_id, p.reason] for p in problems]}))
    return ImageCache(data, len(ids), size, ok), problems


def check_images_exist(corpus: Corpus, images: Path, *, max_missing_fraction: float | None) -> None:
    """Refuse, by a cheap stat of every file, when too many images are missing: before hours of decoding."""
    total = sum(len(f) for f in corpus.splits.values())
    _refuse_if_too_many(find_missing_images(corpus, images), total, max_missing_fraction, "missing")


def prepare_images(
    corpus: Corpus,
    images: Path,
    cache_dir: Path,
    size: int,
    *,
    max_missing_fraction: float | None,
    workers: int = 4,
) -> tuple[dict[str, ImageCache], list[ImageProblem]]:
    """Decode and cache every split's images; refuse if too many are missing or unreadable.

    Images that fail are dropped from their split's rows (in `corpus.splits`)
    and returned, so the caller prints and records the count.
    """
    total = sum(len(f) for f in corpus.splits.values())
    caches: dict[str, ImageCache] = {}
    problems: list[ImageProblem] = []
    for split, frame in corpus.splits.items():
        cache, bad = build_image_cache(split, frame["image_id"].to_numpy(), images, cache_dir, size, workers=workers)
        caches[split] = cache
        problems += bad
    _refuse_if_too_many(problems, total, max_missing_fraction, "missing or unreadable")
    for split, cache in caches.items():
        if not cache.ok.all():
            frame = corpus.splits[split]
            frame["cache_row"] = np.arange(len(frame))
            corpus.splits[split] = frame[cache.ok].reset_index(drop=True)
            if corpus.splits[split].empty:
                raise UserError(f"{split}: no readable images left in the split")
    for problem in problems:
        log.warning("skipped image: %s", problem)
    if problems:
        log.warning("skipped %d of %d images (missing or unreadable); the count is recorded in metrics.json", len(problems), total)
    return caches, problems


# ---------------------------------------------------------------- torch side


class SplitDataset(Dataset):
    """One split as dicts of tensors: uint8 image, token ids, target distribution."""

    def __init__(self, target: np.ndarray, *, cache: ImageCache | None, cache_rows: np.ndarray | None, tokens: np.ndarray | None) -> None:
        self.target = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
        self.cache = cache
        self.cache_rows = cache_rows
        self.tokens = None if tokens is None else torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {"target": self.target[index]}
        if self.cache is not None:
            item["image"] = torch.from_numpy(np.array(self.cache.array[self.cache_rows[index]]))
        if self.tokens is not None:
            item["tokens"] = self.tokens[index]
        return item


def make_dataset(
    corpus: Corpus,
    split: str,
    *,
    cache: ImageCache | None,
    encode: Callable[[Sequence[Sequence[str]]], np.ndarray] | None,
) -> SplitDataset:
    """The split as a Dataset; `encode` turns every image's comments into [n, max_tokens] token ids
    (Vocab.encode_many, which tokenizes a large split in worker processes)."""
    frame = corpus.splits[split]
    rows = frame["cache_row"].to_numpy() if "cache_row" in frame else np.arange(len(frame))
    tokens = None if encode is None else encode(frame["comments"].tolist())
    return SplitDataset(corpus.distributions(split), cache=cache, cache_rows=rows, tokens=tokens)
