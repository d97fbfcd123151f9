"""`aesthetic-crawl` end to end, in-process: exit statuses, plan, summary, status, reparse, log modes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aesthetic.core.errors import UserError
from aesthetic.crawler.cli import main
from aesthetic.crawler.engine import human_duration
from aesthetic.crawler.store import DirLock
from demo.site import SiteConfig, fake_items, make_app, running_app


def _ids(tmp_path: Path, ids: list[int]) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"{i}\n" for i in ids))
    return path


def _crawl_args(base: str, ids: Path, out: Path, *extra: str) -> list[str]:
    return ["ava", "--ids", str(ids), "--out", str(out), "--base-url", base, "--contact", "me@example.org",
            "--min-delay", "0", "--backoff-cap", "0.1", "--block-cooldown", "0.1", *extra]


def test_help_documents_every_flag(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ava", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--ids", "--out", "--contact", "--source", "--base-url", "--min-delay", "--concurrency", "--images",
                 "--limit", "--retry-failed", "--max-attempts", "--quiet", "--json-log", "--commit-every"):
        assert flag in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ava", "--ids", "IDS", "--out", "OUT"], "needs --contact"),
        (["ava", "--ids", "IDS", "--out", "OUT", "--contact", "not a contact"], "e-mail address or an http"),
        (["ava", "--ids", "NOPE", "--out", "OUT", "--contact", "a@b.org"], "cannot read the ids file"),
        (["ava", "--ids", "IDS", "--out", "OUT", "--contact", "a@b.org", "--base-url", "ftp://x"], "http(s) URL"),
        (["ava", "--ids", "IDS", "--out", "IDS", "--contact", "a@b.org"], "is not a folder"),
        (["status", "OUT"], "not a crawl folder"),
        (["reparse", "OUT"], "not a crawl folder"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(tmp_path, capsys, args, message) -> None:
    ids = _ids(tmp_path, [1])
    args = [str(ids) if a == "IDS" else str(tmp_path / "out") if a == "OUT" else str(tmp_path / a) if a == "NOPE" else a
            for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--timeout", "0", "must be > 0"),        # aiohttp reads 0 as "no timeout at all"
    ("--min-delay", "nan", "not a finite number"),
    ("--block-cooldown", "inf", "not a finite number"),
    ("--min-delay", "-1", "must be >= 0"),
])
def test_bad_seconds_are_refused_by_argparse(tmp_path, capsys, flag, value, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ava", "--ids", str(_ids(tmp_path, [1])), "--out", str(tmp_path / "out"), "--contact", "a@b.org",
              "--base-url", "http://127.0.0.1:9", "--max-attempts", "1", flag, value])  # never the real site
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {message}" in err and "Traceback" not in err


def test_full_run_prints_plan_and_summary_and_exits_0_then_status_and_reparse(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000, 1001, 1002, 1999])
    out = tmp_path / "out"
    with running_app(make_app(fake_items(3), SiteConfig(crawl_delay=0.05))) as base:
        assert main(_crawl_args(base, ids, out)) == 0
    err = capsys.readouterr().err
    assert "4 pages to fetch" in err and "ETA: 4 pages at 1 per 0.05 s" in err
    assert "3 done, 1 missing, 0 failed, 0 blocked, 0 pending" in err

    assert main(["status", str(out)]) == 0
    assert "done 3" in capsys.readouterr().out
    assert main(["status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ava"]["counts"]["missing"] == 1

    before = pq.read_table(out / "comments").sort_by([("image_id", "ascending"), ("position", "ascending")])
    assert main(["reparse", str(out)]) == 0  # the server is gone: reparse needs no network
    after = pq.read_table(out / "comments").sort_by([("image_id", "ascending"), ("position", "ascending")])
    assert after.equals(before) and after.num_rows > 0
    assert len(list((out / "comments").glob("part-*.parquet"))) == 1


def test_failures_exit_1_and_retry_failed_recovers_them(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000, 1001])
    out = tmp_path / "out"
    config = SiteConfig(faults={1001: [(500, None)] * 2})
    with running_app(make_app(fake_items(2), config)) as base:
        assert main(_crawl_args(base, ids, out, "--max-attempts", "2")) == 1
        err = capsys.readouterr().err
        assert "failed 1001: HTTP 500" in err and "--retry-failed" in err
        assert main(_crawl_args(base, ids, out, "--retry-failed")) == 0  # the faults are used up
    assert "2 done, 0 missing, 0 failed" in capsys.readouterr().err


def test_block_stops_with_exit_1_and_a_clear_message(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, list(range(1000, 1006)))
    with running_app(make_app(fake_items(6), SiteConfig(block_after=1))) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out", "--quiet")) == 1
    err = capsys.readouterr().err
    assert "crawl stopped" in err and "still blocking" in err and "run the same command to resume" in err


def test_json_log_mode_writes_one_json_object_per_line(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000])
    with running_app(make_app(fake_items(1), SiteConfig())) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out", "--json-log")) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    plan = next(r for r in records if r["message"].startswith("plan:"))
    assert plan["todo"] == 1 and "delay_s" in plan


def test_limit_leaves_the_rest_pending_for_the_next_run(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000, 1001, 1002])
    with running_app(make_app(fake_items(3), SiteConfig())) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out", "--limit", "2")) == 0
        assert "1 items still pending" in capsys.readouterr().err
        assert main(_crawl_args(base, ids, tmp_path / "out")) == 0
    assert "3 done" in capsys.readouterr().err


def test_eta_is_said_in_human_units() -> None:
    assert human_duration(255_529 * 60) == "177 days"
    assert human_duration(5 * 3600) == "5.0 hours" and human_duration(600) == "10 min" and human_duration(30) == "30 s"


def test_one_crawler_per_output_folder(tmp_path) -> None:
    with DirLock(tmp_path):
        with pytest.raises(UserError, match="another aesthetic-crawl"):
            DirLock(tmp_path).__enter__()
    with DirLock(tmp_path):  # released
        pass


def test_plan_for_a_long_crawl_names_the_alternatives() -> None:
    """A Crawl-delay of 60 s over many ids: the plan says weeks and suggests Wayback or a dump."""
    from aesthetic.crawler.engine import plan_lines
    from aesthetic.crawler.politeness import PolitenessConfig, Spacing
    from aesthetic.crawler.sites import SITES
    from aesthetic.crawler.sources import make_source

    lines, eta = plan_lines(todo=25_553, final=0, entry_url="https://www.dpchallenge.com/",
                            source=make_source("live", SITES["ava"], None), spacing=Spacing(60.0, "robots.txt", 60.0, 60.0),
                            config=PolitenessConfig(), dataset="ava", wayback_possible=True)
    text = "\n".join(lines)
    assert eta == 25_553 * 60
    assert "25,553 pages at 1 per 60 s ≈ 18 days" in text
    assert "--source wayback" in text and "aesthetic-build-splits ava --comments" in text


@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_reparse_without_a_readable_archive_is_a_clear_error_and_changes_nothing(tmp_path, capsys, damage) -> None:
    ids = _ids(tmp_path, [1000, 1001])
    out = tmp_path / "out"
    with running_app(make_app(fake_items(2), SiteConfig())) as base:
        assert main(_crawl_args(base, ids, out)) == 0
    before = pq.read_table(out / "comments")
    for warc in (out / "raw").glob("*.warc.gz"):
        if damage == "deleted":
            warc.unlink()
        else:
            warc.write_bytes(b"\x1f\x8b" + b"not gzip at all" * 200)
    capsys.readouterr()
    assert main(["reparse", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot read the page record" in err and "Traceback" not in err
    assert pq.read_table(out / "comments").equals(before)


def test_a_damaged_ledger_is_a_clear_error_and_is_left_alone(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    garbage = b"this is not a SQLite database, just bytes " * 100
    (out / "ledger.sqlite").write_bytes(garbage)
    code = main(["ava", "--ids", str(_ids(tmp_path, [1])), "--out", str(out), "--contact", "a@b.org",
                 "--base-url", "http://127.0.0.1:9"])  # never the real site
    err = capsys.readouterr().err
    assert code == 2
    assert "ledger.sqlite: cannot open the crawl ledger" in err and "Traceback" not in err
    assert (out / "ledger.sqlite").read_bytes() == garbage
