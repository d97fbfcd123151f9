"""core.layouts: each published layout read as it really is, and detection that never guesses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aesthetic.core.errors import UserError
from aesthetic.core.layouts import (AVA_TXT, DATTA_DPCHALLENGE, DATTA_PHOTONET, ID_LIST, ILGNET_IDS, LAYOUTS,
                                    SPLIT_FILE, Layout, detect, read_layout)
from aesthetic.core.textfiles import Column
from tests.conftest import shared_file

# One real or documented line of each layout.
GOOD_LINES = {
    "ava-txt": "1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396",
    "datta-photonet": "1 1008958 18 5.17 0.583333333333339 0 0 0 4 7 7 0",
    "datta-dpchallenge": "2 21346 0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1",
    "id-list": "629797",
    "ilgnet-ids": "53 1",
    "split-file": "11 train",
}


def _sample_lines() -> list[list[str]]:
    """The real sample's lines split by hand: CRLF endings, single spaces, as Datta wrote them."""
    data = shared_file("photonet", "photonet_dataset_sample.txt").read_bytes()
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    return [line.split(" ") for line in data.decode("ascii").split("\r\n") if line]


def test_real_photonet_release_line_by_line() -> None:
    table = read_layout(shared_file("photonet", "photonet_dataset_sample.txt"), "ratings", [DATTA_PHOTONET])
    lines = _sample_lines()
    assert table.layout is DATTA_PHOTONET and len(table.frame) == len(lines) == 310
    unknown = table.unknown()
    for row, fields in enumerate(lines):
        got = table.frame.iloc[row]
        assert int(got["index"]) == int(fields[0]) and table.ids[row] == int(fields[1])
        assert int(got["n_ratings"]) == int(fields[2]) and float(got["mean"]) == float(fields[3])
        assert float(got["variance"]) == float(fields[4])
        assert [int(got[f"c{s}"]) for s in range(1, 8)] == [int(v) for v in fields[5:12]]
        assert unknown[row] == (fields[4:12] == ["-1"] * 8)
    assert int(unknown.sum()) == sum(fields[4] == "-1" for fields in lines) == 78


@pytest.mark.parametrize("name", GOOD_LINES)
def test_each_layout_is_detected_from_its_line_and_by_no_other(name: str) -> None:
    fields = GOOD_LINES[name].split()
    assert detect(fields, LAYOUTS).name == name  # detect also raises if a second layout fits


@pytest.mark.parametrize(("line", "message"), [
    ("1 1008958 18 5.17 0.58 0 0 0 4 7 7", "11 columns ('1 1008958 18 5.17 0.58 0 0 0 4 7 7'): no known layout"),
    ("1 1008958 18 5.17 0.58 0 0 0 4 7 7 0 0", "13 columns"),
    ("1 1008958 18 5.17 0.58 0 0 0 x 7 7 0", "as Datta's Photo.net release photonet_dataset.txt, column 'c4' must be "
                                              "an integer, got 'x'"),
    ("1 1008958 1.5 5.17 0.58 0 0 0 4 7 7 0", "column 'n_ratings' must be an integer, got '1.5'"),
    ("1 1008958 18 nan 0.58 0 0 0 4 7 7 0", "column 'mean' must be a number, got 'nan'"),
    ("1 1008958 18 5.17 -1 -1 -1 -1 -1 -1 -1 0", "column 'variance' must not be negative"),
    ("2 21346 0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 7", "as Datta's DPChallenge release"),
    ("1 953619 0 1 5 17 38 36 15 6 5 1 1 22 -3", "as AVA.txt, column 'challenge_id' must not be negative"),
    ("53 2", "as ILGnet's available-ids list, column 'label' must be one of 0, 1, got '2'"),
    ("53 dev", "as a split file, column 'split' must be one of train, val, test, got 'dev'"),
    ("1 953619", "column 'label' must be one of 0, 1, got '953619'"),   # `<index> <id>` is no accepted layout
])
def test_a_line_that_fits_no_layout_or_one_only_partly_is_refused(line: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        detect(line.split(), LAYOUTS)
    assert message in str(err.value) and "accepted here: AVA.txt [15 columns" in str(err.value)


def test_a_line_two_layouts_fit_is_refused_not_guessed() -> None:
    pairs = Layout("pairs", "a pair list", "id, id", (Column("a"), Column("b")), 0)
    with pytest.raises(UserError, match="could be read as ILGnet's available-ids list or as a pair list; the file "
                                        "is refused rather than guessed at"):
        detect(["53", "1"], [ILGNET_IDS, pairs], known=[ILGNET_IDS, pairs])


def test_a_known_layout_that_is_not_accepted_is_named(tmp_path: Path) -> None:
    path = tmp_path / "AVA.txt"
    path.write_text(GOOD_LINES["ava-txt"] + "\n")
    with pytest.raises(UserError, match=r"AVA\.txt:1: this is a line of AVA.txt, which is not read here \(accepted "
                                        r"here: Datta's Photo.net release photonet_dataset.txt \[12 columns"):
        read_layout(path, "ratings", [DATTA_PHOTONET])


def test_detection_uses_the_first_data_line_and_numbers_lines_as_the_file_does(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"\xef\xbb\xbf\r\n\r\n53 1\r\n54 0\r\n\r\n66 7\r\n")
    with pytest.raises(UserError, match=r"ids\.txt:6: column 'label' must be one of 0, 1, got '7' \(read as "
                                        r"ILGnet's available-ids list from line 3\)"):
        read_layout(path, "ids", [ILGNET_IDS])


def test_the_first_line_is_found_past_a_long_head(tmp_path: Path) -> None:
    """Detection reads the file's head; a first line cut by the head's end, or past a blank head, is read whole."""
    path = tmp_path / "ids.txt"
    path.write_text("1 " * 40_000 + "\n2\n")
    with pytest.raises(UserError, match=r"ids\.txt:1: 40000 columns \('1 1 1 "):
        read_layout(path, "ids", [ID_LIST])
    path.write_text("\n" * 70_000 + "12 " + "0 " * 11 + "\n")
    with pytest.raises(UserError, match=r"ids\.txt:70001: 12 columns, but not a line of a known layout"):
        read_layout(path, "ids", [ID_LIST])


def test_repeated_ids_are_refused_even_when_written_differently(tmp_path: Path) -> None:
    path = tmp_path / "split.txt"
    path.write_text("7 train\n8 val\n07 test\n")
    with pytest.raises(UserError, match=r"split\.txt:3: duplicate image_id 7 \(first seen on line 1\)"):
        read_layout(path, "split file", [SPLIT_FILE])


def test_datta_dpchallenge_release_and_its_no_rating_lines(tmp_path: Path) -> None:
    path = tmp_path / "dpchallenge_dataset.txt"
    path.write_text("1 21345 12 5.25 0 0 1 2 3 3 2 1 0 0\n2 21346 0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n")
    table = read_layout(path, "ids", [DATTA_DPCHALLENGE])
    assert table.ids.tolist() == [21345, 21346] and table.unknown().tolist() == [False, True]
    path.write_text("1 21345 12 5.25 0 0 1 2 3 3 2 1 0 0\n2 21346 0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n")
    with pytest.raises(UserError, match=r"dpchallenge_dataset\.txt:2: expected 14 columns"):
        read_layout(path, "ids", [DATTA_DPCHALLENGE])


def test_a_big_ava_txt_reads_through_the_fast_path(tmp_path: Path) -> None:
    rows = np.column_stack([np.arange(1, 5001), np.arange(10, 5010), np.ones((5000, 12), dtype=int),
                            np.arange(5000) % 7 + 1])
    path = tmp_path / "AVA.txt"
    np.savetxt(path, rows, fmt="%d")
    table = read_layout(path, "AVA.txt", [AVA_TXT])
    assert table.ids.tolist() == list(range(10, 5010)) and table.frame["challenge_id"].iloc[-1] == 4999 % 7 + 1
