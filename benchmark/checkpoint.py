"""Checkpoints: written atomically, read without running pickled code, their config read back as it was.

A checkpoint holds the run's whole config (`config`, TrainConfig as a dict) with the model's
weights, the vocabulary, the threshold and the labels; `last.pt` adds the optimizer, scheduler,
loop state and every rank's RNG states, `best.pt` its epoch and validation loss.

A setting saved before it existed reads back as its default, so a new option's default is the
old behaviour, except where a format version says otherwise: format 3 made `--vision-head full`
the default where format 2's vision and fusion models pooled the feature map, so a format-2
config reads back with `vision_head: pooled` and rebuilds the model it was. Format 3 also moved
MFB's dropout before the sum pooling; dropout does nothing at evaluation, so a format-2 MFB model
evaluates as it did, but its training cannot be continued exactly (`resume_blocker`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from aesthetic.benchmark.config import TrainConfig, from_dict
from aesthetic.benchmark.models import get_spec
from aesthetic.benchmark.torchfile import safe_load
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write

CHECKPOINT_FORMAT = "aesthetic-benchmark-checkpoint/3"
FORMAT_2 = "aesthetic-benchmark-checkpoint/2"
# What a format-2 config meant by the settings format 3 added with another default.
FORMAT_2_MODEL_SETTINGS = {"vision_head": "pooled"}
READABLE = (CHECKPOINT_FORMAT, FORMAT_2)


def save_checkpoint(path: Path, payload: dict) -> None:
    """torch.save to a temporary file, fsync, rename: a kill leaves the old checkpoint or the new one."""
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint of ours, loaded without running pickled code, its config in this version's terms;
    a UserError if it is not one."""
    payload = safe_load(path, "checkpoint")
    found = payload.get("format") if isinstance(payload, dict) else None
    if found not in READABLE:
        what = f"format {found!r}" if isinstance(found, str) else "no aesthetic-benchmark format"
        raise UserError(f"{path}: not a checkpoint this version reads ({what}; expected {CHECKPOINT_FORMAT})")
    if found == FORMAT_2 and isinstance(payload.get("config", {}).get("model"), dict):
        for name, value in FORMAT_2_MODEL_SETTINGS.items():
            payload["config"]["model"].setdefault(name, value)
    return payload


def checkpoint_config(payload: dict, path: Path, cls: type[TrainConfig] = TrainConfig) -> TrainConfig:
    """The config the checkpoint's run was made with, as it was saved."""
    try:
        return from_dict(cls, payload["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: its config does not fit this version ({exc})") from exc


def resume_blocker(payload: dict, cfg: TrainConfig) -> str | None:
    """Why training saved in `payload` (made with `cfg`) cannot continue exactly in this version, or None."""
    spec = get_spec(cfg.model.name)
    fused = spec.uses_images and spec.uses_text
    if payload["format"] == FORMAT_2 and fused and cfg.model.fusion == "mfb":
        return ("written by an earlier version whose MFB applied its dropout after the sum pooling (now before, "
                "as in Yu et al.'s implementation); `evaluate` still reads it, but its training cannot be "
                "continued the same way")
    return None
