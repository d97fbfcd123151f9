"""The contract between models and the trainer; adding a model is one module registered by name.

Every model takes a batch of images and/or token ids and returns logits over the score bins;
the trainer applies softmax, the EMD loss and the metrics. What a model is built from is its
`ModelConfig` (benchmark/config.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from aesthetic.benchmark.config import ModelConfig


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
    # Does the model keep the trunk's whole network (its penultimate features) rather than its feature map?
    whole_network: Callable[[ModelConfig], bool] = lambda _cfg: False


MODELS: dict[str, ModelSpec] = {}

# Labels every output of a run made without pretrained weights carries, so it cannot pass for a reproduction.
UNTRAINED_TRUNK = "untrained trunk"
RANDOM_WORD_VECTORS = "random word vectors"


def register(spec: ModelSpec) -> ModelSpec:
    MODELS[spec.name] = spec
    return spec
