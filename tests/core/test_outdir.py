"""The output-folder rule all three CLIs apply before any work: a clear refusal, nothing created."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aesthetic.core.errors import UserError
from aesthetic.core.outdir import check_out_dir


def test_a_new_folder_under_a_writable_one_is_accepted_and_not_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert check_out_dir(out) == out
    assert not (tmp_path / "a").exists()
    assert list(tmp_path.iterdir()) == []  # the probe left nothing behind


def test_an_existing_folder_is_accepted(tmp_path: Path) -> None:
    assert check_out_dir(tmp_path) == tmp_path


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"^--out .*f exists and is not a folder$"):
        check_out_dir(tmp_path / "f")


def test_a_path_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"cannot be created: .*f is a file, not a folder"):
        check_out_dir(tmp_path / "f" / "run" / "deeper", flag="--cache-dir")


@pytest.mark.parametrize("path", ["/proc/self/out", "/proc/self", "/sys/kernel/out"])
def test_pseudo_filesystems_are_refused(path: str) -> None:
    with pytest.raises(UserError, match=r"kernel's (proc|sysfs) filesystem"):
        check_out_dir(path)


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write to: mode 0555, made immutable too when we run as root (root ignores modes)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True)
        folder.chmod(0o755)


def test_an_unwritable_folder_is_refused(unwritable: Path) -> None:
    with pytest.raises(UserError, match=r"locked/run is not writable \(in .*locked\): "):
        check_out_dir(unwritable / "run")
    with pytest.raises(UserError, match=r"locked is not writable: "):
        check_out_dir(unwritable)
