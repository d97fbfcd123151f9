"""The build: rating index + comments -> cleaned, filtered, partitioned Parquet splits + report.

Dataset-specific code (`prepare_ava`, `prepare_photonet`) reads and validates that
dataset's files and decides the partition; `build` does the rest the same way for
both. Everything is column-at-a-time (numpy / pyarrow), so the full AVA (255,000
images, 3 million comments) builds in seconds, and everything is ordered by image id
and hashed, never timed, so the same inputs give the same bytes.

The output folder `<out>/<dataset>/` is written inside `core.io.staged_dir`: a build
killed at any moment leaves the previous output as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aesthetic.core.errors import UserError
from aesthetic.core.io import sha256_file, staged_dir
from aesthetic.core.log import progress
from aesthetic.core.outdir import check_out_dir
from aesthetic.core.schemas import SPLITS, split_schema
from aesthetic.core.textfiles import require_subset
from aesthetic.corpus import clean as cleaning
from aesthetic.corpus import periods
from aesthetic.corpus.ava_index import AVAILABLE_IDS_LAYOUTS, read_ava_dir, read_id_list
from aesthetic.corpus.comment_sources import FORMATS, PERIOD_COLUMN, CommentSource, read_comments, resolve
from aesthetic.corpus.labels import Labels, RatedImages, compute_labels
from aesthetic.corpus.photonet_ratings import read_photonet_ratings, read_split_file
from aesthetic.corpus.splits import (PHOTONET_PROPORTIONS, SPLIT_CODES, Partition, hash_partition,
                                     official_test_partition, split_file_partition)

log = logging.getLogger(__name__)

PAPER = {
    "ava": {
        "note": "reference numbers reported by the MRACNN paper (Zhang et al., IEEE TMM 2020, its AVA comment dataset), not computed by this build",
        "in_index": 250000,
        "images_without_comments": 1526,
        "usable_images": 223716,
        "splits": {"train": 206336, "test": 17380},
        "standard_partition": {"train": 235599, "test": 19930},
    },
    "photonet": {
        "note": "reference numbers reported by the MRACNN paper (Zhang et al., IEEE TMM 2020, its Photo.net comment dataset), not computed by this build; "
                "its split sizes add up to 14,945, more than its 13,583 usable images",
        "in_index": 20278,
        "usable_images": 13583,
        "splits": dict(PHOTONET_PROPORTIONS),
    },
}


@dataclass
class InputFile:
    role: str
    path: Path

    def record(self) -> dict[str, str]:
        return {"role": self.role, "path": str(self.path), "sha256": sha256_file(self.path)}


@dataclass
class Prepared:
    """A dataset's validated index, availability, partition and the files they came from."""

    dataset: str
    index: RatedImages
    available: np.ndarray            # bool, aligned with index.ids
    partition: Partition
    inputs: list[InputFile]
    options: dict[str, Any] = field(default_factory=dict)
    unknown_ids: dict[str, int] = field(default_factory=dict)  # list role -> ids not in the index, left out


UNCOMMENTED_FILE = "uncommented_ids.txt"


@dataclass
class BuildOptions:
    out: Path
    comments: list[Path]
    comments_format: str = "auto"
    threshold: float = 5.0
    drop_score_mentions: bool = False
    comments_period: str = "all"
    useless_comments: str = "drop"  # a key of clean.USELESS_POLICIES


def tool_version() -> str:
    try:
        return metadata.version("aesthetic-comments")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _availability(index: RatedImages, available_ids: Path | None, inputs: list[InputFile], index_role: str,
                  unknown: dict[str, int], allow_unknown: bool) -> np.ndarray:
    if available_ids is None:
        return np.ones(len(index.ids), dtype=bool)
    ids = read_id_list(available_ids, "available-ids", AVAILABLE_IDS_LAYOUTS)
    unknown["available_ids"] = require_subset(available_ids, ids, index.ids, "available-ids file", index_role,
                                              allow_unknown)
    inputs.append(InputFile("available_ids", Path(available_ids)))
    return np.isin(index.ids, ids)


def prepare_ava(ava_dir: Path, available_ids: Path | None, val_fraction: float,
                allow_unknown_ids: bool = False) -> Prepared:
    """AVA: AVA.txt + generic_test.jpgl (+ available ids) -> the standard partition, val carved by hash."""
    _check_fraction(val_fraction)
    index, test_ids, ava_txt, test_list, unknown_test = read_ava_dir(ava_dir, allow_unknown_ids)
    unknown = {"test_list": unknown_test}
    inputs = [InputFile("index", ava_txt), InputFile("test_list", test_list)]
    available = _availability(index, available_ids, inputs, "AVA.txt", unknown, allow_unknown_ids)
    partition = official_test_partition(index.ids, available, test_ids, val_fraction, "ava", test_list.name)
    return Prepared("ava", index, available, partition, inputs,
                    {"val_fraction": val_fraction, "available_ids": "file" if available_ids else "all ids in AVA.txt",
                     "ignore_unknown_ids": allow_unknown_ids}, unknown)


def prepare_photonet(ratings: Path, split_file: Path | None, available_ids: Path | None,
                     allow_unknown_ids: bool = False) -> Prepared:
    """Photo.net: ratings (+ available ids) and a published split file, or a hash split in GPF-CNN's proportions."""
    index = read_photonet_ratings(ratings)
    inputs = [InputFile("index", Path(ratings))]
    unknown: dict[str, int] = {}
    available = _availability(index, available_ids, inputs, "ratings file", unknown, allow_unknown_ids)
    if split_file is not None:
        frame = read_split_file(split_file)
        file_ids = frame["image_id"].to_numpy(np.int64)
        unknown["split_file"] = require_subset(split_file, file_ids, index.ids, "split file", "ratings file",
                                               allow_unknown_ids)
        known = np.isin(file_ids, index.ids)
        partition = split_file_partition(index.ids, available, file_ids[known], frame["split"].to_numpy()[known],
                                         Path(split_file).name)
        inputs.append(InputFile("split_file", Path(split_file)))
    else:
        partition = hash_partition(index.ids, available, PHOTONET_PROPORTIONS, "photonet")
    return Prepared("photonet", index, available, partition, inputs,
                    {"available_ids": "file" if available_ids else "all ids in the ratings file",
                     "ignore_unknown_ids": allow_unknown_ids}, unknown)


def _check_fraction(value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise UserError(f"--val-fraction must be in [0, 1), got {value}")


@dataclass
class RawComments:
    """All comments of available images, sorted by (image, source order, page order)."""

    ids: np.ndarray
    text: pa.Array | None
    unmatched: int            # comments whose image is not in the index or not available
    files: list[InputFile]
    periods: np.ndarray       # int8 period code of each comment (corpus/periods.py)

    def pop_text(self) -> pa.Array:
        """Hand the text over (the cleaning then holds the only reference and can free it early)."""
        text, self.text = self.text, None
        assert text is not None
        return text


def _period_codes(source: CommentSource, table: pa.Table, period: str) -> np.ndarray:
    """The period code of each comment of one source; for `during`/`after`, a source that says
    nothing about when its comments were written is an error naming it, never a silent keep-all."""
    flag = table[PERIOD_COLUMN] if PERIOD_COLUMN in table.column_names else None
    codes = periods.codes(flag, table.num_rows)
    if period != "all" and table.num_rows and (codes == periods.UNKNOWN).all():
        raise UserError(f"{source.path}: none of its {table.num_rows:,} comments says whether it was written during "
                        f"the challenge, so --comments-period {period} cannot use it",
                        hint="pages crawled without DPChallenge's \"Comments Made During the Challenge\" divider do "
                             "not say; leave this source out, or use --comments-period all")
    if (unknown := int((codes == periods.UNKNOWN).sum())) and period != "all":
        log.warning("%s: %d comments do not say when they were written; --comments-period %s leaves them out",
                    source.path, unknown, period)
    return codes


def _check_period_sources(sources: list[CommentSource], period: str) -> None:
    if period == "all":
        return
    for source in sources:
        if not FORMATS[source.format].period:
            carriers = ", ".join(name for name, f in FORMATS.items() if f.period)
            raise UserError(f"{source.path}: {source.format} comments do not say whether they were written during the "
                            f"challenge; --comments-period {period} needs sources that do ({carriers})")


def _read_all_comments(prepared: Prepared, options: BuildOptions) -> RawComments:
    sources = resolve(options.comments, options.comments_format, prepared.dataset)
    _check_period_sources(sources, options.comments_period)
    ids_parts, text_parts, rank_parts, pos_parts, period_parts = [], [], [], [], []
    for rank, source in enumerate(progress(sources, total=len(sources), desc="reading comments", unit="source")):
        table = read_comments(source, prepared.dataset)
        log.info("%s: %d comments (%s)", source.path, table.num_rows, source.format)
        ids_parts.append(table["image_id"].to_numpy())
        pos_parts.append(table["position"].to_numpy())
        text_parts.append(table["text"])
        rank_parts.append(np.full(table.num_rows, rank, dtype=np.int32))
        period_parts.append(_period_codes(source, table, options.comments_period))
        del table
    ids = np.concatenate(ids_parts)
    texts = pa.chunked_array([chunk for part in text_parts for chunk in part.chunks], pa.string())
    del text_parts
    matched = _usable(prepared, ids)
    kept = np.flatnonzero(matched)
    kept = kept[_page_order(ids[kept], np.concatenate(rank_parts)[kept], np.concatenate(pos_parts)[kept])]
    # One contiguous array (take on many chunks is far slower); a single chunk is used as it is, not copied.
    texts = texts.chunk(0) if texts.num_chunks == 1 else texts.combine_chunks()
    if not (len(kept) == len(ids) and np.array_equal(kept, np.arange(len(ids)))):
        texts = texts.take(pa.array(kept))
    files = [InputFile("comments", f) for s in sources for f in s.files]
    return RawComments(ids[kept], texts, int((~matched).sum()), files, np.concatenate(period_parts)[kept])


def _usable(prepared: Prepared, ids: np.ndarray) -> np.ndarray:
    """Whether each comment's image is in the index and available. Looked up once per run of equal
    ids: every source lists an image's comments together, so there are ~12x fewer runs than comments."""
    if not ids.size:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    run_ids = ids[starts]
    index_ids = prepared.index.ids
    usable = _contains_sorted(index_ids, run_ids)
    usable[usable] = prepared.available[np.searchsorted(index_ids, run_ids[usable])]
    return np.repeat(usable, np.diff(np.r_[starts, ids.size]))


def _page_order(ids: np.ndarray, ranks: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Permutation sorting comments by (image id, source order, page order); lexsort is stable, so ties keep
    their read order."""
    return np.lexsort((positions, ranks, ids))


def _distinct_sorted(values: np.ndarray) -> int:
    """Number of distinct values of a sorted array (the comment tables stay sorted by image id)."""
    return int(values.size and np.count_nonzero(values[1:] != values[:-1]) + 1)


def _contains_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, whether the sorted `haystack` holds it."""
    where = np.searchsorted(haystack, needles)
    found = np.zeros(len(needles), dtype=bool)
    inside = where < len(haystack)
    found[inside] = haystack[where[inside]] == needles[inside]
    return found


def _list_array(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


def _image_table(prepared: Prepared, codes: np.ndarray, comment_offsets: np.ndarray, labels: Labels,
                 schema: pa.Schema) -> pa.Table:
    """One row per index image in the split schema, but for `comments` (rows and comments are
    taken per split afterwards, by `_split_table`)."""
    index = prepared.index
    n, k = index.votes.shape
    names = np.array(SPLITS, dtype=object)
    columns: dict[str, pa.Array] = {
        "image_id": pa.array(index.ids, pa.int64()),
        "split": pa.array(names[np.clip(codes, 0, None)], pa.string()),
        "votes": _list_array(np.arange(0, n * k + 1, k), pa.array(index.votes.ravel(), pa.int32())),
        "n_votes": pa.array(labels.n_votes, pa.int32()),
        "mean_score": pa.array(np.nan_to_num(labels.mean), pa.float64()),
        "std_score": pa.array(np.nan_to_num(labels.std), pa.float64()),
        "label_high": pa.array(labels.high, pa.bool_()),
        "n_comments": pa.array(np.diff(comment_offsets), pa.int32()),
    }
    if "semantic_tags" in index.extra:
        tags = index.extra["semantic_tags"]
        present = tags != 0  # AVA writes 0 for a missing tag
        columns["semantic_tags"] = _list_array(np.r_[0, np.cumsum(present.sum(axis=1))], pa.array(tags[present], pa.int32()))
    for name, values in index.extra.items():
        if name != "semantic_tags":
            columns[name] = pa.array(values, schema.field(name).type)
    return pa.table([columns[f.name] for f in schema if f.name != "comments"],
                    schema=pa.schema([f for f in schema if f.name != "comments"]))


def _split_table(images: pa.Table, rows: np.ndarray, comment_offsets: np.ndarray, cleaned: cleaning.Cleaned,
                 schema: pa.Schema) -> pa.Table:
    """The given rows of the image table, with their comments taken straight from the cleaned column."""
    counts = np.diff(comment_offsets)[rows]
    kept = np.repeat(comment_offsets[rows] - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    comments = _list_array(np.r_[0, np.cumsum(counts)], cleaned.all_text.take(pa.array(cleaned.rows[kept])))
    taken = images.take(pa.array(rows))
    return pa.table([pa.chunked_array([comments]) if f.name == "comments" else taken[f.name] for f in schema],
                    schema=schema)


def build(prepared: Prepared, options: BuildOptions,
          finish: Callable[[Path, dict[str, Any]], object] | None = None) -> dict[str, Any]:
    """Write `<out>/<dataset>/{train,val,test}.parquet` and `build_report.json`; return the report.

    `finish(staging_dir, report)` runs inside the staged folder before it replaces the old
    output (the Croissant file goes there), so the whole folder appears at once or not at all.
    """
    check_out_dir(Path(options.out) / prepared.dataset)  # the CLI checked --out; OUT/<dataset> may be a file
    return _build(prepared, options, finish)


@dataclass
class PeriodCounts:
    """What one period's comments give: per split, the images kept and their usable comments."""

    splits: dict[str, dict[str, int]]
    score_mentions: int


def _period_counts(prepared: Prepared, cleaned: cleaning.Cleaned, eligible: np.ndarray) -> PeriodCounts:
    """Per split, the images that would be in the files with these comments (in a split, with a vote, with
    a usable comment) and how many usable comments they hold."""
    counts = np.diff(np.r_[np.searchsorted(cleaned.image_ids, prepared.index.ids, side="left"),
                           len(cleaned.image_ids)])
    kept = eligible & (counts > 0)
    splits = {}
    for split in SPLITS:
        rows = kept & (prepared.partition.codes == SPLIT_CODES[split])
        splits[split] = {"images": int(rows.sum()), "comments": int(counts[rows].sum())}
    return PeriodCounts(splits, cleaned.score_mentions)


def _other_periods(prepared: Prepared, raw: RawComments, options: BuildOptions,
                   eligible: np.ndarray) -> dict[str, PeriodCounts]:
    """The counts under each period other than the chosen one, each cleaned on its own (so a duplicate
    is judged within its period, as a build with that period would), when any source says."""
    if not (raw.periods != periods.UNKNOWN).any():
        return {}
    assert raw.text is not None
    out = {}
    for period in periods.PERIODS:
        if period == options.comments_period:
            continue
        mask = periods.selects(period, raw.periods)
        text = raw.text if mask.all() else raw.text.filter(pa.array(mask))
        cleaned = cleaning.clean(raw.ids[mask], text, drop_score_mentions=options.drop_score_mentions,
                                 useless=options.useless_comments, progress=progress)
        out[period] = _period_counts(prepared, cleaned, eligible)
    return out


def _build(prepared: Prepared, options: BuildOptions,
           finish: Callable[[Path, dict[str, Any]], object] | None) -> dict[str, Any]:
    dataset = prepared.dataset
    raw = _read_all_comments(prepared, options)
    labels = compute_labels(prepared.index.votes, options.threshold)
    in_split = prepared.partition.codes >= 0
    eligible = in_split & (labels.n_votes > 0)  # what an image needs besides a usable comment
    chosen = options.comments_period
    # Hash the inputs (for provenance) in threads while the cleaning runs; hashlib releases the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashed = [pool.submit(f.record) for f in [*prepared.inputs, *raw.files]]
        by_period = _other_periods(prepared, raw, options, eligible)
        keep = periods.selects(chosen, raw.periods)
        ids, text = raw.ids, raw.pop_text()
        if not keep.all():
            ids, text = ids[keep], text.filter(pa.array(keep))
        n_raw = len(ids)
        with_any = _distinct_sorted(ids)
        cleaned = cleaning.clean(ids, text, drop_score_mentions=options.drop_score_mentions,
                                 useless=options.useless_comments, progress=progress)
        del text
        inputs = [h.result() for h in hashed]
    by_period[chosen] = _period_counts(prepared, cleaned, eligible)
    has_usable = _contains_sorted(cleaned.image_ids, prepared.index.ids)
    # The images of the partition that no source has a comment for, in any period: what to crawl next.
    uncommented = prepared.index.ids[in_split & ~_contains_sorted(raw.ids, prepared.index.ids)]
    no_histogram = in_split & has_usable & prepared.index.no_histogram
    no_votes = in_split & has_usable & ~prepared.index.no_histogram & (labels.n_votes == 0)
    final = in_split & has_usable & ~no_histogram & ~no_votes
    splits = prepared.partition.counts(final)

    report: dict[str, Any] = {
        "dataset": dataset,
        "tool_version": tool_version(),
        "inputs": inputs,
        "options": {**prepared.options, "threshold": options.threshold, "comments_format": options.comments_format,
                    "comments_period": chosen, "useless_comments": options.useless_comments,
                    "drop_score_mentions": options.drop_score_mentions, "rule_set_version": cleaning.RULE_SET_VERSION},
        "partition": {"method": prepared.partition.method, "description": prepared.partition.description},
        "funnel": {
            "in_index": int(len(prepared.index.ids)),
            "available": int(prepared.available.sum()),
            "with_any_comment": with_any,
            "with_usable_comment": _distinct_sorted(cleaned.image_ids),
        },
        "index": prepared.index.notes,
        "unknown_ids_left_out": dict(sorted(prepared.unknown_ids.items())),
        "splits_before_comment_filter": prepared.partition.counts(),
        "splits": splits,
        "empty_splits": [split for split in SPLITS if not splits[split]],
        "dropped_images": {
            "no_usable_comment": int((in_split & ~has_usable).sum()),
            "no_vote_histogram": int(no_histogram.sum()),
            "no_votes": int(no_votes.sum()),
            "not_in_partition": int((prepared.available & ~in_split).sum()),
        },
        "uncommented_ids": {"file": UNCOMMENTED_FILE, "images": int(len(uncommented)),
                            "description": "available images of the partition that no --comments source has any "
                                           "comment for (before cleaning, in any period), one id per line: "
                                           "the ids to crawl (aesthetic-crawl --ids) before a rebuild"},
        "dropped_images_policy": "images with no usable comment are removed (as in the paper); images whose "
                                 "index line gives no vote counts (Datta's Photo.net mean-only lines) have no "
                                 "distribution to learn or score and are removed, counted under no_vote_histogram; "
                                 "images with zero votes have no label and are removed too, counted under no_votes",
        "comments": {"raw": n_raw, "usable": int(len(cleaned.rows)),
                     "not_matching_an_available_image": raw.unmatched,
                     "outside_period": int((~keep).sum())},
        "comments_period": {
            "chosen": chosen,
            "description": periods.DESCRIPTION,
            "read": {name: int((raw.periods == code).sum()) for name, code in
                     (("during", periods.DURING), ("after", periods.AFTER), ("unknown", periods.UNKNOWN))},
            "splits": {p: by_period[p].splits if p in by_period else None for p in periods.PERIODS},
            "score_mentions": {p: by_period[p].score_mentions if p in by_period else None for p in periods.PERIODS},
        },
        "rules": [{"name": r.name, "description": r.description, "hits": r.hits} for r in cleaned.rules],
        "useless_comments": {
            "policy": options.useless_comments,
            "description": cleaning.USELESS_POLICIES[options.useless_comments],
            "rules": list(cleaning.USELESS_RULES),
            "kept": cleaned.useless_kept,
        },
        "label_leakage": {
            "score_mentions": cleaned.score_mentions,
            "images_with_score_mentions": cleaned.images_with_score_mentions,
            "dropped": options.drop_score_mentions,
            "description": cleaning.SCORE_MENTION_DESCRIPTION,
        },
        "paper": PAPER[dataset],
    }

    _check_result(report, Path(options.out) / dataset)

    schema = split_schema(dataset)
    provenance = {"tool_version": report["tool_version"], "inputs": inputs, "rules": cleaning.rule_set(),
                  "options": report["options"], "partition": report["partition"]}
    schema = schema.with_metadata({**schema.metadata, b"aesthetic.provenance": json.dumps(provenance, sort_keys=True)})
    comment_offsets = np.r_[np.searchsorted(cleaned.image_ids, prepared.index.ids, side="left"), len(cleaned.image_ids)]
    images = _image_table(prepared, prepared.partition.codes, comment_offsets, labels, schema)
    with staged_dir(Path(options.out) / dataset) as staging:
        def write(split: str) -> None:
            rows = np.flatnonzero(final & (prepared.partition.codes == SPLIT_CODES[split]))
            pq.write_table(_split_table(images, rows, comment_offsets, cleaned, schema), staging / f"{split}.parquet",
                           compression="zstd")

        # The Parquet writer encodes one column after another on one core: the splits go in parallel.
        with ThreadPoolExecutor(max_workers=len(SPLITS)) as pool:
            for _ in progress(pool.map(write, SPLITS), total=len(SPLITS), desc="writing splits", unit="split"):
                pass
        (staging / UNCOMMENTED_FILE).write_text("".join(f"{i}\n" for i in uncommented.tolist()), encoding="ascii")
        (staging / "build_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if finish is not None:
            finish(staging, report)
    return report


def _funnel_text(report: dict[str, Any]) -> str:
    """The build's funnel in one line, from the index to the splits."""
    funnel, comments, dropped = report["funnel"], report["comments"], report["dropped_images"]
    splits = ", ".join(f"{split} {report['splits'][split]:,}" for split in SPLITS)
    unmatched = comments["not_matching_an_available_image"]
    return (f"{funnel['in_index']:,} ids in the index, {funnel['available']:,} available, "
            f"{funnel['with_any_comment']:,} with any comment ({comments['raw'] + unmatched:,} comments read, "
            f"{unmatched:,} of them matching no available image), "
            f"{funnel['with_usable_comment']:,} with a usable comment ({comments['usable']:,} usable comments); "
            f"left out: {dropped['no_usable_comment']:,} without a usable comment, {dropped['no_vote_histogram']:,} "
            f"without vote counts, {dropped['no_votes']:,} without votes; {splits}")


def _check_result(report: dict[str, Any], out: Path) -> None:
    """Refuse a build with no usable image (it would replace a good corpus with nothing); warn about
    a split left empty beside others, which no training or evaluation can use."""
    splits = report["splits"]
    if not any(splits.values()):
        raise UserError(f"no usable image: {_funnel_text(report)}; nothing was written and {out} is left as it was",
                        hint="check that --comments are the comments of these images and that they hold real text")
    for split in report["empty_splits"]:
        before = report["splits_before_comment_filter"][split]
        why = (f"all {before:,} of its images were left out (no usable comment or no votes)" if before
               else "the partition put no image in it")
        log.warning("split %s is EMPTY: %s; the other splits are written (empty_splits in build_report.json)",
                    split, why)
