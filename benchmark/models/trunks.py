"""CNN trunks from torchvision, cut where MRACNN takes its feature map, or whole but for their last layer.

Nothing downloads: each trunk is built with `weights=None` and, when the user
gives a file, the whole torchvision model's state_dict is loaded from it with
`torch.load(..., weights_only=True)` (no pickle code runs) and checked strictly
before the part a model uses is kept. Loading into the full model, not the cut,
means the ordinary torchvision checkpoint files work as they are.

Two parts: the feature map MRACNN's attention looks at (VGG-16's conv5_3, AlexNet's conv5,
Inception-v3's Mixed_6e, MobileNet-v2's last block), and the whole network without its last
layer, which the vision-only and "Text-CNN + VGG-16" rows use (NIMA's recipe: VGG's and
AlexNet's pretrained fully connected layers, Inception's last blocks, kept and fine-tuned).

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
    """Inception-v3 up to Mixed_6e (17x17x768 at 299), auxiliary classifier and top removed; or, `whole`,
    the whole network but its last layer: Mixed_7a-7c, average pool and dropout too (2048-d).

    torchvision's ImageNet Inception weights were ported from Google and expect
    inputs in [-1, 1]; `transform_input` maps ImageNet-normalised input there,
    exactly as torchvision does when it loads those weights itself.
    """

    _LAYERS = (
        "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
        "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
    )
    _TOP = ("Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool", "dropout")

    def __init__(self, net: tvm.Inception3, *, whole: bool = False) -> None:
        super().__init__()
        layers = [(name, getattr(net, name)) for name in self._LAYERS + (self._TOP if whole else ())]
        if whole:
            layers.append(("flatten", nn.Flatten(1)))
        self.layers = nn.Sequential(OrderedDict(layers))
        scale = torch.tensor(IMAGENET_STD) / 0.5
        shift = (torch.tensor(IMAGENET_MEAN) - 0.5) / 0.5
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x * self.scale.to(x.dtype) + self.shift.to(x.dtype))


def _but_last_layer(net: nn.Module) -> nn.Module:
    """VGG / AlexNet / MobileNet-v2 as torchvision runs them (features, pool, flatten, classifier), without the
    classifier's last Linear: its pretrained fully connected layers and their dropout are kept (NIMA's recipe)."""
    pool = net.avgpool if hasattr(net, "avgpool") else nn.AdaptiveAvgPool2d(1)   # MobileNet-v2 pools in forward()
    return nn.Sequential(OrderedDict([("features", net.features), ("pool", pool), ("flatten", nn.Flatten(1)),
                                      ("classifier", net.classifier[:-1])]))


@dataclass(frozen=True)
class TrunkSpec:
    name: str
    channels: int                                   # D, the feature vectors' size
    input_size: int                                 # the image side the trunk was trained at
    build_full: Callable[[bool], nn.Module]         # (has_aux) -> the torchvision model, random init
    cut: Callable[[nn.Module, str], nn.Module]      # (full model, --vgg-cut) -> its feature-map part
    network_dim: int                                # P, the whole network's penultimate features
    network: Callable[[nn.Module], nn.Module]       # full model -> all of it but its last layer: [B, P]


def _inception(has_aux: bool) -> nn.Module:
    return tvm.inception_v3(weights=None, aux_logits=has_aux, init_weights=True, transform_input=False)


# --vgg-cut: where VGG-16's feature map is taken (the end of torchvision's `features` slice).
VGG_CUTS = {"conv5_3": 30, "pool5": 31}
DEFAULT_VGG_CUT = "conv5_3"

TRUNKS: dict[str, TrunkSpec] = {
    spec.name: spec
    for spec in (
        # conv5_3 + ReLU, before the last max-pool: 14x14x512 (--vgg-cut pool5: after it, 7x7x512).
        TrunkSpec("vgg16", 512, 224, lambda _aux: tvm.vgg16(weights=None),
                  lambda m, cut: m.features[:VGG_CUTS[cut]], 4096, _but_last_layer),
        # conv5 + ReLU, before the last max-pool: 13x13x256.
        TrunkSpec("alexnet", 256, 224, lambda _aux: tvm.alexnet(weights=None), lambda m, _cut: m.features[:12],
                  4096, _but_last_layer),
        TrunkSpec("inception_v3", 768, 299, _inception, lambda m, _cut: InceptionFeatures(m), 2048,
                  lambda m: InceptionFeatures(m, whole=True)),
        # The CPU / demo trunk: the whole feature stack, 7x7x1280.
        TrunkSpec("mobilenet_v2", 1280, 224, lambda _aux: tvm.mobilenet_v2(weights=None),
                  lambda m, _cut: m.features, 1280, _but_last_layer),
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
    """A pretrained CNN, or the part of it a model uses: images [B, 3, S, S] -> the feature map
    [B, D, H, W] that attention looks at, or (`whole`) the whole network's penultimate features [B, P]."""

    def __init__(self, name: str, weights: str | Path | None = None, *, freeze: bool = False, whole: bool = False,
                 vgg_cut: str = DEFAULT_VGG_CUT) -> None:
        super().__init__()
        spec = trunk_spec(name)
        self.name = name
        self.whole = whole
        self.channels = spec.network_dim if whole else spec.channels
        self.frozen = freeze
        state = read_state_dict(weights) if weights is not None else None
        has_aux = state is None or any(key.startswith("AuxLogits.") for key in state)
        full = spec.build_full(has_aux)
        if state is not None:
            _load_strict(full, state, Path(weights), name)
            log.info("trunk %s: loaded weights from %s", name, weights)
        self.features = spec.network(full) if whole else spec.cut(full, vgg_cut)
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

    def vector(self, images: torch.Tensor) -> torch.Tensor:
        """One feature vector per image [B, channels]: the whole network's penultimate layer, or the
        feature map average-pooled (`--vision-head pooled`)."""
        out = self.features(images)
        return out if self.whole else out.mean(dim=(2, 3))


def trunk_from_config(cfg: ModelConfig, *, whole: bool = False) -> Trunk:
    return Trunk(cfg.trunk, cfg.trunk_weights, freeze=cfg.freeze_trunk, whole=whole, vgg_cut=cfg.vgg_cut)


def _meta_output(trunk: Trunk, image_size: int) -> torch.Size | None:
    with torch.device("meta"):
        try:
            return trunk(torch.empty(1, 3, image_size, image_size)).shape[1:]
        except RuntimeError:   # a layer's output would be empty: the image is too small
            return None


def _meta_trunk(cfg: ModelConfig, whole: bool) -> Trunk:
    """The trunk part on the meta device: the real layer stack, no weights, no arithmetic."""
    with torch.device("meta"):
        return Trunk(cfg.trunk, whole=whole, vgg_cut=cfg.vgg_cut).eval()


def feature_shape(cfg: ModelConfig, image_size: int, *, whole: bool) -> torch.Size:
    """The trunk part's output for one image of `image_size` pixels ([D, H, W], or [P] `whole`); a UserError,
    before any image is decoded, when the image is too small for one of its layers, naming the least size."""
    trunk = _meta_trunk(cfg, whole)
    shape = _meta_output(trunk, image_size)
    if shape is not None:
        return shape
    low, high = image_size, 2 * trunk_input_size(cfg.trunk)     # too small / big enough: bisect between
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if _meta_output(trunk, middle) is not None else (middle, high)
    part = "whole network (--vision-head full)" if whole else "feature map"
    raise UserError(f"--image-size {image_size} is too small for {cfg.trunk}'s {part}: it needs at least {high} px")
