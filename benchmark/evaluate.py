"""`aesthetic-benchmark evaluate`: a saved model scored on a corpus' test split.

The run's own config comes back from the checkpoint as it was saved; only the options the
`evaluate` command takes (its data, device and report group) are put over it. Its precision is
the run's too: bf16 autocast on CUDA only for a run trained with it (the CLI sets the runtime up
from the checkpoint's `amp`). The vocabulary
and the word vectors come from the checkpoint too, so no vector file is needed and words unseen
in training map to "unknown" as they did.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aesthetic.benchmark.checkpoint import checkpoint_config
from aesthetic.benchmark.config import with_values
from aesthetic.benchmark.models import build_model
from aesthetic.benchmark.report import report_test_split
from aesthetic.benchmark.rundata import load_datasets, read_data
from aesthetic.benchmark.runtime import Runtime
from aesthetic.core.errors import UserError


def evaluate_checkpoint(checkpoint: Path, saved: dict, runtime: Runtime, options: Mapping[str, Any],
                        out: Path | None = None) -> dict:
    """Write predictions, metrics and plots of `checkpoint` (`saved`, as load_checkpoint read it) on the test
    split to `out` (default RUN_DIR/evaluate).

    `options`: the evaluate command's values by dotted name (config.parsed_values). Returns metrics.json's record.
    """
    checkpoint = Path(checkpoint)
    if out is None:
        run_root = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
        out = run_root / "evaluate"
    cfg = with_values(checkpoint_config(saved, checkpoint), {**options, "out": str(out)})
    data = read_data(cfg, runtime, splits=("test",), saved_vocab=saved["vocab"], need_vectors=False)
    if data.corpus.n_bins != cfg.model.n_bins:
        raise UserError(f"{cfg.corpus}: {data.corpus.n_bins} score bins, but {checkpoint} predicts {cfg.model.n_bins}")
    # The labels and the threshold are the training run's: it knew whether its vectors were random, and
    # one threshold re-derived from the test split's labels (a corpus built with its own --threshold) could differ.
    data.labels = list(saved["labels"])
    data.corpus.threshold = saved["threshold"]
    model = build_model(cfg.model, pretrained=False)
    model.load_state_dict(saved["model"])
    model.to(runtime.device)
    data = load_datasets(cfg, data, runtime)
    return report_test_split(Path(out), model, cfg, data, runtime,
                             facts={"checkpoint": str(checkpoint), "checkpoint_epoch": saved.get("epoch")})
