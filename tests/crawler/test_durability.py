"""Kill -9 at any moment, restart: nothing lost, no duplicate rows, at most in-flight items fetched again."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.crawler.crawl_helpers import page_requests

from aesthetic.crawler.engine import open_output
from aesthetic.crawler.ledger import Ledger, Outcome
from aesthetic.crawler.store import CommentParts, comments_table
from demo.site import SiteConfig, fake_items, make_app, running_app

N_ITEMS = 120
COMMIT_EVERY = 4


def _command(base: str, ids: Path, out: Path, secret: Path) -> list[str]:
    return [sys.executable, "-m", "aesthetic.crawler.cli", "ava", "--ids", str(ids), "--out", str(out),
            "--base-url", base, "--contact", "kill-test@example.org", "--min-delay", "0.015",
            "--no-autothrottle", "--commit-every", str(COMMIT_EVERY), "--commit-seconds", "0.3",
            "--secret", str(secret), "--quiet"]


def _done(out: Path) -> int:
    """Items committed as done so far, read without writing (the crawler holds the ledger)."""
    path = out / "ledger.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM items WHERE state='done'").fetchone()[0]
    except sqlite3.OperationalError:  # created but its tables not yet
        return 0


def _comments(out: Path) -> pa.Table:
    table = pq.read_table(out / "comments").drop_columns(["fetched_at"])
    return table.sort_by([("image_id", "ascending"), ("position", "ascending")])


@pytest.mark.slow
def test_sigkill_and_restart_gives_the_same_comments_as_an_uninterrupted_run(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(i) for i in range(1000, 1000 + N_ITEMS)) + "\n")
    secret = tmp_path / "secret"
    app = make_app(fake_items(N_ITEMS - 5), SiteConfig())  # the last 5 ids are missing on the site
    rng = random.Random(7)
    with running_app(app) as base:
        reference = tmp_path / "reference"
        assert subprocess.run(_command(base, ids, reference, secret), timeout=120).returncode == 0
        requests_reference = len(page_requests(app["log"]))

        killed = tmp_path / "killed"
        kills = 0
        for target in (15, 40, 70, 95):
            proc = subprocess.Popen(_command(base, ids, killed, secret))
            # Kill once the crawl is past `target` committed items (robust to a slow, loaded machine),
            # plus a random moment, so the kill lands anywhere in the fetch/write/commit cycle.
            deadline = time.monotonic() + 60
            while _done(killed) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is not None:
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
        with Ledger(killed / "ledger.sqlite") as ledger:
            done_before_final = ledger.counts("ava")["done"]
        final = subprocess.run(_command(base, ids, killed, secret), timeout=120)
        requests_killed = len(page_requests(app["log"])) - requests_reference

    assert final.returncode == 0
    assert kills >= 3, "the crawl finished before it could be killed three times; slow it down"
    with Ledger(killed / "ledger.sqlite") as ledger:
        assert ledger.counts("ava") == {"pending": 0, "done": N_ITEMS - 5, "missing": 5, "failed": 0, "blocked": 0}
    expected, got = _comments(reference), _comments(killed)
    keys = list(zip(got.column("image_id").to_pylist(), got.column("position").to_pylist()))
    assert len(keys) == len(set(keys)), "duplicate comment rows"
    assert got.equals(expected)
    assert 0 < done_before_final < N_ITEMS - 5, "the kills did not land mid-crawl"
    assert expected.num_rows > 300
    # Each kill re-fetches at most the uncommitted batch and the item in flight.
    assert requests_killed <= N_ITEMS + kills * (COMMIT_EVERY + 2)


def _rows(item_id: int, n: int) -> list[dict[str, object]]:
    from datetime import datetime, timezone

    return [{"dataset": "ava", "image_id": item_id, "position": p, "text": f"c{p}", "source_url": "u",
             "source": "live", "fetched_at": datetime(2026, 1, 1, tzinfo=timezone.utc), "parser_version": "1"}
            for p in range(n)]


def test_recover_rolls_an_uncommitted_part_back_and_a_committed_one_forward(tmp_path: Path) -> None:
    ledger, parts = open_output(tmp_path)
    ledger.add_items("ava", [1, 2])
    # Killed after writing part 1 but before the ledger commit: it must vanish, item 1 stays pending.
    parts.write_pending(1, comments_table(_rows(1, 3)))
    # Part 2... committed in the ledger, killed before the rename: it must be published.
    parts.write_pending(2, comments_table(_rows(2, 2)))
    ledger.commit_batch("ava", 2, 2, [Outcome(2, "done", 200, n_comments=2)])
    # A published part the ledger does not name (superseded by compaction, killed before the delete).
    pq.write_table(comments_table(_rows(1, 1)), parts.part_path(9))
    ledger.close()
    # Before recovery a reader globbing *.parquet (or pyarrow reading the folder) never sees a pending part.
    assert [p.name for p in (tmp_path / "comments").glob("*.parquet")] == ["part-00000009.parquet"]
    assert pq.read_table(tmp_path / "comments").num_rows == 1

    ledger, parts = open_output(tmp_path)
    assert sorted(p.name for p in (tmp_path / "comments").iterdir()) == ["part-00000002.parquet"]
    assert pq.read_table(tmp_path / "comments").column("image_id").to_pylist() == [2, 2]
    assert ledger.get("ava", 1).state == "pending" and ledger.get("ava", 2).state == "done"


def test_compaction_merges_small_parts_without_changing_rows(tmp_path: Path) -> None:
    ledger, parts = open_output(tmp_path)
    ledger.add_items("ava", range(40))
    for item in range(40):
        seq = ledger.next_batch_seq()
        parts.write_pending(seq, comments_table(_rows(item, 2)))
        ledger.commit_batch("ava", seq, 2, [Outcome(item, "done", 200, n_comments=2)])
        parts.publish(seq)
    before = pq.read_table(tmp_path / "comments").sort_by("image_id")
    assert parts.compact(ledger, max_small_parts=8)
    assert len(list((tmp_path / "comments").glob("part-*.parquet"))) == 1
    assert pq.read_table(tmp_path / "comments").sort_by("image_id").equals(before)
    assert len(ledger.committed_batches()) == 1
    assert isinstance(parts, CommentParts)


def test_sigterm_commits_finished_items_and_exits_130(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(i) for i in range(1000, 1150)) + "\n")
    out = tmp_path / "out"
    with running_app(make_app(fake_items(150), SiteConfig())) as base:
        command = _command(base, ids, out, tmp_path / "secret")
        command[command.index("--commit-every") + 1] = "1000"   # nothing committed before the signal
        command[command.index("--commit-seconds") + 1] = "1000"
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (out / "raw").exists() or not any((out / "raw").iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "run the same command again to resume" in err
    with Ledger(out / "ledger.sqlite") as ledger:
        done = ledger.counts("ava")["done"]
    assert 0 < done < 150  # what finished before the signal was committed on the way out
    assert pq.read_table(out / "comments").num_rows > 0


def test_a_ledger_from_before_the_photo_error_column_gains_it_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:  # the first release's items table
        db.executescript("""CREATE TABLE items (dataset TEXT NOT NULL, item_id INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER,
            last_error TEXT, fetched_at REAL, source TEXT, n_comments INTEGER, url TEXT, capture_timestamp TEXT,
            warc_file TEXT, warc_offset INTEGER, image_url TEXT, image_state TEXT, PRIMARY KEY (dataset, item_id))
            WITHOUT ROWID;
            INSERT INTO items (dataset, item_id, state, image_url) VALUES ('ava', 7, 'done', 'http://h/7.jpg');""")
    with Ledger(path) as ledger:
        assert ledger.get("ava", 7).state == "done" and ledger.get("ava", 7).image_error is None
        ledger.set_image_state("ava", 7, "failed", "HTTP 404")
        assert ledger.image_failures("ava", 10) == [(7, "HTTP 404")]
        assert ledger.image_counts("ava") == {"stored": 0, "failed": 1, "todo": 0}
