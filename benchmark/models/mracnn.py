"""`mracnn`: the paper's model: trunk -> recurrent attention (T glimpses) + Text-CNN -> fusion -> bins."""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.models.attention import RecurrentAttention
from aesthetic.benchmark.models.base import ModelConfig, ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.fusion_layers import build_fusion
from aesthetic.benchmark.models.textcnn import text_stream
from aesthetic.benchmark.models.trunks import trunk_from_config


class MRACNN(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.trunk = trunk_from_config(cfg)
        self.attention = RecurrentAttention(self.trunk.channels, glimpses=cfg.glimpses, lstm_layers=cfg.lstm_layers,
                                            lstm_hidden=cfg.lstm_hidden, attn_hidden=cfg.attn_hidden)
        self.text = text_stream(cfg, embeddings)
        self.fusion = build_fusion(cfg.fusion, self.attention.out_dim, self.text.out_dim,
                                   k=cfg.mfb_k, o=cfg.mfb_o, dropout=cfg.dropout)
        self.head = nn.Linear(self.fusion.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> ModelOutput:
        visual, attention = self.attention(self.trunk(images))
        logits = self.head(self.fusion(visual, self.text(tokens)))
        return ModelOutput(logits=logits, attention=attention)


register(ModelSpec(
    name="mracnn", uses_images=True, uses_text=True, build=MRACNN,
    summary="MRACNN: trunk -> LSTM recurrent attention (T glimpses) + Text-CNN, fused by --fusion (MFB default)",
))
