"""Where training runs: device, torchrun/DistributedDataParallel set-up, seeds and RNG snapshots.

One process per device; `torchrun` sets RANK/WORLD_SIZE/LOCAL_RANK and we
join its process group (nccl on GPUs, gloo on CPUs). Without torchrun the
same code runs as a world of one, so there is a single code path.

RNG snapshots are plain Python/tensor values so checkpoints load with
`torch.load(weights_only=True)`; restoring them (plus data order being a
function of seed and epoch) is what makes `--resume` continue bit-for-bit.
"""

from __future__ import annotations

import datetime
import logging
import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from aesthetic.core.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp: bool = False              # bf16 autocast (CUDA only)
    channels_last: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp)


def setup_runtime(device: str = "auto", *, amp: bool | None = None) -> Runtime:
    """Pick the device, join torchrun's process group if there is one; AMP and channels_last on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA device is available", hint="use --device cpu")
    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device {device!r}; choose auto, cpu or cuda")
    if device == "cuda":
        torch.cuda.set_device(local)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    target = torch.device("cuda", local) if device == "cuda" else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if device == "cuda" else "gloo",
            timeout=datetime.timedelta(hours=2),     # rank 0 evaluates the test split while others wait
            **({"device_id": target} if device == "cuda" else {}),
        )
    use_cuda = device == "cuda"
    return Runtime(target, rank, world, amp=use_cuda if amp is None else (amp and use_cuda), channels_last=use_cuda)


def teardown_runtime(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every RNG a training step may draw from, as weights_only-loadable values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss_value = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss_value))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def gather_objects(runtime: Runtime, obj: object) -> list:
    """`obj` from every rank (rank order); a list of one without torchrun."""
    if not runtime.distributed:
        return [obj]
    out: list = [None] * runtime.world_size
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(runtime: Runtime, values: torch.Tensor) -> torch.Tensor:
    if runtime.distributed:
        values = values.to(runtime.device)
        dist.all_reduce(values)
    return values.cpu()
