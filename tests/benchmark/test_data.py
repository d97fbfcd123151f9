"""Data errors say what and where and exit 2; skipped images are counted, never silent; the cache is reused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.benchmark.cli import main
from aesthetic.benchmark.data import build_image_cache, load_corpus
from tests.benchmark.conftest import TINY, train_args
from tests.benchmark.synthetic import make_corpus


@pytest.fixture()
def corpus_copy(tiny_corpus, tmp_path) -> tuple[Path, Path]:
    corpus, images = tiny_corpus
    shutil.copytree(corpus, tmp_path / "corpus")
    shutil.copytree(images, tmp_path / "images")
    return tmp_path / "corpus", tmp_path / "images"


def _run(corpus: Path, images: Path, out: Path, *extra: str) -> int:
    return main(["--model", "vision", *train_args(corpus, images, out, out / "cache"), "--epochs", "1", *extra])


def test_missing_split_file(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    (corpus / "test.parquet").unlink()
    assert _run(corpus, images, tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "test.parquet: missing split file" in err and "Traceback" not in err


def test_missing_columns(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    table = pq.read_table(corpus / "train.parquet").drop(["votes"])
    pq.write_table(table, corpus / "train.parquet")
    assert _run(corpus, images, tmp_path / "run") == 2
    assert "train.parquet: missing column(s) votes" in capsys.readouterr().err


def test_text_models_need_the_comments_column(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    pq.write_table(pq.read_table(corpus / "val.parquet").drop(["comments"]), corpus / "val.parquet")
    assert main(["--model", "text", *train_args(corpus, images, tmp_path / "run", tmp_path / "c"), "--epochs", "1"]) == 2
    assert "val.parquet: missing column(s) comments" in capsys.readouterr().err


def test_empty_split(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    pq.write_table(pq.read_table(corpus / "test.parquet").slice(0, 0), corpus / "test.parquet")
    assert _run(corpus, images, tmp_path / "run") == 2
    assert "test.parquet: the split is empty" in capsys.readouterr().err


def test_not_parquet(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    (corpus / "val.parquet").write_text("image_id,votes\n")
    assert _run(corpus, images, tmp_path / "run") == 2
    assert "val.parquet: not a readable Parquet file" in capsys.readouterr().err


def test_missing_images_refused_with_names_then_allowed_and_recorded(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    gone = sorted(images.glob("*.jpg"))[:3]
    for path in gone:
        path.unlink()
    assert _run(corpus, images, tmp_path / "refused") == 2
    err = capsys.readouterr().err
    assert "3 of 176 images are missing" in err and str(gone[0]) in err and "--allow-missing-images" in err
    assert not (tmp_path / "refused" / "metrics.json").exists()

    assert _run(corpus, images, tmp_path / "allowed", "--allow-missing-images") == 0
    record = json.loads((tmp_path / "allowed" / "metrics.json").read_text())
    assert record["images_skipped"] == {"train": 3, "val": 0, "test": 0}
    assert str(gone[0]) in record["skipped_images"][0]
    assert json.loads((tmp_path / "allowed" / "config.json").read_text())["images_per_split"]["train"] == 93


def test_unreadable_jpeg_is_named(corpus_copy, tmp_path, capsys) -> None:
    corpus, images = corpus_copy
    bad = sorted(images.glob("*.jpg"))[-1]
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    assert _run(corpus, images, tmp_path / "run", "--image-size", "32") == 2
    err = capsys.readouterr().err
    assert "1 of 176 images are missing or unreadable" in err and f"{bad} (test, image {bad.stem}): unreadable image" in err


def test_missing_folders(tiny_corpus, tmp_path, capsys) -> None:
    corpus, images = tiny_corpus
    assert _run(tmp_path / "nowhere", images, tmp_path / "run") == 2
    assert "corpus folder not found" in capsys.readouterr().err
    assert _run(corpus, tmp_path / "noimages", tmp_path / "run") == 2
    assert "noimages: image folder not found" in capsys.readouterr().err


def test_no_val_split_holds_out_part_of_train_and_says_so(tmp_path) -> None:
    corpus, _ = make_corpus(tmp_path, sizes={"train": 40, "test": 10})
    loaded = load_corpus(corpus, uses_text=True)
    assert len(loaded.splits["val"]) == 2 and len(loaded.splits["train"]) == 38
    assert not set(loaded.splits["val"]["image_id"]) & set(loaded.splits["train"]["image_id"])
    assert any("held out 2 train images" in note for note in loaded.notes)


def test_photonet_scale_and_threshold_come_from_the_corpus(tmp_path) -> None:
    corpus, _ = make_corpus(tmp_path, sizes={"train": 30, "val": 5, "test": 5}, n_bins=7)
    loaded = load_corpus(corpus, uses_text=False)
    assert loaded.n_bins == 7 and loaded.dataset == "photonet"
    assert loaded.distributions("test").shape == (5, 7)


def test_threshold_inferred_when_labels_used_another_cut(tmp_path) -> None:
    corpus, _ = make_corpus(tmp_path, sizes={"train": 40, "val": 5, "test": 5})
    table = pq.read_table(corpus / "train.parquet").to_pandas()
    table["label_high"] = table["mean_score"] > 6.5
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), corpus / "train.parquet")
    loaded = load_corpus(corpus, uses_text=False)
    means = table["mean_score"]
    assert means[means <= 6.5].max() < loaded.threshold < means[means > 6.5].min()


def test_image_cache_is_built_once_and_reused(tiny_corpus, tmp_path) -> None:
    corpus, images = tiny_corpus
    ids = pq.read_table(corpus / "val.parquet").column("image_id").to_numpy()
    cache, problems = build_image_cache("val", ids, images, tmp_path, 24, workers=2)
    assert problems == [] and cache.ok.all() and cache.array.shape == (len(ids), 3, 24, 24)
    first = np.array(cache.array)
    files = sorted(tmp_path.iterdir())
    again, _ = build_image_cache("val", ids, images, tmp_path, 24, workers=2)
    assert sorted(tmp_path.iterdir()) == files and np.array_equal(np.array(again.array), first)
    assert first.mean() > 0   # actually decoded pixels, not zeros


def test_explicit_threshold_redefines_the_labels(tmp_path) -> None:
    corpus, _ = make_corpus(tmp_path, sizes={"train": 20, "val": 5, "test": 5})
    loaded = load_corpus(corpus, uses_text=False, threshold=6.0)
    test = loaded.splits["test"]
    assert loaded.threshold == 6.0
    assert np.array_equal(loaded.labels("test"), test["mean_score"].to_numpy() > 6.0)


@pytest.mark.parametrize(("change", "message"), [
    ("null_votes", "train.parquet: votes is null in 1 row(s), the first is row 3 of the file"),
    ("null_comments", "train.parquet: comments is null in 1 row(s), the first is row 3 of the file"),
    ("negative_votes", "has a negative vote count"),
])
def test_null_and_negative_values_are_named(corpus_copy, tmp_path, capsys, change, message) -> None:
    # A null list used to end in a TypeError traceback; a negative count trained on a "distribution" below zero.
    corpus, images = corpus_copy
    rows = pq.read_table(corpus / "train.parquet").to_pylist()
    if change == "negative_votes":
        rows[2]["votes"] = [-1, *rows[2]["votes"][1:]]
        rows[2]["votes"][5] += 5
    else:
        rows[2][change.split("_")[1]] = None
    pq.write_table(pa.Table.from_pylist(rows), corpus / "train.parquet")
    assert main(["--model", "text", *train_args(corpus, images, tmp_path / "run", tmp_path / "c"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(("case", "message"), [
    ("trunk_weights", "junk.pth: not a readable PyTorch weights file"),
    ("glove", "vectors.txt: cannot read as a GloVe"),
    ("threshold", "--threshold 10 must lie in [1, 10)"),
    ("missing_images", "3 of 176 images are missing"),
    ("missing_split", "test.parquet: missing split file"),
])
def test_a_refused_run_leaves_no_run_folder(corpus_copy, tmp_path, capsys, case, message) -> None:
    """Every input is read before the first image is decoded into OUT/cache: a wrong --trunk-weights
    or --glove file used to be found only after decoding every image, leaving a run folder behind."""
    corpus, images = corpus_copy
    out = tmp_path / "run"
    extra = {"trunk_weights": ["--trunk-weights", str(tmp_path / "junk.pth")],
             "glove": ["--glove", str(tmp_path / "vectors.txt")], "threshold": ["--threshold", "10"]}.get(case, [])
    (tmp_path / "junk.pth").write_bytes(b"not a weights file")
    (tmp_path / "vectors.txt").write_text("this line is not a word vector\n")
    if case == "missing_images":
        for path in sorted(images.glob("*.jpg"))[:3]:
            path.unlink()
    if case == "missing_split":
        (corpus / "test.parquet").unlink()
    args = ["--model", "mracnn", "--corpus", str(corpus), "--images", str(images), "--out", str(out), *TINY,
            "--epochs", "1", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not out.exists()
