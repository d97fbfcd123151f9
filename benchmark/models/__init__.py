"""The model registry: each module below registers its models by name (base.py is the contract).

`build_model` is the one way the trainer makes a model: it checks the config
and says loudly what is untrained, so no run can quietly pass off random
weights as a result.
"""

from __future__ import annotations

import dataclasses
import logging

import torch
from torch import nn

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.models import baselines, mracnn  # noqa: F401  (fill the registry)
from aesthetic.benchmark.models.base import (
    MODELS,
    RANDOM_WORD_VECTORS,
    UNTRAINED_TRUNK,
    ModelOutput,
    ModelSpec,
    register,
)
from aesthetic.benchmark.models.baselines import VISION_HEADS
from aesthetic.benchmark.models.mracnn import ATTENTION_SCORES, FUSION_LAYERS, LSTM_INITS
from aesthetic.benchmark.models.trunks import (
    DEFAULT_VGG_CUT,
    VGG_CUTS,
    trunk_channels,
    trunk_input_size,
    trunk_spec,
)
from aesthetic.core.errors import UserError

__all__ = [
    "MODELS", "RANDOM_WORD_VECTORS", "UNTRAINED_TRUNK", "ModelOutput", "ModelSpec",
    "build_model", "caveats", "get_spec", "register", "trunk_channels", "trunk_input_size",
]

log = logging.getLogger(__name__)


def get_spec(name: str) -> ModelSpec:
    """The registered model `name`, or a UserError listing the choices."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _check(cfg: ModelConfig, spec: ModelSpec) -> None:
    """What the command line cannot check: names read back from a checkpoint, the data's shapes.

    The options' bounds are checked once, when the command line is parsed (config.py).
    """
    choices = {"fusion": FUSION_LAYERS, "vision_head": VISION_HEADS, "attn_score": ATTENTION_SCORES,
               "vgg_cut": VGG_CUTS, "lstm_init": LSTM_INITS}
    for name, known in choices.items():
        if getattr(cfg, name) not in known:
            raise UserError(f"unknown {name} {getattr(cfg, name)!r}; choose one of: {', '.join(known)}")
    if spec.uses_images:
        trunk_spec(cfg.trunk)
        if cfg.vgg_cut != DEFAULT_VGG_CUT and cfg.trunk != "vgg16":
            raise UserError(f"--vgg-cut {cfg.vgg_cut} is a VGG-16 layer; trunk {cfg.trunk} has no such choice")
    if cfg.n_bins < 2:
        raise UserError(f"n_bins must be at least 2, got {cfg.n_bins}")
    if spec.uses_text and max(cfg.text_heights) > cfg.max_tokens:
        raise UserError(f"max_tokens {cfg.max_tokens} is shorter than the widest text filter {max(cfg.text_heights)}")


def build_model(cfg: ModelConfig, embeddings: torch.Tensor | None = None, *, pretrained: bool = True) -> nn.Module:
    """The model `cfg.name` asks for, its forward(images, tokens) -> ModelOutput.

    `embeddings` is the [vocab, dim] word-vector matrix (wordvectors.build_embeddings);
    when given, its shape overrides cfg.vocab_size / cfg.vector_dim. The config
    actually used is `model.config` (save that one). `pretrained=False` is for
    rebuilding a model whose weights come from our own checkpoint next: the
    trunk file is not read and nothing is flagged.
    """
    spec = get_spec(cfg.name)
    if embeddings is not None:
        if embeddings.dim() != 2:
            raise UserError(f"word-vector matrix must be 2-D [vocab, dim], got shape {tuple(embeddings.shape)}")
        cfg = dataclasses.replace(cfg, vocab_size=embeddings.shape[0], vector_dim=embeddings.shape[1])
    if not pretrained:
        cfg = dataclasses.replace(cfg, trunk_weights=None)
    _check(cfg, spec)
    if pretrained and spec.uses_images and cfg.trunk_weights is None:
        log.warning("NO PRETRAINED TRUNK WEIGHTS: %s starts from random initialisation; results are labelled %r "
                    "(give --trunk-weights FILE)", cfg.trunk, UNTRAINED_TRUNK)
    if pretrained and spec.uses_text and embeddings is None:
        log.warning("NO WORD VECTORS: random frozen embeddings; results are labelled %r (give --glove FILE)",
                    RANDOM_WORD_VECTORS)
    model = spec.build(cfg, embeddings)
    model.config = cfg
    return model


def caveats(cfg: ModelConfig, *, random_vectors: bool) -> list[str]:
    """The labels a run's outputs must carry: 'untrained trunk', 'random word vectors'."""
    spec = get_spec(cfg.name)
    labels = []
    if spec.uses_images and cfg.trunk_weights is None:
        labels.append(UNTRAINED_TRUNK)
    if spec.uses_text and random_vectors:
        labels.append(RANDOM_WORD_VECTORS)
    return labels
