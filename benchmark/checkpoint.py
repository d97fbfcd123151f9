"""Checkpoints: written atomically, read without running pickled code, their config read back as it was.

A checkpoint holds the run's whole config (`config`, TrainConfig as a dict) with the model's
weights, the vocabulary, the threshold and the labels; `last.pt` adds the optimizer, scheduler,
loop state and every rank's RNG states, `best.pt` its epoch and validation loss.
"""

from __future__ import annotations

from pathlib import Path

import torch

from aesthetic.benchmark.config import TrainConfig, from_dict
from aesthetic.benchmark.torchfile import safe_load
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write

CHECKPOINT_FORMAT = "aesthetic-benchmark-checkpoint/2"


def save_checkpoint(path: Path, payload: dict) -> None:
    """torch.save to a temporary file, fsync, rename: a kill leaves the old checkpoint or the new one."""
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint of ours, loaded without running pickled code; a UserError if it is not one."""
    payload = safe_load(path, "checkpoint")
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != CHECKPOINT_FORMAT:
        what = f"format {found!r}" if isinstance(found, str) else "no aesthetic-benchmark format"
        raise UserError(f"{path}: not a checkpoint this version reads ({what}; expected {CHECKPOINT_FORMAT})")
    return payload


def checkpoint_config(payload: dict, path: Path, cls: type[TrainConfig] = TrainConfig) -> TrainConfig:
    """The config the checkpoint's run was made with, as it was saved."""
    try:
        return from_dict(cls, payload["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: its config does not fit this version ({exc})") from exc
