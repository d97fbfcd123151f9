"""The contract between models and the trainer; adding a model is one module registered by name.

Every model takes a batch of images and/or token ids and returns logits over
the score bins; the trainer applies softmax, the EMD loss and the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

@dataclass
class ModelConfig:
    name: str = "mracnn"
    n_bins: int = 10
    trunk: str = "vgg16"
    trunk_weights: str | None = None     # a local .pth; None = random init, loudly labelled
    freeze_trunk: bool = False           # keep the trunk fixed (BatchNorm statistics too): cheap CPU runs
    glimpses: int = 3                    # T
    lstm_layers: int = 1
    lstm_hidden: int = 512
    attn_hidden: int = 512
    fusion: str = "mfb"
    mfb_k: int = 5
    mfb_o: int = 1000                    # MFB's output size o; also the common size sum/prod project to
    dropout: float = 0.3
    max_tokens: int = 200
    text_heights: tuple[int, ...] = (3, 4, 5)
    text_maps: int = 100
    embed_dim: int = 300                 # overwritten by the word vectors' dimension
    vocab_size: int = 2                  # overwritten by the vocabulary (0 = pad, 1 = unknown)


@dataclass
class ModelOutput:
    logits: torch.Tensor                          # [B, n_bins]
    attention: torch.Tensor | None = None         # [B, T, H, W] attention maps (mracnn only)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    uses_images: bool
    uses_text: bool
    build: Callable[[ModelConfig, torch.Tensor | None], nn.Module]  # (config, embedding matrix or None)
    summary: str


MODELS: dict[str, ModelSpec] = {}

# Labels every output of a run made without pretrained weights carries (SPEC section 5).
UNTRAINED_TRUNK = "untrained trunk"
RANDOM_WORD_VECTORS = "random word vectors"


def register(spec: ModelSpec) -> ModelSpec:
    MODELS[spec.name] = spec
    return spec
