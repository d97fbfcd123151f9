"""Benchmark the import of the njtwomey/dpc comment dumps at full scale, against SQLite alone in the same run.

The public backups hold about 3 million DPChallenge comments in some 4,100 `<challenge>.sql`
files. This generates dumps in their layout (a `--` header line, `PRAGMA foreign_keys=OFF;`,
`BEGIN TRANSACTION;`, `INSERT INTO comments (...) VALUES` batches of 200 rows one row a line,
`COMMIT;`), with comment lengths drawn to match the real `50.sql` (median ~100 characters,
long tail), `''`-escaped quotes, a share of `<br/>` cells, quotes of other comments ("Originally
posted by", whose text the import takes from the HTML) and edited comments. Then, each in a
fresh process whose own peak memory is measured (perf/peak_memory.py):

- the import: the code path of `aesthetic-build-splits --comments-format dpc-sql` (resolve the
  folder, read its comments), to the table the build joins;
- the floor: Python's `sqlite3` alone, per file: its bytes decoded, `executescript` into an
  in-memory database and every row read out (`fetchall`), nothing kept; run before and after the
  import, and the two averaged, since the machine's speed drifts;
- the same floor once more with one idle thread started first. The import's process has threads
  (Arrow's, OpenBLAS's) from the moment it imports pyarrow and numpy, and a process with a second
  thread leaves the C library's single-thread fast paths (its malloc, for one, then takes locks):
  that floor took 1.11-1.18x as long as the plain one (two runs at both sizes, 3 December 2026).
  That share of the gap belongs to the process, not to the import's code.

At `--files` and at a quarter of it (same number of comments), so that memory growing with the
number of files shows. Prints comments/s, peak memory and the ratios import / floor.
Usage: python perf/import_dumps.py [--files 4000] [--comments 3000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "perf"))

from peak_memory import run_python  # noqa: E402

ROWS_PER_INSERT = 200  # as in the real dumps
HEADER = ('INSERT INTO comments ("id", "image_id", "commenter_id", "raw_comment", "comment", "date", "edited", '
          '"made_during_challenge") VALUES\n')
WORDS = ("light composition colour focus sharp soft background subject frame crop tones contrast exposure "
         "shadows highlights lovely great nice beautiful stunning boring interesting detail texture mood "
         "challenge entry vote score eye lines balance space depth sky water portrait really very quite "
         "bit too much little more less would could should think like love I'm it's don't 7 8 10 :) ...").split()
# Shares in the real 50.sql: 48 of 644 cells with <br/>, 3 quotes of another comment, 1 edited.
BR, QUOTE, EDITED = 0.075, 0.005, 0.002


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    """`n` comment texts, SQL-escaped; lengths lognormal like 50.sql's (median 97, mean 127 characters)."""
    lengths = np.clip(rng.lognormal(np.log(97), 0.73, n), 2, 4000).astype(int)
    words = np.array(WORDS, dtype=object)[rng.integers(0, len(WORDS), int(lengths.sum()) // 5 + n)]
    out, start = [], 0
    for length in lengths.tolist():
        count = max(1, length // 6)
        out.append(" ".join(words[start:start + count]).replace("'", "''"))
        start += count
    return out


def _row(cid: int, image: int, member: int, text: str, kind: float, stamp: str, during: int) -> str:
    half = text.find(" ", len(text) // 2) + 1 or len(text)  # at a space: never inside an escaped ''
    if kind < QUOTE:
        quoted = text[:half]
        raw = (f'<td valign="top"><table align="center" width="95%"><tr><td><div class="textsm"><b>Originally '
               f'posted by member{member}:</b></div><hr/><i>{quoted}</i></td></tr></table> <br/> <br/>{text}</td>')
        return f"({cid}, {image}, {member}, '{raw}', 'Originally posted by member{member}:{quoted}  {text}', " \
               f"'{stamp}', NULL, {during})"
    if kind < QUOTE + EDITED:
        raw = f'<td valign="top">{text}<br/><br/><i>Message edited by author {stamp[:19]}.</i></td>'
        return f"({cid}, {image}, {member}, '{raw}', '{text}', '{stamp}', '{stamp}', {during})"
    if kind < QUOTE + EDITED + BR:
        raw = f'<td valign="top">{text[:half]}\r<br/>{text[half:]}</td>'
        return f"({cid}, {image}, {member}, '{raw}', '{text}', '{stamp}', NULL, {during})"
    return f"({cid}, {image}, {member}, '<td valign=\"top\">{text}</td>', '{text}', '{stamp}', NULL, {during})"


def generate(folder: Path, files: int, comments: int, seed: int = 0) -> int:
    """Write `files` dumps holding `comments` comments in all into `folder`; return the bytes written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pool = _texts(rng, 100_000)
    per_file = rng.multinomial(comments, np.full(files, 1 / files))
    written, next_id, next_image = 0, 176_474, 9_800
    base = np.datetime64("2002-12-23T00:00:00")
    for challenge, n in enumerate(per_file.tolist(), start=50):
        images = max(1, n // 12)
        image = (next_image + rng.integers(0, images, n)).tolist()
        member = rng.integers(1, 200_000, n).tolist()
        text = rng.integers(0, len(pool), n).tolist()
        kind = rng.random(n).tolist()
        during = (rng.random(n) < 0.9).astype(int).tolist()
        seconds = np.sort(rng.integers(0, 40 * 86_400, n))
        stamps = np.datetime_as_string(base + np.timedelta64(challenge * 86_400, "s") + seconds, unit="s").tolist()
        rows = [_row(next_id + i, image[i], member[i], pool[text[i]], kind[i], f"{stamps[i].replace('T', ' ')}.000000",
                     during[i]) for i in range(n)]
        batches = [HEADER + ",\n".join(rows[i:i + ROWS_PER_INSERT]) + ";\n" for i in range(0, n, ROWS_PER_INSERT)]
        body = (f"-- comments for challenge {challenge}\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
                + "".join(batches) + "COMMIT;\n").encode()
        (folder / f"{challenge}.sql").write_bytes(body)
        written += len(body)
        next_id += n
        next_image += images
    return written


IMPORT = """
import sys, time
t0 = time.perf_counter()
from aesthetic.corpus.comment_sources import read_comments, resolve
t1 = time.perf_counter()
(source,) = resolve([sys.argv[1]], "dpc-sql", "ava")
table = read_comments(source, "ava")
print(time.perf_counter() - t1, t1 - t0, table.num_rows, table.nbytes)
"""

FLOOR = """
import sqlite3, sys, threading, time
from pathlib import Path
if sys.argv[2:] == ["thread"]:  # one idle thread, as Arrow's and OpenBLAS's are in the import's process
    threading.Thread(target=threading.Event().wait, daemon=True).start()
t0 = time.perf_counter()
rows = 0
for path in sorted(Path(sys.argv[1]).glob("*.sql")):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE comments (id INTEGER, image_id INTEGER, commenter_id INTEGER, raw_comment TEXT, "
               "comment TEXT, date TEXT, edited TEXT, made_during_challenge INTEGER)")
    db.executescript(path.read_bytes().decode("utf-8"))  # the bytes the import reads (no newline translation)
    rows += len(db.execute("SELECT * FROM comments").fetchall())
    db.close()
print(time.perf_counter() - t0, rows)
"""


def _floor(folder: Path, *mode: str) -> tuple[float, int, int]:
    """(seconds, comments, peak bytes) of the floor over one folder, in its own process."""
    floor, out = run_python(FLOOR, str(folder), *mode, cwd=REPO)
    seconds, rows = out.split()
    return float(seconds), int(rows), floor.peak_bytes


def measure(folder: Path) -> dict[str, float]:
    """Import and floor over one folder of dumps, each in its own process. The floor runs before and after
    the import and the two are averaged: this machine's speed drifts by tens of percent over a minute."""
    before = _floor(folder)
    imported, out = run_python(IMPORT, str(folder), cwd=REPO)
    seconds, import_time, rows, nbytes = out.split()
    after = _floor(folder)
    threaded = _floor(folder, "thread")
    if not int(rows) == before[1] == after[1] == threaded[1]:
        sys.exit(f"the import read {rows} comments, SQLite {before[1]}, {after[1]} and, with a thread, {threaded[1]}")
    return {"rows": int(rows), "seconds": float(seconds), "imports": float(import_time), "peak": imported.peak_bytes,
            "table": int(nbytes), "floor_seconds": (before[0] + after[0]) / 2, "floor_runs": (before[0], after[0]),
            "floor_peak": max(before[2], after[2]), "threaded_floor_seconds": threaded[0]}


def report(files: int, m: dict[str, float]) -> None:
    mib = 2**20
    print(f"{files:,} files, {m['rows']:,} comments:")
    print(f"  import: {m['seconds']:6.2f} s ({m['imports']:.2f} s more for Python imports), "
          f"{m['rows'] / m['seconds']:,.0f} comments/s, peak RSS {m['peak'] / mib:,.0f} MiB "
          f"(the table it returns: {m['table'] / mib:,.0f} MiB)")
    print(f"  floor (sqlite3 executescript + fetchall per file): {m['floor_seconds']:6.2f} s "
          f"(before / after the import: {m['floor_runs'][0]:.2f} / {m['floor_runs'][1]:.2f} s), "
          f"{m['rows'] / m['floor_seconds']:,.0f} comments/s, peak RSS {m['floor_peak'] / mib:,.0f} MiB")
    print(f"  ratio import / floor: {m['seconds'] / m['floor_seconds']:.2f}x time (aim <= 2x), "
          f"{m['peak'] / m['floor_peak']:.2f}x peak memory")
    print(f"  the floor with one idle thread in its process: {m['threaded_floor_seconds']:6.2f} s, "
          f"{m['threaded_floor_seconds'] / m['floor_seconds']:.2f}x the floor (import / it: "
          f"{m['seconds'] / m['threaded_floor_seconds']:.2f}x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4000, help="dump files (the memory check also uses a quarter)")
    parser.add_argument("--comments", type=int, default=3_000_000, help="comments in all the files together")
    parser.add_argument("--workdir", type=Path, help="where to generate the dumps (default: a temporary folder)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    counts = sorted({max(1, args.files // 4), args.files})
    results = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for files in counts:
            folder = Path(tmp) / f"{files}_files"
            t0 = time.perf_counter()
            size = generate(folder, files, args.comments)
            print(f"generated {args.comments:,} comments in {files:,} dumps ({size / 1e6:,.0f} MB) "
                  f"in {time.perf_counter() - t0:.1f} s", flush=True)
            results[files] = measure(folder)
            report(files, results[files])
    low, high = results[counts[0]], results[counts[-1]]
    print(f"peak RSS {counts[0]:,} -> {counts[-1]:,} files, same comments: import "
          f"{(high['peak'] - low['peak']) / 2**20:+,.0f} MiB ({high['peak'] / low['peak']:.2f}x), "
          f"floor {(high['floor_peak'] - low['floor_peak']) / 2**20:+,.0f} MiB")


if __name__ == "__main__":
    main()
