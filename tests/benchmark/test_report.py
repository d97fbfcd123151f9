"""The paper's numbers as data, and the six-column table."""

from __future__ import annotations

import pytest

from aesthetic.benchmark.paper import paper_row
from aesthetic.benchmark.report import TableRow, format_table


@pytest.mark.parametrize(("dataset", "model", "trunk", "fusion", "label", "acc"), [
    ("ava", "vision", "vgg16", "mfb", "VGG-16 (vision only)", 0.7843),
    ("ava", "text", "vgg16", "mfb", "Text-CNN (text only)", 0.8185),
    ("ava", "fusion", "vgg16", "concat", "Text-CNN + VGG-16", 0.8494),
    ("ava", "mracnn", "vgg16", "prod", "MRACNN elt-prod", 0.8526),
    ("ava", "mracnn", "inception_v3", "mfb", "MRACNN MFB (Inception-v3)", 0.8571),
    ("photonet", "mracnn", "vgg16", "mfb", "MRACNN MFB (VGG-16), Photo.net", 0.7891),
])
def test_paper_rows(dataset, model, trunk, fusion, label, acc) -> None:
    row = paper_row(dataset, model, trunk, fusion)
    assert row.label == label and row.accuracy == pytest.approx(acc)


def test_configurations_the_paper_did_not_report_have_no_row() -> None:
    assert paper_row("ava", "mracnn", "mobilenet_v2", "mfb") is None
    assert paper_row("photonet", "vision", "vgg16", "mfb") is None


def test_table_has_the_six_columns_and_marks_undefined_values() -> None:
    ours = {"accuracy": 0.5, "srcc": None, "plcc": None, "mae": 1.25, "rmse": 1.5, "emd": 0.1}
    text = format_table([TableRow("mracnn [untrained trunk]", ours),
                         TableRow("paper: MRACNN MFB (VGG-16)", paper_row("ava", "mracnn", "vgg16", "mfb").to_dict())])
    header, _, first, second = text.splitlines()
    assert header.split()[1:] == ["Acc", "%", "SRCC", "PLCC", "MAE", "RMSE", "EMD"]
    assert first.split()[-6:] == ["50.00", "n/a", "n/a", "1.2500", "1.5000", "0.1000"]
    assert second.split()[-6:] == ["85.68", "0.8310", "0.8431", "0.3271", "0.4193", "0.0371"]
