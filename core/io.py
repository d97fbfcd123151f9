"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (POSIX needs the directory synced too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sibling(path: Path, tag: str, suffix: str = "") -> Path:
    """An unused hidden name beside `path`: `.<name>.<tag><random><suffix>`."""
    return path.parent / f".{path.name}.{tag}{secrets.token_hex(6)}{suffix}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file, fsync and rename."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let `write` fill a temporary file beside `path`, then fsync and rename it into place.

    For writers that stream into a file object (torch.save, pyarrow's ParquetWriter).
    The file gets the permissions a plain `open()` would give (the umask applies),
    or keeps those of the file it replaces; mkstemp's private 0600 would hide
    published outputs from other users.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "", ".tmp")  # `.<name>.<random>.tmp`, the leftover pattern crawler/store.py clears
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if path.exists():
                os.fchmod(fh.fileno(), stat.S_IMODE(path.stat().st_mode))
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield an empty sibling directory; on success it replaces `final` in one rename.

    If the block raises (or the process is killed), `final` is untouched and the
    staging directory is left as `.<name>.staging-*`, removed by the next run.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_staged_dir(final)
    staging = _sibling(final, "staging-")
    os.mkdir(staging, 0o777)  # the umask applies, as for any new folder (mkdtemp would make it 0700)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for child in staging.rglob("*"):
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
    if final.exists():
        # Two renames: there is no atomic swap of directories on POSIX, but between
        # them the old output still exists under `.old-*`, which a reader can find.
        old = _sibling(final, "old-")
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)
    fsync_dir(final.parent)


def recover_staged_dir(final: Path) -> None:
    """Undo what a kill inside `staged_dir` left: restore a moved-aside old output, drop staging."""
    final = Path(final)
    olds = sorted(final.parent.glob(f".{final.name}.old-*"))
    if olds and not final.exists():
        os.replace(olds.pop(), final)
    for stale in [*olds, *final.parent.glob(f".{final.name}.staging-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash recorded in provenance, so a build names exactly what it read."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
