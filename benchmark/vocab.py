"""The vocabulary of the language stream: the TRAIN split's words, then those of the word-vector file.

Counting words in train alone keeps the test split out of what is built from the data: a test
word that neither train nor the vector file knows maps to "unknown", as a truly unseen word
would. The vector file's other words are appended (`with_words`) because the embeddings are
frozen: a test word with a GloVe vector gets that vector, and nothing is learned from it, so
nothing leaks. Tokens come from `aesthetic.corpus.tokenize.tokenize`, the tokenizer the corpus
filter used, so the two stages agree on what a word is. Ids: 0 = pad, 1 = unknown, 2 = the
separator placed between an image's comments (page order); then the train words by falling
frequency, ties alphabetical, so a vocabulary is deterministic; then the vector file's other
words in the file's order (count 0).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from aesthetic.benchmark.config import MAX_TOKENS
from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text
from aesthetic.core.log import progress_bar
from aesthetic.corpus.tokenize import tokenize

PAD, UNK, SEP = 0, 1, 2
SPECIALS = ("<pad>", "<unk>", "<sep>")
_SPECIAL_SET = frozenset(SPECIALS)
_FORMAT = "aesthetic-vocab"
_VERSION = 1
# Tokenizing (nltk's regex TweetTokenizer, about 1-2k comments/s a core) is the slow part of the
# text side, so the full-corpus passes spread it over processes in chunks of this many images;
# below _PARALLEL_MIN images a pool's start-up costs more than it saves.
_CHUNK = 500
_PARALLEL_MIN = 5000


def _auto_workers(n_images: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if n_images < _PARALLEL_MIN else min(8, os.cpu_count() or 1)


def _chunks(images_comments: Iterable[Sequence[str]]) -> Iterator[list[list[str]]]:
    chunk: list[list[str]] = []
    for comments in images_comments:
        chunk.append([str(comment) for comment in comments])
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _count_chunk(chunk: list[list[str]]) -> Counter[str]:
    counter: Counter[str] = Counter()
    for comments in chunk:
        for comment in comments:
            counter.update(tokenize(comment))
    return counter


_worker_vocab: Vocab | None = None


def _set_worker_vocab(vocab: Vocab) -> None:
    global _worker_vocab
    _worker_vocab = vocab


def _encode_in_worker(chunk: list[list[str]]) -> np.ndarray:
    assert _worker_vocab is not None, "the pool's initializer sets the vocabulary"
    return _worker_vocab.encode_chunk(chunk)


def _pool_context() -> multiprocessing.context.BaseContext:
    """forkserver with the tokenizer preloaded: workers fork from a clean server that imported nltk
    (about 1.5 s) once, instead of each spawned worker importing it again; plain fork could copy
    the caller's threads (data loaders, torch) mid-state. spawn where forkserver does not exist."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _map_chunks(fn: Callable[[list[list[str]]], object], images_comments: Iterable[Sequence[str]], *, workers: int,
                total: int | None, desc: str, initializer: Callable[..., None] | None = None,
                initargs: tuple = ()) -> Iterator:
    """fn over chunks of images, in order, in `workers` processes (1 = here, no initializer), with a bar."""
    with progress_bar(total=total, desc=desc, unit="img") as bar:
        if workers <= 1:
            for chunk in _chunks(images_comments):
                yield fn(chunk)
                bar.update(len(chunk))
            return
        sizes: deque[int] = deque()   # filled by the pool's feeder thread before each chunk is sent

        def feed() -> Iterator[list[list[str]]]:
            for chunk in _chunks(images_comments):
                sizes.append(len(chunk))
                yield chunk

        with _pool_context().Pool(workers, initializer, initargs) as pool:
            for result in pool.imap(fn, feed()):
                yield result
                bar.update(sizes.popleft())


@dataclass
class Vocab:
    """Words by id (`words[i]` is id i, the first three are SPECIALS) and their train-split counts."""

    words: list[str]
    counts: list[int]
    max_tokens: int = MAX_TOKENS
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.words[: len(SPECIALS)]) != SPECIALS or len(self.counts) != len(self.words):
            raise ValueError("a Vocab starts with the special tokens and has one count per word")
        # Special tokens are not words: a comment that literally says "<sep>" gets the unknown id.
        self.index = {word: i for i, word in enumerate(self.words) if i >= len(SPECIALS)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, images_comments: Iterable[Sequence[str]], *, min_count: int = 1, max_size: int | None = None,
              max_tokens: int = MAX_TOKENS, total: int | None = None, workers: int | None = None) -> Vocab:
        """A vocabulary over the comments of each (train) image; words seen < min_count times are dropped.

        `workers`: tokenizing processes; None = up to 8 for 5,000+ images, else 1.
        """
        if total is None and isinstance(images_comments, Sequence):
            total = len(images_comments)
        counter: Counter[str] = Counter()
        for partial in _map_chunks(_count_chunk, images_comments, workers=_auto_workers(total or 0, workers),
                                   total=total, desc="vocabulary"):
            counter.update(partial)
        ranked = sorted(((w, c) for w, c in counter.items() if c >= min_count and w not in SPECIALS),
                        key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(SPECIALS))]
        return cls(words=[*SPECIALS, *(w for w, _ in ranked)], counts=[0] * len(SPECIALS) + [c for _, c in ranked],
                   max_tokens=max_tokens)

    def with_words(self, words: Iterable[str]) -> Vocab:
        """This vocabulary, then each of `words` it lacks in their order, with count 0: the ids it has stay."""
        added = [word for word in dict.fromkeys(words) if word not in self.index and word not in _SPECIAL_SET]
        if not added:
            return self
        return Vocab(words=[*self.words, *added], counts=[*self.counts, *([0] * len(added))],
                     max_tokens=self.max_tokens)

    @property
    def train_words(self) -> int:
        """How many words the train split gave (the rest came from a vector file)."""
        return sum(1 for count in self.counts if count > 0)

    @classmethod
    def from_corpus(cls, corpus_dir: str | Path, **kwargs: int | None) -> Vocab:
        """The vocabulary of `<corpus_dir>/train.parquet` (only that split is read)."""
        path = Path(corpus_dir) / "train.parquet"
        if not path.is_file():
            raise UserError(f"{path}: train split not found (the vocabulary is built from train only)")
        try:
            column = pq.read_table(path, columns=["comments"]).column("comments")
        except (KeyError, OSError, ValueError) as exc:
            raise UserError(f"{path}: cannot read a 'comments' column ({exc})") from exc
        return cls.build(column.to_pylist(), total=len(column), **kwargs)

    def encode(self, comments: Sequence[str]) -> np.ndarray:
        """Token ids of one image's comments, cut or zero-padded to max_tokens (int64)."""
        ids: list[int] = []
        for i, comment in enumerate(comments):
            if len(ids) >= self.max_tokens:
                break   # the rest would be cut anyway: don't tokenize it
            if i:
                ids.append(SEP)
            ids.extend(self.index.get(token, UNK) for token in tokenize(comment))
        out = np.zeros(self.max_tokens, dtype=np.int64)
        kept = ids[: self.max_tokens]
        out[: len(kept)] = kept
        return out

    def encode_chunk(self, images_comments: Sequence[Sequence[str]]) -> np.ndarray:
        return np.stack([self.encode(comments) for comments in images_comments])

    def encode_many(self, images_comments: Sequence[Sequence[str]], *, workers: int | None = None) -> np.ndarray:
        """[n_images, max_tokens] token ids of many images, tokenized in `workers` processes (as in build)."""
        n = len(images_comments)
        workers = _auto_workers(n, workers)
        if workers > 1:
            chunks = _map_chunks(_encode_in_worker, images_comments, workers=workers, total=n, desc="tokenize",
                                 initializer=_set_worker_vocab, initargs=(self,))
        else:
            chunks = _map_chunks(self.encode_chunk, images_comments, workers=1, total=n, desc="tokenize")
        parts = list(chunks)
        return np.concatenate(parts) if parts else np.zeros((0, self.max_tokens), dtype=np.int64)

    def save(self, path: str | Path) -> None:
        payload = {"format": _FORMAT, "version": _VERSION, "max_tokens": self.max_tokens,
                   "words": self.words, "counts": self.counts}
        atomic_write_text(Path(path), json.dumps(payload, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UserError(f"{path}: vocabulary file not found") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: not a vocabulary JSON file ({exc})") from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT or payload.get("version") != _VERSION:
            raise UserError(f"{path}: not an {_FORMAT} v{_VERSION} file")
        try:
            return cls(words=list(payload["words"]), counts=list(payload["counts"]),
                       max_tokens=int(payload["max_tokens"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{path}: malformed vocabulary file ({exc})") from exc
