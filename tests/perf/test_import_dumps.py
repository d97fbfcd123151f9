"""The dump-import benchmark runs end to end at tiny scale, and its generated dumps are ones the importer reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from aesthetic.corpus.comment_sources import detect_format, read_comments, resolve
from perf.import_dumps import generate

SCRIPT = Path(__file__).resolve().parents[2] / "perf" / "import_dumps.py"


def test_generated_dumps_are_read_whole(tmp_path: Path) -> None:
    generate(tmp_path, files=3, comments=1_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["50.sql", "51.sql", "52.sql"]
    assert detect_format(tmp_path) == "dpc-sql"
    (source,) = resolve([tmp_path], "dpc-sql", "ava")
    table = read_comments(source, "ava")
    assert table.num_rows == 1_000
    texts = table["text"].to_pylist()
    assert all(texts) and not any("<" in t or "''" in t for t in texts)


def test_benchmark_prints_its_figures(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--files", "8", "--comments", "2000", "--workdir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for files in ("2", "8"):
        assert re.search(rf"^{files} files, 2,000 comments:$", done.stdout, re.M), done.stdout
    assert len(re.findall(r"import: +[0-9.]+ s .* [0-9,]+ comments/s, peak RSS [0-9,]+ MiB", done.stdout)) == 2
    assert len(re.findall(r"ratio import / floor: [0-9.]+x time .*, [0-9.]+x peak memory", done.stdout)) == 2
    assert re.search(r"peak RSS 2 -> 8 files, same comments: import [+-][0-9,]+ MiB \([0-9.]+x\)", done.stdout)
    assert list(tmp_path.iterdir()) == []  # the generated dumps are gone
