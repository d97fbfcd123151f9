"""Training and evaluation of the registered models (SPEC section 3, "Training").

EMD (r = 2) loss on the softmax of the model's logits, Adam (0.9, 0.99), the
learning rate divided by 10 every 10 epochs, early stopping on validation
loss (patience 5), the best checkpoint kept and used for the test metrics.

Resume is exact: `last.pt` holds model, optimizer, scheduler, every rank's
RNG states and the epoch, written atomically at the end of each epoch; the
data order is a function of (seed, epoch) (DistributedSampler's permutation),
so a killed run resumed from `last.pt` ends with the same weights and metrics
as one that was never interrupted (bit-for-bit on CPU; on CUDA, cuDNN's
autotuned kernels may differ in the last bits).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

from aesthetic.benchmark import data as data_mod
from aesthetic.benchmark.metrics import emd_loss, emd_per_image
from aesthetic.benchmark.models import build_model, caveats, get_spec
from aesthetic.benchmark.models.base import ModelConfig
from aesthetic.benchmark.models.trunks import IMAGENET_MEAN, IMAGENET_STD, trunk_input_size
from aesthetic.benchmark.runtime import (
    Runtime,
    all_reduce_sum,
    gather_objects,
    rng_state,
    seed_everything,
    set_rng_state,
)
from aesthetic.benchmark.torchfile import safe_load
from aesthetic.benchmark.vocab import Vocab
from aesthetic.benchmark.wordvectors import WordVectors, build_embeddings
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write, atomic_write_text
from aesthetic.core.log import progress

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "aesthetic-benchmark-checkpoint/1"


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as config.json so the run can be repeated."""

    model: str
    corpus: str
    images: str | None
    out: str
    trunk: str = "vgg16"
    trunk_weights: str | None = None
    glove: str | None = None
    glimpses: int = 3
    lstm_layers: int = 1
    lstm_hidden: int = 512
    attn_hidden: int = 512
    fusion: str = "mfb"
    mfb_k: int = 5
    mfb_o: int = 1000
    text_maps: int = 100
    dropout: float = 0.3
    max_tokens: int = 200
    embed_dim: int = 300             # of random word vectors; a --glove file brings its own
    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    lr_step: int = 10
    lr_gamma: float = 0.1
    patience: int = 5
    device: str = "auto"
    amp: bool | None = None          # None = bf16 autocast on CUDA, off on CPU
    limit: int | None = None
    seed: int = 0
    image_size: int | None = None    # None = the trunk's own input size
    freeze_trunk: bool = False
    workers: int | None = None       # None = 0 on CPU, 4 per GPU
    cache_dir: str | None = None     # None = RUN_DIR/cache
    allow_missing_images: bool = False
    max_missing_fraction: float = data_mod.DEFAULT_MAX_MISSING_FRACTION
    threshold: float | None = None
    val_fraction: float = data_mod.DEFAULT_VAL_FRACTION
    compare_paper: bool = False

    # Options that may change between a run and its --resume without changing results.
    RESUMABLE_CHANGES = ("epochs", "workers", "compare_paper", "cache_dir", "device")

    def model_config(self, n_bins: int, vocab_size: int, embed_dim: int) -> ModelConfig:
        return ModelConfig(
            name=self.model, n_bins=n_bins, trunk=self.trunk, trunk_weights=self.trunk_weights,
            freeze_trunk=self.freeze_trunk,
            glimpses=self.glimpses, lstm_layers=self.lstm_layers, lstm_hidden=self.lstm_hidden,
            attn_hidden=self.attn_hidden, fusion=self.fusion, mfb_k=self.mfb_k, mfb_o=self.mfb_o,
            dropout=self.dropout, max_tokens=self.max_tokens, text_maps=self.text_maps,
            embed_dim=embed_dim, vocab_size=vocab_size,
        )


@dataclass
class Prepared:
    """A run's data, ready for the model: datasets per split and what the outputs must say about them."""

    corpus: data_mod.Corpus
    datasets: dict[str, data_mod.SplitDataset]
    caches: dict[str, data_mod.ImageCache]
    problems: list[data_mod.ImageProblem]
    image_size: int | None
    vocab: dict | None                     # {"words": [...], "counts": [...]}, saved in checkpoints
    embeddings: torch.Tensor | None
    labels: list[str] = field(default_factory=list)

    def skipped(self) -> dict[str, int]:
        counts = {split: 0 for split in self.corpus.splits}
        for problem in self.problems:
            counts[problem.split] += 1
        return counts


# ---------------------------------------------------------------- data side


def _text_side(cfg: TrainConfig, corpus: data_mod.Corpus, vocab_state: dict | None,
               need_vectors: bool) -> tuple[Vocab, WordVectors | None]:
    """The vocabulary (train split only, or the checkpoint's own) and its word vectors, unless the
    caller restores the embedding matrix from a checkpoint (then reading vectors is wasted work)."""
    if vocab_state is not None:
        vocab = Vocab(words=list(vocab_state["words"]), counts=list(vocab_state["counts"]), max_tokens=cfg.max_tokens)
    else:
        train = corpus.splits["train"]["comments"]
        vocab = Vocab.build(train, max_tokens=cfg.max_tokens, total=len(train))
    if not need_vectors:
        return vocab, None
    return vocab, build_embeddings(vocab, cfg.glove, dim=cfg.embed_dim, seed=cfg.seed)


def prepare_data(cfg: TrainConfig, runtime: Runtime, *, splits_needed: tuple[str, ...] = ("train", "val", "test"),
                 saved_vocab: dict | None = None, need_vectors: bool = True) -> Prepared:
    """Load the corpus, check and cache the images, encode the comments; label what is untrained."""
    spec = get_spec(cfg.model)
    corpus = data_mod.load_corpus(
        Path(cfg.corpus), uses_text=spec.uses_text, limit=cfg.limit, threshold=cfg.threshold,
        seed=cfg.seed, val_fraction=cfg.val_fraction, splits=splits_needed,
    )
    caches: dict[str, data_mod.ImageCache] = {}
    problems: list[data_mod.ImageProblem] = []
    image_size = None
    if spec.uses_images:
        if not cfg.images:
            raise UserError(f"model {cfg.model!r} needs images: pass --images DIR")
        image_size = cfg.image_size or trunk_input_size(cfg.trunk)
        cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else Path(cfg.out) / "cache"
        limit = None if cfg.allow_missing_images else cfg.max_missing_fraction
        # Rank 0 decodes; the others wait and then reuse the finished cache files.
        for turn in (True, False):
            if runtime.is_main == turn:
                caches, problems = data_mod.prepare_images(
                    corpus, Path(cfg.images), cache_dir, image_size, max_missing_fraction=limit,
                    workers=max(2, os.cpu_count() or 2),
                )
            runtime.barrier()
    vocab_state = embeddings = encode = None
    random_vectors = False
    if spec.uses_text:
        vocab, vectors = _text_side(cfg, corpus, saved_vocab, need_vectors)
        vocab_state = {"words": vocab.words, "counts": vocab.counts}
        encode = vocab.encode_many
        if vectors is not None:
            embeddings, random_vectors = vectors.matrix, vectors.random
    labels = caveats(cfg.model_config(corpus.n_bins, 2, 1), random_vectors=random_vectors)
    datasets = {
        split: data_mod.make_dataset(corpus, split, cache=caches.get(split), encode=encode) for split in corpus.splits
    }
    return Prepared(corpus, datasets, caches, problems, image_size, vocab_state, embeddings, labels)


def _workers(cfg: TrainConfig, runtime: Runtime) -> int:
    if cfg.workers is not None:
        return cfg.workers
    return 4 if runtime.device.type == "cuda" else 0


def make_loader(dataset, runtime: Runtime, batch_size: int, workers: int, *, sampler=None, drop_last=False) -> DataLoader:
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


def forward(model: nn.Module, batch: DeviceBatch, runtime: Runtime):
    with runtime.autocast():
        return model(batch.images, batch.tokens)


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    return F.softmax(logits.float(), dim=-1)


@torch.no_grad()
def evaluate_loss(model: nn.Module, dataset, runtime: Runtime, batch_size: int, workers: int) -> float:
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
    return _mean_over_ranks(runtime, total, count)


def _mean_over_ranks(runtime: Runtime, total: torch.Tensor, count: int) -> float:
    """Sum of `total` over all ranks / sum of `count`; `total` may stay on the device until here (no per-batch sync)."""
    sums = all_reduce_sum(runtime, torch.stack([total.cpu(), torch.tensor(float(count), dtype=torch.float64)]))
    return float(sums[0] / sums[1])


@torch.no_grad()
def predict(model: nn.Module, dataset, runtime: Runtime, batch_size: int, workers: int) -> np.ndarray:
    """Predicted distributions [n, n_bins] for every image of the split, in split order."""
    model.eval()
    out_rows = []
    for raw in progress(make_loader(dataset, runtime, batch_size, workers), desc="predict", unit="batch"):
        batch = DeviceBatch(raw, runtime)
        out_rows.append(probabilities(forward(model, batch, runtime).logits).cpu())
    return torch.cat(out_rows).numpy()


@torch.no_grad()
def attention_maps(model: nn.Module, dataset, rows: list[int], runtime: Runtime) -> np.ndarray | None:
    """The T attention maps [n, T, h, w] of the given images, or None for models without attention."""
    model.eval()
    raw = torch.utils.data.default_collate([dataset[i] for i in rows])
    out = forward(model, DeviceBatch(raw, runtime), runtime)
    return None if out.attention is None else out.attention.float().cpu().numpy()


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, payload: dict) -> None:
    """torch.save to a temporary file, fsync, rename: a kill leaves the old checkpoint or the new one."""
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: Path) -> dict:
    """A checkpoint of ours, loaded without running pickled code; a UserError if it is not one."""
    payload = safe_load(path, "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path}: not an aesthetic-benchmark checkpoint (expected format {CHECKPOINT_FORMAT})")
    return payload


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in _unwrap(model).state_dict().items()}


# ---------------------------------------------------------------- the run


@dataclass
class RunDir:
    """The files of a run (DESIGN.md, "benchmark output")."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions.parquet"

    @property
    def last(self) -> Path:
        return self.root / "checkpoints" / "last.pt"

    @property
    def best(self) -> Path:
        return self.root / "checkpoints" / "best.pt"

    @property
    def plots(self) -> Path:
        return self.root / "plots"


def _check_resume(cfg: TrainConfig, run: RunDir, resume: bool) -> dict | None:
    """The last checkpoint to continue from, or None for a fresh run; refuses to mix two runs."""
    if not resume:
        if run.last.exists() or run.metrics.exists():
            raise UserError(f"{run.root}: already holds a run", hint="pass --resume to continue it, or choose another --out")
        return None
    if not run.last.exists():
        log.warning("--resume: %s has no checkpoint yet; starting from the beginning", run.root)
        return None
    state = load_checkpoint(run.last)
    before = state["train_config"]
    now = asdict(cfg)
    changed = {k: (before.get(k), now[k]) for k in now if k not in TrainConfig.RESUMABLE_CHANGES and before.get(k) != now[k]}
    if changed:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise UserError(f"{run.last}: --resume with different settings ({detail})", hint="resume with the same options")
    return state


def _base_payload(cfg: TrainConfig, model_cfg: ModelConfig, prepared: Prepared, model: nn.Module) -> dict:
    corpus = prepared.corpus
    return {
        "format": CHECKPOINT_FORMAT,
        "train_config": asdict(cfg),
        "model_config": asdict(model_cfg),
        "model": _cpu_state(model),
        "vocab": prepared.vocab,
        "dataset": corpus.dataset,
        "n_bins": corpus.n_bins,
        "threshold": corpus.threshold,
        "image_size": prepared.image_size,
        "labels": list(prepared.labels),
    }


def train(cfg: TrainConfig, runtime: Runtime, *, resume: bool = False) -> dict:
    """Train, keep the best checkpoint, evaluate it on the test split; returns the metrics record."""
    from aesthetic.benchmark.report import finish_run

    run = RunDir(Path(cfg.out))
    state = _check_resume(cfg, run, resume) if runtime.is_main else None
    runtime.barrier()
    if not runtime.is_main and resume and run.last.exists():
        state = load_checkpoint(run.last)
    if cfg.batch_size % runtime.world_size:
        raise UserError(f"--batch-size {cfg.batch_size} must divide evenly over {runtime.world_size} processes")
    seed_everything(cfg.seed + runtime.rank)
    prepared = prepare_data(cfg, runtime, saved_vocab=state["vocab"] if state else None)
    corpus = prepared.corpus
    model = build_model(cfg.model_config(corpus.n_bins, 2, cfg.embed_dim), prepared.embeddings).to(runtime.device)
    model_cfg = model.config
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if runtime.is_main:
        _write_config(run, cfg, runtime, prepared, model_cfg)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(trainable, cfg.lr, runtime)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    progress_state = {"epoch": -1, "best_val": float("inf"), "best_epoch": -1, "bad_epochs": 0, "history": [], "stopped": False}
    if state and len(state["rng"]) != runtime.world_size:
        raise UserError(f"{run.last}: written by {len(state['rng'])} process(es); resume it with the same number "
                        f"(now {runtime.world_size}) so the data order and RNG streams continue exactly")
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        progress_state = {k: state[k] for k in progress_state}
        set_rng_state(state["rng"][runtime.rank])
        log.info("resumed from %s after epoch %d", run.last, progress_state["epoch"] + 1)
    wrapped = DistributedDataParallel(model) if runtime.distributed else model
    workers = _workers(cfg, runtime)
    train_set = prepared.datasets["train"]
    per_rank = cfg.batch_size // runtime.world_size
    sampler = DistributedSampler(train_set, num_replicas=runtime.world_size, rank=runtime.rank, shuffle=True, seed=cfg.seed)
    loader = make_loader(train_set, runtime, per_rank, workers, sampler=sampler, drop_last=len(sampler) >= per_rank)

    epoch = progress_state["epoch"] + 1
    while not progress_state["stopped"] and epoch < cfg.epochs:
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]      # the rate this epoch trains at, before the scheduler steps
        train_loss = _train_epoch(wrapped, loader, sampler, optimizer, runtime, epoch)
        scheduler.step()
        val_loss = evaluate_loss(model, prepared.datasets["val"], runtime, cfg.batch_size, workers)
        p = progress_state
        p["history"].append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
                             "lr": lr, "seconds": time.perf_counter() - started})
        improved = val_loss < p["best_val"]
        if improved:
            p["best_val"], p["best_epoch"], p["bad_epochs"] = val_loss, epoch + 1, 0
        else:
            p["bad_epochs"] += 1
        p["epoch"] = epoch
        p["stopped"] = p["bad_epochs"] >= cfg.patience
        log.info("epoch %d/%d: train EMD %.5f, val EMD %.5f%s", epoch + 1, cfg.epochs, train_loss, val_loss,
                 " (best)" if improved else f" (no improvement for {p['bad_epochs']})")
        rng = gather_objects(runtime, rng_state())
        if runtime.is_main:
            payload = _base_payload(cfg, model_cfg, prepared, model)
            if improved:
                save_checkpoint(run.best, {**payload, "epoch": epoch + 1, "val_loss": val_loss})
            save_checkpoint(run.last, {**payload, **p, "optimizer": optimizer.state_dict(),
                                       "scheduler": scheduler.state_dict(), "rng": rng})
        runtime.barrier()
        if p["stopped"]:
            log.info("early stop: validation loss has not improved for %d epochs", cfg.patience)
        epoch += 1
    record = None
    if runtime.is_main:
        best = load_checkpoint(run.best)
        model.load_state_dict(best["model"])
        record = finish_run(run, model, prepared, runtime, cfg, history=progress_state["history"],
                            best_epoch=progress_state["best_epoch"], workers=workers)
    runtime.barrier()
    return record or {}


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


def _train_epoch(model: nn.Module, loader: DataLoader, sampler: DistributedSampler, optimizer, runtime: Runtime, epoch: int) -> float:
    sampler.set_epoch(epoch)
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=runtime.device)
    count = 0
    for raw in progress(loader, desc=f"epoch {epoch + 1}", unit="batch"):
        batch = DeviceBatch(raw, runtime)
        loss = train_step(model, batch, optimizer, runtime)
        total += loss.double() * len(batch.target)
        count += len(batch.target)
    return _mean_over_ranks(runtime, total, count)


def _write_config(run: RunDir, cfg: TrainConfig, runtime: Runtime, prepared: Prepared, model_cfg: ModelConfig) -> None:
    corpus = prepared.corpus
    resolved = {
        "train_config": asdict(cfg),
        "model_config": asdict(model_cfg),
        "dataset": corpus.dataset,
        "n_bins": corpus.n_bins,
        "threshold": corpus.threshold,
        "image_size": prepared.image_size,
        "images_per_split": {s: len(f) for s, f in corpus.splits.items()},
        "images_skipped": prepared.skipped(),
        "corpus_notes": corpus.notes,
        "labels": prepared.labels,
        "device": str(runtime.device),
        "world_size": runtime.world_size,
        "amp_bf16": runtime.amp,
        "channels_last": runtime.channels_last,
        "torch": torch.__version__,
    }
    atomic_write_text(run.config, json.dumps(resolved, indent=2, default=str) + "\n")


def config_from_dict(values: dict) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in names})


def evaluate_checkpoint(
    checkpoint: Path,
    runtime: Runtime,
    *,
    corpus: str,
    images: str | None,
    out: Path | None,
    batch_size: int = 32,
    workers: int | None = None,
    limit: int | None = None,
    compare_paper: bool = False,
    allow_missing_images: bool = False,
    cache_dir: str | None = None,
) -> dict:
    """Score a saved model on a corpus' test split; writes predictions, metrics and plots to `out`.

    The vocabulary and word vectors come from the checkpoint, so no vector
    file is needed and words unseen in training map to "unknown" as before.
    """
    from aesthetic.benchmark.report import evaluate_and_write

    checkpoint = Path(checkpoint)
    state = load_checkpoint(checkpoint)
    if out is None:
        run_root = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
        out = run_root / "evaluate"
    cfg = dataclasses.replace(
        config_from_dict(state["train_config"]), corpus=corpus, images=images, out=str(out), limit=limit,
        image_size=state["image_size"], allow_missing_images=allow_missing_images, glove=None,
        cache_dir=cache_dir or str(Path(out) / "cache"), workers=workers, batch_size=batch_size,
        compare_paper=compare_paper,
    )
    prepared = prepare_data(cfg, runtime, splits_needed=("test",), saved_vocab=state["vocab"], need_vectors=False)
    if prepared.corpus.n_bins != state["n_bins"]:
        raise UserError(f"{corpus}: {prepared.corpus.n_bins} score bins, but {checkpoint} predicts {state['n_bins']}")
    prepared.labels = list(state["labels"])
    # Predicted labels use the threshold the model was trained and measured with: one re-derived
    # from the test split's labels (a corpus built with its own --threshold) could differ.
    prepared.corpus.threshold = state["threshold"]
    model_values = dict(state["model_config"])
    model_values["text_heights"] = tuple(model_values["text_heights"])
    model = build_model(ModelConfig(**model_values), None, pretrained=False)
    model.load_state_dict(state["model"])
    model.to(runtime.device)
    return evaluate_and_write(
        Path(out), model, prepared, runtime, cfg, workers=_workers(cfg, runtime),
        extra={"checkpoint": str(checkpoint), "checkpoint_epoch": state.get("epoch")},
    )
