"""`text`: Text-CNN over the comments -> score bins, the text-only baseline."""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.models.base import ModelConfig, ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.textcnn import text_stream


class TextModel(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.text = text_stream(cfg, embeddings)
        self.head = nn.Linear(self.text.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor | None, tokens: torch.Tensor) -> ModelOutput:
        return ModelOutput(logits=self.head(self.text(tokens)))


register(ModelSpec(
    name="text", uses_images=False, uses_text=True, build=TextModel,
    summary="text only: Text-CNN (heights 3/4/5 x 100 maps) over frozen word vectors",
))
