"""Every comment format reads into (image_id, position, text), is auto-detected, and fails clearly."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.core.errors import UserError
from aesthetic.core.schemas import COMMENTS_SCHEMA
from aesthetic.corpus.comment_sources import detect_format, read_comments, resolve

EXPECTED = [(5, 0, "first on five"), (5, 1, "second on five"), (7, 0, "only on seven")]


def _rows(path: Path, fmt: str = "auto") -> list[tuple[int, int, str]]:
    (source,) = resolve([path], fmt)
    table = read_comments(source, "ava")
    return sorted(zip(table["image_id"].to_pylist(), table["position"].to_pylist(), table["text"].to_pylist()))


def _crawl_part(path: Path, rows: list[tuple[int, int, str]], dataset: str = "ava") -> None:
    now = datetime(2026, 9, 5, tzinfo=timezone.utc)
    columns = {f.name: [None] * len(rows) for f in COMMENTS_SCHEMA}
    columns.update(dataset=[dataset] * len(rows), image_id=[r[0] for r in rows], position=[r[1] for r in rows],
                   text=[r[2] for r in rows], source_url=["u"] * len(rows), source=["live"] * len(rows),
                   fetched_at=[now] * len(rows), parser_version=["1"] * len(rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(columns, schema=COMMENTS_SCHEMA), path)


def test_crawl_output_folder(tmp_path: Path) -> None:
    _crawl_part(tmp_path / "crawl" / "comments" / "part-0.parquet", EXPECTED[:2])
    _crawl_part(tmp_path / "crawl" / "comments" / "part-1.parquet", EXPECTED[2:] + [(9, 0, "photonet one")])
    _crawl_part(tmp_path / "crawl" / "comments" / "part-2.parquet", [(11, 0, "other dataset")], dataset="photonet")
    assert detect_format(tmp_path / "crawl") == "crawl"
    assert _rows(tmp_path / "crawl") == sorted(EXPECTED + [(9, 0, "photonet one")])


def test_crawl_part_missing_required_columns(tmp_path: Path) -> None:
    (tmp_path / "comments").mkdir()
    pq.write_table(pa.table({"image_id": [1], "body": ["x"]}), tmp_path / "comments" / "p.parquet")
    with pytest.raises(UserError, match="need the column.*image_id, position, text; missing position, text"):
        _rows(tmp_path)


def test_dpc_json(tmp_path: Path) -> None:
    path = tmp_path / "dpc.json"
    path.write_text(json.dumps({"5.jpg": ["first on five", "second on five"], "7.jpg": ["only on seven"]}, indent=1))
    assert detect_format(path) == "dpc-json"
    assert _rows(path) == EXPECTED


def test_real_dpc_captions_file(dpc_json: Path) -> None:
    (source,) = resolve([dpc_json], "auto")
    table = read_comments(source, "ava")
    assert source.format == "dpc-json"
    assert table.num_rows == 15_765
    assert len(set(table["image_id"].to_pylist())) == 13_432


def test_ava_captions(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("5#first on five#second on five\n\n  \n7#only on seven\n")
    assert detect_format(path) == "ava-captions"
    assert _rows(path) == EXPECTED


def test_ava_captions_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("5#fine\n\n   \nabc#broken\n")
    with pytest.raises(UserError, match=r"captions.txt:4: an AVA-Captions line must start with `<image id>#`"):
        _rows(path, "ava-captions")


@pytest.mark.parametrize(
    "content",
    [
        "5#fine\u2028still the same comment\n\nabc#broken\n",  # a line separator inside a comment is no line end
        "5#fine\x1f\n\n\nabc#broken\n",  # the unit separator sends the file through the Python reader
    ],
)
def test_ava_captions_bad_line_is_numbered_as_the_file_is(tmp_path: Path, content: str) -> None:
    path = tmp_path / "captions.txt"
    path.write_text(content, encoding="utf-8")
    line = content.count("\n", 0, content.index("abc")) + 1
    with pytest.raises(UserError, match=rf"captions.txt:{line}: an AVA-Captions line must start with `<image id>#`"):
        _rows(path, "ava-captions")


def test_csv_and_jsonl_with_and_without_position(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text('image_id,text\n5,first on five\n7,only on seven\n5,"second on five"\n')
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("".join(json.dumps({"image_id": f"{i}.jpg", "position": p, "text": t}) + "\n" for i, p, t in EXPECTED))
    assert (detect_format(csv), detect_format(jsonl)) == ("csv", "jsonl")
    assert _rows(csv) == _rows(jsonl) == EXPECTED


def test_bad_image_id_is_located(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("image_id,text\n5,fine text\nfive,bad id\n")
    with pytest.raises(UserError, match=r"c.csv:3: image id must be an integer"):
        _rows(csv)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.jsonl", '{"image_id": 5, "text": "fine"}\n\n{"image_id": null, "text": "no id"}\n',
         r"c.jsonl:3: image id must be an integer \(optionally with .jpg\), got None"),
        ("c.jsonl", '{"image_id": 5, "text": "fine", "position": null}\n{"image_id": 7, "text": "x", "position": 0}\n',
         r"c.jsonl:1: position is missing"),
        ("c.jsonl", '{"image_id": 5, "text": "fine", "position": "first"}\n', r"c.jsonl: position must be an integer"),
        ("c.jsonl", '{"image_id": 5, "text": ["a", "list"]}\n', r"c.jsonl: text must be a string, got list"),
        ("c.csv", "image_id,text,position\n5,fine text,0\n5,more text,second\n", r"c.csv: position must be an integer"),
        ("d.json", '{"5.jpg": ["fine"], "cat.jpg": ["no id"]}', r"d.json: image id must be an integer .*got 'cat.jpg'"),
    ],
)
def test_bad_fields_are_user_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        _rows(path)


def test_unknown_format_is_a_user_error_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "mystery.txt"
    path.write_text("hello there\n")
    with pytest.raises(UserError, match="unknown comments format") as err:
        resolve([path], "auto")
    assert "--comments-format" in str(err.value)


def test_forced_format_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text('{"5.jpg": ["first on five", "second on five"], "7.jpg": ["only on seven"]}')
    assert _rows(path, "dpc-json") == EXPECTED
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(UserError, match=r"bad.json:1: not valid DPC-Captions JSON"):
        _rows(bad, "dpc-json")
