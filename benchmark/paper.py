"""The MRACNN paper's tables as data: every row of its Tables I-IV and of its Photo.net table.

The paper: Xiaodan Zhang, Xinbo Gao, Wen Lu, Lihuo He, Jie Li, "Beyond Vision: A Multimodal
Recurrent Attention Convolutional Neural Network for Unified Image Aesthetic Prediction Tasks",
IEEE Transactions on Multimedia, vol. 23, pp. 611-623, 2021 (early access April 2020),
DOI 10.1109/TMM.2020.2985526.

Where the numbers come from. The paper's text was not at hand when this module was written;
what was (the `source` of each row says which):

- TRANSCRIPTION: the project's transcription of ten of the paper's results, all six columns:
  nine AVA rows (VGG-16 vision only; Text-CNN text only; Text-CNN + VGG-16; MRACNN with concat,
  element-wise sum, element-wise product and MFB fusion; MRACNN MFB with AlexNet and with
  Inception-v3) and MRACNN (VGG-16) on Photo.net. It came without table numbers, and could not
  be checked against the paper here.
- QUOTED_ACCURACY: the accuracies of the paper's vision-only rows as quoted in the project's
  issue 10, "AlexNet 76.37 / VGG16 78.43 / InceptionNet 79.43" (the VGG-16 one agrees with the
  transcription); the other five columns of the AlexNet and Inception-v3 rows were not quoted.

A cell none of them gives is None and is shown as "not transcribed": never invented, never taken
from a neighbouring row. Which table a transcribed row sits in, and the layout of Tables I and IV,
are our reading, said row by row (`PaperTable.reading`) where they are not certain.

Every row is keyed by what fixes the configuration, `RowKey` (model, trunk, fusion, T, LSTM
layers, vision head), so `--compare-paper` and the suite match a run to a row on the whole key:
a T = 1 run is compared with the T = 1 row, never with the default T = 3 one.

No torch here: the suite plans its runs from these tables before anything is trained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

PAPER = ("Xiaodan Zhang, Xinbo Gao, Wen Lu, Lihuo He, Jie Li, \"Beyond Vision: A Multimodal Recurrent Attention "
         "Convolutional Neural Network for Unified Image Aesthetic Prediction Tasks\", IEEE Transactions on "
         "Multimedia, vol. 23, pp. 611-623, 2021 (early access April 2020), DOI 10.1109/TMM.2020.2985526")
TRANSCRIPTION = "the project's transcription of the paper's results (six columns; not checked against its text)"
QUOTED_ACCURACY = "the paper's vision-only accuracies as quoted to the project (accuracy only; not checked)"
METRICS = ("accuracy", "srcc", "plcc", "mae", "rmse", "emd")
COLUMNS = ("Acc %", "SRCC", "PLCC", "MAE", "RMSE", "EMD")     # how the paper heads them
NOT_TRANSCRIBED = "not transcribed"

# The parts of the key each model has (the other parts are None: a text-only row has no trunk). The keys are
# the model registry's names (benchmark/models); tests/benchmark/test_paper.py holds the two equal.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "mracnn": ("trunk", "fusion", "glimpses", "lstm_layers"),
    "fusion": ("trunk", "fusion", "vision_head"),
    "vision": ("trunk", "vision_head"),
    "text": (),
}


@dataclass(frozen=True)
class RowKey:
    """What makes two results comparable: the model and the settings of it that the paper's tables vary."""

    model: str
    trunk: str | None = None
    fusion: str | None = None
    glimpses: int | None = None        # T
    lstm_layers: int | None = None
    vision_head: str | None = None

    def __post_init__(self) -> None:
        used = set(KEY_FIELDS[self.model])
        for f in fields(self)[1:]:
            if (getattr(self, f.name) is not None) != (f.name in used):
                raise ValueError(f"a {self.model} row {'has' if f.name in used else 'has no'} {f.name}: {self}")

    @classmethod
    def of(cls, model_cfg: Any) -> RowKey:
        """The key of a ModelConfig: its name and the settings its model uses."""
        return cls(model_cfg.name, **{name: getattr(model_cfg, name) for name in KEY_FIELDS[model_cfg.name]})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RowKey:
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def settings(self) -> dict[str, Any]:
        """The ModelConfig values by dotted name (config.with_values) that make this configuration."""
        return {f"model.{'name' if name == 'model' else name}": value
                for name, value in asdict(self).items() if value is not None}

    def describe(self) -> str:
        """In words: 'mracnn vgg16 mfb T=3 L=1', 'vision vgg16 full head', 'text'."""
        parts = [self.model, self.trunk, self.fusion,
                 None if self.glimpses is None else f"T={self.glimpses}",
                 None if self.lstm_layers is None else f"L={self.lstm_layers}",
                 None if self.vision_head is None else f"{self.vision_head} head"]
        return " ".join(p for p in parts if p)

    def slug(self) -> str:
        """A run folder's name: 'mracnn-vgg16-mfb-T3-L1', 'vision-vgg16-full'."""
        parts = [self.model, self.trunk, self.fusion,
                 None if self.glimpses is None else f"T{self.glimpses}",
                 None if self.lstm_layers is None else f"L{self.lstm_layers}", self.vision_head]
        return "-".join(p for p in parts if p)

    def with_trunk(self, trunk: str) -> RowKey:
        return self if self.trunk is None else RowKey(**{**asdict(self), "trunk": trunk})


@dataclass(frozen=True)
class PaperRow:
    """One row of one of the paper's tables; a metric is None where no source gives it."""

    table: str
    dataset: str
    label: str              # the row as the paper names it (or as our source did)
    key: RowKey
    accuracy: float | None  # fraction, like our Metrics (the paper prints %)
    srcc: float | None
    plcc: float | None
    mae: float | None
    rmse: float | None
    emd: float | None
    source: str | None      # where the numbers come from; None: no source gives any

    @property
    def transcribed(self) -> bool:
        return any(getattr(self, name) is not None for name in METRICS)

    def metrics(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in METRICS}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "key": self.key.to_dict()}


@dataclass(frozen=True)
class PaperTable:
    name: str               # "I", "II", "III", "IV", "Photo.net"
    dataset: str            # the corpus it reports on: "ava" or "photonet"
    title: str
    reading: str            # what of its layout is our reading rather than known
    rows: tuple[PaperRow, ...]


def _row(table: str, label: str, key: RowKey, numbers: tuple[float | None, ...] | None = None, *,
         source: str | None = None, dataset: str = "ava") -> PaperRow:
    """A row; `numbers` = (Acc %, SRCC, PLCC, MAE, RMSE, EMD) as the paper prints them, None where not known."""
    acc, srcc, plcc, mae, rmse, emd = numbers or (None,) * 6
    return PaperRow(table, dataset, label, key, None if acc is None else acc / 100, srcc, plcc, mae, rmse, emd,
                    source if numbers else None)


def _mracnn(trunk: str = "vgg16", fusion: str = "mfb", glimpses: int = 3, layers: int = 1) -> RowKey:
    return RowKey("mracnn", trunk, fusion, glimpses, layers)


def _vision(trunk: str) -> RowKey:
    return RowKey("vision", trunk, vision_head="full")


TEXT = RowKey("text")
TEXT_CNN_VGG = RowKey("fusion", "vgg16", "mfb", vision_head="full")

# The transcription's rows (Acc %, SRCC, PLCC, MAE, RMSE, EMD), by the name it gave them.
VGG_VISION = (78.43, 0.6493, 0.6596, 0.4299, 0.5537, 0.048)
TEXT_ONLY = (81.85, 0.7786, 0.7851, 0.3895, 0.4887, 0.0447)
TEXT_CNN_PLUS_VGG = (84.94, 0.8233, 0.8367, 0.3345, 0.4274, 0.0377)
MRACNN_CONCAT = (85.32, 0.8260, 0.8388, 0.3316, 0.4247, 0.0387)
MRACNN_SUM = (85.36, 0.8265, 0.8399, 0.3308, 0.4214, 0.0388)
MRACNN_PROD = (85.26, 0.8270, 0.8403, 0.3302, 0.4229, 0.0382)
MRACNN_MFB_VGG = (85.68, 0.8310, 0.8431, 0.3271, 0.4193, 0.0371)
MRACNN_MFB_ALEXNET = (84.46, 0.8202, 0.8314, 0.3377, 0.4331, 0.0381)
MRACNN_MFB_INCEPTION = (85.71, 0.8318, 0.8434, 0.3252, 0.4190, 0.0369)
MRACNN_PHOTONET = (78.91, 0.5709, 0.5902, 0.3636, 0.4589, 0.0622)
# QUOTED_ACCURACY: accuracy only.
ALEXNET_VISION = (76.37, None, None, None, None, None)
INCEPTION_VISION = (79.43, None, None, None, None, None)

_TABLES = (
    PaperTable(
        "I", "ava", "MRACNN's recurrent attention: time steps T and LSTM layers (AVA)",
        "held as two sweeps from the default (T = 1, 3, 5 with one LSTM layer; 1, 2, 3 layers at T = 3); if the "
        "paper crosses them, its other four rows are missing here. Only the default row's numbers are known: "
        "they are the transcription's MRACNN MFB (VGG-16) row, taken to be the same experiment",
        (
            _row("I", "T = 1, 1 LSTM layer", _mracnn(glimpses=1)),
            _row("I", "T = 3, 1 LSTM layer", _mracnn(), MRACNN_MFB_VGG, source=TRANSCRIPTION),
            _row("I", "T = 5, 1 LSTM layer", _mracnn(glimpses=5)),
            _row("I", "T = 3, 2 LSTM layers", _mracnn(layers=2)),
            _row("I", "T = 3, 3 LSTM layers", _mracnn(layers=3)),
        ),
    ),
    PaperTable(
        "II", "ava", "CNN trunks: each network alone and in MRACNN (MFB) (AVA)",
        "the transcription gave no table numbers: its VGG-16 vision-only and three MRACNN MFB rows are placed here",
        (
            _row("II", "AlexNet (vision only)", _vision("alexnet"), ALEXNET_VISION, source=QUOTED_ACCURACY),
            _row("II", "VGG-16 (vision only)", _vision("vgg16"), VGG_VISION, source=TRANSCRIPTION),
            _row("II", "Inception-v3 (vision only)", _vision("inception_v3"), INCEPTION_VISION,
                 source=QUOTED_ACCURACY),
            _row("II", "MRACNN MFB (AlexNet)", _mracnn("alexnet"), MRACNN_MFB_ALEXNET, source=TRANSCRIPTION),
            _row("II", "MRACNN MFB (VGG-16)", _mracnn(), MRACNN_MFB_VGG, source=TRANSCRIPTION),
            _row("II", "MRACNN MFB (Inception-v3)", _mracnn("inception_v3"), MRACNN_MFB_INCEPTION,
                 source=TRANSCRIPTION),
        ),
    ),
    PaperTable(
        "III", "ava", "Ablation: the streams, the attention and the fusion (AVA, VGG-16)",
        "the transcription gave no table numbers: its ablation rows are placed here; 'Text-CNN + VGG-16' is read "
        "as MRACNN without the attention (the penultimate VGG-16 features, MFB fusion)",
        (
            _row("III", "VGG-16 (vision only)", _vision("vgg16"), VGG_VISION, source=TRANSCRIPTION),
            _row("III", "Text-CNN (text only)", TEXT, TEXT_ONLY, source=TRANSCRIPTION),
            _row("III", "Text-CNN + VGG-16", TEXT_CNN_VGG, TEXT_CNN_PLUS_VGG, source=TRANSCRIPTION),
            _row("III", "MRACNN concat", _mracnn(fusion="concat"), MRACNN_CONCAT, source=TRANSCRIPTION),
            _row("III", "MRACNN elt-sum", _mracnn(fusion="sum"), MRACNN_SUM, source=TRANSCRIPTION),
            _row("III", "MRACNN elt-prod", _mracnn(fusion="prod"), MRACNN_PROD, source=TRANSCRIPTION),
            _row("III", "MRACNN MFB", _mracnn(), MRACNN_MFB_VGG, source=TRANSCRIPTION),
        ),
    ),
    PaperTable(
        "IV", "ava", "Comparison with other methods (AVA)",
        "only MRACNN's own row is held, read as the default configuration (MFB, VGG-16, T = 3, one layer); the "
        "other methods' rows (their names and numbers) were not transcribed",
        (_row("IV", "MRACNN", _mracnn(), MRACNN_MFB_VGG, source=TRANSCRIPTION),),
    ),
    PaperTable(
        "Photo.net", "photonet", "Comparison with other methods (Photo.net)",
        "only MRACNN's own row (VGG-16) is held; the other methods' rows were not transcribed",
        (_row("Photo.net", "MRACNN (VGG-16)", _mracnn(), MRACNN_PHOTONET, source=TRANSCRIPTION,
              dataset="photonet"),),
    ),
)
PAPER_TABLES: dict[str, PaperTable] = {table.name: table for table in _TABLES}
# `--tables IV` on a Photo.net corpus is the paper's Photo.net comparison.
TABLE_FOR_DATASET = {("IV", "photonet"): "Photo.net"}


def format_value(key: str, value: float | None, missing: str = "n/a") -> str:
    """A metric as the paper prints it: accuracy in %, the others to four places."""
    if value is None:
        return missing
    return f"{100 * value:.2f}" if key == "accuracy" else f"{value:.4f}"


def paper_tables(names: Iterable[str], dataset: str) -> list[PaperTable]:
    """The paper's tables `names` ('I', 'II', ...) for a corpus of `dataset`; a ValueError names those the paper
    does not report on that dataset."""
    chosen = [PAPER_TABLES[TABLE_FOR_DATASET.get((name, dataset), name)] for name in names]
    other = [table.name for table in chosen if table.dataset != dataset]
    if other:
        raise ValueError(f"the paper reports Table(s) {', '.join(other)} on AVA, not on {dataset}")
    return chosen


def paper_row(dataset: str, key: RowKey) -> PaperRow | None:
    """The paper's row for this configuration on `dataset` (one with numbers when several tables hold it), or None."""
    rows = [row for table in _TABLES if table.dataset == dataset for row in table.rows if row.key == key]
    return next((row for row in rows if row.transcribed), rows[0] if rows else None)
