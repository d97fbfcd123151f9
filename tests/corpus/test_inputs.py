"""Reading and validating the index files: AVA.txt, id lists, Photo.net ratings and split files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aesthetic.core.errors import UserError
from aesthetic.corpus.ava_index import read_ava_dir, read_ava_txt, read_id_list
from aesthetic.corpus.photonet_ratings import read_photonet_ratings, read_split_file

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
    ids = read_id_list(real_lists[1], "available-ids")
    assert ids.size == 255_529 and np.unique(ids).size == ids.size


def test_id_list_duplicates_and_junk_are_located(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"ids.txt:3: duplicate image_id 5"):
        read_id_list(_write(tmp_path, "5 1\n6 0\n5 1\n", "ids.txt"), "available-ids")
    with pytest.raises(UserError, match=r"ids.txt:2: column 'image_id' must be an integer, got 'abc'"):
        read_id_list(_write(tmp_path, "5\nabc\n", "ids.txt"), "available-ids")


def test_photonet_layouts_agree(tmp_path: Path) -> None:
    plain = read_photonet_ratings(_write(tmp_path, "20 0 1 2 3 4 5 6\n10 1 1 1 1 1 1 1\n", "p.txt"))
    datta = read_photonet_ratings(_write(tmp_path, "1 20 21 5.33 0 1 2 3 4 5 6\n2 10 7 4.0 1 1 1 1 1 1 1\n"
                                         "3 30 0 -1 -1 -1 -1 -1 -1 -1 -1\n", "d.txt"))
    csv = read_photonet_ratings(_write(tmp_path, "\nphoto_id,c1,c2,c3,c4,c5,c6,c7\n20,0,1,2,3,4,5,6\n10,1,1,1,1,1,1,1\n", "c.csv"))
    # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
    excel = read_photonet_ratings(_write(tmp_path, "\ufeffphoto_id,c1,c2,c3,c4,c5,c6,c7\r\n20,0,1,2,3,4,5,6\r\n10,1,1,1,1,1,1,1\r\n", "e.csv"))
    assert excel.ids.tolist() == [10, 20] and excel.votes.tolist() == csv.votes.tolist()
    assert plain.ids.tolist() == csv.ids.tolist() == [10, 20]
    assert datta.ids.tolist() == [10, 20, 30]
    assert plain.votes.tolist() == csv.votes.tolist() == datta.votes[:2].tolist()
    assert datta.votes[2].tolist() == [0] * 7  # Datta's -1 dummies of an unrated photo


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.txt", "1 2 3\n", "p.txt:1: unknown ratings layout with 3 columns"),
        ("p.txt", "20 0 1 2 3 4 5 6\n21 0 1 2 -3 4 5 6\n", "p.txt:2: column 'c4' must not be negative"),
        ("d.txt", "1 20 22 5.3 0 1 2 3 4 5 6\n", "d.txt:1: photo 20: counts c1..c7 must be non-negative and add up to n_ratings"),
        ("c.csv", "photo_id,c1,c2,c3,c4,c5,c6,c7\n1,1,1,1,1,1,1,1\n1,1,1,1,1,1,1,1\n", "c.csv:3: duplicate photo_id 1"),
        ("c.csv", "photo_id,c1,c2,c3,c4,c5,c6,c7\n1,1,1,1,1,1,1\n", "c.csv:2: expected 8 columns, got 7"),
        ("c.csv", "name,c1,c2,c3,c4,c5,c6,c7\n", "c.csv:1: CSV header must be `photo_id`"),
        ("c.csv", "\n \nname,c1,c2,c3,c4,c5,c6,c7\n", "c.csv:3: CSV header must be `photo_id`"),
        ("c.csv", "\nphoto_id,c1,c2,c3,c4,c5,c6,c7\n\n1,1,1,1,1,1,1\n", "c.csv:4: expected 8 columns, got 7"),
        ("c.csv", " , \n", "c.csv:1: CSV header must be `photo_id`"),
        ("c.csv", "photo_id,c1,c2,c3,c4,c5,c6,c7\n1,1,1,1,1,1,1,3000000000\n", "c.csv:2: column 'c7' is out of range"),
        ("c.csv", "photo_id,c1,c2,c3,c4,c5,c6,c7\n1,1,1,x,1,1,1,3\n", "c.csv:2: column 'c3' must be an integer, got 'x'"),
        ("p.txt", "20 0 1 2 3 4 5 6\n21 0 1 2 3 4 5 4294967296\n", "p.txt:2: column 'c7' is out of range"),
    ],
)
def test_photonet_ratings_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        read_photonet_ratings(_write(tmp_path, text, name))
    assert message in str(err.value)


def test_split_file_rejects_unknown_split_names(tmp_path: Path) -> None:
    assert read_split_file(_write(tmp_path, "1 train\n2 test\n", "s.txt"))["split"].tolist() == ["train", "test"]
    with pytest.raises(UserError, match=r"s.txt:2: split must be train, val or test, got 'dev'"):
        read_split_file(_write(tmp_path, "1 train\n2 dev\n", "s.txt"))
