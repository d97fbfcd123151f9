"""The njtwomey/dpc SQLite dumps: read on the two real files, checked against SQLite's own reading of them."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.crawler.privacy import comment_author_key
from aesthetic.crawler.engine import comment_rows
from aesthetic.crawler.sites.dpchallenge import SITE, parse
from aesthetic.corpus import dpc_sql
from aesthetic.corpus.comment_sources import detect_format, read_comments, resolve
from tests.conftest import shared_file

CREATE = ("CREATE TABLE comments (id, image_id, commenter_id, raw_comment, comment, date, edited, "
          "made_during_challenge)")


@pytest.fixture(scope="module")
def dumps() -> Path:
    return shared_file("comments", "dpc_sql", "50.sql").parent


def sqlite_of(*files: Path) -> sqlite3.Connection:
    """The dumps as SQLite itself reads them, with nothing of the reader under test."""
    db = sqlite3.connect(":memory:")
    db.execute(CREATE)
    for path in files:
        db.executescript(path.read_bytes().decode("utf-8"))  # as written: \r kept, not turned into \n
    return db


def _by_id(table) -> dict[int, dict]:
    return {row["comment_id"]: row for row in table.to_pylist()}


def test_real_dump_rows_match_sqlite(dumps: Path) -> None:
    table = dpc_sql.import_dumps([dumps / "50.sql"])
    db = sqlite_of(dumps / "50.sql")
    assert table.num_rows == db.execute("SELECT count(*) FROM comments").fetchone()[0] == 644
    assert len(set(table["image_id"].to_pylist())) == 53
    expected = {cid: (image, bool(flag), edited is not None, date)
                for cid, image, flag, edited, date in db.execute(
                    "SELECT id, image_id, made_during_challenge, edited, date FROM comments")}
    got = _by_id(table)
    assert set(got) == set(expected)
    for cid, (image, during, edited, date) in expected.items():
        row = got[cid]
        assert (row["image_id"], row["during_challenge"], row["edited"]) == (image, during, edited)
        assert row["posted_at"] == datetime.strptime(date[:19], "%Y-%m-%d %H:%M:%S")
    assert sum(r["during_challenge"] for r in got.values()) == 581
    assert got[176482]["text"] == "Gave this a 10, met the challenge and beyond."
    assert got[177742]["edited"] and got[177742]["text"] == "Nice overall composition!  I love the contrast!"


def test_positions_follow_the_page_newest_first(dumps: Path) -> None:
    table = dpc_sql.import_dumps([dumps / "50.sql"])
    db = sqlite_of(dumps / "50.sql")
    got = {(r["image_id"], r["position"]): r["comment_id"] for r in table.to_pylist()}
    for (image,) in db.execute("SELECT DISTINCT image_id FROM comments"):
        page = [cid for (cid,) in db.execute("SELECT id FROM comments WHERE image_id = ? ORDER BY date DESC, id DESC",
                                             (image,))]
        assert [got[(image, p)] for p in range(len(page))] == page


def _sql(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value))


def _dump(rows: list[tuple], header: str = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n", end: str = "COMMIT;\n") -> str:
    values = ",\n".join("(" + ", ".join(map(_sql, row)) + ")" for row in rows)
    insert = ('INSERT INTO comments ("id", "image_id", "commenter_id", "raw_comment", "comment", "date", "edited", '
              f'"made_during_challenge") VALUES\n{values};\n') if rows else ""
    return f"-- comments for challenge 1\n{header}{insert}{end}"


def test_an_import_and_a_crawl_of_the_real_page_give_the_same_order(tmp_path: Path) -> None:
    """The real page 921974 as the dump would hold it (rows shuffled): positions match the crawl's."""
    page = parse(shared_file("dpchallenge", "image_921974.html").read_bytes(), None)
    rows = [(c.comment_id, 921974, 1000 + i, f'<td valign="top">{c.text}</td>', c.text,
             c.posted_at.strftime("%Y-%m-%d %H:%M:%S.000000"), None, int(c.during_challenge))
            for i, c in enumerate(page.comments)]
    random.Random(0).shuffle(rows)
    path = tmp_path / "1000.sql"
    path.write_text(_dump(rows))
    imported = {r["comment_id"]: r for r in dpc_sql.import_dumps([path]).to_pylist()}
    assert len(imported) == 29
    for c in page.comments:
        assert (imported[c.comment_id]["position"], imported[c.comment_id]["during_challenge"]) == \
            (c.position, c.during_challenge)


def test_quoted_comments_and_empty_texts_take_the_crawlers_text_from_the_html(dumps: Path, tmp_path: Path) -> None:
    got = _by_id(dpc_sql.import_dumps([dumps / "50.sql"]))
    # the dump's `comment` runs the quote into the reply ("...justine:I like ..."); the HTML keeps them apart
    assert got[179683]["text"].startswith("Ya This shot was actually in focus.")
    assert "justine" not in got[179683]["text"] and "compression" not in got[179683]["text"]
    assert got[179797]["text"] == "Umm...no."
    db = sqlite_of(dumps / "50.sql")
    raw = db.execute("SELECT raw_comment FROM comments WHERE id = 177742").fetchone()[0]
    path = tmp_path / "2.sql"
    path.write_text(_dump([(1, 9834, 2989, raw, "", "2002-12-24 15:43:21.000000", "2002-12-30 00:40:47.000000", 1),
                           (2, 9834, 2989, "<td>a<br/>b &amp; c</td>", None, "2002-12-24 15:43:22.000000", None, 1)]))
    texts = {r["comment_id"]: r["text"] for r in dpc_sql.import_dumps([path]).to_pylist()}
    assert texts == {1: "Nice overall composition! I love the contrast!", 2: "a\nb & c"}


def test_commenter_ids_become_the_crawlers_author_keys_never_the_number(dumps: Path) -> None:
    secret = b"s" * 32
    table = dpc_sql.import_dumps([dumps / "50.sql"], secret=secret)
    db = sqlite_of(dumps / "50.sql")
    members = dict(db.execute("SELECT id, commenter_id FROM comments"))
    for row in table.to_pylist():
        assert row["author_key"] == comment_author_key(secret, members[row["comment_id"]], None)
    assert "commenter_id" not in table.column_names
    assert dpc_sql.import_dumps([dumps / "50.sql"])["author_key"].null_count == 644


def test_a_folder_a_file_and_an_sqlite_database_are_detected_and_read_alike(dumps: Path, tmp_path: Path) -> None:
    database = tmp_path / "comments.db"
    db = sqlite3.connect(database)
    db.executescript(CREATE + ";\n" + (dumps / "50.sql").read_bytes().decode("utf-8"))
    db.close()
    assert detect_format(dumps) == detect_format(dumps / "50.sql") == detect_format(database) == "dpc-sql"
    (folder,) = resolve([dumps], "auto", "ava")
    assert [p.name for p in folder.files] == ["50.sql", "3636.sql"]
    whole = read_comments(folder, "ava")
    assert whole.num_rows == 654 and whole.column_names == ["image_id", "position", "text", "during_challenge"]
    one = read_comments(resolve([dumps / "50.sql"], "auto")[0], "ava")
    from_db = read_comments(resolve([database], "auto")[0], "ava")
    order = [("image_id", "ascending"), ("position", "ascending")]
    assert one.sort_by(order).equals(from_db.sort_by(order)) and one.num_rows == 644


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"5.jpg": ["not sql"]}\n', r"x.sql:1: not a DPChallenge comments dump .*unrecognized token"),
        ("image_id,text\n5,a comment;\n", r"x.sql:1: not a DPChallenge comments dump .*syntax error"),
        ("", r"x.sql: no SQL statement in this file"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45.000000", None, 1)]).replace('"edited"', '"votes"'),
         r"x.sql:4: not a DPChallenge comments dump .*table comments has no column named votes"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45.000000", None, 1)])[:-60],
         r"x.sql:4: the file ends inside this statement \(truncated\?\)"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45.000000", None, 1)])[:-10],
         r"x.sql:4: the file ends inside this statement"),
        ("SELECT 1", r"x.sql:1: the file ends inside this statement, before its `;`"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45.000000", None, 1)], end=""),
         r"x.sql: the dump's transaction is never committed"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45.000000", None, 2)]),
         r"x.sql: comment 1: made_during_challenge must be 0, 1 or NULL, got 2"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "23/12/2002", None, 1)]), r"x.sql: comment 1: date must be"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1),
                (2, 5, 7, "<td>b</td>", "b", "2002-12-23 0:04:45", None, 1)]),
         r"x.sql: comment 2: date must be `YYYY-MM-DD HH:MM:SS\[\.ffffff\]`, got '2002-12-23 0:04:45'"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", None, None, 1)]), r"x.sql: comment 1: date must be .*, got None"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-13-28 00:04:45", None, 1)]), r"x.sql: comment 1: date is not a real"),
        (_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)] * 2), r"x.sql: comment id 1 appears more"),
        (_dump([("one", 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)]), r"comment 'one': comment id must be"),
        ("ATTACH DATABASE 'elsewhere.db' AS other;\n", r"x.sql:1: .*only PRAGMA foreign_keys, BEGIN/COMMIT and INSERT"),
        ("BEGIN;\nDELETE FROM comments;\nCOMMIT;\n", r"x.sql:2: .*only PRAGMA foreign_keys, BEGIN/COMMIT and INSERT"),
    ],
)
def test_malformed_dumps_are_clear_errors_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          content: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "x.sql"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        dpc_sql.import_dumps([path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.sql"]  # the ATTACH wrote nothing


def test_not_utf8_a_nul_and_one_comment_in_two_files_are_errors(dumps: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.sql"
    path.write_bytes(b"BEGIN TRANSACTION;\n-- ok\nINSERT INTO comments VALUES ('\xff');\n")
    with pytest.raises(UserError, match=r"x.sql:3: not UTF-8 text"):
        dpc_sql.import_dumps([path])
    path.write_bytes(b"BEGIN TRANSACTION;\nINSERT INTO comments VALUES ('a\x00b');\n")
    with pytest.raises(UserError, match=r"x.sql:2: a NUL character"):
        dpc_sql.import_dumps([path])
    copy = tmp_path / "50 (copy).sql"
    copy.write_bytes((dumps / "50.sql").read_bytes())
    with pytest.raises(UserError, match=r"comment 176474 is in both .*50.sql and .*50 \(copy\).sql"):
        dpc_sql.import_dumps([dumps / "50.sql", copy])


def test_a_database_without_the_comments_table_is_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / "other.db"
    db = sqlite3.connect(database)
    db.execute("CREATE TABLE comments (id, text)")
    db.commit()
    db.close()
    with pytest.raises(UserError, match=r"other.db: a DPChallenge comments database needs a comments table with id, "
                                        r"image_id, .*; its comments table has id, text"):
        dpc_sql.import_dumps([database])


def test_rows_are_fetched_in_batches_with_the_same_result(dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = dpc_sql.import_dumps([dumps / "50.sql"])
    monkeypatch.setattr(dpc_sql, "_BATCH", 100)
    assert dpc_sql.import_dumps([dumps / "50.sql"]).equals(whole)


def test_a_crawled_page_and_a_dump_key_one_member_alike(tmp_path: Path, dumps: Path) -> None:
    """The real page's first comment is by the member of `USER_ID=114285`; a real dump row given that
    commenter_id gets the same author key as the crawl's row, and another member's row does not."""
    secret = b"k" * 32
    page = parse(shared_file("dpchallenge", "image_921974.html").read_bytes(), "text/html; charset=UTF-8")
    first = page.comments[0]
    assert (first.author, first.author_id) == ("Neat", 114285)
    crawled = comment_rows(SITE, secret, 921974, page, source_url="u", source="live",
                           capture_timestamp=None, fetched_at=0.0)[0]["author_key"]
    dump = tmp_path / "50.sql"
    text = (dumps / "50.sql").read_text(encoding="utf-8")
    assert "(176474, 9901, 772," in text
    dump.write_text(text.replace("(176474, 9901, 772,", "(176474, 9901, 114285,", 1), encoding="utf-8")
    rows = _by_id(dpc_sql.import_dumps([dump], secret=secret))
    assert rows[176474]["author_key"] == crawled
    assert rows[176475]["author_key"] != crawled   # commenter 772


LAYOUTS = (
    "-- a header\n\n   -- an indented comment line\r\n"
    "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
    'INSERT INTO comments ("id", "image_id", "commenter_id", "raw_comment", "comment", "date", "edited",\n'
    '  "made_during_challenge") VALUES\r\n'
    "(1, 5, 7, '<td>a</td>', 'ends a line inside the text;\nand -- is not a comment here;\r\n', "
    "'2002-12-23 00:04:45.000000', NULL, 1),\n"
    "(2, 5, 7, '<td>b</td>', 'it''s a ''quote'';', '2002-12-23 00:05:45.000000', NULL, 0);  \n"
    "-- between statements\n"
    "INSERT INTO comments VALUES (3, 6, NULL, '<td>c</td>', 'one line; two ; three', '2002-12-24 00:00:00', "
    "NULL, NULL);"
    "\r\nCOMMIT;"
)


def test_statements_are_cut_where_sqlite_says_they_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cut_up: list[Path] = []   # the dumps run statement by statement, not as one script
    load_statements = dpc_sql._load_statements
    monkeypatch.setattr(dpc_sql, "_load_statements",
                        lambda path, text: cut_up.append(path) or load_statements(path, text))
    path = tmp_path / "x.sql"
    path.write_bytes(LAYOUTS.encode())
    ours = {row["comment_id"]: row["text"] for row in dpc_sql.import_dumps([path]).to_pylist()}
    theirs = dict(sqlite_of(path).execute("SELECT id, comment FROM comments"))
    assert ours == theirs and len(ours) == 3 and "\n" in ours[1] and ours[2] == "it's a 'quote';"
    assert not cut_up
    for tail in ("\n-- a comment after the last statement\n", "\n" * 5000):   # the second: beyond the tail looked at
        path.write_bytes((LAYOUTS + tail).encode())
        assert {row["comment_id"]: row["text"] for row in dpc_sql.import_dumps([path]).to_pylist()} == ours
    assert cut_up == [path, path]
    cut = LAYOUTS[:LAYOUTS.index("and -- is not")]  # ends inside the multi-line text of the INSERT from line 6
    path.write_bytes(cut.encode())
    with pytest.raises(UserError, match=r"x.sql:6: the file ends inside this statement \(truncated\?\)"):
        dpc_sql.import_dumps([path])


def test_one_script_and_statement_by_statement_store_and_refuse_alike(tmp_path: Path) -> None:
    """A dump runs as one script into a STRICT table or, when it ends in a comment, statement by statement
    into a plain one, then checked: the two keep the same values ('5' as 5, as SQLite stores it without
    loss in an INTEGER column) and refuse the same ones, with the same message."""
    path = tmp_path / "x.sql"
    kept = [("5", "6", None, "<td>a</td>", 7, "2002-12-23 00:04:45", None, "1")]
    for rows, message in [(kept, None),
                          ([("5.5", 6, None, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)], "comment 5.5: comment id"),
                          ([(5, 6, None, "<td>a</td>", "a", 20021223, None, 1)], "comment 5: date must be"),
                          ([(5, 6, "x", "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)], "commenter_id must be")]:
        tables = []
        for tail in ("", "-- the end\n"):
            path.write_text(_dump(rows).replace("'5.5'", "5.5") + tail)   # a REAL, not text
            if message is None:
                tables.append(dpc_sql.import_dumps([path]))
            else:
                with pytest.raises(UserError, match=message):
                    dpc_sql.import_dumps([path])
        if message is None:
            assert tables[0].equals(tables[1])
            row = tables[0].to_pylist()[0]
            assert (row["comment_id"], row["image_id"], row["text"], row["during_challenge"]) == (5, 6, "7", True)


def test_files_share_a_batch_and_its_errors_name_the_right_file(tmp_path: Path) -> None:
    good = [(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)]
    bad = [(2, 5, 7, "<td>b</td>", "b", "2002-13-23 00:04:45", None, 1)]
    first, second = tmp_path / "1.sql", tmp_path / "2.sql"
    for rows_first, rows_second, named in [(good, bad, "2.sql"), (bad, good, "1.sql")]:
        first.write_text(_dump(rows_first))
        second.write_text(_dump(rows_second))
        with pytest.raises(UserError, match=rf"{named}: comment 2: date is not a real date"):
            dpc_sql.import_dumps([first, second])
    first.write_text(_dump(good))
    second.write_text(_dump([(2, 5, 7, "<td>b</td>", "b", "2002-12-24 00:04:45", None, 0)]))
    table = dpc_sql.import_dumps([first, second])
    assert table["comment_id"].to_pylist() == [1, 2] and table["text"].num_chunks == 1   # one batch, not one a file


def test_batches_that_cut_files_anywhere_give_the_same_table(dumps: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "2.sql"
    other.write_text(_dump([(1, 5, 7, "<td>a</td>", "a", "2002-12-23 00:04:45", None, 1)]))
    whole = dpc_sql.import_dumps([dumps / "50.sql", other])
    monkeypatch.setattr(dpc_sql, "_BATCH", 7)   # 644 + 1 rows: batches cut inside 50.sql and across the two files
    cut = dpc_sql.import_dumps([dumps / "50.sql", other])
    assert cut.equals(whole) and cut["text"].num_chunks == 93 and whole.num_rows == 645
