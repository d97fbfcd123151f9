"""`mracnn`: the paper's model, whole: trunk -> recurrent attention (T glimpses) + Text-CNN -> fusion -> bins.

MRACNN (Zhang et al., IEEE Transactions on Multimedia 23, 2021; paper.py cites it in full) reads a
photo and its comments as two streams and fuses them:

- visual: the trunk's feature map (trunks.py) looked at T times by an LSTM. At step t the score
  of location i is e_{t,i} = N^T tanh(W1 h_{t-1} + W2 f_i + b) (eq. (8); one vector N for every
  location, or one N_i per location with --attn-score per-location: the paper's notation allows
  both), a_t = softmax_i(e_t), and the glimpse x_t = sum_i a_{t,i} f_i is the LSTM's next input;
  (h_0, c_0) come from the mean feature through a linear layer and tanh ("Show, Attend and
  Tell"; the paper does not say; --lstm-init zeros starts from zero). The T glimpses are
  concatenated.
- language: Text-CNN (Kim 2014) over frozen word vectors: one convolution per filter height
  (3/4/5), ReLU, max over time.
- fusion: MFB (Yu et al. 2017) as its authors' reference implementation has it (dropout on the
  k*o product before the sum pooling), by default; concat, sum and prod for the paper's comparison.

The baselines (baselines.py) are this model with a stream or the attention taken away, built
from the same parts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.models.base import ModelOutput, ModelSpec, register
from aesthetic.benchmark.models.trunks import trunk_from_config

# ---------------------------------------------------------------- visual stream: recurrent attention


class SharedScore(nn.Linear):
    """e_i = N^T tanh(...)_i with one vector N for every location: [B, L, A] -> [B, L]."""

    def __init__(self, attn_hidden: int, locations: int = 0) -> None:
        super().__init__(attn_hidden, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).squeeze(-1)


class PerLocationScore(nn.Module):
    """e_i = N_i^T tanh(...)_i with one vector N_i per location i: [B, L, A] -> [B, L], for one L only."""

    def __init__(self, attn_hidden: int, locations: int) -> None:
        super().__init__()
        if locations < 1:
            raise ValueError(f"per-location attention scores need the number of locations, got {locations}")
        bound = attn_hidden ** -0.5            # nn.Linear's default initialisation range
        self.weight = nn.Parameter(torch.empty(locations, attn_hidden).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"the feature map has {x.shape[1]} locations; per-location attention scores were made "
                             f"for {self.weight.shape[0]} (another image size?)")
        return (x * self.weight.to(x.dtype)).sum(dim=-1)


ATTENTION_SCORES: dict[str, type[nn.Module]] = {"shared": SharedScore, "per-location": PerLocationScore}
# --lstm-init: are (h_0, c_0) learned from the mean feature (tanh of a linear layer), or zero?
LSTM_INITS = {"mean": True, "zeros": False}


class RecurrentAttention(nn.Module):
    """features [B, D, H, W] -> (glimpses concatenated [B, T*D], attention maps [B, T, H, W]).

    The LSTM only runs between glimpses (T - 1 steps): a step after the last glimpse would feed
    nothing, leaving parameters without gradients, which DistributedDataParallel rejects. With
    T = 1 there is no LSTM at all. The LSTM is a stack of nn.LSTMCell, one per layer: it runs one
    step at a time anyway, and torch.compile traces cells but breaks its graph at nn.LSTM.
    """

    def __init__(self, feat_dim: int, *, glimpses: int = 3, lstm_layers: int = 1, lstm_hidden: int = 512,
                 attn_hidden: int = 512, score: str = "shared", locations: int = 0, init: str = "mean") -> None:
        super().__init__()
        if glimpses < 1 or lstm_layers < 1:
            raise ValueError(f"glimpses and lstm_layers must be >= 1, got {glimpses}, {lstm_layers}")
        self.glimpses = glimpses
        self.layers = lstm_layers
        self.hidden = lstm_hidden
        self.out_dim = glimpses * feat_dim
        self.learned_init = LSTM_INITS[init]
        if self.learned_init:
            self.init_h = nn.Linear(feat_dim, lstm_layers * lstm_hidden)
        self.attn_h = nn.Linear(lstm_hidden, attn_hidden, bias=False)   # W1
        self.attn_f = nn.Linear(feat_dim, attn_hidden)                  # W2 and b
        self.attn_score = ATTENTION_SCORES[score](attn_hidden, locations)   # N (or N_i): one score per location
        if glimpses > 1:
            if self.learned_init:
                self.init_c = nn.Linear(feat_dim, lstm_layers * lstm_hidden)
            self.cells = nn.ModuleList(nn.LSTMCell(feat_dim if i == 0 else lstm_hidden, lstm_hidden)
                                       for i in range(lstm_layers))

    def _initial_state(self, layer: str, mean: torch.Tensor) -> list[torch.Tensor]:
        """One [B, hidden] state per LSTM layer: tanh(init_h(mean)) (or init_c), or zeros."""
        if not self.learned_init:
            return [mean.new_zeros(mean.shape[0], self.hidden) for _ in range(self.layers)]
        state = torch.tanh(getattr(self, layer)(mean))
        return list(state.view(mean.shape[0], self.layers, self.hidden).unbind(dim=1))

    def _lstm_step(self, x: torch.Tensor, h: list[torch.Tensor], c: list[torch.Tensor]) -> None:
        for i, cell in enumerate(self.cells):
            h[i], c[i] = cell(x if i == 0 else h[i - 1], (h[i], c[i]))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, height, width = features.shape
        f = features.flatten(2).transpose(1, 2)          # [B, L, D]
        mean = f.mean(dim=1)
        h = self._initial_state("init_h", mean)
        c = self._initial_state("init_c", mean) if self.glimpses > 1 else None
        projected = self.attn_f(f)                        # W2 f_i + b, the same at every step
        glimpses, maps = [], []
        for step in range(self.glimpses):
            energy = self.attn_score(torch.tanh(projected + self.attn_h(h[-1]).unsqueeze(1)))
            weights = F.softmax(energy.float(), dim=1).to(f.dtype)   # [B, L], softmax in fp32 under AMP
            glimpse = torch.bmm(weights.unsqueeze(1), f).squeeze(1)  # [B, D]
            glimpses.append(glimpse)
            maps.append(weights)
            if step + 1 < self.glimpses:
                self._lstm_step(glimpse, h, c)
        attention = torch.stack(maps, dim=1).view(batch, self.glimpses, height, width)
        return torch.cat(glimpses, dim=1), attention


# ---------------------------------------------------------------- language stream: Text-CNN


class TextCNN(nn.Module):
    """token ids [B, L] (0 = pad) -> [B, len(heights) * maps]: conv per height, ReLU, max over time.

    The embedding matrix is a Parameter with requires_grad=False rather than a buffer: it is saved
    in checkpoints (so `evaluate` needs no vector file), and DistributedDataParallel neither
    reduces nor re-broadcasts it every step as it would a buffer of vocabulary x dim floats.
    """

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
        embeddings = random_embeddings(cfg.vocab_size, cfg.vector_dim)
    return TextCNN(embeddings, heights=tuple(cfg.text_heights), maps=cfg.text_maps, dropout=cfg.dropout)


# ---------------------------------------------------------------- fusion: mfb | concat | sum | prod


class MFB(nn.Module):
    """z = SumPool(dropout(U^T x ∘ V^T y), k) over consecutive groups of k, power normalisation
    sign(z)·sqrt(|z|), then L2 normalisation.

    As the MFB authors' reference implementation (Yu et al., their PyTorch port): the dropout acts on
    the k*o product, before the sum pooling, at its own rate (0.1 there, `--mfb-dropout`). The signed
    square root is written sqrt(relu(z)) - sqrt(relu(-z)), as they do: equal in value, but its
    gradient at z = 0 is 0 instead of NaN.
    """

    def __init__(self, x_dim: int, y_dim: int, *, k: int = 5, o: int = 1000, dropout: float = 0.1) -> None:
        super().__init__()
        self.k, self.out_dim = k, o
        self.proj_x = nn.Linear(x_dim, k * o)   # Û
        self.proj_y = nn.Linear(y_dim, k * o)   # V̂
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: ModelConfig, x_dim: int, y_dim: int) -> MFB:
        return cls(x_dim, y_dim, k=cfg.mfb_k, o=cfg.mfb_o, dropout=cfg.mfb_dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        joint = self.dropout(self.proj_x(x) * self.proj_y(y))     # [B, k*o]
        z = joint.view(joint.shape[0], self.out_dim, self.k).sum(dim=2)
        z = torch.sqrt(F.relu(z)) - torch.sqrt(F.relu(-z))
        return F.normalize(z.float(), dim=1).to(z.dtype)


class Concat(nn.Module):
    def __init__(self, x_dim: int, y_dim: int, *, dropout: float = 0.1) -> None:
        super().__init__()
        self.out_dim = x_dim + y_dim
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: ModelConfig, x_dim: int, y_dim: int) -> Concat:
        return cls(x_dim, y_dim, dropout=cfg.dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.dropout(torch.cat([x, y], dim=1))


class _Projected(nn.Module):
    """Both features projected to one common size o (the config's `mfb_o`), then combined element-wise."""

    combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, x_dim: int, y_dim: int, *, o: int = 1000, dropout: float = 0.1) -> None:
        super().__init__()
        self.out_dim = o
        self.proj_x = nn.Linear(x_dim, o)
        self.proj_y = nn.Linear(y_dim, o)
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_config(cls, cfg: ModelConfig, x_dim: int, y_dim: int) -> _Projected:
        return cls(x_dim, y_dim, o=cfg.mfb_o, dropout=cfg.dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.combine(self.proj_x(x), self.proj_y(y)))


class Sum(_Projected):
    combine = staticmethod(torch.add)


class Prod(_Projected):
    combine = staticmethod(torch.mul)


FUSION_LAYERS: dict[str, type[nn.Module]] = {"mfb": MFB, "concat": Concat, "sum": Sum, "prod": Prod}


def build_fusion(cfg: ModelConfig, x_dim: int, y_dim: int) -> nn.Module:
    """The fusion layer `cfg.fusion` names (checked by build_model), with an `out_dim` attribute."""
    return FUSION_LAYERS[cfg.fusion].from_config(cfg, x_dim, y_dim)


# ---------------------------------------------------------------- the model


class MRACNN(nn.Module):
    def __init__(self, cfg: ModelConfig, embeddings: torch.Tensor | None) -> None:
        super().__init__()
        self.trunk = trunk_from_config(cfg)
        self.attention = RecurrentAttention(self.trunk.channels, glimpses=cfg.glimpses, lstm_layers=cfg.lstm_layers,
                                            lstm_hidden=cfg.lstm_hidden, attn_hidden=cfg.attn_hidden,
                                            score=cfg.attn_score, locations=cfg.map_locations,
                                            init=cfg.lstm_init)
        self.text = text_stream(cfg, embeddings)
        self.fusion = build_fusion(cfg, self.attention.out_dim, self.text.out_dim)
        self.head = nn.Linear(self.fusion.out_dim, cfg.n_bins)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> ModelOutput:
        visual, attention = self.attention(self.trunk(images))
        logits = self.head(self.fusion(visual, self.text(tokens)))
        return ModelOutput(logits=logits, attention=attention)


register(ModelSpec(name="mracnn", uses_images=True, uses_text=True, build=MRACNN))
