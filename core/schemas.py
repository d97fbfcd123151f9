"""The Parquet schemas of the contracts between stages (DESIGN.md, "Contracts").

A stage writes with these schemas and the next reads with them, so a change
here is a change of contract: bump `*_SCHEMA_VERSION` and say so in the README.
"""

from __future__ import annotations

import pyarrow as pa

COMMENTS_SCHEMA_VERSION = "1"
SPLIT_SCHEMA_VERSION = "2"  # 2: Photo.net splits carry `variance`

# crawl output: comments/*.parquet, one row per comment.
COMMENTS_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),       # "ava" | "photonet"
        pa.field("image_id", pa.int64(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),        # 0-based, page order
        pa.field("comment_id", pa.int64()),                      # the site's id, when it has one
        pa.field("author_key", pa.string()),                     # HMAC of the username, never the name
        pa.field("text", pa.string(), nullable=False),           # plain text, quotes of others removed
        pa.field("posted_at", pa.timestamp("s")),                # the site's local time, as shown
        pa.field("during_challenge", pa.bool_()),                # DPChallenge: made while voting ran
        pa.field("edited", pa.bool_()),
        pa.field("helpful", pa.bool_()),                         # "Photographer found comment helpful."
        pa.field("source_url", pa.string(), nullable=False),     # the page's original URL
        pa.field("source", pa.string(), nullable=False),         # "live" | "wayback"
        pa.field("capture_timestamp", pa.string()),              # Wayback capture (YYYYMMDDhhmmss), else null
        pa.field("fetched_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("parser_version", pa.string(), nullable=False),
    ],
    metadata={"aesthetic.contract": "comments", "aesthetic.schema_version": COMMENTS_SCHEMA_VERSION},
)

# The columns a comments part must have at least, for readers of foreign or older parts.
COMMENTS_REQUIRED = ("image_id", "position", "text")

# corpus output: <dataset>/<split>.parquet, one row per image, sorted by image_id.
SPLIT_BASE_FIELDS = [
    pa.field("image_id", pa.int64(), nullable=False),
    pa.field("split", pa.string(), nullable=False),              # "train" | "val" | "test"
    pa.field("votes", pa.list_(pa.int32()), nullable=False),     # counts for scores 1..N
    pa.field("n_votes", pa.int32(), nullable=False),
    pa.field("mean_score", pa.float64(), nullable=False),
    pa.field("std_score", pa.float64(), nullable=False),
    pa.field("label_high", pa.bool_(), nullable=False),          # mean_score > threshold
    pa.field("comments", pa.list_(pa.string()), nullable=False), # cleaned, page order
    pa.field("n_comments", pa.int32(), nullable=False),
]

DATASET_FIELDS: dict[str, list[pa.Field]] = {
    "ava": [
        pa.field("semantic_tags", pa.list_(pa.int32()), nullable=False),  # 0 = no tag, dropped
        pa.field("challenge_id", pa.int32(), nullable=False),
    ],
    "photonet": [
        # Datta's column 5 as released: documented as the standard deviation, it is the variance of the counts.
        pa.field("variance", pa.float64(), nullable=False),
    ],
}

SPLITS = ("train", "val", "test")


def split_schema(dataset: str) -> pa.Schema:
    """Schema of one split file of `dataset` (base fields, then the dataset's own)."""
    return pa.schema(
        SPLIT_BASE_FIELDS + DATASET_FIELDS[dataset],
        metadata={"aesthetic.contract": "split", "aesthetic.schema_version": SPLIT_SCHEMA_VERSION},
    )
