"""Data-card numbers come from a build report, never from a human's keyboard.

A card in `data_cards/` is prose written by hand plus one block, between
`<!-- begin:numbers -->` and `<!-- end:numbers -->`, that `refresh_card`
rewrites from `build_report.json`; the front matter's `size_categories` follows
the same report. So a card can only state counts that a build really produced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aesthetic.core.errors import UserError
from aesthetic.core.io import atomic_write_text
from aesthetic.core.schemas import SPLITS

BEGIN = "<!-- begin:numbers -->"
END = "<!-- end:numbers -->"

# Every key of the build report the card and the Croissant file read ("a.b" = report["a"]["b"]).
REPORT_KEYS: tuple[str, ...] = (
    "dataset",
    "tool_version",
    "inputs",
    "options",
    "options.threshold",
    "partition.method",
    "partition.description",
    "funnel.in_index",
    "funnel.available",
    "funnel.with_any_comment",
    "funnel.with_usable_comment",
    *(f"splits_before_comment_filter.{s}" for s in SPLITS),
    *(f"splits.{s}" for s in SPLITS),
    "comments.raw",
    "comments.usable",
    "comments_period.chosen",
    "comments_period.read",
    "comments_period.splits",
    "comments_period.score_mentions",
    "rules",
    "useless_comments.policy",
    "useless_comments.kept",
    "label_leakage.score_mentions",
    "label_leakage.images_with_score_mentions",
    "label_leakage.dropped",
    "paper",
)

# Hugging Face's size buckets, upper bounds exclusive: (bound, label).
_SIZE_BUCKETS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)

_SIZE_CATEGORIES = re.compile(r"^size_categories:[^\n]*\n(?:[ \t]*- [^\n]*\n)*", re.MULTILINE)

_FUNNEL_ROWS = (
    ("in_index", "ids in the index file"),
    ("available", "available (image present)"),
    ("with_any_comment", "with at least one comment"),
    ("with_usable_comment", "with at least one usable comment"),
)


def _lookup(report: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = report
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


# List-valued keys and the fields each of their items must have.
_ITEM_KEYS = {"rules": ("name", "description", "hits"), "inputs": ("role", "path", "sha256")}


def require_report_keys(
    report: Mapping[str, Any], keys: Iterable[str] = REPORT_KEYS, source: str = "build report"
) -> None:
    """Refuse a report that lacks what we render, naming every missing key at once."""
    if not isinstance(report, Mapping):
        raise UserError(f"{source}: expected a JSON object, got {type(report).__name__}")
    keys = tuple(keys)
    missing = [key for key in keys if not _lookup(report, key)[0]]
    for list_key, fields in _ITEM_KEYS.items():
        found, items = _lookup(report, list_key)
        if not found or list_key not in keys:
            continue
        if not isinstance(items, list):
            missing.append(f"{list_key} (a list)")
            continue
        missing += [
            f"{list_key}[{i}].{field}"
            for i, item in enumerate(items)
            for field in fields
            if not isinstance(item, Mapping) or field not in item
        ]
    if missing:
        raise UserError(
            f"{source} lacks {', '.join(missing)}",
            hint="it was written by another version of aesthetic-build-splits; rebuild to get a complete report",
        )


def size_category(n: int) -> str:
    """The Hugging Face `size_categories` bucket for `n` rows."""
    for bound, label in _SIZE_BUCKETS:
        if n < bound:
            return label
    return "n>1B"


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _paper_splits(report: Mapping[str, Any]) -> Mapping[str, Any]:
    splits = report["paper"].get("splits") if isinstance(report["paper"], Mapping) else None
    return splits if isinstance(splits, Mapping) else {}


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [pair for key in sorted(value) for pair in _flatten(f"{prefix}.{key}".lstrip("."), value[key])]
    return [(prefix, value)]


def _index_and_empty_splits(report: Mapping[str, Any]) -> list[str]:
    """What the index file held beyond plain rows (Photo.net's mean-only and mismatched lines), and any
    empty split: optional report keys, absent from reports of older builds."""
    lines = []
    index = report.get("index")
    if isinstance(index, Mapping):
        counts = "".join(f"; {key.replace('_', ' ')}: {_n(value)}" for key, value in sorted(index.items())
                         if key not in ("layout", "lines") and isinstance(value, int))
        note = f" {_cell(index['n_votes'])}." if isinstance(index.get("n_votes"), str) else ""
        lines.append(f"Index file: `{_cell(index.get('layout'))}`, {_n(index.get('lines'))} lines{counts}.{note}")
    if report.get("empty_splits"):
        lines.append(f"**Empty splits: {', '.join(map(str, report['empty_splits']))}.**")
    return [*lines, ""] if lines else []


_PERIOD_LABELS = (("all", "all"), ("during", "during voting"), ("after", "after the results"))


def _period_lines(report: Mapping[str, Any]) -> list[str]:
    """Per split, the images and comments each `--comments-period` keeps (`–`: the sources do not say)."""
    period = report["comments_period"]
    splits = period["splits"] if isinstance(period["splits"], Mapping) else {}

    def cell(name: str, split: str, what: str) -> str:
        counts = splits.get(name)
        return _n(counts[split][what]) if isinstance(counts, Mapping) else "–"

    read = period["read"] if isinstance(period["read"], Mapping) else {}
    mentions = period["score_mentions"] if isinstance(period["score_mentions"], Mapping) else {}
    header = " | ".join(f"images {label} | comments {label}" for _, label in _PERIOD_LABELS)
    return [
        f"Comments by when they were written (`--comments-period`; these files hold `{_cell(period['chosen'])}`): "
        f"{_n(read.get('during', 0))} read were written during voting, {_n(read.get('after', 0))} after the "
        f"results, {_n(read.get('unknown', 0))} do not say.",
        "",
        f"| split | {header} |",
        "|---|" + "---:|" * (2 * len(_PERIOD_LABELS)),
        *(f"| {s} | " + " | ".join(f"{cell(name, s, 'images')} | {cell(name, s, 'comments')}"
                                   for name, _ in _PERIOD_LABELS) + " |" for s in SPLITS),
        "",
        "Comments stating a score, by period: " + ", ".join(
            f"{label} {_n(mentions[name]) if mentions.get(name) is not None else '–'}" for name, label in _PERIOD_LABELS)
        + ".",
        "",
    ]


def render_numbers(report: Mapping[str, Any]) -> str:
    """The card's numbers block, in Markdown, from a validated report."""
    require_report_keys(report)
    paper = _paper_splits(report)
    total = sum(report["splits"][s] for s in SPLITS)
    lines = [
        f"_Written by `aesthetic-build-splits` {report['tool_version']} from `{report['dataset']}/build_report.json`;"
        " rebuild with `--card` to refresh, do not edit by hand._",
        "",
        f"**{_n(total)} images** with at least one usable comment.",
        f"Partition: `{report['partition']['method']}`: {report['partition']['description']}",
        "",
        "| funnel | images |",
        "|---|---:|",
        *(f"| {label} | {_n(report['funnel'][key])} |" for key, label in _FUNNEL_ROWS),
        "",
        "| split | before the comment filter | after (in the files) | the paper's |",
        "|---|---:|---:|---:|",
        *(
            f"| {s} | {_n(report['splits_before_comment_filter'][s])} | {_n(report['splits'][s])}"
            f" | {_n(paper.get(s, '–'))} |"
            for s in SPLITS
        ),
        "",
        *_index_and_empty_splits(report),
        f"Comments: {_n(report['comments']['raw'])} read, {_n(report['comments']['usable'])} kept after cleaning.",
        "",
        *_period_lines(report),
        "| cleaning rule (in order) | what it does | hits |",
        "|---|---|---:|",
        *(f"| `{_cell(r['name'])}` | {_cell(r['description'])} | {_n(r['hits'])} |" for r in report["rules"]),
        "",
    ]
    useless = report["useless_comments"]
    lines += [
        f"Useless comments (`--useless-comments {useless['policy']}`): {_cell(useless['description'])}"
        + (f"; {_n(useless['kept'])} were kept." if useless["policy"] == "keep" else "."),
        "",
    ]
    leak = report["label_leakage"]
    fate = "dropped (`--drop-score-mentions`)" if leak["dropped"] else "kept (drop them with `--drop-score-mentions`)"
    lines += [
        f"Possible label leakage: {_n(leak['score_mentions'])} comments in {_n(leak['images_with_score_mentions'])}"
        f" images state a score; they were {fate}.",
        "",
    ]
    paper_other = [(k, v) for k, v in _flatten("", report["paper"]) if not k.startswith("splits.") and k != "note"]
    if paper_other:
        note = report["paper"].get("note") if isinstance(report["paper"], Mapping) else None
        lines += [
            "The paper's own numbers" + (f" ({_cell(note)})" if note else "") + ": "
            + "; ".join(f"{k} {_n(v)}" for k, v in paper_other) + ".",
            "",
        ]
    lines += ["| input | file | sha256 |", "|---|---|---|"]
    lines += [
        f"| {_cell(i['role'])} | `{_cell(Path(str(i['path'])).name)}` | `{str(i['sha256'])[:16]}…` |"
        for i in report["inputs"]
    ]
    options = _flatten("", report["options"])
    if options:
        lines += ["", "Options: " + ", ".join(f"`{k}={v}`" for k, v in options) + "."]
    return "\n".join(lines)


@dataclass(frozen=True)
class CardParts:
    front: str   # the YAML front matter, without its `---` lines
    head: str    # the body before the BEGIN marker
    tail: str    # the body from the END marker on


def read_card(card_path: Path) -> CardParts:
    """Read a data card and find the parts `refresh_card` rewrites, or say what is wrong with it.

    The CLI calls this before a build too, so a bad `--card` fails at once, not after the build.
    """
    card_path = Path(card_path)
    try:
        text = card_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{card_path}: cannot read the data card ({getattr(err, 'strerror', None) or err})") from err
    match = re.match(r"---\n(.*?\n)---\n", text, re.DOTALL)
    if not match:
        raise UserError(f"{card_path}:1: a data card starts with YAML front matter between two `---` lines")
    body = text[match.end():]
    begin, end = body.find(BEGIN), body.find(END)
    if begin < 0 or end < begin or body.count(BEGIN) != 1 or body.count(END) != 1:
        raise UserError(f"{card_path}: the card needs exactly one `{BEGIN}` followed by one `{END}` marker")
    if not _SIZE_CATEGORIES.search(match.group(1)):
        raise UserError(f"{card_path}: the front matter has no `size_categories:` key")
    return CardParts(match.group(1), body[:begin], body[end:])


def refresh_card(card_path: Path, report: dict) -> None:
    """Rewrite the numbers block and `size_categories` of the card at `card_path` from `report`."""
    card = read_card(card_path)
    block = render_numbers(report)
    category = size_category(sum(report["splits"][s] for s in SPLITS))
    front = _SIZE_CATEGORIES.sub(f"size_categories:\n- {category}\n", card.front, count=1)
    atomic_write_text(Path(card_path), f"---\n{front}---\n{card.head}{BEGIN}\n{block}\n{card.tail}")
