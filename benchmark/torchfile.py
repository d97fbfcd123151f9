"""Reading user-given PyTorch files (trunk weights, checkpoints) without running pickled code."""

from __future__ import annotations

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
        text = str(exc).strip()
        first = text.splitlines()[0][:200] if text else ""
        raise UserError(f"{path}: not a readable {role} ({type(exc).__name__}: {first})") from exc
