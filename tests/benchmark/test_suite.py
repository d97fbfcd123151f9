"""`aesthetic-benchmark suite`: the paper's Tables I-III on CPU (--preset cpu-smoke), every number from its run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from aesthetic.benchmark.cli import main
from aesthetic.benchmark.config import TrainConfig
from aesthetic.benchmark.data import load_corpus
from aesthetic.benchmark.metrics import compute_metrics
from aesthetic.benchmark.paper import METRICS, PAPER_TABLES, RowKey, paper_tables
from aesthetic.benchmark.suite import make_plan
from tests.benchmark.synthetic import make_corpus

# The preset as a user runs it, with heads small enough for CI (its trunks and image sizes are kept: Table II
# runs the whole AlexNet, VGG-16 and Inception-v3 networks).
SMALL = ["--limit", "16", "--lstm-hidden", "16", "--attn-hidden", "16", "--mfb-o", "32", "--mfb-k", "2",
         "--text-maps", "8", "--embed-dim", "16", "--quiet"]


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_corpus(tmp_path_factory.mktemp("suite-corpus"), sizes={"train": 24, "val": 16, "test": 16},
                       image_size=32)


def _suite(corpus: Path, images: Path, out: Path, *extra: str) -> list[str]:
    return ["suite", "--preset", "cpu-smoke", "--corpus", str(corpus), "--images", str(images), "--out", str(out),
            "--tables", "I,II,III", *SMALL, *extra]


@pytest.fixture(scope="module")
def smoke(small_corpus, tmp_path_factory) -> Path:
    corpus, images = small_corpus
    out = tmp_path_factory.mktemp("suite") / "smoke"
    assert main(_suite(corpus, images, out)) == 0
    return out


def _recomputed(suite: Path, corpus: Path, run: str) -> dict:
    """The six metrics from the run's own predictions.parquet against the test split's first 16 images (their
    vote distributions as the benchmark reads them: float32, the training targets)."""
    predictions = pq.read_table(suite / run / "predictions.parquet").to_pandas()
    test = load_corpus(corpus, uses_text=False, limit=16, splits=("test",))
    assert predictions["image_id"].tolist() == test.splits["test"]["image_id"].tolist()
    metrics = compute_metrics(np.stack(predictions["predicted_distribution"].to_numpy()), test.distributions("test"),
                              threshold=5.0, true_labels=test.labels("test"))
    return {name: getattr(metrics, name) for name in METRICS}


@pytest.mark.slow
def test_cpu_smoke_runs_every_row_of_tables_i_to_iii_once(smoke) -> None:
    suite = json.loads((smoke / "suite.json").read_text())
    assert [t["table"] for t in suite["tables"]] == ["I", "II", "III"] and suite["preset"] == "cpu-smoke"
    runs = set()
    for table in suite["tables"]:
        paper = PAPER_TABLES[table["table"]]
        assert [RowKey.from_dict(row["key"]) for row in table["rows"]] == [row.key for row in paper.rows]
        for row, paper_row in zip(table["rows"], paper.rows):
            key, run_key = RowKey.from_dict(row["key"]), RowKey.from_dict(row["run_key"])
            assert row["ours"] is not None and row["n_images"] == 16, row["paper_row"]
            assert "cpu-smoke" in row["labels"] and row["paper"] == paper_row.metrics()
            if table["table"] == "II" or key.trunk is None:          # Table II runs the paper's trunks
                assert run_key == key
            else:                                                     # mobilenet_v2 stands in, and says so
                assert run_key == key.with_trunk("mobilenet_v2") and "mobilenet_v2 in place of vgg16" in row["labels"]
            assert row["run"] == f"runs/{run_key.slug()}"
            if run_key.trunk:
                assert "untrained trunk" in row["labels"]
            runs.add(row["run"])
    # MRACNN MFB, T = 3, 1 layer is in Tables I and III (mobilenet_v2) and II (VGG-16): two runs, not three.
    rows = [r for t in suite["tables"] for r in t["rows"]]
    assert len(rows) == 18 and len(runs) == len(suite["runs"]) == 17
    assert sum(r["run"] == "runs/mracnn-mobilenet_v2-mfb-T3-L1" for r in rows) == 2
    assert sorted(p.name for p in (smoke / "runs").iterdir()) == sorted(r.removeprefix("runs/") for r in runs)


@pytest.mark.slow
def test_every_number_comes_from_its_own_runs_predictions(smoke, small_corpus) -> None:
    corpus, _ = small_corpus
    suite = json.loads((smoke / "suite.json").read_text())
    seen = {}
    for table in suite["tables"]:
        for row in table["rows"]:
            ours = _recomputed(smoke, corpus, row["run"])
            for name in METRICS:
                paper = row["paper"][name]
                difference = None if paper is None or ours[name] is None else ours[name] - paper
                for got, expected in ((row["ours"][name], ours[name]), (row["difference"][name], difference)):
                    assert (got is None and expected is None) or got == pytest.approx(expected, rel=1e-9, abs=1e-12), (
                        row["run"], name)
            predictions = pq.read_table(smoke / row["run"] / "predictions.parquet").to_pandas()
            seen[row["run"]] = np.stack(predictions["predicted_distribution"].to_numpy()).tobytes()
    assert len(set(seen.values())) == len(seen)      # 17 runs, 17 different sets of predictions: no row borrows


@pytest.mark.slow
def test_suite_md_prints_each_table_beside_the_papers_numbers(smoke, capsys) -> None:
    text = (smoke / "suite.md").read_text()
    for name in ("I", "II", "III"):
        assert f"## Table {name}: {PAPER_TABLES[name].title}" in text
        for row in PAPER_TABLES[name].rows:
            assert f"| {row.label}: `" in text, row.label
    assert "| | paper | 85.68 | 0.8310 | 0.8431 | 0.3271 | 0.4193 | 0.0371 |" in text      # MRACNN MFB (VGG-16)
    assert "| | paper | 76.37 | not transcribed |" in text                                  # AlexNet: accuracy only
    assert "| | paper | not transcribed |" in text                                          # Table I, T = 1
    assert "Zhang" in text and "10.1109/TMM.2020.2985526" in text


@pytest.mark.slow
def test_a_killed_suite_continues_and_finished_runs_are_kept(smoke, small_corpus, capsys) -> None:
    corpus, images = small_corpus
    before = json.loads((smoke / "suite.json").read_text())
    redo = smoke / "runs" / "text"
    (redo / "metrics.json").unlink()                       # killed after its last checkpoint, before its report
    (redo / "predictions.parquet").unlink()
    kept = {p: p.stat().st_mtime_ns for p in (smoke / "runs").glob("*/metrics.json")}
    assert main(_suite(corpus, images, smoke, "--list")) == 0
    listing = capsys.readouterr().out
    assert "text" in listing and "started (resumes)" in listing and listing.count("done, trained in") == 16
    assert main(_suite(corpus, images, smoke)) == 0
    assert {p: p.stat().st_mtime_ns for p in kept} == kept           # the other 16 were not trained again
    assert json.loads((smoke / "suite.json").read_text()) == before  # and the resumed one is the same run
    # The same folder with other settings is refused, not mixed into the tables.
    capsys.readouterr()
    assert main(_suite(corpus, images, smoke, "--seed", "1", "--list")) == 2
    assert "finished with other settings than this suite's (--seed: 0 -> 1)" in capsys.readouterr().err


def test_more_epochs_continue_the_finished_runs(small_corpus, tmp_path) -> None:
    corpus, images = small_corpus
    out = tmp_path / "suite"
    args = ["suite", "--preset", "cpu-smoke", "--corpus", str(corpus), "--images", str(images), "--out", str(out),
            "--tables", "IV", *SMALL]
    assert main(args) == 0
    run = out / "runs" / "mracnn-mobilenet_v2-mfb-T3-L1"
    first = json.loads((run / "metrics.json").read_text())["history"]
    assert main([*args, "--epochs", "2"]) == 0
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert len(first) == 1 and len(history) == 2 and history[0] == first[0]       # resumed, not started again


def test_list_prints_the_plan_and_an_estimate_without_training(small_corpus, tmp_path, capsys) -> None:
    corpus, images = small_corpus
    out = tmp_path / "suite"
    assert main(_suite(corpus, images, out, "--list", "--throughput", "8")) == 0
    listing = capsys.readouterr().out
    assert "17 runs for 18 table rows (1 shared)" in listing and listing.count("to run, at most 0:00:") == 17
    assert "mracnn-mobilenet_v2-mfb-T3-L1     Table I, III" in listing
    # epochs x (train + val) + test = 1 x (16 + 16) + 16 = 48 images at 8 images/s
    assert "mracnn-inception_v3-mfb-T3-L1     Table II         to run, at most 0:00:06" in listing
    assert not out.exists()


def test_the_paper_preset_is_the_papers_recipe_and_shares_the_default_row(tmp_path) -> None:
    plan = make_plan(tmp_path, paper_tables(["I", "II", "III", "IV"], "ava"), {"corpus": "c", "images": "i"},
                     preset="paper", trunk_weights={"vgg16": "vgg16.pth"})
    assert len(plan.rows) == 19 and len(plan.runs) == 15
    default = next(run for run in plan.runs if run.key == RowKey("mracnn", "vgg16", "mfb", 3, 1))
    assert {row.paper.table for row in plan.rows if row.run is default} == {"I", "II", "III", "IV"}
    for run in plan.runs:
        cfg: TrainConfig = run.cfg
        recipe = (cfg.batch_size, cfg.lr, cfg.lr_step, cfg.lr_gamma, cfg.patience, cfg.epochs)
        assert recipe == (32, 1e-3, 10, 0.1, 5, 50)
        assert cfg.amp is False and cfg.image_size is None and not cfg.model.freeze_trunk   # fp32, 224/299 px
        assert cfg.model.trunk_weights == ("vgg16.pth" if run.key.trunk == "vgg16" else None)
        assert cfg.cache_dir == str(tmp_path / "cache") and cfg.out == str(tmp_path / "runs" / run.key.slug())
    assert {run.cfg.model.vision_head for run in plan.runs if run.key.model == "vision"} == {"full"}


def test_suite_usage_errors(small_corpus, tmp_path, capsys) -> None:
    corpus, images = small_corpus
    out = tmp_path / "suite"
    for extra, message in [
        (["--tables", "I,V"], "argument --tables: unknown table V"),
        (["--trunk", "vgg16"], "--trunk: the suite sets it for each row of the paper's tables"),
        (["--glimpses", "1"], "--glimpses: the suite sets it for each row"),
        (["--trunk-weights", "resnet=x.pth"], "expected TRUNK=FILE with TRUNK one of vgg16"),
    ]:
        with pytest.raises(SystemExit) as stop:
            main(_suite(corpus, images, out, *extra))
        assert stop.value.code == 2 and message in capsys.readouterr().err, extra
    assert main(_suite(corpus, images, out, "--trunk-weights", f"vgg16={tmp_path / 'gone.pth'}")) == 2
    assert "gone.pth: PyTorch weights file not found" in capsys.readouterr().err
    photonet, pn_images = make_corpus(tmp_path / "photonet", sizes={"train": 4, "val": 2, "test": 2}, n_bins=7)
    assert main(["suite", "--corpus", str(photonet), "--images", str(pn_images), "--out", str(out),
                 "--tables", "I,IV", "--list"]) == 2
    assert "the paper reports Table(s) I on AVA, not on photonet" in capsys.readouterr().err
    assert main(["suite", "--corpus", str(photonet), "--images", str(pn_images), "--out", str(out),
                 "--tables", "IV", "--list"]) == 0
    assert "Table Photo.net" in capsys.readouterr().out
    assert not out.exists()
