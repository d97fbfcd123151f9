"""Reading and validating the index files: AVA.txt, id lists, Photo.net ratings and split files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aesthetic.core.errors import UserError
from aesthetic.corpus.ava_index import AVAILABLE_IDS_LAYOUTS, read_ava_dir, read_ava_txt, read_id_list
from aesthetic.corpus.photonet_ratings import read_photonet_ratings, read_split_file
from tests.conftest import shared_file

GOOD = "1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396\n2 953958 10 7 15 26 26 21 10 8 1 2 1 21 1396\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "AVA.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_ava_txt_is_parsed_sorted_with_tags_and_challenge(tmp_path: Path) -> None:
    index = read_ava_txt(_write(tmp_path, GOOD.splitlines()[1] + "\n" + GOOD.splitlines()[0] + "\n"))
    assert index.ids.tolist() == [953619, 953958]
    assert index.votes[0].tolist() == [0, 1, 5, 17, 38, 36, 15, 6, 5, 1]
    assert index.extra["semantic_tags"][1].tolist() == [1, 21]
    assert index.extra["challenge_id"].tolist() == [1396, 1396]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("3 953959 1 2 3 4 5 6 7 8 9 10 1 22", "AVA.txt:3: expected 15 columns"),
        ("3 953959 1 2 3 4 5 6 7 8 9 10 1 22 1396 7", "AVA.txt:3: expected 15 columns"),
        ("3 953959 1 2 x 4 5 6 7 8 9 10 1 22 1396", "AVA.txt:3: column 'votes_3' must be an integer, got 'x'"),
        ("3 953959 1 2 3 4 5 6 7 8 9 -1 1 22 1396", "AVA.txt:3: column 'votes_10' must not be negative"),
        ("3 953619 1 2 3 4 5 6 7 8 9 10 1 22 1396", "AVA.txt:3: duplicate image_id 953619 (first seen on line 1)"),
        # stored as int32: a bigger count must not wrap round to a negative one
        ("3 953959 1 2 3 4 5 6 7 8 9 3000000000 1 22 1396",
         "AVA.txt:3: column 'votes_10' is out of range (a 32-bit integer), got '3000000000'"),
        ("3 99999999999999999999 1 2 3 4 5 6 7 8 9 10 1 22 1396",
         "AVA.txt:3: column 'image_id' is out of range (a 64-bit integer), got '99999999999999999999'"),
    ],
)
def test_ava_txt_errors_name_the_line(tmp_path: Path, bad_line: str, message: str) -> None:
    with pytest.raises(UserError, match=None) as err:
        read_ava_txt(_write(tmp_path, GOOD + bad_line + "\n"))
    assert message in str(err.value)


def test_ava_txt_lines_are_numbered_as_the_file_is(tmp_path: Path) -> None:
    """A form feed ends no line (pandas reads it as a space); the bad line is still line 2."""
    first, second = GOOD.splitlines()
    with pytest.raises(UserError) as err:
        read_ava_txt(_write(tmp_path, "\ufeff" + first + "\x0c\n" + second.replace(" 26 ", " x ", 1) + "\n"))
    assert "AVA.txt:2: column 'votes_4' must be an integer, got 'x'" in str(err.value)


@pytest.mark.parametrize(("content", "message"), [(b"", "is empty"), (b"  \n\n", "is empty")])
def test_empty_files_are_user_errors(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(UserError, match=message):
        read_ava_txt(_write(tmp_path, content))


def test_missing_and_folder_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        read_ava_txt(tmp_path / "nope.txt")
    with pytest.raises(UserError, match="must be a file"):
        read_ava_txt(tmp_path)


def test_test_list_ids_must_be_in_ava_txt(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    (tmp_path / "aesthetics_image_lists").mkdir()
    _write(tmp_path, "953619\n123\n", "aesthetics_image_lists/generic_test.jpgl")
    with pytest.raises(UserError, match=r"generic_test.jpgl:2: 1 id\(s\) of the official test list are not in the AVA.txt, first: 123"):
        read_ava_dir(tmp_path)


def test_real_available_ids_file_reads_255529_unique_ids(real_lists: tuple[Path, Path]) -> None:
    ids = read_id_list(real_lists[1], "available-ids", AVAILABLE_IDS_LAYOUTS)
    assert ids.size == 255_529 and np.unique(ids).size == ids.size


def test_id_list_duplicates_and_junk_are_located(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"ids.txt:3: duplicate image_id 5"):
        read_id_list(_write(tmp_path, "5 1\n6 0\n5 1\n", "ids.txt"), "available-ids", AVAILABLE_IDS_LAYOUTS)
    with pytest.raises(UserError, match=r"ids.txt:2: column 'image_id' must be an integer, got 'abc'"):
        read_id_list(_write(tmp_path, "5\nabc\n", "ids.txt"), "available-ids")
    # the official test list is one id per line, not ILGnet's `<id> <label>`
    with pytest.raises(UserError, match=r"ids.txt:1: this is a line of ILGnet's available-ids list, which is not read"):
        read_id_list(_write(tmp_path, "5 1\n", "ids.txt"), "official test list")


def _sample() -> Path:
    return shared_file("photonet", "photonet_dataset_sample.txt")


def _sample_lines() -> list[list[str]]:
    return [line.split(" ") for line in _sample().read_bytes().decode("ascii").split("\r\n") if line]


def test_real_photonet_release_votes_are_columns_6_to_12_line_by_line() -> None:
    index = read_photonet_ratings(_sample())
    lines = _sample_lines()
    assert len(index.ids) == len(lines) == 310 and np.all(np.diff(index.ids) > 0)
    row_of = {int(image_id): row for row, image_id in enumerate(index.ids)}
    for fields in lines:
        row = row_of[int(fields[1])]
        if fields[4:12] == ["-1"] * 8:   # only the mean is known: no invented histogram
            assert index.no_histogram[row] and index.votes[row].tolist() == [0] * 7
        else:
            assert not index.no_histogram[row]
            assert index.votes[row].tolist() == [int(v) for v in fields[5:12]]
            assert index.extra["variance"][row] == float(fields[4])
    mean_only = sum(fields[4] == "-1" for fields in lines)
    mismatched = sum(fields[4] != "-1" and sum(map(int, fields[5:12])) != int(fields[2]) for fields in lines)
    assert (mean_only, mismatched) == (78, 103)
    assert index.notes == {**index.notes, "lines": 310, "mean_only_lines_left_out": mean_only,
                           "counts_not_adding_up_to_n_ratings": mismatched}


def test_real_photonet_column_5_is_the_variance_of_the_counts() -> None:
    """Documented as the standard deviation; it is the variance, which is why the splits name it so."""
    from aesthetic.corpus.labels import compute_labels

    index = read_photonet_ratings(_sample())
    known = ~index.no_histogram
    std = compute_labels(index.votes[known], 5.0).std
    assert np.allclose(std**2, index.extra["variance"][known], atol=1e-9)
    assert not np.allclose(std, index.extra["variance"][known], atol=1e-3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3\n", "p.txt:1: 3 columns ('1 2 3'): no known layout has as many (accepted here: Datta's Photo.net release"),
        # the layouts the readers used to guess: Datta's with 11 columns, `<id> c1..c7`, a CSV
        ("1 20 21 5.33 0 1 2 3 4 5 6\n", "p.txt:1: 11 columns"),
        ("20 0 1 2 3 4 5 6\n", "p.txt:1: 8 columns"),
        ("photo_id,c1,c2,c3,c4,c5,c6,c7\n20,0,1,2,3,4,5,6\n", "p.txt:1: 1 column, but not a line of a known layout: as an id list"),
        ("1 20 21 5.33 0.5 0 1 2 3 4 5 6\n2 21 21 5.33 0.5 0 1 2 -3 4 5 6\n",
         "p.txt:2: column 'c4' must not be negative, got '-3' (read as Datta's Photo.net release"),
        ("1 20 21 5.33 0.5 0 1 2 3 4 5 6\n2 21 21 5.33 0.5 0 1 2 3 4 5 4294967296\n", "p.txt:2: column 'c7' is out of range"),
        ("1 20 21 5.33 0.5 0 1 2 3 4 5 6\n2 20 21 5.33 0.5 0 1 2 3 4 5 6\n", "p.txt:2: duplicate photo_id 20"),
        ("1 20 21 5.33 0.5 0 1 2 3 4 5 6\n2 21 21 5.33 0.5 0 1 2 3 4 5\n", "p.txt:2: expected 12 columns"),
    ],
)
def test_photonet_ratings_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        read_photonet_ratings(_write(tmp_path, text, "p.txt"))
    assert message in str(err.value)


def test_split_file_rejects_unknown_split_names(tmp_path: Path) -> None:
    assert read_split_file(_write(tmp_path, "1 train\n2 test\n", "s.txt"))["split"].tolist() == ["train", "test"]
    with pytest.raises(UserError, match=r"s.txt:2: column 'split' must be one of train, val, test, got 'dev'"):
        read_split_file(_write(tmp_path, "1 train\n2 dev\n", "s.txt"))
