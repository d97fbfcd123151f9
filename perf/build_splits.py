"""Benchmark `aesthetic-build-splits ava` at full scale, against the I/O floor measured in the same run.

Generates an AVA.txt over the 255,529 real available AVA ids (plus the official test ids)
with random votes, and ~3 million comments in AVA-Captions raw text (`<index>#<id>#<c>#<c>...`,
the format of the real full-scale dump) with a realistic share of HTML, quotes, accents,
useless one-word / numeric comments, duplicates and score mentions. Then runs, each in a
fresh child process:

- the build (the console script's code path), timed, peak memory = the child's own high-water
  mark (perf/peak_memory.py; not the ~1 GB this script reaches while generating the input);
- the I/O floor: pyarrow reads the same input files (AVA.txt, the comments file as lines)
  and writes Parquet (zstd) tables of the same content and size as the build's outputs.

Prints wall time, peak memory, rows/s and the ratio build / floor.
Usage: python perf/build_splits.py [--scale 0.1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "perf"))

from peak_memory import run_python  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "ava"
COMMENTS_PER_IMAGE = 11.7  # ~3 million comments over the 255,529 images

WORDS = ("light composition colour color focus sharp soft background subject frame crop tones contrast "
         "exposure shadows highlights lovely great nice beautiful stunning boring interesting detail "
         "texture mood feel challenge entry vote score eye lines balance space depth sky water portrait "
         "really very quite bit too much little more less would could should think like love feel").split()
ODD = ["nice!", "7", "6/10", "Wow", "great shot", "nice", "!!!", "8/10 lovely", ":-)"]
ACCENTS = ["café", "naïve", "cafe\u0301 crème", "déjà vu", "über"]


def _comment_pool(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[str]:
    lengths = rng.integers(lo, hi, n)
    words = rng.integers(0, len(WORDS), lengths.sum())
    out, start = [], 0
    vocab = np.array(WORDS, dtype=object)
    for length in lengths.tolist():
        out.append(" ".join(vocab[words[start:start + length]]))
        start += length
    return out


def generate(folder: Path, scale: float, seed: int = 0) -> tuple[Path, Path, int]:
    """Write folder/ava/AVA.txt (+ link to the real lists) and folder/captions.txt; return paths and #comments."""
    rng = np.random.default_rng(seed)
    available = np.loadtxt(SHARED / "available_ids" / "ilgnet_ids_labels.txt", dtype=np.int64, usecols=0)
    test = np.loadtxt(SHARED / "aesthetics_image_lists" / "generic_test.jpgl", dtype=np.int64)
    ids = np.union1d(available, test)
    ava = folder / "ava"
    ava.mkdir(parents=True, exist_ok=True)
    votes = rng.integers(0, 40, (len(ids), 10))
    rows = np.column_stack([np.arange(1, len(ids) + 1), ids, votes, rng.integers(0, 67, (len(ids), 2)),
                            rng.integers(1, 1500, len(ids))])
    np.savetxt(ava / "AVA.txt", rows, fmt="%d")
    lists = ava / "aesthetics_image_lists"
    if not lists.exists():
        os.symlink(SHARED / "aesthetics_image_lists", lists)

    commented = available if scale >= 1 else rng.choice(available, int(len(available) * scale), replace=False)
    counts = rng.poisson(COMMENTS_PER_IMAGE, len(commented))
    total = int(counts.sum())
    pool = _comment_pool(rng, 200_000, 3, 25)
    tails = _comment_pool(rng, 5_000, 1, 5)
    base = rng.integers(0, len(pool), total)
    tail = rng.integers(0, len(tails), total)
    kind = rng.random(total)
    texts = []
    for b, t, k in zip(base.tolist(), tail.tolist(), kind.tolist()):
        text = f"{pool[b]}. {tails[t]}"
        if k < 0.04:
            text = ODD[b % len(ODD)]
        elif k < 0.06:
            text = f"<b>{pool[b]}</b> &amp; {tails[t]}<br/>thanks"
        elif k < 0.065:
            text = f"Originally posted by someone: {tails[t]}"
        elif k < 0.075:
            text = f"{pool[b]}, I gave it a {1 + b % 10}"
        elif k < 0.085:
            text = f"{ACCENTS[b % len(ACCENTS)]} {pool[b]}"
        elif k < 0.095:
            text = pool[b]  # short pool -> some exact duplicates within an image
        texts.append(text)
    captions = folder / "captions.txt"
    with open(captions, "w", encoding="utf-8") as fh:
        start = 0
        for line, (image_id, n) in enumerate(zip(commented.tolist(), counts.tolist()), start=1):
            fh.write(f"{line}#{image_id}#" + "#".join(texts[start:start + n]) + "\n")
            start += n
    return ava, captions, total


BUILD = """
import sys, time
t0 = time.perf_counter()
from aesthetic.corpus.cli import main
import nltk.tokenize  # the build imports it when it first tokenizes: counted with the other imports, not in main()
t1 = time.perf_counter()
code = main(sys.argv[1:])
print(time.perf_counter() - t1, t1 - t0)
sys.exit(code)
"""

FLOOR = """
import sys, glob
import pyarrow as pa, pyarrow.csv as csv, pyarrow.parquet as pq
ava_txt, captions, built, out = sys.argv[1:]
tables = {p: pq.read_table(p) for p in sorted(glob.glob(built + "/*.parquet"))}
import time
t0 = time.perf_counter()
csv.read_csv(ava_txt, read_options=csv.ReadOptions(autogenerate_column_names=True),
             parse_options=csv.ParseOptions(delimiter=" "))
csv.read_csv(captions, read_options=csv.ReadOptions(column_names=["line"], block_size=1 << 24),
             parse_options=csv.ParseOptions(delimiter="\\x1f", quote_char=False, escape_char=False))
for i, (p, t) in enumerate(tables.items()):
    pq.write_table(t, f"{out}/{i}.parquet", compression="zstd")
print(time.perf_counter() - t0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 255,529 images that get comments")
    parser.add_argument("--workdir", type=Path, help="where to generate inputs (default: a temporary folder)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        ava, captions, n_comments = generate(folder, args.scale)
        print(f"generated {n_comments:,} comments ({captions.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        build_argv = ["ava", "--ava-dir", str(ava), "--comments", str(captions), "--available-ids",
                      str(SHARED / "available_ids" / "ilgnet_ids_labels.txt"), "--out", str(folder / "out"), "--quiet"]
        wall, build_rss, out = _timed(BUILD, *build_argv)
        build_time, import_time = map(float, out.split())
        (folder / "floor").mkdir()
        _, floor_rss, out = _timed(FLOOR, str(ava / "AVA.txt"), str(captions), str(folder / "out" / "ava"),
                                 str(folder / "floor"))
        floor_io = float(out.split()[0])
        outputs = sum(p.stat().st_size for p in (folder / "out" / "ava").glob("*.parquet"))
        print(f"build:     {build_time:6.2f} s in main() ({wall:.2f} s for the whole process, of which "
              f"{import_time:.2f} s imports), peak RSS {build_rss / 2**30:.2f} GiB, "
              f"{n_comments / build_time:,.0f} comments/s, {255_529 / build_time:,.0f} images/s, outputs {outputs / 1e6:.0f} MB")
        print(f"I/O floor: {floor_io:6.2f} s (pyarrow reads AVA.txt and the comments file, writes the same "
              f"outputs as zstd Parquet), peak RSS {floor_rss / 2**30:.2f} GiB")
        print(f"ratio build / I/O floor: {build_time / floor_io:.2f}x "
              f"(whole build process / floor: {wall / floor_io:.2f}x)")


def _timed(code: str, *args: str) -> tuple[float, int, str]:
    """(wall seconds, own peak RSS in bytes, stdout) of `python -c code args` in a fresh process."""
    done, out = run_python(code, *args, cwd=REPO)
    return done.seconds, done.peak_bytes, out


if __name__ == "__main__":
    main()
