"""The one corpus-build trick kept (corpus/bytescan.py), against the plain pyarrow kernel it replaces.

Both find the comments holding an ASCII digit (the score-mention check's prefilter) in the
~3 million generated comments of perf/build_splits.py, in the same process, alternating, and
must return the same rows. CPU time, so a busy machine disturbs the ratio less.

Usage: python perf/corpus_tricks.py [--scale 1.0] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from perf.build_splits import generate  # noqa: E402

from aesthetic.corpus.bytescan import rows_with_bytes  # noqa: E402
from aesthetic.corpus.comment_sources import read_comments, resolve  # noqa: E402

DIGITS = ((ord("0"), ord("9")),)


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full ~3M comments")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, captions, _ = generate(Path(tmp), args.scale)
        (source,) = resolve([str(captions)], "auto", "ava")
        text = read_comments(source, "ava")["text"].combine_chunks()

    def ours() -> np.ndarray:
        return rows_with_bytes(text, DIGITS)

    def plain() -> np.ndarray:
        return np.asarray(pc.match_substring_regex(text, "[0-9]"), dtype=bool)

    assert np.array_equal(ours(), plain()), "the byte scan and the regex disagree"
    print(f"{len(text):,} comments, {text.nbytes / 1e6:.0f} MB")
    for _ in range(args.rounds):
        a, b = _cpu(ours), _cpu(plain)
        print(f"byte scan {a:.3f} s CPU, pc.match_substring_regex('[0-9]') {b:.3f} s CPU: {b / a:.2f}x")


if __name__ == "__main__":
    main()
