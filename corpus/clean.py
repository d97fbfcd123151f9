"""The comment cleaning rule set: ordered, documented, each rule counted.

Rules run in the order of RULES. A "transform" rule rewrites text (its hits are the
comments it changed); a "drop" rule removes comments (its hits are the comments it
removed). Every rule works on a whole Arrow column at once: the common path is a
pyarrow.compute kernel (RE2 regexes, Unicode normalisation in C++); Python only
touches the few rows a cheap vectorised test has picked out (comments that contain
HTML or a quote, one-word candidates for the tokenizer). That keeps three million
comments within seconds.

Score mentions ("I gave it a 7", "6/10") are not a cleaning rule: they are flagged
as possible label leakage and only dropped when the user asks (--drop-score-mentions).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aesthetic.corpus.tokenize import tokenize

RULE_SET_VERSION = "1"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    kind: str  # "transform" | "drop"
    fn: Callable


@dataclass(frozen=True)
class RuleHits:
    name: str
    description: str
    hits: int


RULES: list[Rule] = []


def rule(name: str, description: str, kind: str) -> Callable[[Callable], Callable]:
    """Register a rule; the order of registration is the order of application."""

    def register(fn: Callable) -> Callable:
        RULES.append(Rule(name, description, kind, fn))
        return fn

    return register


def _patch(text: pa.Array, candidates: pa.Array, fn: Callable[[str], str]) -> tuple[pa.Array, np.ndarray]:
    """Apply a Python function to the candidate rows only; return new text and the changed rows."""
    mask = np.asarray(pc.fill_null(candidates, False), dtype=bool)
    hits = np.zeros(len(text), dtype=bool)
    if not mask.any():
        return text, hits
    before = text.filter(pa.array(mask)).to_pylist()
    after = [fn(t) for t in before]
    hits[np.flatnonzero(mask)] = [a != b for a, b in zip(after, before)]
    return pc.replace_with_mask(text, pa.array(mask), pa.array(after, pa.string())), hits


# -- quotes ----------------------------------------------------------------------------------
_HAS_QUOTE = "originally posted by"
# DPChallenge wraps a quoted comment in its own <table>: the header, <hr/>, then <i>quoted</i>.
_HTML_QUOTE_TABLE = re.compile(r"<table\b[^>]*>(?:(?!</?table\b).)*?Originally\s+posted\s+by.*?</table>", re.S | re.I)
_HTML_QUOTE_BARE = re.compile(
    r"(?:<(?:div|b|strong|span)\b[^>]*>\s*)*Originally\s+posted\s+by[^<\n]*?:\s*(?:</(?:div|b|strong|span)>\s*)*"
    r"(?:<hr\s*/?>\s*)?<i>.*?</i>", re.S | re.I)
# In plain text the quote is the header line and the next line; with no line break the reply
# cannot be told from the quote, so everything from the header on goes (never keep others' words).
_TEXT_QUOTE = re.compile(r"Originally\s+posted\s+by\s[^\n]*?:[ \t]*(?:\n[^\n]*)?(?:\n|$)|Originally\s+posted\s+by\s.*", re.I | re.S)


def remove_quote(text: str) -> str:
    text = _HTML_QUOTE_TABLE.sub("\n", text)
    text = _HTML_QUOTE_BARE.sub("\n", text)
    return _TEXT_QUOTE.sub("\n", text)


@rule("quotes", "Remove quotes of other comments: DPChallenge's 'Originally posted by X:' header with the "
      "quoted text (HTML quote block, or in plain text the header and the following line; without a line "
      "break everything from the header on).", "transform")
def _quotes(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _patch(text, pc.match_substring(text, _HAS_QUOTE, ignore_case=True), remove_quote)


# -- HTML ------------------------------------------------------------------------------------
_HTML_CANDIDATE = r"<[A-Za-z/!]|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"
_BLOCK_TAG = re.compile(r"<br\s*/?>|<hr\s*/?>|</?(?:p|div|tr|td|table|li|ul|ol|blockquote|h[1-6])\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[A-Za-z/!][^>]*>")


def html_to_text(text: str) -> str:
    return html.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub("\n", text)))


@rule("html", "Turn HTML into text: line-break and block tags become line breaks, other tags are removed, "
      "entities (&amp; &#39; ...) are decoded.", "transform")
def _html(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _patch(text, pc.match_substring_regex(text, _HTML_CANDIDATE), html_to_text)


# -- Unicode and whitespace ------------------------------------------------------------------
@rule("nfc", "Normalise Unicode to NFC (composed characters), so equal-looking comments are equal.", "transform")
def _nfc(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    mask = pc.invert(pc.string_is_ascii(text))
    hits = np.zeros(len(text), dtype=bool)
    if not pc.any(mask).as_py():
        return text, hits
    subset = text.filter(mask)
    normal = pc.utf8_normalize(subset, "NFC")
    hits[np.flatnonzero(np.asarray(mask))] = np.asarray(pc.not_equal(normal, subset))
    return pc.replace_with_mask(text, mask, normal), hits


_WHITESPACE = r"[\s\p{Z}\x{85}]+"


@rule("whitespace", "Collapse every run of whitespace (line breaks, tabs, Unicode spaces) to one space and "
      "trim both ends.", "transform")
def _whitespace(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    new = pc.utf8_trim(pc.replace_substring_regex(text, _WHITESPACE, " "), " ")
    return new, np.asarray(pc.not_equal(new, text))


# -- drops -----------------------------------------------------------------------------------
@rule("empty", "Drop comments left empty.", "drop")
def _empty(text: pa.Array, image_ids: np.ndarray) -> np.ndarray:
    return np.asarray(pc.equal(pc.binary_length(text), 0))


@rule("no-letters", "Drop comments with no letter at all: only digits and punctuation (`7`, `6/10`, `!!!`).", "drop")
def _no_letters(text: pa.Array, image_ids: np.ndarray) -> np.ndarray:
    return ~np.asarray(pc.match_substring_regex(text, r"\pL"))


def word_tokens(text: str) -> int:
    """Tokens (from the project tokenizer) that contain at least one letter."""
    return sum(any(ch.isalpha() for ch in token) for token in tokenize(text))


@rule("too-few-words", "Drop 'useless' comments with fewer than two word tokens (tokens with a letter, by "
      "aesthetic.corpus.tokenize), e.g. `nice!`, `wow`, `7/10 great`.", "drop")
def _too_few_words(text: pa.Array, image_ids: np.ndarray) -> np.ndarray:
    # No token spans a space and every space-separated chunk with a letter yields a token
    # with a letter, so >= 2 such chunks means >= 2 word tokens; only 1-chunk rows need the tokenizer.
    chunks = np.asarray(pc.count_substring_regex(text, r"[^ ]*\pL[^ ]*"))
    drop = chunks < 2
    unsure = np.flatnonzero(chunks == 1)
    if unsure.size:
        drop[unsure] = [word_tokens(t) < 2 for t in text.take(pa.array(unsure)).to_pylist()]
    return drop


@rule("duplicate", "Drop exact duplicates of an earlier comment of the same image (after the rules above); "
      "the first in page order is kept.", "drop")
def _duplicate(text: pa.Array, image_ids: np.ndarray) -> np.ndarray:
    codes = np.asarray(pc.dictionary_encode(text).indices, dtype=np.int64)
    key = image_ids.astype(np.int64) * np.int64(len(text) + 1) + codes
    _, first = np.unique(key, return_index=True)
    drop = np.ones(len(text), dtype=bool)
    drop[first] = False
    return drop


# -- label leakage ---------------------------------------------------------------------------
SCORE_MENTION = (
    r"(?i)\b(?:gave|give|giving|given|rated?|rating|scored?|voted?)\s+"
    r"(?:(?:it|this|you|that|this one|(?:this|the|your) (?:image|photo|picture|pic|shot|entry))\s+)?"
    r"(?:an?\s+)?[0-9]{1,2}(?:\.[0-9]+)?\b"
    r"|\b[0-9]{1,2}(?:\.[0-9]+)?\s*(?:/|out of)\s*(?:10|7)\b"
    r"|\bmy (?:vote|score|rating)(?: was| is|:)?\s*(?:an?\s+)?[0-9]"
)
SCORE_MENTION_DESCRIPTION = (
    "Comments that state a score ('I gave this a 7', 'I'd give it a 6', '7/10', 'my vote: 8') may leak "
    "the label; flagged and counted, dropped only with --drop-score-mentions."
)


def score_mentions(text: pa.Array) -> np.ndarray:
    return np.asarray(pc.match_substring_regex(text, SCORE_MENTION))


@dataclass
class Cleaned:
    image_ids: np.ndarray
    text: pa.Array
    rules: list[RuleHits]
    score_mentions: int
    images_with_score_mentions: int


def clean(image_ids: np.ndarray, text: pa.Array, *, drop_score_mentions: bool,
          progress: Callable = lambda items, **_: items) -> Cleaned:
    """Run every rule in order over comments sorted by (image, page order)."""
    hits: list[RuleHits] = []
    for r in progress(RULES, total=len(RULES), desc="cleaning rules", unit="rule"):
        if r.kind == "transform":
            text, changed = r.fn(text)
            hits.append(RuleHits(r.name, r.description, int(changed.sum())))
        else:
            drop = r.fn(text, image_ids)
            hits.append(RuleHits(r.name, r.description, int(drop.sum())))
            keep = ~drop
            text, image_ids = text.filter(pa.array(keep)), image_ids[keep]
    flagged = score_mentions(text)
    n_flagged, n_images = int(flagged.sum()), int(np.unique(image_ids[flagged]).size)
    if drop_score_mentions:
        hits.append(RuleHits("score-mentions", SCORE_MENTION_DESCRIPTION, n_flagged))
        text, image_ids = text.filter(pa.array(~flagged)), image_ids[~flagged]
    return Cleaned(image_ids, text, hits, n_flagged, n_images)


def rule_set() -> list[dict[str, str]]:
    """The rule set as recorded in provenance (names and descriptions, in order)."""
    return [{"name": r.name, "description": r.description} for r in RULES]
