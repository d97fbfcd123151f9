"""The MRACNN paper's published results (SPEC section 4), as data for `--compare-paper`.

Only numbers printed in the paper are here; a configuration the paper did not
report has no row, and the comparison says so instead of inventing one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PaperRow:
    label: str
    accuracy: float        # fraction, like our Metrics (the paper prints %)
    srcc: float
    plcc: float
    mae: float
    rmse: float
    emd: float

    def to_dict(self) -> dict:
        return asdict(self)


def _row(label: str, acc_percent: float, srcc: float, plcc: float, mae: float, rmse: float, emd: float) -> PaperRow:
    return PaperRow(label, acc_percent / 100, srcc, plcc, mae, rmse, emd)


# (dataset, model, trunk, fusion) -> row; None = "any value" for a field the model does not use.
PAPER_RESULTS: dict[tuple[str, str, str | None, str | None], PaperRow] = {
    ("ava", "vision", "vgg16", None): _row("VGG-16 (vision only)", 78.43, 0.6493, 0.6596, 0.4299, 0.5537, 0.048),
    ("ava", "text", None, None): _row("Text-CNN (text only)", 81.85, 0.7786, 0.7851, 0.3895, 0.4887, 0.0447),
    ("ava", "fusion", "vgg16", None): _row("Text-CNN + VGG-16", 84.94, 0.8233, 0.8367, 0.3345, 0.4274, 0.0377),
    ("ava", "mracnn", "vgg16", "concat"): _row("MRACNN concat", 85.32, 0.8260, 0.8388, 0.3316, 0.4247, 0.0387),
    ("ava", "mracnn", "vgg16", "sum"): _row("MRACNN elt-sum", 85.36, 0.8265, 0.8399, 0.3308, 0.4214, 0.0388),
    ("ava", "mracnn", "vgg16", "prod"): _row("MRACNN elt-prod", 85.26, 0.8270, 0.8403, 0.3302, 0.4229, 0.0382),
    ("ava", "mracnn", "vgg16", "mfb"): _row("MRACNN MFB (VGG-16)", 85.68, 0.8310, 0.8431, 0.3271, 0.4193, 0.0371),
    ("ava", "mracnn", "alexnet", "mfb"): _row("MRACNN MFB (AlexNet)", 84.46, 0.8202, 0.8314, 0.3377, 0.4331, 0.0381),
    ("ava", "mracnn", "inception_v3", "mfb"): _row("MRACNN MFB (Inception-v3)", 85.71, 0.8318, 0.8434, 0.3252, 0.4190, 0.0369),
    ("photonet", "mracnn", "vgg16", "mfb"): _row("MRACNN MFB (VGG-16), Photo.net", 78.91, 0.5709, 0.5902, 0.3636, 0.4589, 0.0622),
}


def paper_row(dataset: str, model: str, trunk: str, fusion: str) -> PaperRow | None:
    """The paper's row for this configuration (T=3, 1 LSTM layer as in its tables), or None."""
    for (d, m, t, f), row in PAPER_RESULTS.items():
        if d == dataset and m == model and t in (None, trunk) and f in (None, fusion):
            return row
    return None
