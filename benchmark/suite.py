"""`aesthetic-benchmark suite`: the MRACNN paper's tables in one command.

The plan comes from the paper's tables (paper.py): one configuration per row, a configuration
that several rows or tables share (MRACNN MFB VGG-16, T = 3, one layer, sits in Tables I, II and
III) run once and shown in each. Each configuration is an ordinary run folder,
SUITE_DIR/runs/<model-trunk-...>, trained by `train.train` as `aesthetic-benchmark train` would,
so the suite resumes as a run does: a finished run (metrics.json) is skipped, a killed one
continues from its last checkpoint, and all of them decode the photos once into one shared
cache. After every run, SUITE_DIR/suite.json and suite.md are written again: one table per paper
table, our six metrics beside the paper's and the difference, each row labelled with what makes
it not a reproduction (the preset, a stand-in trunk, an untrained trunk, random word vectors).
Every number in them is read from the run's own metrics.json, which report.py computed from
that run's predictions.parquet.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aesthetic.benchmark.config import ModelConfig, TrainConfig, changed_settings, from_dict, from_values, settings
from aesthetic.benchmark.paper import (
    COLUMNS,
    METRICS,
    NOT_TRANSCRIBED,
    PAPER,
    PaperRow,
    PaperTable,
    RowKey,
    format_value,
)
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text

log = logging.getLogger(__name__)

SUITE_FORMAT = "aesthetic-benchmark-suite/1"
TABLES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class Preset:
    """A set of option values for the whole suite; the options given on the command line win."""

    about: str
    values: Mapping[str, Any]                                        # TrainConfig values by dotted name
    trunk_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)   # for the runs of one trunk
    stand_ins: Mapping[str, str] = field(default_factory=dict)       # the paper's trunk -> the one run instead
    keeps_trunks: tuple[str, ...] = ("II",)                           # tables whose point is the trunk: no stand-in
    label: str | None = None                                         # every row of the suite says it


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        "the paper's settings, for a GPU: its trunks at their own input size (224 px, Inception-v3 299 px), "
        "batch 32, Adam lr 1e-3 divided by 10 every 10 epochs, early stopping with patience 5 (at most 50 "
        "epochs), fp32 (the paper's GPU had no bf16)",
        {"batch_size": 32, "lr": 1e-3, "lr_step": 10, "lr_gamma": 0.1, "patience": 5, "epochs": 50, "amp": False,
         "image_size": None},
    ),
    "cpu-smoke": Preset(
        "a few minutes on a CPU, to see that every row runs, not to reproduce one: one epoch on the first 48 "
        "images of each split at 64 px, trunks frozen; mobilenet_v2 stands in for VGG-16 in every table but "
        "Table II, which runs AlexNet, VGG-16 and Inception-v3 themselves (75 px, the least Inception-v3 takes)",
        {"device": "cpu", "limit": 48, "epochs": 1, "batch_size": 16, "image_size": 64, "model.freeze_trunk": True},
        trunk_values={"inception_v3": {"image_size": 75}},
        stand_ins={"vgg16": "mobilenet_v2"},
        label="cpu-smoke",
    ),
}


@dataclass(frozen=True)
class PlannedRun:
    """One configuration to train, in its own run folder."""

    key: RowKey
    cfg: TrainConfig

    @property
    def folder(self) -> Path:
        return Path(self.cfg.out)


@dataclass(frozen=True)
class PlanRow:
    """A row of one of the paper's tables, and the run that answers it."""

    paper: PaperRow
    run: PlannedRun
    labels: tuple[str, ...]          # the suite's: preset, stand-in trunk


@dataclass
class Plan:
    suite_dir: Path
    preset: str | None
    tables: list[PaperTable]
    rows: list[PlanRow]
    runs: list[PlannedRun]           # distinct configurations, in the order they run


def parse_tables(text: str) -> list[str]:
    """'I,II,III' -> ['I', 'II', 'III'] (argparse type); an unknown name is a usage error."""
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in TABLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown table {', '.join(unknown) or repr(text)}; "
                                         f"choose from {', '.join(TABLES)} (comma-separated)")
    return list(dict.fromkeys(names))


def parse_trunk_weights(text: str) -> tuple[str, str]:
    """'vgg16=vgg16-397923af.pth' -> ('vgg16', 'vgg16-397923af.pth') (argparse type)."""
    trunks = next(s.option.choices for s in settings(ModelConfig) if s.name == "trunk")
    trunk, sep, path = text.partition("=")
    if not sep or trunk not in trunks or not path:
        raise argparse.ArgumentTypeError(f"expected TRUNK=FILE with TRUNK one of {', '.join(trunks)}, got {text!r}")
    return trunk, path


def make_plan(suite_dir: Path, tables: Sequence[PaperTable], given: Mapping[str, Any], *, preset: str | None,
              trunk_weights: Mapping[str, str]) -> Plan:
    """Every row of `tables` and the distinct runs they need, from the options `given` on the command line
    (by dotted name), the preset's values under them, and one weights file per trunk."""
    chosen = PRESETS[preset] if preset else Preset("", {})
    base = {**chosen.values, **given, "compare_paper": False}
    base.setdefault("cache_dir", str(suite_dir / "cache"))
    runs: dict[RowKey, PlannedRun] = {}
    rows = []
    for table in tables:
        for paper in table.rows:
            key, labels = paper.key, [chosen.label] if chosen.label else []
            stand_in = chosen.stand_ins.get(key.trunk) if table.name not in chosen.keeps_trunks else None
            if stand_in:
                key = key.with_trunk(stand_in)
                labels.append(f"{stand_in} in place of {paper.key.trunk}")
            if key not in runs:
                trunk_values = {name: value for name, value in chosen.trunk_values.get(key.trunk, {}).items()
                                if name not in given}
                values = {**base, **trunk_values, **key.settings(), "model.trunk_weights": trunk_weights.get(key.trunk),
                          "out": str(suite_dir / "runs" / key.slug())}
                runs[key] = PlannedRun(key, from_values(TrainConfig, values))
            rows.append(PlanRow(paper, runs[key], tuple(labels)))
    return Plan(Path(suite_dir), preset, list(tables), rows, list(runs.values()))


# ---------------------------------------------------------------- what each run folder holds


def finished_record(run: PlannedRun) -> dict | None:
    """metrics.json of a run that finished with the planned settings; None if it has not (a run that ended
    after fewer epochs than now planned, without stopping early, continues); a UserError if the folder holds
    a run made otherwise (its numbers would answer another question)."""
    metrics, config = run.folder / "metrics.json", run.folder / "config.json"
    if not metrics.is_file():
        return None
    try:
        saved = from_dict(TrainConfig, json.loads(config.read_text(encoding="utf-8"))["config"])
        record = json.loads(metrics.read_text(encoding="utf-8"))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{run.folder}: not a finished run this version reads ({exc})",
                        hint="move it away; the suite will train it again") from exc
    changed = changed_settings(dataclasses.replace(saved, out=run.cfg.out), run.cfg)
    if changed:
        detail = ", ".join(f"{name}: {a!r} -> {b!r}" for name, (a, b) in changed.items())
        raise UserError(f"{run.folder}: finished with other settings than this suite's ({detail})",
                        hint="run the suite with the options it was started with, or choose another --out")
    if not record.get("stopped_early") and record.get("epochs_run", 0) < run.cfg.epochs:
        return None
    return record


def run_suite(plan: Plan, runtime: Any) -> dict:
    """Train what has not finished, in order; rewrite suite.json and suite.md after each run. Returns suite.json."""
    from aesthetic.benchmark.train import train   # torch: only once the plan is known to be sound

    for number, run in enumerate(plan.runs, 1):
        if finished_record(run) is not None:
            log.info("suite %d/%d: %s finished already", number, len(plan.runs), run.key.slug())
            continue
        resume = (run.folder / "checkpoints" / "last.pt").is_file()
        log.info("suite %d/%d: %s (%s)", number, len(plan.runs), run.key.slug(), "resumed" if resume else "new")
        train(run.cfg, runtime, resume=resume)
        if runtime.is_main:
            write_results(plan)
    return write_results(plan) if runtime.is_main else {}


# ---------------------------------------------------------------- the tables


def _run_labels(record: dict | None) -> list[str]:
    """What the run's own metrics.json says it lacks, and bf16 where it trained so (the paper's GPU had none)."""
    if record is None:
        return []
    return [*record["labels"], *(["bf16"] if record.get("amp_bf16") else [])]


def _difference(ours: Mapping[str, float | None] | None, paper: PaperRow) -> dict[str, float | None]:
    return {name: None if ours is None or ours.get(name) is None or getattr(paper, name) is None
            else ours[name] - getattr(paper, name) for name in METRICS}


def results(plan: Plan) -> dict:
    """suite.json: every table of the plan, each row with our metrics (from its run's metrics.json), the paper's,
    and ours minus the paper's."""
    records = {run.key: finished_record(run) for run in plan.runs}
    tables = []
    for table in plan.tables:
        rows = []
        for row in (r for r in plan.rows if r.paper.table == table.name):
            record = records[row.run.key]
            ours = {name: record["metrics"][name] for name in METRICS} if record else None
            rows.append({
                "paper_row": row.paper.label,
                "key": row.paper.key.to_dict(),
                "run": row.run.folder.relative_to(plan.suite_dir).as_posix(),
                "run_key": row.run.key.to_dict(),
                "labels": [*row.labels, *_run_labels(record)],
                "n_images": record["metrics"]["n_images"] if record else None,
                "ours": ours,
                "paper": row.paper.metrics(),
                "paper_source": row.paper.source,
                "difference": _difference(ours, row.paper),
            })
        tables.append({"table": table.name, "title": table.title, "reading": table.reading, "rows": rows})
    return {
        "format": SUITE_FORMAT,
        "paper": PAPER,
        "preset": plan.preset,
        "runs": {run.key.slug(): {"key": run.key.to_dict(), "finished": records[run.key] is not None}
                 for run in plan.runs},
        "tables": tables,
    }


def _signed(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{100 * value:+.2f}" if key == "accuracy" else f"{value:+.4f}"


def markdown(suite: dict, plan: Plan) -> str:
    """suite.md: one Markdown table per paper table, three lines a row (ours, the paper's, the difference)."""
    first = plan.runs[0].cfg if plan.runs else None
    lines = ["# The MRACNN paper's tables: our runs beside its numbers", "", f"Paper: {PAPER}.", ""]
    if plan.preset:
        lines += [f"Preset `{plan.preset}`: {PRESETS[plan.preset].about}.", ""]
    if first is not None:
        lines += [f"Corpus `{first.corpus}`; {first.epochs} epoch(s) at most, batch {first.batch_size}, "
                  f"lr {first.lr:g}{f', the first {first.limit} images of each split' if first.limit else ''}. Our "
                  "rows are the test split's metrics of each run folder (`runs/`), labelled with what they lack "
                  "(and `bf16` where they trained in it); the difference is ours minus the paper's (accuracy in "
                  "points).", ""]
    header = "| row | | " + " | ".join(COLUMNS) + " |"
    rule = "|---|---|" + "---|" * len(COLUMNS)
    for table in suite["tables"]:
        lines += [f"## Table {table['table']}: {table['title']}", "", f"*Our reading: {table['reading']}.*", "",
                  header, rule]
        for row in table["rows"]:
            labels = f" [{', '.join(row['labels'])}]" if row["labels"] else ""
            name = f"{row['paper_row']}: `{RowKey.from_dict(row['run_key']).describe()}`{labels}"
            ours = row["ours"] or {}
            cells = [format_value(k, ours.get(k), "not run yet" if row["ours"] is None else "n/a") for k in METRICS]
            lines.append(f"| {name} | ours | " + " | ".join(cells) + " |")
            paper = [format_value(k, row["paper"][k], NOT_TRANSCRIBED) for k in METRICS]
            lines.append("| | paper | " + " | ".join(paper) + " |")
            lines.append("| | difference | " + " | ".join(_signed(k, row["difference"][k]) for k in METRICS) + " |")
        lines.append("")
    return "\n".join(lines)


def write_results(plan: Plan) -> dict:
    suite = results(plan)
    plan.suite_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan.suite_dir / "suite.json", json.dumps(suite, indent=2) + "\n")
    atomic_write_text(plan.suite_dir / "suite.md", markdown(suite, plan) + "\n")
    return suite


# ---------------------------------------------------------------- --list


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def describe_plan(plan: Plan, split_sizes: Mapping[str, int], throughput: float | None) -> str:
    """The plan in words: each run, the tables it answers, whether it is done, and (with a throughput in images
    per second) how long it may take."""
    shared = len(plan.rows) - len(plan.runs)
    tables = ", ".join(table.name for table in plan.tables)
    sizes = ", ".join(f"{split} {n}" for split, n in split_sizes.items())
    lines = [f"suite plan: Table(s) {tables}{f', preset {plan.preset}' if plan.preset else ''}; images per split: "
             f"{sizes}", f"{len(plan.runs)} runs for {len(plan.rows)} table rows ({shared} shared)"]
    if throughput:
        lines.append(f"estimate: epochs x (train + val) + test images at {throughput:g} images/s, an upper bound "
                     "(evaluation is cheaper than a training step, and early stopping usually ends sooner)")
    else:
        lines.append("(give --throughput IMAGES_PER_S, e.g. from perf/train_throughput.py, for a time per run)")
    width = max((len(run.key.slug()) for run in plan.runs), default=3)
    order = [table.name for table in plan.tables]
    for run in plan.runs:
        in_tables = sorted({row.paper.table for row in plan.rows if row.run is run}, key=order.index)
        record = finished_record(run)
        if record is not None:
            status = f"done, trained in {_clock(sum(h['seconds'] for h in record.get('history', [])))}"
        elif (run.folder / "checkpoints" / "last.pt").is_file():
            status = "started (resumes)"
        else:
            status = "to run"
        images = run.cfg.epochs * (split_sizes["train"] + split_sizes["val"]) + split_sizes["test"]
        estimate = f", at most {_clock(images / throughput)}" if throughput else ""
        lines.append(f"  {run.key.slug():<{width}}  Table {', '.join(in_tables):<10} {status}{estimate}")
    return "\n".join(lines)
