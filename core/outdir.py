"""The one rule every CLI applies to its output folder, before it does any work.

A crawl, a build or a training run can take hours; finding out at the end (or as a
`PermissionError` traceback from the first write) that `--out` was a file, sat under
a file, or pointed into /proc is the worst moment. `check_out_dir` answers in one
line, exit 2, and creates nothing: a refused run leaves no half-made folder.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from aesthetic.core.errors import UserError

# Kernel and virtual filesystems: writing a dataset there is always a mistake, even where
# the kernel would accept a file (a tmpfs is a real place to write, so it is not listed).
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs",
    "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "binfmt_misc", "autofs", "efivarfs",
})


def check_out_dir(path: Path | str, flag: str = "--out") -> Path:
    """`path` as a usable output folder (existing or creatable), or a UserError saying why not."""
    path = Path(path)
    absolute = Path(os.path.abspath(path))
    if absolute.exists() and not absolute.is_dir():
        raise UserError(f"{flag} {path} exists and is not a folder")
    existing = _nearest_existing(absolute)
    if not existing.is_dir():
        raise UserError(f"{flag} {path} cannot be created: {existing} is a file, not a folder")
    fstype = _filesystem_type(existing)
    if fstype in PSEUDO_FILESYSTEMS:
        raise UserError(f"{flag} {path} is on the kernel's {fstype} filesystem, not a place for output files")
    _probe_writable(existing, path, flag)
    return path


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _filesystem_type(path: Path) -> str | None:
    """The type of the filesystem `path` lives on (longest matching mount point), None if unknown."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].encode().decode("unicode_escape")  # mounts escape spaces as \040
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fields[2]
    return best_type


def _probe_writable(folder: Path, path: Path, flag: str) -> None:
    """Create and remove a folder inside `folder`: permission bits alone lie for root and read-only mounts."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".aesthetic-probe-", dir=folder))
    except OSError as err:
        reason = "it is on a read-only filesystem" if err.errno == errno.EROFS else (err.strerror or str(err)).lower()
        where = "" if folder == Path(os.path.abspath(path)) else f" (in {folder})"
        raise UserError(f"{flag} {path} is not writable{where}: {reason}") from None
