"""Crawl benchmark part (1): DPChallenge page parsing, pages per CPU-second (one core).

Ours (selectolax's lexbor parser) against a baseline doing the same job with
BeautifulSoup + html.parser, the usual choice in scraping scripts, and against
the ceiling: lexbor building the tree of the same page and nothing else
(`LexborHTMLParser(page bytes)`, the UTF-8 bytes ours also hands it), which no
parser built on it can beat. All are measured in the same run on the same real
page (../shared/data/dpchallenge/image_921974.html, 29 comments). The baseline must
return exactly what ours returns (checked before timing), so the ratio compares
equal work. CPU time is used, not wall time, so a busy shared machine does not
distort "per core"; ours and the ceiling are timed in alternating slices so a
change of load affects both alike.

The target is a share of the ceiling, since machines differ: ours >= 0.45 of
the bare parse, which is 1,000 pages/s where the bare parse does 2,200/s.

The figures are taken in a child process whose heap keeps the memory it frees
(glibc's mmap and trim thresholds set to 1 GiB through GLIBC_TUNABLES, for that
process only), as a crawl's heap does: with the crawler's modules, pyarrow and
aiohttp imported first, neither parse page-faults. Left to itself, glibc may
instead hand each freed tree back to the kernel, and the next tree then costs
fresh zeroed pages; whether it does depends on what else sits on the heap, and
in runs of the same code this moved the share from 0.36 (no faults) to 0.56
(166 and 189 faults a page). Page faults a page are still printed for both, as
the check that the run was of the kind described here.

Run alone:  .venv/bin/python perf/crawl_parse.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from selectolax.lexbor import LexborHTMLParser

from aesthetic.crawler.html_text import BLOCK_TAGS, BREAK, collapse_text, decode_html
from aesthetic.crawler.sites.base import ParsedComment, ParsedPage, member_id
from aesthetic.crawler.sites.dpchallenge import (
    BASE_URL,
    DIVIDER_MARKER,
    EDITED_LINE,
    HELPFUL_MARKER,
    QUOTE_HEAD,
    TIMESTAMP,
    looks_complete,
    parse,
    to_datetime,
)

PAGE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dpchallenge" / "image_921974.html"
CONTENT_TYPE = "text/html; charset=UTF-8"
TARGET_OF_CEILING = 0.45          # ours / bare lexbor parse
TARGET_EXAMPLE = (1_000, 2_200)   # the same target in pages/s: ours where the bare parse does this
SLICES = 6                        # alternations of ours and the ceiling
# The measuring process keeps what it frees, as a crawl's does (see the module docstring).
KEEP_FREED_MEMORY = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824"


def _bs4_text(node: Tag) -> str:
    for br in node.find_all("br"):
        br.replace_with(BREAK)
    for block in node.find_all(list(BLOCK_TAGS)):
        block.insert_before(BREAK)
        block.insert_after(BREAK)
    return collapse_text(node.get_text())


def _bs4_comment(header: Tag, body_row: Tag | None, helpful: bool, after_divider: bool | None,
                 position: int) -> ParsedComment:
    anchor = header.select_one("td[rowspan] > a[name]")
    cell = anchor.parent
    link = cell.select_one("a.fo")
    stamp_cell = cell.find_next_sibling("td")
    stamp = TIMESTAMP.search(stamp_cell.get_text()) if stamp_cell else None
    text, edited = "", False
    body = body_row.select_one("table.forum-post td") if body_row is not None else None
    if body is not None:
        for bold in body.find_all("b"):
            if bold.get_text(strip=True).startswith(QUOTE_HEAD) and bold.find_parent("table") is not None:
                quote = bold.find_parent("table")
                if quote is not body.find_parent("table"):
                    quote.decompose()
        text, edits = EDITED_LINE.subn("", _bs4_text(body))
        text, edited = text.strip(), edits > 0
    name = anchor.get("name", "").strip()
    return ParsedComment(
        position=position,
        comment_id=int(name) if name.isdigit() else None,
        author=link.get_text(strip=True) if link else None,
        author_id=member_id(link.get("href"), "USER_ID") if link else None,
        text=text,
        posted_at=to_datetime(stamp) if stamp else None,
        during_challenge=after_divider,
        edited=edited,
        helpful=helpful,
    )


def bs4_parse(body: bytes, content_type: str | None) -> ParsedPage:
    """The baseline: the same fields as `dpchallenge.parse`, with BeautifulSoup + html.parser."""
    html = decode_html(body, content_type)
    soup = BeautifulSoup(html, "html.parser")
    groups: list[list] = []   # [header row, body row, helpful, after divider]
    divider_seen = False
    first = soup.select_one("td[rowspan] > a[name]")
    for row in first.parent.parent.parent.find_all("tr", recursive=False) if first else []:
        if row.select_one("td[rowspan] > a[name]") is not None:
            groups.append([row, None, False, divider_seen])
            continue
        text = row.get_text()
        if DIVIDER_MARKER in text:
            divider_seen = True
        elif groups and HELPFUL_MARKER in text:
            groups[-1][2] = True
        elif groups and groups[-1][1] is None:
            groups[-1][1] = row
    comments = [_bs4_comment(h, b, helpful, after if divider_seen else None, i)
                for i, (h, b, helpful, after) in enumerate(groups)]
    image = next((img["src"] for img in soup.select("#img_container img")
                  if not img.get("src", "").endswith("/pix.gif")), None)
    stats: dict[str, str] = {}
    for heading in soup.select("tr.forum-heading"):
        if heading.get_text(strip=True) == "Statistics":
            for line in _bs4_text(heading.find_next_sibling("tr")).splitlines():
                label, colon, value = line.partition(":")
                if colon and label.strip():
                    stats[label.strip()] = value.strip()
    return ParsedPage(kind="ok", comments=comments, image_url=urljoin(BASE_URL + "/", image) if image else None,
                      stats=stats, complete=looks_complete(html.encode("utf-8")))


def _rate(fn: Callable[[], object], seconds: float) -> tuple[float, int]:
    """Pages per CPU-second of `fn`, looping for about `seconds` of CPU time."""
    pages, start = 0, time.process_time()
    while (spent := time.process_time() - start) < seconds or pages < 3:
        fn()
        pages += 1
    return pages / spent, pages


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _interleaved(fns: list[Callable[[], object]], seconds: float) -> list[tuple[float, int, float]]:
    """`_rate` of each of `fns`, about `seconds` each, spent in `SLICES` alternating slices; with
    each one's minor page faults a page (fresh memory the kernel had to map and zero)."""
    spent, pages, faults = [0.0] * len(fns), [0] * len(fns), [0] * len(fns)
    for _ in range(SLICES):
        for i, fn in enumerate(fns):
            before = _minor_faults()
            rate, n = _rate(fn, seconds / SLICES)
            faults[i] += _minor_faults() - before
            spent[i] += n / rate
            pages[i] += n
    return [(n / s, n, f / n) for n, s, f in zip(pages, spent, faults)]


def run_parse_benchmark(seconds: float = 3.0) -> dict:
    """Ours, the bare lexbor parse and the baseline on the real page, measured in a child process
    whose heap keeps freed memory (tunables are read only when a process starts); the figures as a
    dict (printed by `main`)."""
    if not PAGE.exists():
        raise FileNotFoundError(f"the real page {PAGE} is missing (see ../shared/data/README.md)")
    tunables = ":".join(filter(None, [os.environ.get("GLIBC_TUNABLES"), KEEP_FREED_MEMORY]))
    child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(seconds)],
                           env={**os.environ, "GLIBC_TUNABLES": tunables}, capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{child.stderr}")
    return {**json.loads(child.stdout), "malloc_tunables": tunables}


def _measure(seconds: float) -> dict:
    """The figures of `run_parse_benchmark`, taken in this process."""
    body = PAGE.read_bytes()
    ours, baseline = parse(body, CONTENT_TYPE), bs4_parse(body, CONTENT_TYPE)
    if ours != baseline:
        raise AssertionError("the BeautifulSoup baseline does not extract the same page; the ratio would lie")
    (ours_rate, ours_pages, ours_faults), (ceiling_rate, ceiling_pages, ceiling_faults) = _interleaved(
        [lambda: parse(body, CONTENT_TYPE), lambda: LexborHTMLParser(body)], seconds)
    base_rate, base_pages = _rate(lambda: bs4_parse(body, CONTENT_TYPE), seconds)
    return {
        "page_bytes": len(body),
        "comments_per_page": len(ours.comments),
        "ours": "selectolax.lexbor",
        "ours_pages_per_cpu_s": round(ours_rate, 1),
        "ours_pages": ours_pages,
        "ours_page_faults_per_page": round(ours_faults, 1),
        "ceiling": "LexborHTMLParser(bytes) alone",
        "ceiling_pages_per_cpu_s": round(ceiling_rate, 1),
        "ceiling_pages": ceiling_pages,
        "ceiling_page_faults_per_page": round(ceiling_faults, 1),
        "of_ceiling": round(ours_rate / ceiling_rate, 3),
        "baseline": "BeautifulSoup html.parser",
        "baseline_pages_per_cpu_s": round(base_rate, 1),
        "baseline_pages": base_pages,
        "speedup": round(ours_rate / base_rate, 1),
        "target_of_ceiling": TARGET_OF_CEILING,
        "target_met": ours_rate >= TARGET_OF_CEILING * ceiling_rate,
    }


def target_text(result: dict) -> str:
    """The target and whether this run met it, in words (shared with perf/crawl.py)."""
    ours_at, ceiling_at = TARGET_EXAMPLE
    return (f"target: >= {result['target_of_ceiling']:.2f} of the bare parse, i.e. {ours_at:,} pages/s where it does "
            f"{ceiling_at:,}: {'met' if result['target_met'] else 'NOT met'}")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--seconds", type=float, default=3.0, help="CPU seconds to spend on each parser (default 3)")
    cli.add_argument("--measure", type=float, help=argparse.SUPPRESS)   # the child: figures as JSON
    args = cli.parse_args()
    if args.measure is not None:
        print(json.dumps(_measure(args.measure)))
        return
    result = run_parse_benchmark(args.seconds)
    print(f"DPChallenge page parse ({result['page_bytes']:,} bytes, {result['comments_per_page']} comments), "
          f"one core, pages per CPU-second, heap keeping freed memory (GLIBC_TUNABLES={result['malloc_tunables']}):")
    print(f"  ours     {result['ours']:<30} {result['ours_pages_per_cpu_s']:>8.1f} pages/s  "
          f"({result['ours_page_faults_per_page']} page faults a page)")
    print(f"  ceiling  {result['ceiling']:<30} {result['ceiling_pages_per_cpu_s']:>8.1f} pages/s  "
          f"({result['ceiling_page_faults_per_page']} page faults a page)")
    print(f"  baseline {result['baseline']:<30} {result['baseline_pages_per_cpu_s']:>8.1f} pages/s")
    print(f"  ours / ceiling {result['of_ceiling']:.3f}  ({target_text(result)})")
    print(f"  ours / baseline {result['speedup']:.1f}x")


if __name__ == "__main__":
    main()
