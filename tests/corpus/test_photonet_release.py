"""`aesthetic-build-splits photonet` on the real sample of Datta's release, checked against the file's own columns."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.core.schemas import SPLIT_SCHEMA_VERSION
from aesthetic.corpus.cli import main
from tests.conftest import shared_file

SPLITS = ("train", "val", "test")


def _lines() -> dict[int, list[str]]:
    """photo id -> the line's fields, split by hand (single spaces, CRLF), not by the reader under test."""
    data = shared_file("photonet", "photonet_dataset_sample.txt").read_bytes()
    rows = [line.split(" ") for line in data.decode("ascii").split("\r\n") if line]
    return {int(fields[1]): fields for fields in rows}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("photonet")
    comments = folder / "comments.jsonl"  # every photo gets one usable comment
    comments.write_text("".join(json.dumps({"image_id": photo, "text": f"strong light on photo {photo}"}) + "\n"
                                for photo in _lines()))
    out = folder / "out"
    assert main(["photonet", "--ratings", str(shared_file("photonet", "photonet_dataset_sample.txt")),
                 "--comments", str(comments), "--out", str(out), "--quiet"]) == 0
    return out / "photonet", json.loads((out / "photonet" / "build_report.json").read_text())


def test_report_counts_mean_only_and_mismatched_lines_as_the_file_has_them(built: tuple[Path, dict]) -> None:
    _, report = built
    lines = _lines()
    mean_only = [p for p, f in lines.items() if f[4:12] == ["-1"] * 8]
    mismatched = [p for p, f in lines.items() if p not in mean_only and sum(map(int, f[5:12])) != int(f[2])]
    assert (len(lines), len(mean_only), len(mismatched)) == (310, 78, 103)
    index = report["index"]
    assert index["layout"] == "datta-photonet" and index["lines"] == 310
    assert index["mean_only_lines_left_out"] == len(mean_only)
    assert index["counts_not_adding_up_to_n_ratings"] == len(mismatched)
    assert "sum of the seven counts (columns 6-12)" in index["n_votes"]
    assert report["dropped_images"]["no_vote_histogram"] == len(mean_only)  # every photo had a usable comment
    assert sum(report["splits"].values()) == 310 - len(mean_only)
    assert report["empty_splits"] == []


def test_split_rows_are_the_files_columns(built: tuple[Path, dict]) -> None:
    folder, _ = built
    lines = _lines()
    seen = set()
    for split in SPLITS:
        table = pq.read_table(folder / f"{split}.parquet")
        assert table.schema.metadata[b"aesthetic.schema_version"] == SPLIT_SCHEMA_VERSION.encode()
        for row in table.to_pylist():
            fields = lines[row["image_id"]]
            counts = [int(v) for v in fields[5:12]]
            assert fields[4] != "-1"                     # no mean-only line got an invented histogram
            assert row["votes"] == counts and row["n_votes"] == sum(counts)
            assert row["variance"] == float(fields[4])
            assert row["std_score"] ** 2 == pytest.approx(float(fields[4]), abs=1e-9)
            seen.add(row["image_id"])
    assert seen == {p for p, f in lines.items() if f[4] != "-1"}
    # a line whose counts do not add up to column 3 keeps its counts: n_votes is their sum
    odd = next(p for p, f in lines.items() if f[4] != "-1" and sum(map(int, f[5:12])) != int(lines[p][2]))
    row = next(r for s in SPLITS for r in pq.read_table(folder / f"{s}.parquet").to_pylist() if r["image_id"] == odd)
    assert row["n_votes"] != int(lines[odd][2])


def test_croissant_describes_the_variance_column(built: tuple[Path, dict]) -> None:
    folder, _ = built
    fields = json.loads((folder / "croissant.json").read_text())["recordSet"][0]["field"]
    variance = next(f for f in fields if f["name"] == "variance")
    assert variance["dataType"] == "sc:Float" and "Datta" in variance["description"]
    assert "standard deviation" in variance["description"] and "variance" in variance["description"]
