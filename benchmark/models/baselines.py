"""The paper's comparison rows (Tables II and III): MRACNN with a stream or its attention taken away.

`vision` (vision only), `text` (Text-CNN alone) and `fusion` (the trunk and Text-CNN fused, the
"Text-CNN + VGG-16" row: what MRACNN adds over it is the attention). By default (`--vision-head
full`) the vision side is the whole trunk network, its last layer replaced: the vision-only rows
are the networks the paper names (VGG-16, AlexNet, Inception-v3 fine-tuned with an N-bin softmax,
NIMA's recipe), and `fusion` fuses the penultimate layer's features. `--vision-head pooled`
average-pools the feature map MRACNN's attention looks at instead. Built from MRACNN's own parts
(mracnn.py), so a row differs from MRACNN only in what it leaves out.
"""

from __future__ import annotations

import torch
from torch import nn

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.models.base import ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.mracnn import build_fusion, text_stream
from aesthetic.benchmark.models.trunks import Trunk, trunk_from_config

# --vision-head: does the model keep the whole network (True) or the feature map to pool (False)?
VISION_HEADS = {"full": True, "pooled": False}


def vision_trunk(cfg: ModelConfig) -> Trunk:
    return trunk_from_config(cfg, whole=VISION_HEADS[cfg.vision_head])


class VisionModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.trunk = vision_trunk(cfg)
        # The whole network keeps its own dropout before the layer replaced; the pooled map gets one.
        self.dropout = nn.Identity() if self.trunk.whole else nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.trunk.channels, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor | None = None) -> ModelOutput:
        return ModelOutput(logits=self.head(self.dropout(self.trunk.vector(images))))


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
        self.trunk = vision_trunk(cfg)
        self.text = text_stream(cfg, embeddings)
        self.fusion = build_fusion(cfg, self.trunk.channels, self.text.out_dim)
        self.head = nn.Linear(self.fusion.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> ModelOutput:
        return ModelOutput(logits=self.head(self.fusion(self.trunk.vector(images), self.text(tokens))))


def _whole(cfg: ModelConfig) -> bool:
    return VISION_HEADS[cfg.vision_head]


register(ModelSpec(name="vision", uses_images=True, uses_text=False, build=lambda cfg, _embeddings: VisionModel(cfg),
                   whole_network=_whole))
register(ModelSpec(name="text", uses_images=False, uses_text=True, build=TextModel))
register(ModelSpec(name="fusion", uses_images=True, uses_text=True, build=FusionModel, whole_network=_whole))
