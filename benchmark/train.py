"""Training a registered model on a corpus, the MRACNN paper's recipe (Zhang et al., IEEE TMM 2021).

EMD (r = 2) loss on the softmax of the model's logits, Adam (0.9, 0.99), the learning rate
divided by 10 every 10 epochs, early stopping on validation loss (patience 5), the best
checkpoint kept and used for the test metrics. Shaped like torchvision's
references/classification/train.py: `train_one_epoch`, `evaluate` (the validation loss), and
`train`, the run from config to metrics, read top to bottom.

Resume is exact: `last.pt` holds model, optimizer, scheduler, loop state, every rank's RNG
states, written atomically at the end of each epoch; the data order is a function of (seed,
epoch) (DistributedSampler's permutation), so a killed run resumed from `last.pt` ends with the
same weights and metrics as one that was never interrupted (bit-for-bit on CPU; on CUDA,
cuDNN's autotuned kernels may differ in the last bits).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from aesthetic.benchmark.checkpoint import (
    CHECKPOINT_FORMAT,
    checkpoint_config,
    load_checkpoint,
    resume_blocker,
    save_checkpoint,
)
from aesthetic.benchmark.config import TrainConfig, changed_settings
from aesthetic.benchmark.engine import (
    DeviceBatch,
    forward,
    loader_workers,
    make_loader,
    mean_over_ranks,
    probabilities,
)
from aesthetic.benchmark.metrics import emd_loss, emd_per_image
from aesthetic.benchmark.models import build_model
from aesthetic.benchmark.report import report_test_split
from aesthetic.benchmark.rundata import RunData, load_datasets, read_data
from aesthetic.benchmark.runtime import Runtime, gather_objects, rng_state, seed_everything, set_rng_state
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text
from aesthetic.core.log import progress

log = logging.getLogger(__name__)


@dataclass
class RunDir:
    """The files of a run folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def last(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def best(self) -> Path:
        return self.root / "checkpoints" / "best.pt"


@dataclass
class LoopState:
    """Where the epoch loop stands; saved in last.pt, so --resume continues with the next epoch."""

    epochs_done: int = 0
    best_val: float = math.inf
    best_epoch: int = 0            # 1-based; 0 = none yet
    bad_epochs: int = 0            # epochs since the best one
    stopped: bool = False          # early stopping ended the run
    history: list[dict] = field(default_factory=list)

    def end_epoch(self, record: dict, patience: int) -> bool:
        """Count one epoch (`record` holds its losses); True when its validation loss is the best so far."""
        self.history.append(record)
        self.epochs_done += 1
        improved = record["val_loss"] < self.best_val
        if improved:
            self.best_val, self.best_epoch, self.bad_epochs = record["val_loss"], self.epochs_done, 0
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= patience
        return improved


def make_optimizer(params: list[nn.Parameter], lr: float, runtime: Runtime) -> torch.optim.Adam:
    """The paper's Adam (0.9, 0.99); the fused kernel on CUDA (one launch for all parameters)."""
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99), fused=runtime.device.type == "cuda")


def train_step(model: nn.Module, batch: DeviceBatch, optimizer: torch.optim.Optimizer, runtime: Runtime) -> torch.Tensor:
    """One optimisation step on the EMD (r=2) loss; returns the detached loss (no host sync)."""
    out = forward(model, batch, runtime)
    loss = emd_loss(probabilities(out.logits), batch.target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, runtime: Runtime,
                    epoch: int) -> float:
    """One pass over the training split; the mean training loss over every rank's images."""
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=runtime.device)
    count = 0
    for raw in progress(loader, desc=f"epoch {epoch + 1}", unit="batch"):
        batch = DeviceBatch(raw, runtime)
        loss = train_step(model, batch, optimizer, runtime)
        total += loss.double() * len(batch.target)
        count += len(batch.target)
    return mean_over_ranks(runtime, total, count)


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset, runtime: Runtime, batch_size: int, workers: int) -> float:
    """Mean EMD (r=2) over the whole split; each rank takes every world_size-th image, then sums."""
    model.eval()
    shard = Subset(dataset, range(runtime.rank, len(dataset), runtime.world_size))
    total = torch.zeros((), dtype=torch.float64, device=runtime.device)
    count = 0
    for raw in make_loader(shard, runtime, batch_size, workers):
        batch = DeviceBatch(raw, runtime)
        out = forward(model, batch, runtime)
        total += emd_per_image(probabilities(out.logits), batch.target).sum().double()
        count += len(batch.target)
    return mean_over_ranks(runtime, total, count)


def train(cfg: TrainConfig, runtime: Runtime, *, resume: bool = False) -> dict:
    """Train, keep the best checkpoint, evaluate it on the test split; returns metrics.json's record."""
    run = RunDir(Path(cfg.out))
    if cfg.batch_size % runtime.world_size:
        raise UserError(f"--batch-size {cfg.batch_size} must divide evenly over {runtime.world_size} processes")
    last = _resume_point(cfg, run, resume, runtime)
    seed_everything(cfg.seed + runtime.rank)
    data = read_data(cfg, runtime, saved_vocab=last["vocab"] if last else None)
    model = build_model(dataclasses.replace(cfg.model, **data.model_shapes()), data.embeddings)
    cfg = dataclasses.replace(cfg, model=model.config)        # with the shapes the data fixed
    model = model.to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    data = load_datasets(cfg, data, runtime)                   # the slow part, once every input has been read
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], cfg.lr, runtime)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    state = LoopState()
    if last:
        model.load_state_dict(last["model"])
        optimizer.load_state_dict(last["optimizer"])
        scheduler.load_state_dict(last["scheduler"])
        state = LoopState(**last["loop"])
        set_rng_state(last["rng"][runtime.rank])
        log.info("resumed from %s after epoch %d", run.last, state.epochs_done)
    if runtime.is_main:
        _write_config(run, cfg, runtime, data)

    wrapped = DistributedDataParallel(model) if runtime.distributed else model
    workers = loader_workers(cfg, runtime)
    train_set = data.datasets["train"]
    per_rank = cfg.batch_size // runtime.world_size
    sampler = DistributedSampler(train_set, num_replicas=runtime.world_size, rank=runtime.rank, shuffle=True, seed=cfg.seed)
    loader = make_loader(train_set, runtime, per_rank, workers, sampler=sampler, drop_last=len(sampler) >= per_rank)
    while not state.stopped and state.epochs_done < cfg.epochs:
        epoch = state.epochs_done
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]      # the rate this epoch trains at, before the scheduler steps
        sampler.set_epoch(epoch)
        train_loss = train_one_epoch(wrapped, loader, optimizer, runtime, epoch)
        scheduler.step()
        val_loss = evaluate(model, data.datasets["val"], runtime, cfg.batch_size, workers)
        improved = state.end_epoch({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss, "lr": lr,
                                    "seconds": time.perf_counter() - started}, cfg.patience)
        log.info("epoch %d/%d: train EMD %.5f, val EMD %.5f%s", epoch + 1, cfg.epochs, train_loss, val_loss,
                 " (best)" if improved else f" (no improvement for {state.bad_epochs})")
        rng = gather_objects(runtime, rng_state())
        if runtime.is_main:
            payload = _payload(cfg, model, data)
            if improved:
                save_checkpoint(run.best, {**payload, "epoch": epoch + 1, "val_loss": val_loss})
            save_checkpoint(run.last, {**payload, "loop": asdict(state), "optimizer": optimizer.state_dict(),
                                       "scheduler": scheduler.state_dict(), "rng": rng})
        runtime.barrier()
        if state.stopped:
            log.info("early stop: validation loss has not improved for %d epochs", cfg.patience)

    record = {}
    if runtime.is_main:
        model.load_state_dict(load_checkpoint(run.best)["model"])
        record = report_test_split(run.root, model, cfg, data, runtime, facts={
            "best_epoch": state.best_epoch, "epochs_run": len(state.history), "stopped_early": state.stopped,
            "history": state.history,
            "checkpoint": str(run.best),
        })
    runtime.barrier()
    return record


def _resume_point(cfg: TrainConfig, run: RunDir, resume: bool, runtime: Runtime) -> dict | None:
    """The last checkpoint to continue from, or None for a fresh run; refuses to mix two runs."""
    last = _check_resume(cfg, run, resume) if runtime.is_main else None
    runtime.barrier()
    if not runtime.is_main and resume and run.last.exists():
        last = load_checkpoint(run.last)
    if last and len(last["rng"]) != runtime.world_size:
        raise UserError(f"{run.last}: written by {len(last['rng'])} process(es); resume it with the same number "
                        f"(now {runtime.world_size}) so the data order and RNG streams continue exactly")
    return last


def _check_resume(cfg: TrainConfig, run: RunDir, resume: bool) -> dict | None:
    if not resume:
        if run.last.exists() or run.metrics.exists():
            raise UserError(f"{run.root}: already holds a run", hint="pass --resume to continue it, or choose another --out")
        return None
    if not run.last.exists():
        log.warning("--resume: %s has no checkpoint yet; starting from the beginning", run.root)
        return None
    last = load_checkpoint(run.last)
    saved = checkpoint_config(last, run.last, type(cfg))
    blocker = resume_blocker(last, saved)
    if blocker:
        raise UserError(f"{run.last}: {blocker}", hint="start a new run in another --out")
    changed = changed_settings(saved, cfg)
    if changed:
        detail = ", ".join(f"{name}: {a!r} -> {b!r}" for name, (a, b) in changed.items())
        raise UserError(f"{run.last}: --resume with different settings ({detail})", hint="resume with the same options")
    return last


def _payload(cfg: TrainConfig, model: nn.Module, data: RunData) -> dict:
    """What both checkpoints hold: the whole config, the weights, and what `evaluate` needs of the data."""
    module = model.module if isinstance(model, DistributedDataParallel) else model
    return {
        "format": CHECKPOINT_FORMAT,
        "config": asdict(cfg),
        "model": {k: v.detach().cpu().clone() for k, v in module.state_dict().items()},
        "vocab": data.vocab_state(),
        "threshold": data.corpus.threshold,
        "labels": list(data.labels),
    }


def _write_config(run: RunDir, cfg: TrainConfig, runtime: Runtime, data: RunData) -> None:
    """config.json: the whole config (what `--resume` compares) and what the run found in the data."""
    corpus = data.corpus
    record = {
        "config": asdict(cfg),
        "dataset": corpus.dataset,
        "threshold": corpus.threshold,
        "image_size": data.image_size,
        "images_per_split": {s: len(f) for s, f in corpus.splits.items()},
        "images_skipped": data.skipped(),
        "corpus_notes": corpus.notes,
        "labels": data.labels,
        "device": str(runtime.device),
        "world_size": runtime.world_size,
        "amp_bf16": runtime.amp,
        "channels_last": runtime.channels_last,
        "torch": torch.__version__,
    }
    atomic_write_text(run.config, json.dumps(record, indent=2, default=str) + "\n")
