"""The paper's comparison rows (Table III): MRACNN with a stream or its attention taken away.

`vision` (trunk + global average pool, NIMA-style), `text` (Text-CNN alone) and `fusion` (the
pooled trunk and Text-CNN fused, the "Text-CNN + VGG-16" row: what MRACNN adds over it is the
attention). They are built from MRACNN's own parts (mracnn.py), so a row differs from MRACNN
only in what it leaves out.
"""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.models.base import ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.mracnn import build_fusion, text_stream
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


class TextModel(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.text = text_stream(cfg, embeddings)
        self.head = nn.Linear(self.text.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor | None, tokens: torch.Tensor) -> ModelOutput:
        return ModelOutput(logits=self.head(self.text(tokens)))


class FusionModel(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.trunk = trunk_from_config(cfg)
        self.text = text_stream(cfg, embeddings)
        self.fusion = build_fusion(cfg, self.trunk.channels, self.text.out_dim)
        self.head = nn.Linear(self.fusion.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> ModelOutput:
        visual = self.trunk(images).mean(dim=(2, 3))
        return ModelOutput(logits=self.head(self.fusion(visual, self.text(tokens))))


register(ModelSpec(name="vision", uses_images=True, uses_text=False, build=lambda cfg, _embeddings: VisionModel(cfg)))
register(ModelSpec(name="text", uses_images=False, uses_text=True, build=TextModel))
register(ModelSpec(name="fusion", uses_images=True, uses_text=True, build=FusionModel))
