"""Crawl benchmark: (1) page parsing vs BeautifulSoup, (2) the crawl engine vs a minimal Scrapy spider.

(2) serves the fake DPChallenge (demo/site.py) from its own process on
127.0.0.1 and crawls N invented pages with politeness delays set to zero,
once with `aesthetic-crawl` (WARC + Parquet + ledger, fsynced commits) and
once with a Scrapy spider doing the same fetch + parse + hash + write
(perf/scrapy_spider.py, JSON lines out). Each runs in its own
subprocess, so wall time and peak RSS are its own (perf/peak_memory.py:
the process's own high-water mark, not this script's). Both run at
N/4 and N items to show whether memory grows with the number of items.

    .venv/bin/python perf/crawl.py              # N = 20,000
    .venv/bin/python perf/crawl.py --items 2000 # quicker
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "perf"))

from peak_memory import run_measured  # noqa: E402

CONCURRENCY = 8


@dataclass(frozen=True)
class Run:
    name: str
    items: int
    seconds: float
    peak_rss_mib: float
    exit_code: int

    @property
    def pages_per_s(self) -> float:
        return self.items / self.seconds


def serve(n_items: int) -> None:
    """Child process: serve the fake site, print its URL, run until stdin closes."""
    from demo.site import SiteConfig, fake_items, make_app, running_app

    with running_app(make_app(fake_items(n_items), SiteConfig())) as base:
        print(base, flush=True)
        sys.stdin.read()


def measure(name: str, items: int, command: list[str]) -> Run:
    done = run_measured(command, stdout=subprocess.DEVNULL)
    return Run(name, items, done.seconds, done.peak_mib, done.exit_code)


def engine_vs_scrapy(n_items: int, work: Path) -> list[Run]:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(n_items)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip()  # type: ignore[union-attr]
        runs = []
        for n in sorted({max(1, n_items // 4), n_items}):
            ids = work / f"ids-{n}.txt"
            ids.write_text("".join(f"{1000 + i}\n" for i in range(n)))
            ours = [sys.executable, "-m", "aesthetic.crawler.cli", "ava", "--ids", str(ids), "--out",
                    str(work / f"ours-{n}"), "--base-url", base, "--contact", "bench@example.org", "--min-delay", "0",
                    "--no-autothrottle", "--concurrency", str(CONCURRENCY), "--quiet",
                    "--secret", str(work / "secret")]
            scrapy = [sys.executable, str(REPO / "perf" / "scrapy_spider.py"), "--base-url", base, "--ids",
                      str(ids), "--out", str(work / f"scrapy-{n}.jsonl"), "--concurrency", str(CONCURRENCY)]
            runs.append(measure("aesthetic-crawl", n, ours))
            runs.append(measure("scrapy", n, scrapy))
            ours_rows = _count_parquet_rows(work / f"ours-{n}" / "comments")
            scrapy_rows = sum(1 for _ in open(work / f"scrapy-{n}.jsonl"))
            if ours_rows != scrapy_rows:
                raise AssertionError(f"unequal work at {n} items: ours {ours_rows} rows, scrapy {scrapy_rows}")
        return runs
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(30)


def _count_parquet_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(folder).num_rows


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--items", type=int, default=20_000, help="pages in the engine run (default 20,000)")
    cli.add_argument("--parse-seconds", type=float, default=3.0, help="CPU seconds per parser in part (1)")
    cli.add_argument("--skip-parse", action="store_true", help="only part (2)")
    cli.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.serve:
        serve(args.serve)
        return

    if not args.skip_parse:
        from crawl_parse import run_parse_benchmark, target_text

        parse = run_parse_benchmark(args.parse_seconds)
        print(f"(1) parse, real DPChallenge page ({parse['page_bytes']:,} bytes, {parse['comments_per_page']} "
              "comments), one core:")
        print(f"    ours {parse['ours']}: {parse['ours_pages_per_cpu_s']:,.1f} pages/CPU-s; ceiling "
              f"{parse['ceiling']}: {parse['ceiling_pages_per_cpu_s']:,.1f}; baseline {parse['baseline']}: "
              f"{parse['baseline_pages_per_cpu_s']:,.1f}")
        print(f"    ours / ceiling {parse['of_ceiling']:.3f} ({target_text(parse)}); "
              f"ours / baseline {parse['speedup']:.1f}x; page faults a page: ours "
              f"{parse['ours_page_faults_per_page']}, ceiling {parse['ceiling_page_faults_per_page']}")

    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as work:
        runs = engine_vs_scrapy(args.items, Path(work))
    print(f"(2) crawl engine vs Scrapy {__import__('scrapy').__version__}, fake site on 127.0.0.1, delays 0, "
          f"concurrency {CONCURRENCY}, {os.cpu_count()} CPUs shared by server and client:")
    for run in runs:
        print(f"    {run.name:<16} {run.items:>7,} pages  {run.seconds:7.1f} s  {run.pages_per_s:8.1f} pages/s  "
              f"peak RSS {run.peak_rss_mib:6.1f} MiB  exit {run.exit_code}")
    by = {(r.name, r.items): r for r in runs}
    for n in sorted({r.items for r in runs}):
        ours, scrapy = by[("aesthetic-crawl", n)], by[("scrapy", n)]
        print(f"    at {n:,} pages: speed ratio ours/scrapy {ours.pages_per_s / scrapy.pages_per_s:.2f}x, "
              f"memory ratio {ours.peak_rss_mib / scrapy.peak_rss_mib:.2f}x")
    sizes = sorted({r.items for r in runs})
    if len(sizes) == 2:
        for name in ("aesthetic-crawl", "scrapy"):
            small, large = by[(name, sizes[0])], by[(name, sizes[1])]
            print(f"    {name}: peak RSS {small.peak_rss_mib:.1f} MiB at {sizes[0]:,} -> {large.peak_rss_mib:.1f} MiB at "
                  f"{sizes[1]:,} pages ({large.peak_rss_mib - small.peak_rss_mib:+.1f} MiB)")


if __name__ == "__main__":
    main()
