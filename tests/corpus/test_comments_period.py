"""An AVA corpus built from the real DPChallenge dumps under each --comments-period, checked against the dumps.

The dumps' own rows are counted with sqlite3 directly (nothing of the reader under test), and
every comment in the split files must come from a row of the same image in the same period.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from aesthetic.core.schemas import SPLITS
from aesthetic.corpus.cli import main
from tests.conftest import shared_file
from tests.corpus.conftest import write_ava_txt, write_crawl_part

PERIOD_SQL = {"all": "1 = 1", "during": "made_during_challenge = 1", "after": "made_during_challenge = 0"}


@pytest.fixture(scope="module")
def dumps() -> Path:
    return shared_file("comments", "dpc_sql", "50.sql").parent


def _sqlite(*paths: Path) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE comments (id, image_id, commenter_id, raw_comment, comment, date, edited, "
               "made_during_challenge)")
    for path in paths:
        db.executescript(path.read_bytes().decode("utf-8"))
    return db


@pytest.fixture(scope="module")
def dump_db(dumps: Path) -> sqlite3.Connection:
    return _sqlite(dumps / "50.sql", dumps / "3636.sql")


@pytest.fixture(scope="module")
def ava_dir(tmp_path_factory: pytest.TempPathFactory, dumps: Path) -> Path:
    """AVA.txt for the images of challenge 50 (all AVA images; challenge 3636's are not), every fourth one a
    test image."""
    folder = tmp_path_factory.mktemp("ava")
    ids = [i for (i,) in _sqlite(dumps / "50.sql").execute("SELECT DISTINCT image_id FROM comments ORDER BY 1")]
    assert len(ids) == 53
    write_ava_txt(folder / "AVA.txt", np.array(ids))
    (folder / "aesthetics_image_lists").mkdir()
    (folder / "aesthetics_image_lists" / "generic_test.jpgl").write_text("".join(f"{i}\n" for i in ids[::4]))
    return folder


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, ava_dir: Path, dumps: Path) -> dict[str, Path]:
    out = {}
    for period in ("all", "during", "after"):
        folder = tmp_path_factory.mktemp(f"built-{period}")
        assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(dumps), "--comments-period", period,
                     "--val-fraction", "0.1", "--out", str(folder), "--quiet"]) == 0
        out[period] = folder / "ava"
    return out


def _report(folder: Path) -> dict:
    return json.loads((folder / "build_report.json").read_text())


def _splits(folder: Path) -> dict[str, dict]:
    return {s: pq.read_table(folder / f"{s}.parquet").to_pydict() for s in SPLITS}


@pytest.mark.parametrize("period", ["all", "during", "after"])
def test_counts_match_the_dumps_own_rows(builds: dict[str, Path], dump_db: sqlite3.Connection, ava_dir: Path,
                                        period: str) -> None:
    report = _report(builds[period])
    ava_ids = {int(line.split()[1]) for line in (ava_dir / "AVA.txt").read_text().splitlines()}
    rows = dump_db.execute(f"SELECT image_id FROM comments WHERE {PERIOD_SQL[period]}").fetchall()
    in_ava = [i for (i,) in rows if i in ava_ids]
    total = dump_db.execute("SELECT count(*) FROM comments").fetchone()[0]
    assert total == 654
    comments = report["comments"]
    assert comments["raw"] == len(in_ava)
    assert comments["not_matching_an_available_image"] == 10  # challenge 3636 is not in AVA
    assert comments["raw"] + comments["outside_period"] + comments["not_matching_an_available_image"] == total
    assert report["funnel"]["with_any_comment"] == len(set(in_ava))
    assert report["comments_period"]["read"] == {"during": 581, "after": 63, "unknown": 0}
    assert report["options"]["comments_period"] == period


@pytest.mark.parametrize("period", ["all", "during", "after"])
def test_every_kept_comment_is_a_row_of_the_same_image_and_period(builds: dict[str, Path],
                                                                  dump_db: sqlite3.Connection, period: str) -> None:
    texts: dict[int, list[str]] = {}
    for image, comment in dump_db.execute(f"SELECT image_id, comment FROM comments WHERE {PERIOD_SQL[period]}"):
        # the cleaning's HTML rule also takes a literal `<clapping>` in a comment for a tag
        texts.setdefault(image, []).append(" ".join(re.sub(r"<[A-Za-z/!][^>]*>", "", comment).split()))
    for table in _splits(builds[period]).values():
        for image, comments, n in zip(table["image_id"], table["comments"], table["n_comments"]):
            assert 0 < n == len(comments) <= len(texts[image])
            for comment in comments:
                assert any(comment in text for text in texts[image]), (image, comment)


def test_each_report_states_what_every_period_gives(builds: dict[str, Path]) -> None:
    """The per-period counts a report states are what a build with that period writes, in all three reports."""
    files = {p: _splits(folder) for p, folder in builds.items()}
    for folder in builds.values():
        stated = _report(folder)["comments_period"]["splits"]
        for period, tables in files.items():
            assert stated[period] == {s: {"images": len(t["image_id"]), "comments": sum(t["n_comments"])}
                                      for s, t in tables.items()}
    report = _report(builds["all"])
    assert report["splits"] == {s: len(t["image_id"]) for s, t in files["all"].items()}
    after = sum(v["images"] for v in report["comments_period"]["splits"]["after"].values())
    during = sum(v["images"] for v in report["comments_period"]["splits"]["during"].values())
    assert after < during == 53  # every image had comments while voting ran; fewer got some after


def test_score_mentions_are_counted_per_period(builds: dict[str, Path]) -> None:
    mentions = _report(builds["all"])["comments_period"]["score_mentions"]
    assert mentions["all"] == mentions["during"] + mentions["after"]
    assert mentions["during"] > mentions["after"] > 0
    for period, folder in builds.items():
        assert _report(folder)["label_leakage"]["score_mentions"] == mentions[period]


def test_the_data_card_shows_the_periods(tmp_path: Path, ava_dir: Path, dumps: Path) -> None:
    card = tmp_path / "card.md"
    card.write_text("---\nsize_categories:\n- n<1K\n---\n<!-- begin:numbers -->\n<!-- end:numbers -->\n")
    assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(dumps), "--comments-period", "during",
                 "--val-fraction", "0.1", "--out", str(tmp_path / "out"), "--card", str(card), "--quiet"]) == 0
    text = card.read_text()
    assert "these files hold `during`): 581 read were written during voting, 63 after the results" in text
    assert "| split | images all | comments all | images during voting |" in text


def _tiny_ava(folder: Path) -> Path:
    """Images 10 and 11 in train, 12 in test (every image has votes)."""
    (folder / "aesthetics_image_lists").mkdir(parents=True)
    (folder / "aesthetics_image_lists" / "generic_test.jpgl").write_text("12\n")
    write_ava_txt(folder / "AVA.txt", np.array([10, 11, 12]))
    return folder


def test_a_crawl_is_filtered_by_its_during_challenge_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ava = _tiny_ava(tmp_path / "ava")
    write_crawl_part(tmp_path / "crawl" / "comments" / "part-0.parquet", [
        (10, 0, "congrats on the ribbon well deserved", False), (10, 1, "lovely light and tones", True),
        (11, 0, "sharp and clean work", None), (12, 0, "great colours in this one", True)])
    args = ["ava", "--ava-dir", str(ava), "--comments", str(tmp_path / "crawl"), "--val-fraction", "0", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "during"), "--comments-period", "during"]) == 0
    tables = _splits(tmp_path / "during" / "ava")
    assert tables["train"]["comments"] == [["lovely light and tones"]] and tables["test"]["image_id"] == [12]
    report = _report(tmp_path / "during" / "ava")
    assert report["comments_period"]["read"] == {"during": 2, "after": 1, "unknown": 1}
    assert report["comments"]["outside_period"] == 2
    assert "1 comments do not say when they were written" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "all")]) == 0
    assert _splits(tmp_path / "all" / "ava")["train"]["comments"] == [
        ["congrats on the ribbon well deserved", "lovely light and tones"], ["sharp and clean work"]]


def test_a_period_needs_sources_that_say(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ava = _tiny_ava(tmp_path / "ava")
    dump = tmp_path / "dpc.json"
    dump.write_text(json.dumps({"10.jpg": ["lovely light and tones"]}))
    write_crawl_part(tmp_path / "crawl" / "comments" / "part-0.parquet", [(10, 0, "lovely light and tones", None)])
    for source, message in [(dump, "dpc.json: dpc-json comments do not say whether they were written during the "
                                   "challenge; --comments-period after needs sources that do (crawl, dpc-sql)"),
                            (tmp_path / "crawl", "crawl: none of its 1 comments says whether it was written during")]:
        code = main(["ava", "--ava-dir", str(ava), "--comments", str(source), "--comments-period", "after",
                     "--out", str(tmp_path / "out"), "--quiet"])
        assert code == 2 and message in capsys.readouterr().err
        assert not (tmp_path / "out" / "ava").exists()
    assert main(["ava", "--ava-dir", str(ava), "--comments", str(dump), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert _report(tmp_path / "out" / "ava")["comments_period"]["splits"]["during"] is None


def test_a_malformed_dump_fails_the_build_and_keeps_the_previous_corpus(tmp_path: Path, ava_dir: Path, dumps: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(dumps / "50.sql"), "--out", str(out),
                 "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in (out / "ava").iterdir()}
    cut = tmp_path / "dumps" / "50.sql"
    cut.parent.mkdir()
    cut.write_bytes((dumps / "50.sql").read_bytes()[:100_000])
    assert main(["ava", "--ava-dir", str(ava_dir), "--comments", str(cut.parent), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{cut}:205: the file ends inside this statement (truncated?)" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in (out / "ava").iterdir()} == before


def test_help_names_the_dumps_and_the_periods(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ava", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--comments-period {all,during,after}" in out and "njtwomey/dpc" in out
    assert "<line index>#<image id>#<comment>#..." in out and "dpc-sql" in out and "ava-captions-json" in out
