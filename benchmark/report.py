"""A run's results: predictions.parquet, metrics.json, plots and the paper-style table.

The table has the paper's six columns (Acc %, SRCC, PLCC, MAE, RMSE, EMD);
rows made without pretrained weights carry their labels ("untrained trunk",
"random word vectors") in the row name, so they cannot be mistaken for a
reproduction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from torch import nn

from aesthetic.benchmark import plots
from aesthetic.benchmark.environment import capture_environment
from aesthetic.benchmark.metrics import Metrics, compute_metrics, mean_scores
from aesthetic.benchmark.paper import paper_row
from aesthetic.benchmark.runtime import Runtime
from aesthetic.core.io import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

COLUMNS = ("Acc %", "SRCC", "PLCC", "MAE", "RMSE", "EMD")
SAMPLE_IMAGES = 6
ATTENTION_IMAGES = 4


@dataclass
class TableRow:
    name: str
    values: dict            # Metrics.to_dict() or PaperRow.to_dict()


def _cell(key: str, values: dict) -> str:
    value = values.get(key)
    if value is None:
        return "n/a"
    return f"{100 * value:.2f}" if key == "accuracy" else f"{value:.4f}"


def format_table(rows: list[TableRow]) -> str:
    """A fixed-width text table; 'n/a' where a value is undefined (see the metrics' notes)."""
    keys = ("accuracy", "srcc", "plcc", "mae", "rmse", "emd")
    body = [[row.name, *(_cell(k, row.values) for k in keys)] for row in rows]
    widths = [max(len(r[i]) for r in [["model", *COLUMNS], *body]) for i in range(len(COLUMNS) + 1)]
    lines = [["model", *COLUMNS], ["-" * w for w in widths], *body]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines)


def row_name(model: str, trunk: str | None, fusion: str | None, labels: list[str]) -> str:
    parts = [model] + ([trunk] if trunk else []) + ([fusion] if fusion else [])
    name = " ".join(parts)
    return f"{name} [{', '.join(labels)}]" if labels else name


def write_predictions(path: Path, image_ids: np.ndarray, pred: np.ndarray, true: np.ndarray, labels: list[str]) -> None:
    """The per-image predictions; the schema metadata `aesthetic.labels` holds the run's labels (JSON list)."""
    table = pa.table({
        "image_id": pa.array(image_ids.astype(np.int64)),
        "predicted_distribution": pa.array(list(pred.astype(np.float32)), type=pa.list_(pa.float32())),
        "predicted_mean": pa.array(mean_scores(pred)),
        "true_mean": pa.array(mean_scores(true)),
    }).replace_schema_metadata({"aesthetic.labels": json.dumps(labels)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def evaluate_and_write(
    out: Path,
    model: nn.Module,
    prepared,
    runtime: Runtime,
    cfg,
    *,
    workers: int,
    extra: dict,
    history: list[dict] | None = None,
    split: str = "test",
) -> dict:
    """Predict `split`, write predictions/metrics/plots under `out`, print the table; returns metrics.json's record.

    `cfg` (a TrainConfig) names the model, and its trunk and fusion where the model has them, for the
    row name and the paper's row; its batch size and --compare-paper apply.
    """
    from aesthetic.benchmark.models import get_spec
    from aesthetic.benchmark.train import attention_maps, predict

    spec = get_spec(cfg.model)
    model_name, compare_paper = cfg.model, cfg.compare_paper
    trunk = cfg.trunk if spec.uses_images else None
    fusion = cfg.fusion if spec.uses_images and spec.uses_text else None
    corpus = prepared.corpus
    dataset = prepared.datasets[split]
    pred = predict(model, dataset, runtime, cfg.batch_size, workers)
    true = corpus.distributions(split)
    metrics: Metrics = compute_metrics(pred, true, threshold=corpus.threshold, true_labels=corpus.labels(split))
    image_ids = corpus.splits[split]["image_id"].to_numpy()
    out.mkdir(parents=True, exist_ok=True)
    labels = prepared.labels
    write_predictions(out / "predictions.parquet", image_ids, pred, true, labels)

    figures = [plots.plot_distributions(pred, true, image_ids, out / "plots" / "score_distributions.png",
                                        n=SAMPLE_IMAGES, labels=labels)]
    if prepared.caches:
        rows = list(range(min(ATTENTION_IMAGES, len(dataset))))
        maps = attention_maps(model, dataset, rows, runtime)
        if maps is not None:
            pictures = np.stack([dataset[i]["image"].numpy() for i in rows])
            figures.append(plots.plot_attention(pictures, maps, image_ids[rows], out / "plots" / "attention.png",
                                                labels=labels))
    if history:
        figures.append(plots.plot_learning_curves(history, out / "plots" / "learning_curves.png", labels=labels))

    name = row_name(model_name, trunk, fusion, labels)
    paper = paper_row(corpus.dataset, model_name, trunk or "", fusion or "") if compare_paper else None
    record = {
        "model": model_name,
        "row": name,
        "labels": labels,
        "dataset": corpus.dataset,
        "split": split,
        "n_bins": corpus.n_bins,
        "threshold": corpus.threshold,
        "metrics": metrics.to_dict(),
        "images_skipped": prepared.skipped(),
        "skipped_images": [str(p) for p in prepared.problems],
        "plots": [str(p.relative_to(out)) for p in figures],
        "environment": capture_environment(runtime.device),
        **extra,
    }
    rows = [TableRow(name, metrics.to_dict())]
    if compare_paper:
        record["paper"] = paper.to_dict() if paper else None
        if paper:
            rows.append(TableRow(f"paper: {paper.label}", paper.to_dict()))
    atomic_write_text(out / "metrics.json", json.dumps(record, indent=2, default=str) + "\n")
    print(f"{split} split of {corpus.path} ({metrics.n_images} images):")
    print(format_table(rows))
    if compare_paper and paper is None:
        print(f"(the paper reports no result for {model_name} / {trunk} / {fusion} on {corpus.dataset})")
    for note in metrics.notes:
        print(f"note: {note}")
    if labels:
        print(f"WARNING: these results come from a run with: {', '.join(labels)}")
    return record


def finish_run(run, model: nn.Module, prepared, runtime: Runtime, cfg, *, history: list[dict], best_epoch: int, workers: int) -> dict:
    """The end of training: the best checkpoint's test results, written into RUN_DIR."""
    return evaluate_and_write(
        run.root, model, prepared, runtime, cfg, workers=workers,
        extra={"best_epoch": best_epoch, "epochs_run": len(history), "history": history,
               "checkpoint": str(run.best)},
        history=history,
    )
