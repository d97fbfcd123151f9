"""What runs on the device, batch by batch: loaders, the forward pass, predictions, attention maps.

Shared by training (train.py) and by writing a run's results (report.py), which is why it is
neither of them (torchvision's references keep the same split in engine.py).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from aesthetic.benchmark.config import TrainConfig
from aesthetic.benchmark.models import ModelOutput
from aesthetic.benchmark.models.trunks import IMAGENET_MEAN, IMAGENET_STD
from aesthetic.benchmark.runtime import Runtime, all_reduce_sum
from aesthetic.core.log import progress


def loader_workers(cfg: TrainConfig, runtime: Runtime) -> int:
    """--workers, or its default: 0 on CPU, 4 per GPU."""
    if cfg.workers is not None:
        return cfg.workers
    return 4 if runtime.device.type == "cuda" else 0


def make_loader(dataset: Dataset, runtime: Runtime, batch_size: int, workers: int, *, sampler=None,
                drop_last: bool = False) -> DataLoader:
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, shuffle=False, num_workers=workers,
        pin_memory=runtime.device.type == "cuda", drop_last=drop_last, persistent_workers=False,
    )


@functools.lru_cache(maxsize=None)
def _imagenet_stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """ImageNet mean and std as [1, 3, 1, 1] tensors on `device`, made once rather than copied there every batch."""
    return (torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1),
            torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1))


class DeviceBatch:
    """A loader batch on the device: images normalised there (uint8 over the bus, 4x fewer bytes)."""

    def __init__(self, batch: dict[str, torch.Tensor], runtime: Runtime) -> None:
        device = runtime.device
        self.target = batch["target"].to(device, non_blocking=True)
        self.tokens = batch["tokens"].to(device, non_blocking=True) if "tokens" in batch else None
        self.images = None
        if "image" in batch:
            images = batch["image"].to(device, non_blocking=True).float().div_(255)
            mean, std = _imagenet_stats(device)
            images = (images - mean) / std
            if runtime.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            self.images = images


def forward(model: nn.Module, batch: DeviceBatch, runtime: Runtime) -> ModelOutput:
    with runtime.autocast():
        return model(batch.images, batch.tokens)


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    return F.softmax(logits.float(), dim=-1)


def mean_over_ranks(runtime: Runtime, total: torch.Tensor, count: int) -> float:
    """Sum of `total` over all ranks / sum of `count`; `total` may stay on the device until here (no per-batch sync)."""
    sums = all_reduce_sum(runtime, torch.stack([total.cpu(), torch.tensor(float(count), dtype=torch.float64)]))
    return float(sums[0] / sums[1])


@torch.no_grad()
def predict(model: nn.Module, dataset: Dataset, runtime: Runtime, batch_size: int, workers: int) -> np.ndarray:
    """Predicted distributions [n, n_bins] for every image of the split, in split order."""
    model.eval()
    out_rows = []
    for raw in progress(make_loader(dataset, runtime, batch_size, workers), desc="predict", unit="batch"):
        batch = DeviceBatch(raw, runtime)
        out_rows.append(probabilities(forward(model, batch, runtime).logits).cpu())
    return torch.cat(out_rows).numpy()


@torch.no_grad()
def attention_maps(model: nn.Module, dataset: Dataset, rows: list[int], runtime: Runtime) -> np.ndarray | None:
    """The T attention maps [n, T, h, w] of the given images, or None for models without attention."""
    model.eval()
    raw = torch.utils.data.default_collate([dataset[i] for i in rows])
    out = forward(model, DeviceBatch(raw, runtime), runtime)
    return None if out.attention is None else out.attention.float().cpu().numpy()
