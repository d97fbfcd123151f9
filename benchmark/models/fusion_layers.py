"""Ways to fuse a visual and a text feature into one vector: mfb | concat | sum | prod.

MFB (Yu et al. 2017): z = SumPool(U^T x ∘ V^T y, k) over consecutive groups of
k, dropout, power normalisation sign(z)·sqrt(|z|), then L2 normalisation.
The signed square root is written sqrt(relu(z)) - sqrt(relu(-z)), as the MFB
authors do: equal in value, but its gradient at z = 0 is 0 instead of NaN
(dropout makes exact zeros common). sum and prod first project both features
to one common size (the config's `mfb_o`); concat keeps both as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class MFB(nn.Module):
    def __init__(self, x_dim: int, y_dim: int, *, k: int = 5, o: int = 1000, dropout: float = 0.1) -> None:
        super().__init__()
        self.k, self.out_dim = k, o
        self.proj_x = nn.Linear(x_dim, k * o)   # Û
        self.proj_y = nn.Linear(y_dim, k * o)   # V̂
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        joint = self.proj_x(x) * self.proj_y(y)                    # [B, k*o]
        z = joint.view(joint.shape[0], self.out_dim, self.k).sum(dim=2)
        z = self.dropout(z)
        z = torch.sqrt(F.relu(z)) - torch.sqrt(F.relu(-z))
        return F.normalize(z.float(), dim=1).to(z.dtype)


class Concat(nn.Module):
    def __init__(self, x_dim: int, y_dim: int, *, dropout: float = 0.1, **_: int) -> None:
        super().__init__()
        self.out_dim = x_dim + y_dim
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.dropout(torch.cat([x, y], dim=1))


class _Projected(nn.Module):
    """Both features projected to size o, then combined element-wise by `combine`."""

    combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, x_dim: int, y_dim: int, *, o: int = 1000, dropout: float = 0.1, **_: int) -> None:
        super().__init__()
        self.out_dim = o
        self.proj_x = nn.Linear(x_dim, o)
        self.proj_y = nn.Linear(y_dim, o)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.combine(self.proj_x(x), self.proj_y(y)))


class Sum(_Projected):
    combine = staticmethod(torch.add)


class Prod(_Projected):
    combine = staticmethod(torch.mul)


FUSION_LAYERS: dict[str, type[nn.Module]] = {"mfb": MFB, "concat": Concat, "sum": Sum, "prod": Prod}


def build_fusion(name: str, x_dim: int, y_dim: int, *, k: int, o: int, dropout: float) -> nn.Module:
    """A fusion layer with an `out_dim` attribute; `name` is checked by the caller (UserError)."""
    return FUSION_LAYERS[name](x_dim, y_dim, k=k, o=o, dropout=dropout)
