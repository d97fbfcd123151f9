"""The language stream: Text-CNN (Kim 2014) over frozen word vectors.

The embedding matrix is a Parameter with requires_grad=False rather than a
buffer: it is saved in checkpoints (so `evaluate` needs no vector file), and
DistributedDataParallel neither reduces nor re-broadcasts it every step as it
would a buffer of vocabulary x dim floats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aesthetic.benchmark.models.base import ModelConfig


class TextCNN(nn.Module):
    """token ids [B, L] (0 = pad) -> [B, len(heights) * maps]: conv per height, ReLU, max over time."""

    def __init__(self, embeddings: torch.Tensor, *, heights: tuple[int, ...] = (3, 4, 5), maps: int = 100,
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        dim = embeddings.shape[1]
        self.convs = nn.ModuleList(nn.Conv1d(dim, maps, kernel_size=height) for height in heights)
        self.dropout = nn.Dropout(dropout)
        self.min_tokens = max(heights)
        self.out_dim = len(heights) * maps

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] < self.min_tokens:
            raise ValueError(f"token sequences must be at least {self.min_tokens} long, got {tokens.shape[1]}")
        x = self.embedding(tokens).transpose(1, 2)       # [B, E, L]
        pooled = [F.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.dropout(torch.cat(pooled, dim=1))


def random_embeddings(vocab_size: int, dim: int, *, seed: int = 0) -> torch.Tensor:
    """Seeded N(0, 0.3²) vectors (about GloVe's spread), zero for the pad id 0: the no-vectors fallback."""
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(vocab_size, dim, generator=generator) * 0.3
    matrix[0] = 0.0
    return matrix


def text_stream(cfg: ModelConfig, embeddings: torch.Tensor | None) -> TextCNN:
    """The Text-CNN a config asks for; without a matrix, seeded random vectors of the config's size
    (what `evaluate` uses before the checkpoint's saved matrix is loaded over them)."""
    if embeddings is None:
        embeddings = random_embeddings(cfg.vocab_size, cfg.embed_dim)
    return TextCNN(embeddings, heights=tuple(cfg.text_heights), maps=cfg.text_maps, dropout=cfg.dropout)
