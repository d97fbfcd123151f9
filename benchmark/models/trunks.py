"""CNN trunks from torchvision, cut where MRACNN takes its feature map.

Nothing downloads: each trunk is built with `weights=None` and, when the user
gives a file, the whole torchvision model's state_dict is loaded from it with
`torch.load(..., weights_only=True)` (no pickle code runs) and checked strictly
before the feature part is kept. Loading into the full model, not the cut,
means the ordinary torchvision checkpoint files work as they are.

Inputs are RGB images normalised with the ImageNet mean and std
(`IMAGENET_MEAN`, `IMAGENET_STD`) at `trunk_input_size(name)` pixels.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.torchfile import safe_load
from aesthetic.core.errors import UserError

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class InceptionFeatures(nn.Module):
    """Inception-v3 up to Mixed_6e (17x17x768 at 299), auxiliary classifier and top removed.

    torchvision's ImageNet Inception weights were ported from Google and expect
    inputs in [-1, 1]; `transform_input` maps ImageNet-normalised input there,
    exactly as torchvision does when it loads those weights itself.
    """

    _LAYERS = (
        "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
        "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    )

    def __init__(self, net: tvm.Inception3) -> None:
        super().__init__()
        self.layers = nn.Sequential(OrderedDict((name, getattr(net, name)) for name in self._LAYERS))
        scale = torch.tensor(IMAGENET_STD) / 0.5
        shift = (torch.tensor(IMAGENET_MEAN) - 0.5) / 0.5
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x * self.scale.to(x.dtype) + self.shift.to(x.dtype))


@dataclass(frozen=True)
class TrunkSpec:
    name: str
    channels: int                                   # D, the feature vectors' size
    input_size: int                                 # the image side the trunk was trained at
    build_full: Callable[[bool], nn.Module]         # (has_aux) -> the torchvision model, random init
    cut: Callable[[nn.Module], nn.Module]           # full model -> its feature part


def _inception(has_aux: bool) -> nn.Module:
    return tvm.inception_v3(weights=None, aux_logits=has_aux, init_weights=True, transform_input=False)


TRUNKS: dict[str, TrunkSpec] = {
    spec.name: spec
    for spec in (
        # conv5_3 + ReLU, before the last max-pool: 14x14x512.
        TrunkSpec("vgg16", 512, 224, lambda _aux: tvm.vgg16(weights=None), lambda m: m.features[:30]),
        # conv5 + ReLU, before the last max-pool: 13x13x256.
        TrunkSpec("alexnet", 256, 224, lambda _aux: tvm.alexnet(weights=None), lambda m: m.features[:12]),
        TrunkSpec("inception_v3", 768, 299, _inception, InceptionFeatures),
        # The CPU / demo trunk: the whole feature stack, 7x7x1280.
        TrunkSpec("mobilenet_v2", 1280, 224, lambda _aux: tvm.mobilenet_v2(weights=None), lambda m: m.features),
    )
}


def trunk_spec(name: str) -> TrunkSpec:
    if name not in TRUNKS:
        raise UserError(f"unknown trunk {name!r}; choose one of: {', '.join(TRUNKS)}")
    return TRUNKS[name]


def trunk_input_size(name: str) -> int:
    """The square image side (pixels) to resize to for this trunk."""
    return trunk_spec(name).input_size


def trunk_channels(name: str) -> int:
    return trunk_spec(name).channels


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from a user's file, safely (weights_only), or a UserError saying why not."""
    obj = safe_load(path, "PyTorch weights file")
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{path}: expected a state_dict (a mapping of names to tensors), got {type(obj).__name__}")
    state = dict(obj)
    if all(key.startswith("module.") for key in state):   # saved from a DataParallel/DDP wrapper
        state = {key[len("module."):]: value for key, value in state.items()}
    return state


def _load_strict(full: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    hint = f"the file must hold the state_dict of torchvision.models.{name}()"
    try:
        missing, unexpected = full.load_state_dict(state, strict=False)
    except RuntimeError as exc:   # shape mismatches
        detail = " ".join(str(exc).split())[:500]
        raise UserError(f"{path}: weights do not fit trunk {name}: {detail}", hint=hint) from exc
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise UserError(f"{path}: weights do not fit trunk {name}: {'; '.join(parts)}", hint=hint)


class Trunk(nn.Module):
    """A CNN feature-map extractor: images [B, 3, S, S] -> features [B, D, H, W]."""

    def __init__(self, name: str, weights: str | Path | None = None, *, freeze: bool = False) -> None:
        super().__init__()
        spec = trunk_spec(name)
        self.name = name
        self.channels = spec.channels
        self.frozen = freeze
        state = read_state_dict(weights) if weights is not None else None
        has_aux = state is None or any(key.startswith("AuxLogits.") for key in state)
        full = spec.build_full(has_aux)
        if state is not None:
            _load_strict(full, state, Path(weights), name)
            log.info("trunk %s: loaded weights from %s", name, weights)
        self.features = spec.cut(full)
        if freeze:
            self.features.requires_grad_(False)

    def train(self, mode: bool = True) -> Trunk:
        """A frozen trunk stays in eval mode so its BatchNorm statistics stay fixed too."""
        super().train(mode)
        if self.frozen:
            self.features.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)


def trunk_from_config(cfg: ModelConfig) -> Trunk:
    return Trunk(cfg.trunk, cfg.trunk_weights, freeze=cfg.freeze_trunk)
