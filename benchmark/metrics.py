"""The paper's six evaluation columns and its training loss (the MRACNN paper: accuracy, SRCC, PLCC, MAE, RMSE, EMD with r = 1; EMD with r = 2 as the loss).

Scores are the bin values 1..N; a distribution is a row of N non-negative
numbers summing to 1. Correlations are undefined when either side is constant
(e.g. an untrained model predicting one score for every image): we report
None with a note instead of letting NaN leak into tables and JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy import stats


def score_values(n_bins: int) -> np.ndarray:
    """The ordered scores s_1..s_N = 1..N."""
    return np.arange(1, n_bins + 1, dtype=np.float64)


def mean_scores(dist: np.ndarray) -> np.ndarray:
    """µ = Σ s_i p_i for each row of `dist` ([B, N])."""
    dist = np.asarray(dist, dtype=np.float64)
    return dist @ score_values(dist.shape[-1])


def emd(pred: np.ndarray, true: np.ndarray, r: int = 1) -> np.ndarray:
    """Per-row EMD((1/N) Σ_k |CDF_p(k) − CDF_q(k)|^r)^(1/r) between two [B, N] distributions."""
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    diff = np.abs(np.cumsum(pred, axis=-1) - np.cumsum(true, axis=-1))
    return np.mean(diff**r, axis=-1) ** (1.0 / r)


def emd_per_image(pred: torch.Tensor, true: torch.Tensor, r: int = 2) -> torch.Tensor:
    """Per-row EMD with exponent r between [B, N] distributions, differentiable.

    The r-th root has an infinite slope at 0 (a perfect prediction), so the inner
    mean is clamped to a tiny positive value to keep gradients finite.
    """
    diff = (torch.cumsum(pred.float(), dim=-1) - torch.cumsum(true.float(), dim=-1)).abs()
    return diff.pow(r).mean(dim=-1).clamp_min(1e-12).pow(1.0 / r)


def emd_loss(pred: torch.Tensor, true: torch.Tensor, r: int = 2) -> torch.Tensor:
    """Batch mean of the EMD with exponent r: the training loss (r = 2)."""
    return emd_per_image(pred, true, r).mean()


@dataclass
class Metrics:
    """One row of the paper's table, plus how many images it covers and why a value is missing."""

    accuracy: float            # fraction in [0, 1]; tables show it in %
    srcc: float | None
    plcc: float | None
    mae: float
    rmse: float
    emd: float
    n_images: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _correlation(name: str, fn, pred: np.ndarray, true: np.ndarray, notes: list[str]) -> float | None:
    """scipy's correlation, or None with a note when it is undefined (constant input, < 2 images)."""
    if len(pred) < 2:
        notes.append(f"{name}: undefined for fewer than 2 images")
        return None
    for side, values in (("predicted", pred), ("true", true)):
        if np.ptp(values) == 0:
            notes.append(f"{name}: undefined because every {side} mean score is the same ({values[0]:.4f})")
            return None
    value = float(fn(pred, true)[0])
    if math.isnan(value):
        notes.append(f"{name}: scipy returned NaN")
        return None
    return value


def compute_metrics(
    pred_dist: np.ndarray,
    true_dist: np.ndarray,
    *,
    threshold: float,
    true_labels: np.ndarray | None = None,
) -> Metrics:
    """Accuracy of (predicted mean > threshold) against the true label, SRCC, PLCC, MAE, RMSE, EMD r=1.

    `true_labels` defaults to (true mean > threshold); the corpus' `label_high`
    column is passed when available so the metric uses the label the corpus shipped.
    """
    pred_dist = np.asarray(pred_dist, dtype=np.float64)
    true_dist = np.asarray(true_dist, dtype=np.float64)
    if pred_dist.shape != true_dist.shape or pred_dist.ndim != 2:
        raise ValueError(f"distributions must both be [B, N], got {pred_dist.shape} and {true_dist.shape}")
    if len(pred_dist) == 0:
        raise ValueError("no images to evaluate")
    pred_mean = mean_scores(pred_dist)
    true_mean = mean_scores(true_dist)
    labels = (true_mean > threshold) if true_labels is None else np.asarray(true_labels, dtype=bool)
    notes: list[str] = []
    err = pred_mean - true_mean
    return Metrics(
        accuracy=float(np.mean((pred_mean > threshold) == labels)),
        srcc=_correlation("SRCC", stats.spearmanr, pred_mean, true_mean, notes),
        plcc=_correlation("PLCC", stats.pearsonr, pred_mean, true_mean, notes),
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err**2))),
        emd=float(np.mean(emd(pred_dist, true_dist, r=1))),
        n_images=len(pred_dist),
        notes=notes,
    )
