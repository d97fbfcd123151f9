"""The run's figures (PNG, matplotlib's headless Agg backend, so it works on servers).

A figure of a run made without pretrained weights carries its labels ("untrained trunk", "random
word vectors") as a red title and in the PNG's Description, so it cannot pass for a reproduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_distributions(pred: np.ndarray, true: np.ndarray, image_ids: np.ndarray, path: Path, *, n: int = 6,
                       labels: Sequence[str] = ()) -> Path:
    """Predicted vs true score distributions of the first `n` sample test images, one panel each."""
    n = min(n, len(pred))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    scores = np.arange(1, pred.shape[1] + 1)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        ax.bar(scores - 0.2, true[k], width=0.4, label=f"true (mean {true[k] @ scores:.2f})")
        ax.bar(scores + 0.2, pred[k], width=0.4, label=f"predicted (mean {pred[k] @ scores:.2f})")
        ax.set_title(f"image {int(image_ids[k])}")
        ax.set_xticks(scores)
        ax.set_xlabel("score")
        ax.legend(fontsize=7)
    return _save(fig, path, labels)


def plot_attention(images: np.ndarray, attention: np.ndarray, image_ids: np.ndarray, path: Path, *,
                   labels: Sequence[str] = ()) -> Path:
    """Each image ([n, 3, H, W] uint8) beside its T attention maps ([n, T, h, w]) stretched over it."""
    n, glimpses = attention.shape[:2]
    fig, axes = plt.subplots(n, glimpses + 1, figsize=(2.4 * (glimpses + 1), 2.4 * n), squeeze=False)
    for i in range(n):
        picture = images[i].transpose(1, 2, 0)
        extent = (0, picture.shape[1], picture.shape[0], 0)
        axes[i, 0].imshow(picture)
        axes[i, 0].set_title(f"image {int(image_ids[i])}", fontsize=8)
        for t in range(glimpses):
            ax = axes[i, t + 1]
            ax.imshow(picture)
            ax.imshow(attention[i, t], cmap="jet", alpha=0.5, extent=extent, interpolation="bilinear")
            ax.set_title(f"glimpse {t + 1}", fontsize=8)
        for ax in axes[i]:
            ax.axis("off")
    return _save(fig, path, labels)


def plot_learning_curves(history: list[dict], path: Path, *, labels: Sequence[str] = ()) -> Path:
    """Train and validation EMD loss per epoch, with the learning rate on a second axis."""
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train EMD (r=2)")
    ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="val EMD (r=2)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    lr_axis = ax.twinx()
    lr_axis.step(epochs, [h["lr"] for h in history], where="post", color="grey", linestyle=":", label="learning rate")
    lr_axis.set_yscale("log")
    lr_axis.set_ylabel("learning rate")
    lines = ax.get_legend_handles_labels()
    more = lr_axis.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8)
    return _save(fig, path, labels)


def _save(fig: plt.Figure, path: Path, labels: Sequence[str]) -> Path:
    metadata = {}
    if labels:
        warning = f"made with: {', '.join(labels)}"
        fig.suptitle(warning, color="red", fontsize=10)
        metadata["Description"] = warning
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata=metadata)
    plt.close(fig)
    return path
