"""MRACNN's recurrent attention: an LSTM that looks at T places of a feature map in turn.

At step t the score of location i is e_{t,i} = w^T tanh(W1 h_{t-1} + W2 f_i + b)
(SPEC writes the projection to a scalar as "N · tanh"), a_t = softmax_i(e_t),
the glimpse x_t = sum_i a_{t,i} f_i is the LSTM's next input, and (h_0, c_0)
come from the mean feature through a linear layer and tanh ("Show, Attend and
Tell"). The LSTM only runs between glimpses (T - 1 steps): a step after the
last glimpse would feed nothing, leaving parameters without gradients, which
DistributedDataParallel rejects. With T = 1 there is no LSTM at all.
The LSTM is a stack of nn.LSTMCell, one per layer: it runs one step at a time
anyway, and torch.compile traces cells but breaks its graph at nn.LSTM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RecurrentAttention(nn.Module):
    """features [B, D, H, W] -> (glimpses concatenated [B, T*D], attention maps [B, T, H, W])."""

    def __init__(self, feat_dim: int, *, glimpses: int = 3, lstm_layers: int = 1, lstm_hidden: int = 512,
                 attn_hidden: int = 512) -> None:
        super().__init__()
        if glimpses < 1 or lstm_layers < 1:
            raise ValueError(f"glimpses and lstm_layers must be >= 1, got {glimpses}, {lstm_layers}")
        self.glimpses = glimpses
        self.layers = lstm_layers
        self.hidden = lstm_hidden
        self.out_dim = glimpses * feat_dim
        self.init_h = nn.Linear(feat_dim, lstm_layers * lstm_hidden)
        self.attn_h = nn.Linear(lstm_hidden, attn_hidden, bias=False)   # W1
        self.attn_f = nn.Linear(feat_dim, attn_hidden)                  # W2 and b
        self.attn_score = nn.Linear(attn_hidden, 1, bias=False)         # w: to one score per location
        if glimpses > 1:
            self.init_c = nn.Linear(feat_dim, lstm_layers * lstm_hidden)
            self.cells = nn.ModuleList(nn.LSTMCell(feat_dim if i == 0 else lstm_hidden, lstm_hidden)
                                       for i in range(lstm_layers))

    def _initial_state(self, layer: nn.Linear, mean: torch.Tensor) -> list[torch.Tensor]:
        """One [B, hidden] state per LSTM layer."""
        return list(torch.tanh(layer(mean)).view(mean.shape[0], self.layers, self.hidden).unbind(dim=1))

    def _lstm_step(self, x: torch.Tensor, h: list[torch.Tensor], c: list[torch.Tensor]) -> None:
        for i, cell in enumerate(self.cells):
            h[i], c[i] = cell(x if i == 0 else h[i - 1], (h[i], c[i]))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, height, width = features.shape
        f = features.flatten(2).transpose(1, 2)          # [B, L, D]
        mean = f.mean(dim=1)
        h = self._initial_state(self.init_h, mean)
        c = self._initial_state(self.init_c, mean) if self.glimpses > 1 else None
        projected = self.attn_f(f)                        # W2 f_i + b, the same at every step
        glimpses, maps = [], []
        for step in range(self.glimpses):
            energy = self.attn_score(torch.tanh(projected + self.attn_h(h[-1]).unsqueeze(1))).squeeze(-1)
            weights = F.softmax(energy.float(), dim=1).to(f.dtype)   # [B, L], softmax in fp32 under AMP
            glimpse = torch.bmm(weights.unsqueeze(1), f).squeeze(1)  # [B, D]
            glimpses.append(glimpse)
            maps.append(weights)
            if step + 1 < self.glimpses:
                self._lstm_step(glimpse, h, c)
        attention = torch.stack(maps, dim=1).view(batch, self.glimpses, height, width)
        return torch.cat(glimpses, dim=1), attention
