"""Crash-safe writes: after any failure or kill a reader finds the old output or the new, never half."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aesthetic.core import io as core_io
from aesthetic.core.io import atomic_write_bytes, atomic_write_text, recover_staged_dir, sha256_file, staged_dir


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_atomic_write_creates_parents_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.json"
    atomic_write_text(target, "first ✓")
    atomic_write_text(target, "second")
    assert target.read_text(encoding="utf-8") == "second"
    assert _siblings(target) == ["report.json"]


def test_atomic_write_failure_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "report.json"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(core_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert _siblings(target) == ["report.json"]


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3000)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk=1000) == hashlib.sha256(data).hexdigest()


def _write_output(final: Path, content: str) -> None:
    with staged_dir(final) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "train.parquet").write_text(content)


def test_staged_dir_creates_then_replaces(tmp_path: Path) -> None:
    final = tmp_path / "out" / "ava"
    _write_output(final, "v1")
    (final / "stale.txt").write_text("from v1 only")
    _write_output(final, "v2")
    assert (final / "sub" / "train.parquet").read_text() == "v2"
    assert not (final / "stale.txt").exists()
    assert _siblings(final) == ["ava"]


def test_staged_dir_exception_leaves_old_output(tmp_path: Path) -> None:
    final = tmp_path / "ava"
    _write_output(final, "v1")
    with pytest.raises(RuntimeError):
        with staged_dir(final) as stage:
            (stage / "half.parquet").write_text("partial")
            raise RuntimeError("build failed half way")
    assert (final / "sub" / "train.parquet").read_text() == "v1"
    assert _siblings(final) == ["ava"]


# A child process that dies (os._exit, no cleanup, like SIGKILL) right after the
# n-th os.replace inside staged_dir's swap.
_KILLER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from aesthetic.core import io as core_io

    final, content, die_after = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == die_after:
            os._exit(9)

    core_io.os.replace = replace_then_die
    with core_io.staged_dir(final) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "train.parquet").write_text(content)
    """
)


def _killed_build(final: Path, content: str, die_after: int) -> None:
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(final), content, str(die_after)], capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()


def test_kill_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    final = tmp_path / "ava"
    _write_output(final, "v1")
    _killed_build(final, "v2", die_after=1)
    # The kill left the old output moved aside and the new one still staged.
    assert not final.exists()
    names = _siblings(final)
    assert any(n.startswith(".ava.old-") for n in names) and any(n.startswith(".ava.staging-") for n in names)
    recover_staged_dir(final)
    assert (final / "sub" / "train.parquet").read_text() == "v1"
    assert _siblings(final) == ["ava"]


def test_next_build_recovers_by_itself(tmp_path: Path) -> None:
    final = tmp_path / "ava"
    _write_output(final, "v1")
    _killed_build(final, "v2", die_after=1)
    _write_output(final, "v3")
    assert (final / "sub" / "train.parquet").read_text() == "v3"
    assert _siblings(final) == ["ava"]


def test_kill_after_both_renames_keeps_new_output(tmp_path: Path) -> None:
    final = tmp_path / "ava"
    _write_output(final, "v1")
    _killed_build(final, "v2", die_after=2)
    recover_staged_dir(final)
    assert (final / "sub" / "train.parquet").read_text() == "v2"
    assert _siblings(final) == ["ava"]


def test_recover_without_leftovers_is_a_no_op(tmp_path: Path) -> None:
    final = tmp_path / "ava"
    recover_staged_dir(final)
    assert not final.exists()
    _write_output(final, "v1")
    recover_staged_dir(final)
    assert (final / "sub" / "train.parquet").read_text() == "v1"


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_new_files_and_output_dirs_get_ordinary_permissions(tmp_path: Path, umask_022) -> None:
    """Published outputs must be readable by others, as with open(); mkstemp/mkdtemp would make them private."""
    atomic_write_text(tmp_path / "card.md", "x")
    assert stat.S_IMODE((tmp_path / "card.md").stat().st_mode) == 0o644
    _write_output(tmp_path / "ava", "v1")
    assert stat.S_IMODE((tmp_path / "ava").stat().st_mode) == 0o755


def test_replacing_a_file_keeps_its_permissions(tmp_path: Path, umask_022) -> None:
    target = tmp_path / "secret.json"
    atomic_write_text(target, "old")
    target.chmod(0o600)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "new"


def test_temporary_file_name_is_hidden_and_ends_in_tmp(tmp_path: Path, monkeypatch) -> None:
    """Readers that clear leftovers (crawler/store.py) look for `.<name>.*.tmp`."""
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(core_io.os, "replace", lambda src, dst: (seen.append(Path(src).name), real_replace(src, dst)))
    atomic_write_bytes(tmp_path / "part.parquet", b"x")
    (name,) = seen
    assert name.startswith(".part.parquet.") and name.endswith(".tmp")
