"""End to end: `aesthetic-build-splits` on the real AVA lists and comments, Photo.net, errors, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from aesthetic.core.io import sha256_file
from aesthetic.crawler.ids import read_ids
from aesthetic.corpus import card as card_module
from aesthetic.corpus.cli import main
from tests.corpus.conftest import write_photonet

REPORT_KEYS = {"dataset", "tool_version", "inputs", "options", "partition", "funnel", "splits_before_comment_filter",
               "splits", "comments", "rules", "label_leakage", "paper"}
SPLITS = ("train", "val", "test")


def _read(dataset_dir: Path) -> dict[str, dict]:
    return {s: pq.read_table(dataset_dir / f"{s}.parquet").to_pydict() for s in SPLITS}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_standard_partition_before_the_comment_filter(built_ava: Path) -> None:
    report = json.loads((built_ava / "build_report.json").read_text())
    before = report["splits_before_comment_filter"]
    assert before["test"] == 19_930
    assert before["train"] + before["val"] == 235_599
    assert abs(before["val"] / 235_599 - 0.05) < 0.005
    assert report["funnel"]["available"] == 255_529
    assert report["partition"]["method"] == "official-list"


def test_report_has_the_contract_keys_and_consistent_counts(built_ava: Path) -> None:
    report = json.loads((built_ava / "build_report.json").read_text())
    assert REPORT_KEYS <= set(report)
    funnel, splits = report["funnel"], report["splits"]
    assert funnel["in_index"] >= funnel["available"] >= funnel["with_any_comment"] >= funnel["with_usable_comment"]
    assert sum(splits.values()) == funnel["with_usable_comment"] - report["dropped_images"]["no_votes"]
    assert report["comments"]["usable"] == report["comments"]["raw"] - sum(
        r["hits"] for r in report["rules"] if r["name"] in {"empty", "no-letters", "too-few-words", "duplicate"})
    assert {i["role"] for i in report["inputs"]} == {"index", "test_list", "available_ids", "comments"}
    assert (built_ava / "croissant.json").exists()


def test_no_test_image_leaks_and_rows_are_sorted(built_ava: Path, real_lists: tuple[Path, Path]) -> None:
    official_test = set(np.loadtxt(real_lists[0] / "generic_test.jpgl", dtype=np.int64).tolist())
    tables = _read(built_ava)
    for split, table in tables.items():
        ids = table["image_id"]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert set(table["split"]) == {split}
        assert all(n == len(c) > 0 for n, c in zip(table["n_comments"], table["comments"]))
    assert set(tables["test"]["image_id"]) <= official_test
    assert not official_test & (set(tables["train"]["image_id"]) | set(tables["val"]["image_id"]))


def test_labels_match_the_vote_counts_in_ava_txt(built_ava: Path, ava_dir: Path) -> None:
    rows = np.loadtxt(ava_dir / "AVA.txt", dtype=np.int64)
    by_id = {int(r[1]): r for r in rows}
    table = _read(built_ava)["train"]
    for image_id, votes, n, mean, std, high, tags, challenge in zip(
            table["image_id"], table["votes"], table["n_votes"], table["mean_score"], table["std_score"],
            table["label_high"], table["semantic_tags"], table["challenge_id"]):
        row = by_id[image_id]
        assert votes == row[2:12].tolist() and n == row[2:12].sum()
        expected = float(np.dot(np.arange(1, 11), row[2:12]) / n)
        assert mean == pytest.approx(expected) and high == (expected > 5)
        assert std == pytest.approx(float(np.sqrt(np.dot((np.arange(1, 11) - expected) ** 2, row[2:12]) / n)))
        assert tags == [t for t in row[12:14].tolist() if t] and challenge == row[14]


def test_provenance_is_in_the_parquet_schema(built_ava: Path, ava_dir: Path) -> None:
    meta = pq.read_schema(built_ava / "test.parquet").metadata
    provenance = json.loads(meta[b"aesthetic.provenance"])
    assert {"path": str(ava_dir / "AVA.txt"), "role": "index", "sha256": sha256_file(ava_dir / "AVA.txt")} in provenance["inputs"]
    assert [r["name"] for r in provenance["rules"]][0] == "quotes"
    assert meta[b"aesthetic.contract"] == b"split"


@pytest.mark.slow
def test_same_inputs_give_the_same_bytes(built_ava: Path, ava_dir: Path, real_lists: tuple[Path, Path],
                                         dpc_json: Path, tmp_path: Path) -> None:
    assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(dpc_json), "--available-ids",
                 str(real_lists[1]), "--out", str(tmp_path), "--quiet"]) == 0
    assert _files(tmp_path / "ava") == _files(built_ava)


def _photonet_args(folder: Path, out: Path, *extra: str) -> list[str]:
    ratings, comments = write_photonet(folder)
    return ["photonet", "--ratings", str(ratings), "--comments", str(comments), "--out", str(out), "--quiet", *extra]


def test_photonet_hash_split(tmp_path: Path) -> None:
    assert main(_photonet_args(tmp_path, tmp_path / "out")) == 0
    report = json.loads((tmp_path / "out" / "photonet" / "build_report.json").read_text())
    assert report["partition"]["method"] == "hash"
    assert "11,754 : 782 : 2,409" in report["partition"]["description"]
    assert sum(report["splits"].values()) == 400
    assert report["rules"][[r["name"] for r in report["rules"]].index("too-few-words")]["hits"] == sum(i % 3 == 0 for i in range(1000, 1400))
    tables = _read(tmp_path / "out" / "photonet")
    assert len(tables["test"]["votes"][0]) == 7


def test_photonet_split_file(tmp_path: Path) -> None:
    split_file = tmp_path / "split.txt"
    split_file.write_text("".join(f"{i} {('train', 'val', 'test')[i % 3]}\n" for i in range(1000, 1300)))
    assert main(_photonet_args(tmp_path, tmp_path / "out", "--split-file", str(split_file))) == 0
    report = json.loads((tmp_path / "out" / "photonet" / "build_report.json").read_text())
    assert report["partition"]["method"] == "split-file"
    assert report["splits"] == {"train": 100, "val": 100, "test": 100}
    assert report["dropped_images"]["not_in_partition"] == 100
    assert all(i % 3 == 2 for i in _read(tmp_path / "out" / "photonet")["test"]["image_id"])


def test_drop_score_mentions_and_card_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ratings, comments = write_photonet(tmp_path)
    comments.write_text(comments.read_text() + '{"image_id": 1001, "text": "I gave this a 6 for the tones"}\n')
    calls = []
    monkeypatch.setattr(card_module, "refresh_card", lambda path, report: calls.append((path, report)))
    card = tmp_path / "card.md"
    card.write_text(f"---\nsize_categories:\n- n<1K\n---\n{card_module.BEGIN}\n{card_module.END}\n")
    assert main(["photonet", "--ratings", str(ratings), "--comments", str(comments), "--out", str(tmp_path / "o"),
                 "--drop-score-mentions", "--card", str(card), "--quiet"]) == 0
    (path, report), = calls
    assert path == card and report["label_leakage"] == {**report["label_leakage"], "score_mentions": 1, "dropped": True}
    assert report["rules"][-1] == {**report["rules"][-1], "name": "score-mentions", "hits": 1}


def test_useless_comments_keep_keeps_them_beside_a_useful_one(tmp_path: Path) -> None:
    """Every third photo has a `wow` beside its useful comment: `keep` keeps it in the split file, `drop`
    does not; a photo with only `wow` is removed either way; the report and the card say which reading."""
    ratings, comments = write_photonet(tmp_path)
    comments.write_text(comments.read_text() + '{"image_id": 2000, "text": "wow"}\n')
    reports, texts = {}, {}
    for policy in ("drop", "keep"):
        out = tmp_path / policy
        assert main(["photonet", "--ratings", str(ratings), "--comments", str(comments), "--out", str(out),
                     "--useless-comments", policy, "--quiet"]) == 0
        reports[policy] = json.loads((out / "photonet" / "build_report.json").read_text())
        texts[policy] = [t for split in _read(out / "photonet").values() for c in split["comments"] for t in c]
    wows = sum(1 for i in range(1000, 1400) if i % 3 == 0)
    assert texts["drop"].count("wow") == 0 and texts["keep"].count("wow") == wows
    assert reports["keep"]["useless_comments"] == {**reports["keep"]["useless_comments"], "policy": "keep", "kept": wows}
    assert reports["drop"]["useless_comments"]["kept"] == 0 and reports["keep"]["options"]["useless_comments"] == "keep"
    assert reports["keep"]["funnel"]["with_usable_comment"] == reports["drop"]["funnel"]["with_usable_comment"] == 400
    assert "(`--useless-comments keep`)" in card_module.render_numbers(reports["keep"])


def test_uncommented_ids_are_what_to_crawl_next(tmp_path: Path) -> None:
    """The ids of the partition no source had any comment for (a useless one counts as a comment: the
    page was read) are written one per line, in the layout `aesthetic-crawl --ids` reads."""
    ratings, comments = write_photonet(tmp_path)
    lines = comments.read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["image_id"] < 1350]
    comments.write_text("\n".join(kept) + '\n{"image_id": 1350, "text": "wow"}\n')
    out = tmp_path / "out"
    assert main(["photonet", "--ratings", str(ratings), "--comments", str(comments), "--out", str(out), "--quiet"]) == 0
    listed = out / "photonet" / "uncommented_ids.txt"
    assert listed.read_text() == "".join(f"{i}\n" for i in range(1351, 1400))
    report = json.loads((out / "photonet" / "build_report.json").read_text())
    assert report["uncommented_ids"] == {**report["uncommented_ids"], "file": "uncommented_ids.txt", "images": 49}
    assert read_ids(listed, "photonet").ids == list(range(1351, 1400))


def test_a_bad_card_fails_before_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "card.md"
    card.write_text("# no front matter, no markers\n")
    assert main(_photonet_args(tmp_path, tmp_path / "out", "--card", str(card))) == 2
    assert "a data card starts with YAML front matter" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert card.read_text() == "# no front matter, no markers\n"


def test_help_documents_the_ratings_layouts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["photonet", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0
    assert "Datta's Photo.net release photonet_dataset.txt [12 columns: index, photo id, number of ratings, mean, " \
           "variance, counts of ratings 1..7; columns 5-12 all -1 where only the mean is known]" in out
    assert "mean-only lines are left out of the splits" in out and "photo_id,c1" not in out and "--split-file" in out


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 11 1 2 3\n"), "AVA.txt:2: expected 15 columns"),
        (lambda d: (d / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 11 1 2 3 4 5 6 7 8 9 1O 1 2 3\n"),
         "AVA.txt:2: column 'votes_10' must be an integer, got '1O'"),
        (lambda d: (d / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 11 1 2 3 4 5 6 7 8 9 -4 1 2 3\n"),
         "AVA.txt:2: column 'votes_10' must not be negative"),
        (lambda d: (d / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n"),
         "AVA.txt:2: duplicate image_id 10"),
        (lambda d: (d / "AVA.txt").write_text(""), "AVA.txt: AVA.txt file is empty"),
        (lambda d: (d / "aesthetics_image_lists" / "generic_test.jpgl").write_text("10\n99\n"),
         "generic_test.jpgl:2: 1 id(s) of the official test list are not in the AVA.txt, first: 99"),
        (lambda d: (d / "comments.txt").write_text("no idea what this is\n"), "comments.txt: unknown comments format"),
        (lambda d: (d / "ids.txt").write_text("10 1\n12 0\n"), "ids.txt:2: 1 id(s) of the available-ids file are not in the AVA.txt"),
    ],
)
def test_input_errors_exit_2_with_a_located_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate, message) -> None:
    (tmp_path / "aesthetics_image_lists").mkdir()
    (tmp_path / "aesthetics_image_lists" / "generic_test.jpgl").write_text("10\n")
    (tmp_path / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 11 1 2 3 4 5 6 7 8 9 10 1 2 3\n")
    (tmp_path / "comments.txt").write_text("1#10#a fine comment#another fine one\n")
    (tmp_path / "ids.txt").write_text("10 1\n11 0\n")
    mutate(tmp_path)
    code = main(["ava", "--ava-dir", str(tmp_path), "--comments", str(tmp_path / "comments.txt"),
                 "--available-ids", str(tmp_path / "ids.txt"), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "ava").exists()


def test_bad_val_fraction_and_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comments = tmp_path / "c.txt"
    comments.write_text("1#1#a fine comment\n")
    assert main(["ava", "--ava-dir", str(tmp_path / "nope"), "--comments", str(comments), "--out", str(tmp_path)]) == 2
    assert "--ava-dir must be an AVA distribution folder" in capsys.readouterr().err
    assert main(["ava", "--ava-dir", str(tmp_path), "--comments", str(comments), "--out", str(tmp_path),
                 "--val-fraction", "1.5"]) == 2
    assert "--val-fraction must be in [0, 1), got 1.5" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "five"])
def test_threshold_must_be_a_finite_number(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(_photonet_args(tmp_path, tmp_path / "out", "--threshold", value))
    assert exit_.value.code == 2
    assert "argument --threshold: not a" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out", ["a-file", "a-file/below", "o/photonet"])
def test_output_path_that_is_a_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str) -> None:
    (tmp_path / "a-file").write_text("mine\n")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "photonet").write_text("also mine\n")
    args = _photonet_args(tmp_path, tmp_path / "x")
    args[args.index("--out") + 1] = str(tmp_path / out)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("is a file, not a folder" in err or "is not a folder" in err)
    assert (tmp_path / "a-file").read_text() == "mine\n" and (tmp_path / "o" / "photonet").read_text() == "also mine\n"


def test_console_script_reports_user_errors_without_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("aesthetic-build-splits")
    ratings = tmp_path / "r.txt"
    ratings.write_text("1 1 1 1.0 0 1 0 0 0 0 0 0\n2 2 1 1.0 0 1 0 x 0 0 0 0\n")
    proc = subprocess.run([str(script), "photonet", "--ratings", str(ratings), "--comments", str(ratings),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "r.txt:2: column 'c3' must be an integer, got 'x'" in proc.stderr and "Traceback" not in proc.stderr


def test_a_usage_error_comes_before_nltk_is_imported(tmp_path: Path) -> None:
    # nltk's package import loads scipy.stats; only tokenizing text needs it.
    code = ("import contextlib, io, sys\n"
            "from aesthetic.corpus.cli import main\n"
            "with contextlib.redirect_stderr(io.StringIO()):\n"
            "    rc = main(['ava', '--ava-dir', sys.argv[1], '--comments', sys.argv[1], '--out', sys.argv[1] + '/out'])\n"
            "print(rc, 'nltk' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing")], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.split() == ["2", "False"], proc.stderr


def test_failed_build_leaves_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _photonet_args(tmp_path, tmp_path / "out")
    assert main(args) == 0
    before = _files(tmp_path / "out" / "photonet")
    import aesthetic.corpus.build as build_module

    real_write = build_module.pq.write_table
    calls = []

    def crash_on_second_file(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(build_module.pq, "write_table", crash_on_second_file)
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(args[:-1] + ["--threshold", "4"])
    assert _files(tmp_path / "out" / "photonet") == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photonet"]


_KILLABLE = """
import sys, time
import aesthetic.corpus.build as b
real = b.pq.write_table
def slow(table, where, **kw):
    real(table, where, **kw)
    print("wrote", where, flush=True)
    time.sleep(60)
b.pq.write_table = slow
from aesthetic.corpus.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_build_killed_mid_write_leaves_previous_output(tmp_path: Path) -> None:
    args = _photonet_args(tmp_path, tmp_path / "out")
    assert main(args) == 0
    before = _files(tmp_path / "out" / "photonet")
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, *args[:-1], "--threshold", "3"],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        line = proc.stdout.readline()  # the first split file is written inside the staging folder
        assert "staging" in line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _files(tmp_path / "out" / "photonet") == before
    assert any(p.name.startswith(".photonet.staging-") for p in (tmp_path / "out").iterdir())
    assert main(args) == 0  # the next build cleans up what the killed one left
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photonet"]
    assert _files(tmp_path / "out" / "photonet") == before


def _tiny_ava(folder: Path) -> Path:
    (folder / "aesthetics_image_lists").mkdir(parents=True)
    (folder / "aesthetics_image_lists" / "generic_test.jpgl").write_text("12\n")
    (folder / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 0 3\n2 11 0 0 0 0 0 0 0 0 0 0 1 2 3\n"
                                    "3 12 0 0 0 0 9 0 0 0 0 1 0 0 4\n")
    return folder


def test_zero_vote_images_are_dropped_and_counted(tmp_path: Path) -> None:
    ava = _tiny_ava(tmp_path / "ava")
    comments = tmp_path / "c.txt"
    comments.write_text("1#10#good light here#nice!\n2#11#lovely tones indeed\n3#12#sharp and clean\n")
    assert main(["ava", "--ava-dir", str(ava), "--comments", str(comments), "--out", str(tmp_path / "out"),
                 "--val-fraction", "0", "--quiet"]) == 0
    report = json.loads((tmp_path / "out" / "ava" / "build_report.json").read_text())
    assert report["dropped_images"]["no_votes"] == 1
    assert report["splits"] == {"train": 1, "val": 0, "test": 1}
    tables = _read(tmp_path / "out" / "ava")
    assert tables["train"]["comments"] == [["good light here"]] and tables["train"]["semantic_tags"] == [[1]]
    assert tables["test"]["image_id"] == [12] and tables["test"]["semantic_tags"] == [[]]


def test_several_sources_keep_source_then_page_order(tmp_path: Path) -> None:
    ava = _tiny_ava(tmp_path / "ava")
    dump = tmp_path / "dpc.json"
    dump.write_text(json.dumps({"10.jpg": ["second source first", "shared words here"]}))
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"image_id": 10, "position": 1, "text": "first source later"}\n'
                     '{"image_id": 10, "position": 0, "text": "shared words here"}\n')
    assert main(["ava", "--ava-dir", str(ava), "--comments", str(jsonl), str(dump), "--out", str(tmp_path / "out"),
                 "--val-fraction", "0", "--quiet"]) == 0
    assert _read(tmp_path / "out" / "ava")["train"]["comments"] == [
        ["shared words here", "first source later", "second source first"]]


def test_ignore_unknown_ids_leaves_them_out_and_counts_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Third-party lists may name ids the user's AVA.txt lacks: an error by default, a counted drop on request."""
    (tmp_path / "aesthetics_image_lists").mkdir()
    (tmp_path / "aesthetics_image_lists" / "generic_test.jpgl").write_text("10\n99\n")
    (tmp_path / "AVA.txt").write_text("1 10 1 2 3 4 5 6 7 8 9 10 1 2 3\n2 11 1 2 3 4 5 6 7 8 9 10 1 2 3\n")
    (tmp_path / "comments.txt").write_text("1#10#a fine comment here\n2#11#another fine one\n")
    (tmp_path / "ids.txt").write_text("10 1\n11 0\n12 1\n13 0\n")
    args = ["ava", "--ava-dir", str(tmp_path), "--comments", str(tmp_path / "comments.txt"),
            "--available-ids", str(tmp_path / "ids.txt"), "--out", str(tmp_path / "out"), "--val-fraction", "0", "--quiet"]
    assert main(args) == 2
    assert "hint: pass --ignore-unknown-ids" in capsys.readouterr().err
    assert main([*args, "--ignore-unknown-ids"]) == 0
    report = json.loads((tmp_path / "out" / "ava" / "build_report.json").read_text())
    assert report["unknown_ids_left_out"] == {"available_ids": 2, "test_list": 1}
    assert report["splits"] == {"train": 1, "val": 0, "test": 1}
