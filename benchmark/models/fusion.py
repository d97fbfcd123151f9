"""`fusion`: trunk features pooled over the map + Text-CNN, fused (any --fusion), no attention.

The paper's "Text-CNN + VGG-16" row: what MRACNN adds over it is the attention.
"""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.models.base import ModelConfig, ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.fusion_layers import build_fusion
from aesthetic.benchmark.models.textcnn import text_stream
from aesthetic.benchmark.models.trunks import trunk_from_config


class FusionModel(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.trunk = trunk_from_config(cfg)
        self.text = text_stream(cfg, embeddings)
        self.fusion = build_fusion(cfg.fusion, self.trunk.channels, self.text.out_dim,
                                   k=cfg.mfb_k, o=cfg.mfb_o, dropout=cfg.dropout)
        self.head = nn.Linear(self.fusion.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> ModelOutput:
        visual = self.trunk(images).mean(dim=(2, 3))
        return ModelOutput(logits=self.head(self.fusion(visual, self.text(tokens))))


register(ModelSpec(
    name="fusion", uses_images=True, uses_text=True, build=FusionModel,
    summary="trunk (average-pooled) + Text-CNN, fused by --fusion, no attention",
))
