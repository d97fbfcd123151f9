"""Vocabulary: train split only, the project tokenizer, special ids, 200-token cut, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.benchmark import vocab as vocab_module
from aesthetic.benchmark.vocab import MAX_TOKENS, PAD, SEP, SPECIALS, UNK, Vocab
from aesthetic.core.errors import UserError
from aesthetic.corpus.tokenize import tokenize
from tests.conftest import shared_file


def write_split(folder: Path, split: str, comments: list[list[str]]) -> None:
    table = pa.table({"image_id": list(range(len(comments))), "split": [split] * len(comments),
                      "comments": pa.array(comments, type=pa.list_(pa.string()))})
    pq.write_table(table, folder / f"{split}.parquet")


def test_vocabulary_comes_from_the_train_split_only(tmp_path: Path) -> None:
    write_split(tmp_path, "train", [["Lovely light here", "too dark"], ["lovely colours!"]])
    write_split(tmp_path, "test", [["Stunning bokeh"]])
    vocab = Vocab.from_corpus(tmp_path)
    assert "lovely" in vocab.index and "colours" in vocab.index
    assert "stunning" not in vocab.index and "bokeh" not in vocab.index
    assert vocab.encode(["Stunning bokeh"])[:2].tolist() == [UNK, UNK]


def test_ids_specials_order_and_counts() -> None:
    vocab = Vocab.build([["b a b"], ["c b a"]])
    assert vocab.words == [*SPECIALS, "b", "a", "c"]        # by count, then alphabetical
    assert vocab.counts == [0, 0, 0, 3, 2, 1]
    assert (PAD, UNK, SEP) == (0, 1, 2)
    assert Vocab.build([["b a b"], ["c b a"]], min_count=2).words == [*SPECIALS, "b", "a"]
    assert Vocab.build([["b a b"], ["c b a"]], max_size=4).words == [*SPECIALS, "b"]


def test_comments_are_joined_in_page_order_with_the_separator_and_padded() -> None:
    vocab = Vocab.build([["nice shot", "great light"]])
    ids = vocab.encode(["Nice shot", "great light", "unseen"])
    index = vocab.index
    assert ids[:8].tolist() == [index["nice"], index["shot"], SEP, index["great"], index["light"], SEP, UNK, PAD]
    assert ids.shape == (MAX_TOKENS,) and ids.dtype.name == "int64"
    assert (ids[7:] == PAD).all()
    assert vocab.encode([]).tolist() == [PAD] * MAX_TOKENS


def test_a_comment_that_says_sep_is_not_the_separator() -> None:
    vocab = Vocab.build([["<sep> <pad> word"]])
    assert vocab.words == [*SPECIALS, "word"]
    assert vocab.encode(["<sep> word"])[:2].tolist() == [UNK, vocab.index["word"]]


def test_long_comment_lists_are_cut_at_max_tokens() -> None:
    vocab = Vocab.build([["a b c d e"]], max_tokens=7)
    ids = vocab.encode(["a b c", "d e", "a a a a a"])
    assert ids.tolist() == [vocab.index[w] if w != "|" else SEP for w in "a b c | d e |".split()]
    assert vocab.encode_many([["a"], ["b c"]]).shape == (2, 7)


def test_real_dpchallenge_comments(tmp_path: Path) -> None:
    dump = json.loads(shared_file("comments", "dpc_captions_impression_and_subject.json").read_text())
    images = [comments for _, comments in sorted(dump.items())[:300]]
    vocab = Vocab.build(images)
    words = {token for comments in images for comment in comments for token in tokenize(comment)}
    assert set(vocab.words[len(SPECIALS):]) == words - set(SPECIALS)
    ids = vocab.encode(images[0])
    assert UNK not in ids.tolist()      # every train word is known
    assert ids[0] != PAD


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocab.build([["one two two"]], max_tokens=50)
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.index == vocab.index and loaded.max_tokens == 50


def test_bad_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="train split not found"):
        Vocab.from_corpus(tmp_path)
    pq.write_table(pa.table({"image_id": [1]}), tmp_path / "train.parquet")
    with pytest.raises(UserError, match="'comments' column"):
        Vocab.from_corpus(tmp_path)
    with pytest.raises(UserError, match="vocabulary file not found"):
        Vocab.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not a vocabulary JSON file"):
        Vocab.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(UserError, match="not an aesthetic-vocab v1 file"):
        Vocab.load(tmp_path / "other.json")


def test_worker_processes_give_the_same_vocabulary_and_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vocab_module, "_CHUNK", 40)     # several chunks, to check they come back in order
    dump = json.loads(shared_file("comments", "dpc_captions_impression_and_subject.json").read_text())
    images = [comments for _, comments in sorted(dump.items())[:200]]
    alone = Vocab.build(iter(images), workers=1)       # an iterator: read once, also by the pool
    pooled = Vocab.build(iter(images), workers=2)
    assert pooled == alone
    assert np.array_equal(pooled.encode_many(images, workers=2), alone.encode_many(images, workers=1))
    assert alone.encode_many([]).shape == (0, MAX_TOKENS)
