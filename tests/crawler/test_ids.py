"""Reading id files: every accepted layout, de-duplication, and line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.crawler.ids import read_ids
from tests.conftest import shared_file


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ava_txt_takes_the_second_column(tmp_path: Path) -> None:
    lines = [f"{row} {image_id} 0 1 5 17 38 36 15 6 5 1 1 22 1396"
             for row, image_id in enumerate([953619, 953958, 954184], start=1)]
    ids = read_ids(_write(tmp_path, "AVA.txt", "\n".join(lines) + "\n"))
    assert ids.layout == "ava" and ids.ids == [953619, 953958, 954184]


def test_ava_line_with_wrong_column_count(tmp_path: Path) -> None:
    path = _write(tmp_path, "AVA.txt", "1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396\n"
                                       "2 953958 0 1 5 17 38 36 15 6 5 1 1 22\n")
    with pytest.raises(UserError, match=rf"{path}:2: AVA.txt lines have 15 columns, this one has 14"):
        read_ids(path)


def test_plain_list_skips_blanks_and_comments_and_dedupes_in_order(tmp_path: Path) -> None:
    ids = read_ids(_write(tmp_path, "ids.txt", "# my picks\n30\n\n10\n  20 \n10\n30\n"))
    assert (ids.ids, ids.duplicates, ids.layout) == ([30, 10, 20], 2, "id-first")
    assert list(ids) == [30, 10, 20] and len(ids) == 3


def test_real_jpgl_list() -> None:
    ids = read_ids(shared_file("ava", "aesthetics_image_lists", "generic_test.jpgl"))
    assert len(ids) == 20000 and ids.duplicates == 0 and ids.ids[:2] == [629797, 902498]


@pytest.mark.parametrize(("text", "layout"), [
    ("101 0 1 2 3 4 5 6\n102 1 1 1 1 1 1 1\n", "id-first"),                            # <id> c1..c7
    ("photo_id,c1,c2,c3,c4,c5,c6,c7\n101,0,1,2,3,4,5,6\n102,1,1,1,1,1,1,1\n", "id-first"),  # CSV + header
    ("1 101 21 5.43 0 1 2 3 4 5 6\n2 102 -1 -1 -1 -1 -1 -1 -1 -1 -1\n", "datta"),         # Datta release
])
def test_photonet_ratings_layouts(tmp_path: Path, text: str, layout: str) -> None:
    ids = read_ids(_write(tmp_path, "ratings.txt", text))
    assert ids.ids == [101, 102] and ids.layout == layout


def test_bad_id_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = _write(tmp_path, "ids.txt", "10\n20\n2x0\n")
    with pytest.raises(UserError, match=rf"{path}:3: expected a positive integer image id, found '2x0'"):
        read_ids(path)


def test_a_header_is_only_allowed_first(tmp_path: Path) -> None:
    path = _write(tmp_path, "ids.txt", "10\nphoto_id\n")
    with pytest.raises(UserError, match=r":2: "):
        read_ids(path)


@pytest.mark.parametrize("text", ["", "# nothing\n\n", "photo_id\n"])
def test_file_without_ids(tmp_path: Path, text: str) -> None:
    with pytest.raises(UserError, match="no image ids"):
        read_ids(_write(tmp_path, "ids.txt", text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read the ids file"):
        read_ids(tmp_path / "nope.txt")


def test_a_non_ascii_digit_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, "ids.txt", "1\n\u00b2\n")   # "²" passes str.isdigit(), int() refuses it
    with pytest.raises(UserError, match=r"ids\.txt:2.*positive integer image id"):
        read_ids(path)
