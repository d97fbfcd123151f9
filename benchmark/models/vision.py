"""`vision`: trunk + global average pooling -> score bins (NIMA-style), the vision-only baseline."""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.models.base import ModelConfig, ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.trunks import trunk_from_config


class VisionModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.trunk = trunk_from_config(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.trunk.channels, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor | None = None) -> ModelOutput:
        pooled = self.trunk(images).mean(dim=(2, 3))
        return ModelOutput(logits=self.head(self.dropout(pooled)))


register(ModelSpec(
    name="vision", uses_images=True, uses_text=False,
    build=lambda cfg, _embeddings: VisionModel(cfg),
    summary="vision only: trunk + global average pool -> score distribution (NIMA-style)",
))
