"""A run's data, read in the order that finds a mistake soonest.

Everything a user can get wrong is read first: the corpus, a stat of every image file, the
vocabulary and the word vectors (and, in train.py, the trunk weights, when the model is built).
Only then does `load_datasets` decode the images, which at AVA scale takes far longer than all of
that together; so a wrong --glove or --trunk-weights is refused before any image is decoded.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aesthetic.benchmark import data as data_mod
from aesthetic.benchmark.config import TrainConfig
from aesthetic.benchmark.models import caveats, get_spec
from aesthetic.benchmark.models.trunks import feature_shape, trunk_input_size
from aesthetic.benchmark.runtime import Runtime
from aesthetic.benchmark.vocab import Vocab
from aesthetic.benchmark.wordvectors import build_embeddings
from aesthetic.core.errors import UserError
from aesthetic.core.schemas import SPLITS


@dataclass
class RunData:
    """The corpus, the text side, what the outputs must say about them, and (after load_datasets) the datasets."""

    corpus: data_mod.Corpus
    image_size: int | None                 # None for a model without images
    vocab: Vocab | None                    # None for a model without text
    embeddings: torch.Tensor | None        # None when a checkpoint brings its own
    labels: list[str]                      # "untrained trunk", "random word vectors"
    map_locations: int = 0                 # H*W of the trunk's feature map at image_size, for a model that uses it
    datasets: dict[str, data_mod.SplitDataset] = field(default_factory=dict)
    problems: list[data_mod.ImageProblem] = field(default_factory=list)

    def model_shapes(self) -> dict[str, int]:
        """The ModelConfig fields the data fixes (config.resolved), as the model is built."""
        return {"n_bins": self.corpus.n_bins, "map_locations": self.map_locations}

    def vocab_state(self) -> dict | None:
        """The vocabulary as checkpoints keep it."""
        return None if self.vocab is None else {"words": self.vocab.words, "counts": self.vocab.counts}

    def skipped(self) -> dict[str, int]:
        counts = {split: 0 for split in self.corpus.splits}
        for problem in self.problems:
            counts[problem.split] += 1
        return counts


def read_data(cfg: TrainConfig, runtime: Runtime, *, splits: tuple[str, ...] = SPLITS,
              saved_vocab: dict | None = None, need_vectors: bool = True) -> RunData:
    """The corpus, its image files counted, the vocabulary (the train split's extended with the vector
    file's words, or `saved_vocab`) and, unless the caller restores them from a checkpoint, the word
    vectors; no image is decoded yet."""
    spec = get_spec(cfg.model.name)
    corpus = data_mod.load_corpus(
        Path(cfg.corpus), uses_text=spec.uses_text, limit=cfg.limit, threshold=cfg.threshold,
        seed=cfg.seed, val_fraction=cfg.val_fraction, splits=splits,
    )
    image_size = None
    locations = 0
    if spec.uses_images:
        if not cfg.images:
            raise UserError(f"model {cfg.model.name!r} needs images: pass --images DIR")
        image_size = cfg.image_size or trunk_input_size(cfg.model.trunk)
        shape = feature_shape(cfg.model, image_size, whole=spec.whole_network(cfg.model))
        if len(shape) == 3:                     # a feature map [D, H, W]
            locations = shape[1] * shape[2]
        data_mod.check_images_exist(corpus, Path(cfg.images), max_missing_fraction=_max_missing(cfg))
    vocab = embeddings = None
    random_vectors = False
    if spec.uses_text:
        if saved_vocab is not None:
            vocab = Vocab(words=list(saved_vocab["words"]), counts=list(saved_vocab["counts"]),
                          max_tokens=cfg.model.max_tokens)
        else:
            train = corpus.splits["train"]["comments"]
            vocab = Vocab.build(train, max_tokens=cfg.model.max_tokens, total=len(train))
        if need_vectors:
            vectors = build_embeddings(vocab, cfg.glove, dim=cfg.embed_dim, seed=cfg.seed,
                                       extend=cfg.vocabulary == "train+vectors")
            vocab, embeddings, random_vectors = vectors.vocab, vectors.matrix, vectors.random
    labels = caveats(cfg.model, random_vectors=random_vectors)
    return RunData(corpus, image_size, vocab, embeddings, labels, map_locations=locations)


def _max_missing(cfg: TrainConfig) -> float | None:
    return None if cfg.allow_missing_images else cfg.max_missing_fraction


def load_datasets(cfg: TrainConfig, data: RunData, runtime: Runtime) -> RunData:
    """`data` with its datasets: images decoded once into the cache (rank 0 first, the others then
    reuse its files), comments encoded; unreadable images are dropped and recorded."""
    caches: dict[str, data_mod.ImageCache] = {}
    problems: list[data_mod.ImageProblem] = []
    if data.image_size is not None:
        cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else Path(cfg.out) / "cache"
        for turn in (True, False):
            if runtime.is_main == turn:
                caches, problems = data_mod.prepare_images(
                    data.corpus, Path(cfg.images), cache_dir, data.image_size, max_missing_fraction=_max_missing(cfg),
                    workers=max(2, os.cpu_count() or 2),
                )
            runtime.barrier()
    encode = data.vocab.encode_many if data.vocab is not None else None
    datasets = {split: data_mod.make_dataset(data.corpus, split, cache=caches.get(split), encode=encode)
                for split in data.corpus.splits}
    return dataclasses.replace(data, datasets=datasets, problems=problems)
