"""`--ids`: which published files each site takes, the id column of each, and refusals with `file:line`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.crawler.cli import main
from aesthetic.crawler.ids import read_ids
from demo.site import make_archive_app, running_app
from tests.conftest import shared_file

SAMPLE = ("photonet", "photonet_dataset_sample.txt")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_datta_photonet_release_gives_the_photo_ids_of_column_2_not_the_line_indexes() -> None:
    path = shared_file(*SAMPLE)
    lines = path.read_bytes().decode().split("\r\n")
    expected = [int(line.split(" ")[1]) for line in lines if line]
    ids = read_ids(path, "photonet")
    assert ids.layout == "datta-photonet" and ids.ids == expected and len(expected) == 310
    # the mean-only lines (-1 in columns 5-12) are crawled too: their pages have comments
    assert int(lines[15].split(" ")[1]) in ids.ids and lines[15].endswith(" -1 -1 -1")
    indexes = [int(line.split(" ")[0]) for line in lines if line]
    assert not set(indexes) & set(ids.ids)


def test_crawl_cli_queues_the_photo_ids_of_the_real_release(tmp_path: Path) -> None:
    """End to end: the ledger of `aesthetic-crawl photonet --ids photonet_dataset.txt` holds column 2."""
    path = shared_file(*SAMPLE)
    expected = {int(line.split(" ")[1]) for line in path.read_bytes().decode().split("\r\n") if line}
    out = tmp_path / "out"
    with running_app(make_archive_app({})) as base:  # no captures: the few crawled items are missing
        assert main(["photonet", "--ids", str(path), "--out", str(out), "--base-url", base, "--min-delay", "0",
                     "--limit", "2", "--quiet"]) == 0
    with sqlite3.connect(out / "ledger.sqlite") as db:
        queued = {item_id for (item_id,) in db.execute("SELECT item_id FROM items WHERE dataset='photonet'")}
    assert queued == expected


def test_ava_txt_takes_the_second_column(tmp_path: Path) -> None:
    lines = [f"{row} {image_id} 0 1 5 17 38 36 15 6 5 1 1 22 1396"
             for row, image_id in enumerate([953619, 953958, 954184], start=1)]
    ids = read_ids(_write(tmp_path, "AVA.txt", "\n".join(lines) + "\n"), "ava")
    assert ids.layout == "ava-txt" and ids.ids == [953619, 953958, 954184]


def test_datta_dpchallenge_release_takes_the_second_column(tmp_path: Path) -> None:
    """Datta's DPChallenge release: `<index> <image id> <n_ratings> <mean> c1..c10`, -1 where no rating."""
    text = ("1 21345 12 5.25 0 0 1 2 3 3 2 1 0 0\n"
            "2 21346 0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n"
            "3 21350 3 6 0 0 0 0 1 1 1 0 0 0\n")
    ids = read_ids(_write(tmp_path, "dpchallenge_dataset.txt", text), "ava")
    assert ids.layout == "datta-dpchallenge" and ids.ids == [21345, 21346, 21350]


def test_real_jpgl_and_ilgnet_lists() -> None:
    jpgl = read_ids(shared_file("ava", "aesthetics_image_lists", "generic_test.jpgl"), "ava")
    assert (jpgl.layout, len(jpgl), jpgl.ids[:2]) == ("id-list", 20000, [629797, 902498])
    ilgnet = read_ids(shared_file("ava", "available_ids", "ilgnet_ids_labels.txt"), "ava")
    assert (ilgnet.layout, len(ilgnet), ilgnet.ids[:3]) == ("ilgnet-ids", 255_529, [53, 54, 66])


def test_a_photonet_split_file_and_a_plain_list_for_photonet(tmp_path: Path) -> None:
    assert read_ids(_write(tmp_path, "split.txt", "11 train\n12 test\n"), "photonet").ids == [11, 12]
    assert read_ids(_write(tmp_path, "ids.txt", "30\n\n10\n  20 \n"), "photonet").ids == [30, 10, 20]


def test_each_site_refuses_the_other_sites_files() -> None:
    with pytest.raises(UserError, match=r"sample\.txt:1: this is a line of Datta's Photo.net release .* not read "
                                        r"here \(accepted here: AVA.txt"):
        read_ids(shared_file(*SAMPLE), "ava")
    with pytest.raises(UserError, match=r"ilgnet_ids_labels\.txt:1: this is a line of ILGnet's available-ids list"):
        read_ids(shared_file("ava", "available_ids", "ilgnet_ids_labels.txt"), "photonet")


@pytest.mark.parametrize(("text", "line", "message"), [
    # the old guessed 11-column Datta layout, and one column short or long of the real 12
    ("1 101 21 5.43 0 1 2 3 4 5 6\n", 1, "11 columns (\'1 101 21 5.43 0 1 2 3 4 5 6\'): no known layout has as many"),
    ("1 101 21 5.43 0.5 0 1 2 3 4 5 6 7\n", 1, "13 columns"),
    # twelve columns, but a vote count that is not a number
    ("1 101 21 5.43 0.5 0 1 2 x 4 5 6\n", 1, "as Datta's Photo.net release photonet_dataset.txt, column 'c4' must "
                                             "be an integer, got 'x'"),
    # -1 marks the whole block of columns 5-12 or nothing
    ("1 101 21 5.43 -1 -1 -1 -1 -1 -1 -1 5\n", 1, "column 'variance' must not be negative, got '-1'"),
    # the guessed `<id> c1..c7` and its CSV form are no published layout
    ("101 0 1 2 3 4 5 6\n", 1, "8 columns"),
    ("photo_id,c1,c2,c3,c4,c5,c6,c7\n101,0,1,2,3,4,5,6\n", 1,
     "as an id list such as AVA's .jpgl files, column 'image_id' must be an integer, got 'photo_id,c1,c2,c3,c4,c5,c6,c7'"),
    ("# my picks\n10\n", 1, "3 columns ('# my picks'): no known layout has as many"),
    # a later line that does not follow the first line's layout
    ("10\n20\n2x0\n", 3, "column 'image_id' must be an integer, got '2x0' (read as an id list such as AVA's .jpgl "
                         "files from line 1)"),
    ("10\n20\n10\n", 3, "duplicate image_id 10 (first seen on line 1)"),
    ("1\n\u00b2\n", 2, "column 'image_id' must be an integer"),   # "²" passes str.isdigit(), int() refuses it
    ("0\n", 1, "column 'image_id' must be at least 1, got '0'"),
])
def test_a_file_that_is_not_exactly_a_known_layout_is_refused_at_its_line(tmp_path: Path, text: str, line: int,
                                                                           message: str) -> None:
    path = _write(tmp_path, "ids.txt", text)
    with pytest.raises(UserError) as err:
        read_ids(path, "photonet")
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)


def test_ids_too_large_for_the_ledger_are_located_errors(tmp_path: Path) -> None:
    assert read_ids(_write(tmp_path, "ok.txt", f"{2**63 - 1}\n"), "ava").ids == [2**63 - 1]
    with pytest.raises(UserError, match=r"big\.txt:2: column 'image_id' is out of range \(a 64-bit integer\), "
                                        r"got '9223372036854775808'"):
        read_ids(_write(tmp_path, "big.txt", f"1\n{2**63}\n"), "ava")
    with pytest.raises(UserError) as err:
        read_ids(_write(tmp_path, "huge.txt", "9" * 5000 + "\n"), "ava")
    assert str(err.value).startswith(f"{tmp_path / 'huge.txt'}:1: ") and "out of range" in str(err.value)
    assert "(5,000 characters)" in str(err.value) and len(str(err.value)) < 1000


@pytest.mark.parametrize("text", ["1\n9223372036854775808\n", "9" * 5000 + "\n"])
def test_crawl_cli_refuses_an_id_too_large_before_creating_anything(tmp_path: Path, capsys, text: str) -> None:
    ids = _write(tmp_path, "ids.txt", text)
    out = tmp_path / "out"
    assert main(["ava", "--ids", str(ids), "--out", str(out), "--contact", "me@example.org"]) == 2
    err = capsys.readouterr().err
    assert f"{ids}:" in err and "out of range (a 64-bit integer)" in err and "Traceback" not in err
    assert not out.exists()


def test_help_names_the_layouts_each_site_takes(capsys) -> None:
    for dataset, title in (("photonet", "Datta's Photo.net release photonet_dataset.txt [12 columns"),
                           ("ava", "Datta's DPChallenge release dpchallenge_dataset.txt [14 columns")):
        with pytest.raises(SystemExit):
            main([dataset, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert title in out and "told apart by the first line" in out and "ratings file" not in out


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(UserError, match="ids file is empty"):
        read_ids(_write(tmp_path, "ids.txt", text), "ava")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="ids file not found"):
        read_ids(tmp_path / "nope.txt", "ava")
