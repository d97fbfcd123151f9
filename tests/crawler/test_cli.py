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
        (["ava", "--ids", "NOPE", "--out", "OUT", "--contact", "a@b.org"], "NOPE: ids file not found"),
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


def test_photonet_help_offers_only_its_own_source(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["photonet", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "live" not in text and "required" not in text
    assert "wayback: the Internet Archive's captures" in text and "(default wayback)" in text
    with pytest.raises(SystemExit):
        main(["ava", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "live: the site itself" in text and "(required for the live source)" in text


@pytest.mark.parametrize("command", ["status", "reparse"])
def test_status_and_reparse_have_help(capsys, command: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "DIR the crawl folder (the --out of the crawl)" in text
    assert ("comments part is whole" if command == "status" else "Nothing is fetched") in text


@pytest.mark.parametrize(("base_url", "why"), [
    ("http://127.0.0.1:99999", "out of range"),
    ("http://127.0.0.1:0", "port 0"),
    ("http://127.0.0.1:port", "could not be cast"),
    ("http://127.0.0.1:-1", "could not be cast"),
    ("gopher://127.0.0.1:9", "only http and https"),
    ("http://user:pw@127.0.0.1:9", "credentials"),
    ("http://127.0.0.1:9/?x=1", "query or fragment"),
])
def test_a_bad_base_url_is_a_usage_error_and_nothing_is_created(tmp_path, capsys, base_url: str, why: str) -> None:
    out = tmp_path / "out"
    code = main(["ava", "--ids", str(_ids(tmp_path, [1])), "--out", str(out), "--contact", "a@b.org",
                 "--base-url", base_url])
    err = capsys.readouterr().err
    assert code == 2 and "--base-url" in err and why in err and "Traceback" not in err
    assert not out.exists()  # no half-made ledger


def test_the_plan_names_the_delay_it_really_keeps(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000, 1001])
    with running_app(make_app(fake_items(2), SiteConfig(crawl_delay=0.05))) as base:
        assert main(_crawl_args(base, ids, tmp_path / "a")) == 0
        plan = next(line for line in capsys.readouterr().err.splitlines() if "plan:" in line)
        assert ("at least 0.05 s between requests (robots.txt asks for it; --min-delay is 0 s), counted from the "
                "previous answer; AutoThrottle raises it while the site answers slowly (now ") in plan
        args = _crawl_args(base, ids, tmp_path / "b", "--no-autothrottle")
        args[args.index("--min-delay") + 1] = "0.2"
        assert main(args) == 0
        plan = next(line for line in capsys.readouterr().err.splitlines() if "plan:" in line)
        assert ("at least 0.2 s between requests (--min-delay; robots.txt asks for 0.05 s), counted from the "
                "previous answer; AutoThrottle off; 1 in flight per host") in plan


def test_the_stop_message_reads_as_english(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, list(range(1000, 1004)))
    with running_app(make_app(fake_items(4), SiteConfig(block_after=1))) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out", "--quiet")) == 1
    stop = next(line for line in capsys.readouterr().err.splitlines() if "crawl stopped" in line)
    assert stop.endswith(f"crawl stopped: {base} is still blocking this client after a 0.1 s cool-down (the "
                         "site's block page). Wait hours or days, make sure --contact reaches you, consider a larger "
                         "--min-delay, then run the same command to resume.")


def test_retry_failed_is_not_offered_for_robots_disallowed_items(tmp_path, capsys) -> None:
    ids = _ids(tmp_path, [1000, 1001])
    config = SiteConfig(disallow=["/image.php?IMAGE_ID=1001"])
    with running_app(make_app(fake_items(2), config)) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out")) == 1
        err = capsys.readouterr().err
        assert "1 items are disallowed by robots.txt and were not fetched" in err
        assert "--retry-failed" not in err and "blocked 1001" not in err
    config.faults[1000] = [(500, None)] * 9  # a failure that a retry can mend, beside the disallowed item
    with running_app(make_app(fake_items(2), config)) as base:
        assert main(_crawl_args(base, ids, tmp_path / "out2", "--max-attempts", "1")) == 1
    err = capsys.readouterr().err
    assert "1 items are failed or blocked; rerun the same command with --retry-failed" in err


def _photo_items(bad: int | None = None):
    from demo.site import FakeItem

    items = fake_items(3, images=True)
    if bad is not None:
        items[bad] = FakeItem(items[bad].image_id, items[bad].comments, b"<html>not a photo</html>")
    return items


def test_photo_failures_are_counted_exit_1_and_status_says_how_to_retry(tmp_path, capsys) -> None:
    ids, out = _ids(tmp_path, [1000, 1001, 1002]), tmp_path / "out"
    with running_app(make_app(_photo_items(bad=1), SiteConfig())) as base:
        assert main(_crawl_args(base, ids, out, "--images")) == 1
    err = capsys.readouterr().err
    assert "3 done, 0 missing, 0 failed, 0 blocked, 0 pending (3 items processed this run); photos: 2 stored, " \
           "1 failed" in err
    assert "photo 1001: not a decodable image" in err
    assert "1 photos failed; rerun the same command with --retry-failed to try them again" in err
    assert main(["status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "photos: 2 stored, 1 failed, 0 not fetched yet" in text and "--images --retry-failed" in text
    assert main(["status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ava"]["photos"] == {"stored": 2, "failed": 1, "todo": 0}


def test_a_mirror_that_cannot_serve_the_photo_host_says_so_once(tmp_path, capsys) -> None:
    from tests.crawler.hostile import hostile_app, html, page_path, photo_page

    answers = {page_path(i): html(photo_page(i)) for i in (1, 2, 3)}  # photos on images.dpchallenge.com
    app = hostile_app(answers)
    with running_app(app) as base:
        assert main(_crawl_args(base, _ids(tmp_path, [1, 2, 3]), tmp_path / "out", "--images")) == 1
    err = capsys.readouterr().err
    assert err.count("photos on https://images.dpchallenge.com are not fetched: this source contacts only "
                     f"{base} (with --base-url, only that host)") == 1
    assert "photos: 0 stored, 3 failed" in err and "photo of item" not in err
    assert not any(r.path.startswith("/images") for r in app["log"])


def test_a_damaged_comments_part_is_found_by_status_and_the_crawl_names_reparse(tmp_path, capsys) -> None:
    ids, out = _ids(tmp_path, [1000, 1001, 1002]), tmp_path / "out"
    with running_app(make_app(fake_items(3), SiteConfig())) as base:
        assert main(_crawl_args(base, ids, out)) == 0
        before = pq.read_table(out / "comments").sort_by([("image_id", "ascending"), ("position", "ascending")])
        part = next((out / "comments").glob("part-*.parquet"))
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])  # cut off, as by a full disk
        capsys.readouterr()
        assert main(["status", str(out)]) == 1
        text = capsys.readouterr().out
        assert f"damaged: comments/{part.name} is damaged" in text and f"aesthetic-crawl reparse {out}" in text
        assert main(_crawl_args(base, ids, out)) == 2
        err = capsys.readouterr().err
        assert "damaged comments part" in err and f"aesthetic-crawl reparse {out}" in err
    assert main(["reparse", str(out)]) == 0
    assert main(["status", str(out)]) == 0 and "damaged" not in capsys.readouterr().out
    after = pq.read_table(out / "comments").sort_by([("image_id", "ascending"), ("position", "ascending")])
    assert after.drop_columns(["fetched_at"]).equals(before.drop_columns(["fetched_at"]))
