"""Benchmark the text side's tokenizing passes (Vocab.build + encode_many) on real DPChallenge comments.

The real DPC-Captions dump (13,432 images, 15,765 comments, ../shared/data/comments/) is repeated
`--repeat` times to reach a size where worker processes pay off. Measured in the same run:

- baseline: one process (workers=1), what a plain loop over the tokenizer costs;
- pooled: `--workers` spawned processes (default: every core, at most 8).

Prints seconds, images/s and comments/s of each and the speed-up pooled / baseline, and checks
both give the same vocabulary and ids. Other work on the cores (the load average is printed)
eats the pool's gain: compare on an otherwise idle machine.
Usage: python perf/tokenize_throughput.py [--repeat 2] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# The tokenizer imports nltk on first use; imported here, so the baseline's time leaves it out, as before.
import nltk.tokenize  # noqa: F401
import numpy as np

from aesthetic.benchmark.vocab import Vocab

DUMP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "comments" / "dpc_captions_impression_and_subject.json"


def timed(workers: int, images: list[list[str]]) -> tuple[float, Vocab, np.ndarray]:
    start = time.perf_counter()
    vocab = Vocab.build(images, workers=workers)
    ids = vocab.encode_many(images, workers=workers)
    return time.perf_counter() - start, vocab, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="copies of the real dump to tokenize (default 2)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="processes of the pooled run")
    args = parser.parse_args()
    if not DUMP.is_file():
        raise SystemExit(f"{DUMP} is missing (see ../shared/data/README.md)")
    images = [list(comments) for comments in json.loads(DUMP.read_text()).values()] * args.repeat
    n_comments = sum(map(len, images))
    print(f"{len(images)} images, {n_comments} comments (real DPC-Captions x{args.repeat}), {os.cpu_count()} cores")
    print(f"load average before: {os.getloadavg()[0]:.1f} (other work on the cores slows the pooled run)")
    base_s, base_vocab, base_ids = timed(1, images)
    pool_s, pool_vocab, pool_ids = timed(args.workers, images)
    assert pool_vocab == base_vocab and np.array_equal(pool_ids, base_ids), "pooled result differs"
    for label, seconds in (("baseline, 1 process", base_s), (f"pooled, {args.workers} processes", pool_s)):
        print(f"{label:>24}: {seconds:6.2f} s  {len(images) / seconds:7.0f} images/s  "
              f"{2 * n_comments / seconds:7.0f} comments/s (build + encode)")
    print(f"speed-up pooled / baseline: {base_s / pool_s:.2f}x")


if __name__ == "__main__":
    main()
