"""The Parquet contracts between stages: their shape is what other stages rely on."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aesthetic.core.schemas import (
    COMMENTS_REQUIRED,
    COMMENTS_SCHEMA,
    DATASET_FIELDS,
    SPLIT_BASE_FIELDS,
    SPLITS,
    split_schema,
)

BASE = ["image_id", "split", "votes", "n_votes", "mean_score", "std_score", "label_high", "comments", "n_comments"]


def test_split_schema_columns_per_dataset() -> None:
    assert split_schema("ava").names == BASE + ["semantic_tags", "challenge_id"]
    assert split_schema("photonet").names == BASE + ["variance"]  # Datta's column 5, as released
    assert set(DATASET_FIELDS) == {"ava", "photonet"}
    assert SPLITS == ("train", "val", "test")


def test_split_schema_types_and_metadata() -> None:
    schema = split_schema("ava")
    assert schema.field("votes").type == pa.list_(pa.int32())
    assert schema.field("comments").type == pa.list_(pa.string())
    assert schema.field("label_high").type == pa.bool_()
    assert not any(f.nullable for f in schema)
    assert schema.metadata[b"aesthetic.contract"] == b"split"
    assert schema.metadata[b"aesthetic.schema_version"] == b"2"


def test_split_schema_is_a_fresh_object_each_call() -> None:
    """Writers add provenance to the metadata; that must not leak into the shared base fields."""
    first = split_schema("ava").with_metadata({b"x": b"y"})
    assert b"x" not in split_schema("ava").metadata
    assert len(SPLIT_BASE_FIELDS) == len(BASE)
    assert first.names == split_schema("ava").names


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(KeyError):
        split_schema("flickr")


def test_comments_schema_contract() -> None:
    assert set(COMMENTS_REQUIRED) <= set(COMMENTS_SCHEMA.names)
    assert "author_key" in COMMENTS_SCHEMA.names
    assert not any("user" in name or "author_name" in name for name in COMMENTS_SCHEMA.names)
    assert COMMENTS_SCHEMA.metadata[b"aesthetic.contract"] == b"comments"


def test_split_table_round_trips_through_parquet(tmp_path) -> None:
    row = {
        "image_id": [953619], "split": ["train"], "votes": [[0, 1, 5, 17, 38, 36, 15, 6, 5, 1]],
        "n_votes": [124], "mean_score": [5.637], "std_score": [1.4], "label_high": [True],
        "comments": [["lovely light"]], "n_comments": [1], "semantic_tags": [[1, 22]], "challenge_id": [1396],
    }
    table = pa.Table.from_pydict(row, schema=split_schema("ava"))
    pq.write_table(table, tmp_path / "t.parquet", compression="zstd")
    on_disk = pq.read_schema(tmp_path / "t.parquet")
    # Parquet names list items "element", Arrow "item": the types still compare equal,
    # and reading with the contract's schema gives exactly the contract back.
    assert [f.type for f in on_disk] == [f.type for f in split_schema("ava")]
    assert on_disk.metadata[b"aesthetic.contract"] == b"split"
    back = pq.read_table(tmp_path / "t.parquet", schema=split_schema("ava"))
    assert back.schema.equals(split_schema("ava"), check_metadata=True)
    assert back.to_pylist() == table.to_pylist()
