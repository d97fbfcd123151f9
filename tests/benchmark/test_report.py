"""The six-column table and the paper's row beside a run's (--compare-paper), matched on the whole key."""

from __future__ import annotations

import json

from aesthetic.benchmark.cli import main
from aesthetic.benchmark.paper import RowKey, paper_row
from aesthetic.benchmark.report import TableRow, format_table, row_name
from tests.benchmark.conftest import train_args


def test_table_has_the_six_columns_and_marks_undefined_and_untranscribed_values() -> None:
    ours = {"accuracy": 0.5, "srcc": None, "plcc": None, "mae": 1.25, "rmse": 1.5, "emd": 0.1}
    default = paper_row("ava", RowKey("mracnn", "vgg16", "mfb", 3, 1))
    alexnet = paper_row("ava", RowKey("vision", "alexnet", vision_head="full"))
    text = format_table([TableRow("mracnn [untrained trunk]", ours),
                         TableRow("paper: MRACNN MFB (VGG-16)", default.metrics(), "not transcribed"),
                         TableRow("paper: AlexNet", alexnet.metrics(), "not transcribed")])
    header, _, first, second, third = text.splitlines()
    assert header.split()[1:] == ["Acc", "%", "SRCC", "PLCC", "MAE", "RMSE", "EMD"]
    assert first.split()[-6:] == ["50.00", "n/a", "n/a", "1.2500", "1.5000", "0.1000"]
    assert second.split()[-6:] == ["85.68", "0.8310", "0.8431", "0.3271", "0.4193", "0.0371"]
    assert third.split()[-11:] == ["76.37", *["not", "transcribed"] * 5]


def test_a_row_is_named_by_its_whole_key_and_its_labels() -> None:
    assert row_name(RowKey("mracnn", "vgg16", "mfb", 1, 2), ["untrained trunk"]) == (
        "mracnn vgg16 mfb T=1 L=2 [untrained trunk]")
    assert row_name(RowKey("vision", "alexnet", vision_head="pooled"), []) == "vision alexnet pooled head"
    assert row_name(RowKey("text"), []) == "text"


def test_compare_paper_prints_the_row_of_the_same_configuration_only(tiny_corpus, image_cache, tmp_path,
                                                                    capsys) -> None:
    """A --glimpses 1 run is compared with Table I's T = 1 row (not transcribed), not with the default T = 3 numbers."""
    corpus, images = tiny_corpus
    run = tmp_path / "t1"
    assert main(["--model", "mracnn", *train_args(corpus, images, run, image_cache), "--trunk", "vgg16",
                 "--image-size", "32", "--freeze-trunk", "--glimpses", "1", "--limit", "16", "--epochs", "1",
                 "--compare-paper"]) == 0
    out = capsys.readouterr().out
    assert "mracnn vgg16 mfb T=1 L=1 [untrained trunk, random word vectors]" in out
    assert "paper, Table I: T = 1, 1 LSTM layer" in out and "not transcribed" in out
    assert "85.68" not in out
    record = json.loads((run / "metrics.json").read_text())
    assert record["paper"]["label"] == "T = 1, 1 LSTM layer" and record["paper"]["accuracy"] is None
    assert record["key"] == {"model": "mracnn", "trunk": "vgg16", "fusion": "mfb", "glimpses": 1, "lstm_layers": 1,
                             "vision_head": None}
