"""The corpus build's output bytes, pinned: a change meant only to make it faster must leave them alone.

Inputs are the benchmarks' generators at small scale (real AVA ids and lists, ~240,000
generated comments: enough for every size-dependent path of the build; and generated
njtwomey/dpc dumps). The hashes were computed from the code
as it stood before the performance tricks were reviewed. A split file's bytes hold its
provenance (input paths, the time of the build), so what is pinned is its table without
that metadata, serialised as Arrow IPC: every value, type and chunk boundary.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.corpus.cli import main
from aesthetic.corpus.comment_sources import read_comments, resolve
from perf import build_splits, import_dumps
from tests.conftest import shared_file

AVA_BUILD = {
    "train.parquet": "79a08b68230baf3b951e9a9d2004ff57dc58a58d64d9fd5a19a4b03bdc761d17",
    "val.parquet": "a4296b413a4ce86aaf398a9a2107cd6d5035c84d4899496af346df9299c7bcde",
    "test.parquet": "41030fb4e1337cb61cc77a203e3150533412ee870c5cdb958953e88a591cd610",
    "uncommented_ids.txt": "2229ed1c3c353012fd80725ba9625dd61575874cd3fbc277729b9fb3b6dd9110",
}
DPC_IMPORT = "0a7e0232ab37d12412c0944351973897ae814f1c1e067b0cab7028778073c198"


def _ipc_sha256(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _sha256(path: Path) -> str:
    if path.suffix == ".parquet":
        return _ipc_sha256(pq.read_table(path).replace_schema_metadata(None))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ava_build_writes_the_pinned_bytes(tmp_path: Path) -> None:
    available = shared_file("ava", "available_ids", "ilgnet_ids_labels.txt")
    ava, captions, n_comments = build_splits.generate(tmp_path, scale=0.08)
    assert n_comments > 200_000  # above the size where the regex matching is cut into threaded slices
    assert main(["ava", "--ava-dir", str(ava), "--comments", str(captions), "--available-ids", str(available),
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert {name: _sha256(tmp_path / "out" / "ava" / name) for name in AVA_BUILD} == AVA_BUILD


def test_dpc_sql_import_gives_the_pinned_table(tmp_path: Path) -> None:
    import_dumps.generate(tmp_path, files=5, comments=20_000)
    (source,) = resolve([tmp_path], "dpc-sql", "ava")
    assert _ipc_sha256(read_comments(source, "ava").combine_chunks()) == DPC_IMPORT
