"""A run's results: predictions.parquet, metrics.json, plots and the paper-style table.

The table has the paper's six columns (Acc %, SRCC, PLCC, MAE, RMSE, EMD);
a row is named by its whole configuration (model, trunk, fusion, T, LSTM layers,
vision head: `paper.RowKey`), and rows made without pretrained weights carry
their labels ("untrained trunk", "random word vectors") in the name, so they
cannot be mistaken for a reproduction. With --compare-paper the paper's row for
that same configuration is printed beside it (or said to be missing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from torch import nn

from aesthetic.benchmark import plots
from aesthetic.benchmark.config import TrainConfig
from aesthetic.benchmark.engine import attention_maps, loader_workers, predict
from aesthetic.benchmark.environment import capture_environment
from aesthetic.benchmark.metrics import Metrics, compute_metrics, mean_scores
from aesthetic.benchmark.paper import COLUMNS, METRICS, NOT_TRANSCRIBED, PaperRow, RowKey, format_value, paper_row
from aesthetic.benchmark.rundata import RunData
from aesthetic.benchmark.runtime import Runtime
from aesthetic.core.io import atomic_write_bytes, atomic_write_text

SAMPLE_IMAGES = 6
ATTENTION_IMAGES = 4
SPLIT = "test"


@dataclass
class TableRow:
    name: str
    values: dict            # Metrics.to_dict() or PaperRow.to_dict()
    missing: str = "n/a"    # what a None value is: undefined (see the metrics' notes) or, in the paper, not transcribed


def format_table(rows: list[TableRow]) -> str:
    """A fixed-width text table of the six columns."""
    body = [[row.name, *(format_value(k, row.values.get(k), row.missing) for k in METRICS)] for row in rows]
    widths = [max(len(r[i]) for r in [["model", *COLUMNS], *body]) for i in range(len(COLUMNS) + 1)]
    lines = [["model", *COLUMNS], ["-" * w for w in widths], *body]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines)


def row_name(key: RowKey, labels: list[str]) -> str:
    """The configuration in words (its whole key) and the labels that say what it is not."""
    name = key.describe()
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


def report_test_split(out: Path, model: nn.Module, cfg: TrainConfig, data: RunData, runtime: Runtime, *,
                      facts: dict) -> dict:
    """Predict the test split; write predictions.parquet, the plots and metrics.json under `out`; print the table.

    `facts` says how the model was made (best epoch and history after training, the checkpoint
    for `evaluate`) and goes into metrics.json; a history also gets its learning-curve figure.
    Returns metrics.json's record.
    """
    corpus = data.corpus
    dataset = data.datasets[SPLIT]
    pred = predict(model, dataset, runtime, cfg.batch_size, loader_workers(cfg, runtime))
    true = corpus.distributions(SPLIT)
    metrics = compute_metrics(pred, true, threshold=corpus.threshold, true_labels=corpus.labels(SPLIT))
    image_ids = corpus.splits[SPLIT]["image_id"].to_numpy()
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(out / "predictions.parquet", image_ids, pred, true, data.labels)

    figures = [plots.plot_distributions(pred, true, image_ids, out / "plots" / "score_distributions.png",
                                        n=SAMPLE_IMAGES, labels=data.labels)]
    if data.image_size is not None:
        rows = list(range(min(ATTENTION_IMAGES, len(dataset))))
        maps = attention_maps(model, dataset, rows, runtime)
        if maps is not None:
            pictures = np.stack([dataset[i]["image"].numpy() for i in rows])
            figures.append(plots.plot_attention(pictures, maps, image_ids[rows], out / "plots" / "attention.png",
                                                labels=data.labels))
    if facts.get("history"):
        figures.append(plots.plot_learning_curves(facts["history"], out / "plots" / "learning_curves.png",
                                                  labels=data.labels))

    key = RowKey.of(cfg.model)
    name = row_name(key, data.labels)
    paper = paper_row(corpus.dataset, key) if cfg.compare_paper else None
    record = metrics_record(cfg, data, metrics, name=name, paper=paper,
                            plots=[str(p.relative_to(out)) for p in figures],
                            environment=capture_environment(runtime.device),
                            facts={**facts, "amp_bf16": runtime.amp})
    atomic_write_text(out / "metrics.json", json.dumps(record, indent=2, default=str) + "\n")
    rows = [TableRow(name, metrics.to_dict())]
    if paper:
        rows.append(TableRow(f"paper, Table {paper.table}: {paper.label}", paper.metrics(), NOT_TRANSCRIBED))
    print(f"{SPLIT} split of {corpus.path} ({metrics.n_images} images):")
    print(format_table(rows))
    if cfg.compare_paper and paper is None:
        print(f"(the MRACNN paper reports no result for {key.describe()} on {corpus.dataset})")
    for note in metrics.notes:
        print(f"note: {note}")
    if data.labels:
        print(f"WARNING: these results come from a run with: {', '.join(data.labels)}")
    return record


def metrics_record(cfg: TrainConfig, data: RunData, metrics: Metrics, *, name: str, paper: PaperRow | None,
                   plots: list[str], environment: dict, facts: dict) -> dict:
    """metrics.json, assembled here and nowhere else."""
    corpus = data.corpus
    record = {
        "model": cfg.model.name,
        "key": RowKey.of(cfg.model).to_dict(),
        "row": name,
        "labels": data.labels,
        "dataset": corpus.dataset,
        "split": SPLIT,
        "n_bins": corpus.n_bins,
        "threshold": corpus.threshold,
        "metrics": metrics.to_dict(),
        "images_skipped": data.skipped(),
        "skipped_images": [str(p) for p in data.problems],
        "plots": plots,
        "environment": environment,
        **facts,
    }
    if cfg.compare_paper:
        record["paper"] = paper.to_dict() if paper else None
    return record
