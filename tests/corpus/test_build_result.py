"""A build that yields no usable image never replaces a corpus; an empty split beside full ones is said loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aesthetic.corpus.cli import main
from tests.corpus.conftest import write_photonet


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _build(ratings: Path, comments: Path, out: Path, *extra: str) -> int:
    return main(["photonet", "--ratings", str(ratings), "--comments", str(comments), "--out", str(out), "--quiet",
                 *extra])


@pytest.mark.parametrize(("comments", "funnel"), [
    # every comment useless: too few words, or no letters
    ({"image_id": 1000, "text": "wow"}, "1 with any comment (400 comments read, 0 of them matching no available image), "
                                        "0 with a usable comment"),
    ({"image_id": 1000, "text": "7/10"}, "0 with a usable comment"),
    # every comment for an image that is not in the ratings file
    ({"image_id": 99, "text": "lovely tones in this photo"}, "0 with any comment (400 comments read, 400 of them "
                                                              "matching no available image)"),
])
def test_a_result_without_usable_images_exits_2_and_leaves_the_previous_corpus(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], comments: dict, funnel: str) -> None:
    ratings, good = write_photonet(tmp_path)
    out = tmp_path / "out"
    assert _build(ratings, good, out) == 0
    before = _files(out / "photonet")
    useless = tmp_path / "useless.jsonl"
    useless.write_text("".join(json.dumps({**comments, "position": i}) + "\n" for i in range(400)))
    capsys.readouterr()
    assert _build(ratings, useless, out) == 2
    err = capsys.readouterr().err
    assert "error: no usable image: 400 ids in the index, 400 available" in err and funnel in err
    assert "train 0, val 0, test 0; nothing was written" in err and "Traceback" not in err
    assert _files(out / "photonet") == before
    assert sorted(p.name for p in out.iterdir()) == ["photonet"]


def test_a_first_build_without_usable_images_creates_nothing(tmp_path: Path) -> None:
    ratings, _ = write_photonet(tmp_path)
    useless = tmp_path / "useless.jsonl"
    useless.write_text('{"image_id": 1000, "text": "nice!"}\n')
    assert _build(ratings, useless, tmp_path / "out") == 2
    assert not (tmp_path / "out" / "photonet").exists()


def test_an_empty_split_among_full_ones_is_a_warning_and_a_report_flag(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    ratings, comments = write_photonet(tmp_path)
    split_file = tmp_path / "split.txt"
    split_file.write_text("".join(f"{i} {('train', 'test')[i % 2]}\n" for i in range(1000, 1400)))
    assert _build(ratings, comments, tmp_path / "out", "--split-file", str(split_file)) == 0
    report = json.loads((tmp_path / "out" / "photonet" / "build_report.json").read_text())
    assert report["splits"] == {"train": 200, "val": 0, "test": 200} and report["empty_splits"] == ["val"]
    assert "WARNING aesthetic.corpus.build: split val is EMPTY: the partition put no image in it" in capsys.readouterr().err


def test_a_split_emptied_by_the_comment_filter_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ratings, comments = write_photonet(tmp_path)
    split_file = tmp_path / "split.txt"
    split_file.write_text("".join(f"{i} {('train', 'val', 'test')[i % 3]}\n" for i in range(1000, 1400)))
    kept = [line for line in comments.read_text().splitlines() if json.loads(line)["image_id"] % 3 != 1]
    comments.write_text("\n".join(kept) + "\n")  # no comment at all for the val photos
    assert _build(ratings, comments, tmp_path / "out", "--split-file", str(split_file)) == 0
    report = json.loads((tmp_path / "out" / "photonet" / "build_report.json").read_text())
    assert report["empty_splits"] == ["val"] and report["splits_before_comment_filter"]["val"] == 134
    assert "split val is EMPTY: all 134 of its images were left out" in capsys.readouterr().err
