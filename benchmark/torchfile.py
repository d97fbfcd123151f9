"""Reading user-given PyTorch files (trunk weights, checkpoints) without running pickled code."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from aesthetic.core.errors import UserError


def safe_load(path: str | Path, role: str) -> Any:
    """`torch.load(weights_only=True)` onto the CPU, or a UserError naming the file and why.

    weights_only refuses arbitrary pickled objects, so a downloaded file cannot run code.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {role} not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        with path.open("rb") as fh:
            head = fh.read(4)
        raise UserError(f"{path}: not a readable {role}: {why_unreadable(exc, head)}") from exc


ZIP_MAGIC = b"PK\x03\x04"     # torch.save writes a zip archive


def why_unreadable(exc: Exception, head: bytes) -> str:
    """What a failed torch.load of a file starting with `head` means for the user, in our words.

    PyTorch's own messages are for programmers, and for a file holding objects it suggests
    retrying with weights_only=False, which would run whatever code the file carries: we never
    pass that on.
    """
    if isinstance(exc, pickle.UnpicklingError):
        named = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({named.group(1)})" if named else ""
        return (f"it holds Python objects{what} beyond tensors and plain values; loading those could run code, "
                "so it is not loaded (a state_dict or one of our checkpoints holds none)")
    if not head:
        return "the file is empty"
    if head.startswith(ZIP_MAGIC):
        return "the file is damaged or truncated (an incomplete PyTorch archive)"
    return f"not a PyTorch file ({type(exc).__name__})"
