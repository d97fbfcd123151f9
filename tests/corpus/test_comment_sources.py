"""Every comment format reads into (image_id, position, text), is auto-detected, and fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.core.errors import UserError
from aesthetic.corpus.comment_sources import detect_format, read_comments, resolve
from tests.corpus.conftest import write_crawl_part

EXPECTED = [(5, 0, "first on five"), (5, 1, "second on five"), (7, 0, "only on seven")]


def _rows(path: Path, fmt: str = "auto") -> list[tuple[int, int, str]]:
    (source,) = resolve([path], fmt)
    table = read_comments(source, "ava")
    return sorted(zip(table["image_id"].to_pylist(), table["position"].to_pylist(), table["text"].to_pylist()))


def test_crawl_output_folder(tmp_path: Path) -> None:
    write_crawl_part(tmp_path / "crawl" / "comments" / "part-0.parquet", EXPECTED[:2])
    write_crawl_part(tmp_path / "crawl" / "comments" / "part-1.parquet", EXPECTED[2:] + [(9, 0, "photonet one")])
    write_crawl_part(tmp_path / "crawl" / "comments" / "part-2.parquet", [(11, 0, "other dataset")], dataset="photonet")
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
    path.write_text("1#5#first on five#second on five\n\n  \n2# 7 #only on seven\n")
    assert detect_format(path) == "ava-captions"
    assert _rows(path) == EXPECTED


def test_ava_captions_take_the_image_id_from_field_two_not_the_line_index(tmp_path: Path) -> None:
    """The line index comes first and overlaps real ids: reading it as the id would swap these two photos."""
    path = tmp_path / "AVA_Comments_Full.txt"
    path.write_text("5#7#the comment on seven#and another on seven\n7#5#the comment on five\n")
    assert _rows(path) == [(5, 0, "the comment on five"), (7, 0, "the comment on seven"),
                           (7, 1, "and another on seven")]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("1#5#fine\n\n   \n5#first comment, no index\n", 4),   # the old guessed `<id>#<comment>` layout
        ("1#5#fine\nabc#6#broken\n", 2),
        ("1#5#fine\n2\n", 2),
        ("1#5#fine\n2#6.jpg#an id is a bare integer\n", 2),
    ],
)
def test_ava_captions_line_that_does_not_fit_is_located(tmp_path: Path, content: str, line: int) -> None:
    path = tmp_path / "captions.txt"
    path.write_text(content)
    with pytest.raises(UserError, match=rf"captions.txt:{line}: an AVA-Captions line is `<line index>#<image id>#"):
        _rows(path, "ava-captions")


def test_ava_captions_image_on_two_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("1#5#fine here\n\n2#6#also fine\n3#5#again five\n")
    with pytest.raises(UserError, match=r"captions.txt:4: image id 5 is also on line 1; .* one line per image"):
        _rows(path)


@pytest.mark.parametrize(
    "content",
    [
        "1#5#fine\u2028still the same comment\n\n2#abc#broken\n",  # a line separator inside a comment is no line end
        "1#5#fine\x1f\n\n\n2#abc#broken\n",  # the unit separator sends the file through the Python reader
    ],
)
def test_ava_captions_bad_line_is_numbered_as_the_file_is(tmp_path: Path, content: str) -> None:
    path = tmp_path / "captions.txt"
    path.write_text(content, encoding="utf-8")
    line = content.count("\n", 0, content.index("abc")) + 1
    with pytest.raises(UserError, match=rf"captions.txt:{line}: an AVA-Captions line is"):
        _rows(path, "ava-captions")


def test_the_old_guessed_layout_is_not_detected_and_the_hint_says_why(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("953619#a comment#another one\n")
    with pytest.raises(UserError, match="unknown comments format") as err:
        resolve([path], "auto")
    assert "`<line index>#<image id>#<comment>#...`" in str(err.value)


def _clean_json(images: list[dict], **top: object) -> str:
    return json.dumps({"images": images, "dataset": "AVA", **top}, ensure_ascii=False)


def _image(image_id: int, *raws: str, **fields: object) -> dict:
    """One entry as the AVA-Captions authors wrote it (cocoid, sentids, filepath, per-sentence clean/tokens)."""
    sentences = [{"raw": r, "clean": r.lower(), "tokens": r.lower().split(), "imgid": image_id, "sentid": ""}
                 for r in raws]
    return {"filename": f"{image_id}.jpg", "imgid": image_id, "split": "train", "cocoid": image_id, "sentids": "",
            "filepath": "", "sentences": sentences, **fields}


@pytest.mark.parametrize("indent", [None, 2])
def test_ava_captions_json_takes_the_raw_sentences(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "CLEAN_AVA_FULL_COMMENTS.json"
    data = json.loads(_clean_json([_image(5, "first on five", "second on five"), _image(7, "only on seven"),
                                   _image(9)]))
    data["images"][0]["sentences"][0]["clean"] = "first on five but cleaned 7 10"
    path.write_text(json.dumps(data, indent=indent))
    assert detect_format(path) == "ava-captions-json"
    assert _rows(path) == EXPECTED


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([_image(5, "fine"), _image(6, "clash", filename="7.jpg")],
         r"images\[1\]: filename '7.jpg' and imgid 6 disagree"),
        ([_image(5, "fine", filename="five.jpg")], r"images\[0\]: filename must be `<image id>.jpg`, got 'five.jpg'"),
        ([_image(5, "fine"), _image(5, "again")], r"images\[1\] repeats the image id 5 of images\[0\]"),
        ([_image(5, "fine", imgid=None, filename=None)], r"images\[0\] has neither an imgid nor a filename"),
    ],
)
def test_ava_captions_json_errors_name_the_entry(tmp_path: Path, images: list[dict], message: str) -> None:
    path = tmp_path / "clean.json"
    path.write_text(_clean_json(images))
    with pytest.raises(UserError, match=message):
        _rows(path)


def test_ava_captions_json_id_from_either_field_and_sentence_ids_checked(tmp_path: Path) -> None:
    path = tmp_path / "clean.json"
    path.write_text(_clean_json([_image(5, "first on five", "second on five", imgid=None),
                                 _image(7, "only on seven", filename=None)]))
    assert _rows(path) == EXPECTED
    bad = json.loads(_clean_json([_image(5, "fine")]))
    bad["images"][0]["sentences"][0]["imgid"] = 6
    path.write_text(json.dumps(bad))
    with pytest.raises(UserError, match=r'a sentence of image 5 says "imgid": 6'):
        _rows(path)
    path.write_text(_clean_json([_image(5, "fine")], dataset="COCO"))
    with pytest.raises(UserError, match=r"says \"dataset\": 'COCO', not AVA"):
        _rows(path)


def test_dpchallenge_comment_sources_cannot_feed_a_photonet_build(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("1#5#fine words\n")
    with pytest.raises(UserError, match="ava-captions comments are DPChallenge .* cannot be joined to photonet images"):
        resolve([path], "auto", "photonet")
    assert resolve([path], "auto", "ava")[0].format == "ava-captions"


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


_TOO_DEEP = "[" * 100_000 + "]" * 100_000   # deeper than Python's json reader follows (RecursionError)


@pytest.mark.parametrize(("name", "content", "how", "message"), [
    ("deep.json", '{"5.jpg": ' + _TOO_DEEP + "}", "auto", r"deep.json: not valid DPC-Captions JSON: nested too deeply"),
    ("deep.jsonl", '{"image_id": 5, "text": "fine"}\n{"image_id": 6, "text": ' + _TOO_DEEP + "}\n", "jsonl",
     r"deep.jsonl:2: not a JSON Lines comment: nested too deeply"),
])
def test_json_nested_too_deeply_is_a_located_error(tmp_path: Path, name: str, content: str, how: str,
                                                   message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        _rows(path, how)


# -- hard to detect, hard to locate (a first line over the 64 KB head, true line numbers, huge fields) --------
def test_jsonl_whose_first_line_is_longer_than_the_head_is_detected_as_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    long_text = "a long comment " * 10_000  # 150 KB: more than the 64 KB head detection used to read
    path.write_text(json.dumps({"text": long_text, "image_id": 5}) + "\n" + json.dumps({"image_id": 7, "text": "x"}) + "\n")
    assert detect_format(path) == "jsonl"
    assert [r[0] for r in _rows(path)] == [5, 7]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"image_id": 5, "text": "fine"}\n{"image_id": 6, "text": "broken"\n{"image_id": 7, "text": "x"}\n',
         r"c.jsonl:2: not valid JSON"),
        ('{"image_id": 5, "text": "fine"}\n\n   \n{"image_id": 6, "text": 7}\n', r"c.jsonl:4: text must be a string, got 7"),
        ('{"image_id": 5, "text": "fine"}\n["a", "list"]\n', r"c.jsonl:2: a JSON Lines comment is an object, got list"),
        ('{"image_id": 5, "text": "fine"}\n\r\n{"image_id": "6.jpg", "text": "id as a string"}\n',
         r"c.jsonl:3: image_id is a string here but a number on line 1"),
        ('{"image_id": "5", "text": "fine"}\n\r\n{"image_id": "six!", "text": "bad id"}\n',
         r"c.jsonl:3: image id must be an integer"),
    ],
)
def test_jsonl_errors_give_the_true_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        _rows(path, "jsonl")


def test_csv_and_jsonl_with_a_field_larger_than_a_block_are_read(tmp_path: Path) -> None:
    huge = "word " * 4_000_000  # 20 MB in one field: more than pyarrow's block
    csv = tmp_path / "c.csv"
    csv.write_text(f'image_id,text\n5,"{huge}"\n7,short text here\n')
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps({"image_id": 5, "text": huge}) + "\n" + json.dumps({"image_id": 7, "text": "x"}) + "\n")
    for path in (csv, jsonl):
        rows = _rows(path)
        assert [(i, p) for i, p, _ in rows] == [(5, 0), (7, 0)] and len(rows[0][2]) == len(huge)


@pytest.mark.parametrize("lines", [3, 1_600_000])  # 17 MB: more than a block
def test_csv_quote_never_closed_is_located_not_a_block_error(tmp_path: Path, lines: int) -> None:
    path = tmp_path / "c.csv"
    path.write_text('image_id,text\n5,fine\n6,"never closed\n' + "more words\n" * lines)
    with pytest.raises(UserError, match=r"c.csv:3: not valid CSV") as err:
        _rows(path)
    assert "straddl" not in str(err.value)


def test_csv_errors_name_the_line_a_record_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('image_id,text\n5,"two\nlines"\n\n7,fine\nnine,bad id\n')
    with pytest.raises(UserError, match=r"c.csv:6: image id must be an integer"):
        _rows(path)
    path.write_text('image_id,text\n5,fine\n6,one,too many\n')
    with pytest.raises(UserError, match=r"c.csv:3: expected 2 fields as in the header, got 3"):
        _rows(path)


def test_a_folder_that_fits_two_formats_is_refused(tmp_path: Path) -> None:
    write_crawl_part(tmp_path / "both" / "part-0.parquet", EXPECTED)
    (tmp_path / "both" / "50.sql").write_text("BEGIN TRANSACTION;\nCOMMIT;\n")
    with pytest.raises(UserError, match="could be read as crawl or dpc-sql; refusing to guess"):
        detect_format(tmp_path / "both")
