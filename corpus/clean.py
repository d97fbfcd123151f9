"""The comment cleaning rule set: ordered, documented, each rule counted.

Rules run in the order of RULES. A "transform" rule rewrites text (its hits are the
comments it changed); a "drop" rule removes comments (its hits are the comments it
removed; it sees which comments earlier rules removed and only counts the others). Every rule works on a whole Arrow column at once: the common path is a
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
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aesthetic.core.text import INVISIBLE_PATTERN, strip_invisible
from aesthetic.corpus.bytescan import rows_with_bytes
from aesthetic.corpus.quotes import remove_quote
from aesthetic.corpus.tokenize import tokenize

# 2: quote headers in any case, vertical tabs collapsed; 3: score mentions in the forms real voters write;
# 4: invisible characters (controls, bidi overrides) removed
RULE_SET_VERSION = "4"


@dataclass(frozen=True)
class Rule:
    """A cleaning rule.

    transform: `fn(text) -> (new text, changed rows)`, plus `candidates`, an RE2 pattern that matches
    every row the transform could change: `clean` finds the rows any transform could change in one
    regex pass (the patterns joined), and the transforms run on those rows only.
    drop: `fn(text, image_ids, alive) -> rows to drop`, only among the `alive` ones (not yet dropped).
    """

    name: str
    description: str
    kind: str  # "transform" | "drop"
    fn: Callable
    candidates: str | None = None


@dataclass(frozen=True)
class RuleHits:
    name: str
    description: str
    hits: int


RULES: list[Rule] = []


def rule(name: str, description: str, kind: str, candidates: str | None = None) -> Callable[[Callable], Callable]:
    """Register a rule; the order of registration is the order of application (transforms first)."""

    def register(fn: Callable) -> Callable:
        RULES.append(Rule(name, description, kind, fn, candidates))
        return fn

    return register


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Rows matching an RE2 pattern, as a numpy mask."""
    return np.asarray(pc.match_substring_regex(text, pattern), dtype=bool)


def _rewrite(text: pa.Array, mask: pa.Array | np.ndarray,
             rewrite: Callable[[pa.Array], pa.Array]) -> tuple[pa.Array, np.ndarray]:
    """Rewrite only the rows in `mask` (the rows a transform could change); return the new text
    and the rows whose text changed."""
    mask = np.asarray(pc.fill_null(mask, False), dtype=bool)
    hits = np.zeros(len(text), dtype=bool)
    if not mask.any():
        return text, hits
    selected = pa.array(mask)
    before = text.filter(selected)
    after = rewrite(before)
    hits[np.flatnonzero(mask)] = np.asarray(pc.not_equal(after, before), dtype=bool)
    return pc.replace_with_mask(text, selected, after), hits


def _each(fn: Callable[[str], str]) -> Callable[[pa.Array], pa.Array]:
    """A per-string Python function as a column rewrite, for the few rows no kernel can do."""
    return lambda column: pa.array([fn(t) for t in column.to_pylist()], pa.string())


# -- quotes ----------------------------------------------------------------------------------
# The site writes the header itself, as "Originally posted by"; like the quote patterns (corpus/quotes.py), the
# candidate test ignores case, so a lower- or upper-cased dump is cleaned the same way.
_QUOTE_CANDIDATE = "(?i:riginally)"


@rule("quotes", "Remove quotes of other comments: DPChallenge's 'Originally posted by X:' header with the "
      "quoted text (HTML quote block, or in plain text the header and the following line; without a line "
      "break everything from the header on).", "transform", _QUOTE_CANDIDATE)
def _quotes(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _rewrite(text, pc.match_substring_regex(text, _QUOTE_CANDIDATE), _each(remove_quote))


# -- HTML ------------------------------------------------------------------------------------
_HTML_CANDIDATE = r"<[A-Za-z/!]|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"
_BLOCK_TAG = re.compile(r"<br\s*/?>|<hr\s*/?>|</?(?:p|div|tr|td|table|li|ul|ol|blockquote|h[1-6])\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[A-Za-z/!][^>]*>")


def html_to_text(text: str) -> str:
    return html.unescape(_before_last_gt(_ANY_TAG, "", _before_last_gt(_BLOCK_TAG, "\n", text)))


def _before_last_gt(tag: re.Pattern[str], repl: str, text: str) -> str:
    """`tag.sub(repl, text)`, searched only up to the last `>`, where every tag's match ends: past it
    `re` would scan to the end from every `<` that opens a tag (`<b ` repeated, 120 KB: 2.1-2.3 s, quadratic;
    `python perf/hostile_text.py`)."""
    end = text.rfind(">") + 1
    return tag.sub(repl, text[:end]) + text[end:]


@rule("html", "Turn HTML into text: line-break and block tags become line breaks, other tags are removed, "
      "entities (&amp; &#39; ...) are decoded.", "transform", _HTML_CANDIDATE)
def _html(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _rewrite(text, pc.match_substring_regex(text, _HTML_CANDIDATE), _each(html_to_text))


# -- invisible characters: the crawler's own rule (aesthetic.core.text), for imported dumps too --
@rule("invisible", "Remove invisible characters: control characters (C0 and C1, except the whitespace ones, "
      "which the whitespace rule turns into spaces) and the bidirectional override and isolate characters "
      "U+202A-U+202E and U+2066-U+2069, which reorder or hide what a comment says; the crawler applies the "
      "same rule to the pages it parses.", "transform", INVISIBLE_PATTERN)
def _invisible(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _rewrite(text, pc.match_substring_regex(text, INVISIBLE_PATTERN), _each(strip_invisible))


# -- Unicode and whitespace ------------------------------------------------------------------
_NON_ASCII = r"[^\x00-\x7f]"


@rule("nfc", "Normalise Unicode to NFC (composed characters), so equal-looking comments are equal.", "transform",
      _NON_ASCII)
def _nfc(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _rewrite(text, pc.invert(pc.string_is_ascii(text)), lambda subset: pc.utf8_normalize(subset, "NFC"))


_WHITESPACE = r"[\s\x0b\p{Z}\x{85}]+"  # RE2's \s lacks the vertical tab that Python's str.split() counts


# Two spaces, a space at an end, an ASCII control space, or any non-ASCII (the Unicode spaces).
_WHITESPACE_CANDIDATE = r"[\t\n\x0b\x0c\r]|[^\x00-\x7f]|  |^ | $"


@rule("whitespace", "Collapse every run of whitespace (line breaks, tabs, Unicode spaces) to one space and "
      "trim both ends.", "transform", _WHITESPACE_CANDIDATE)
def _whitespace(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    return _rewrite(text, pc.match_substring_regex(text, _WHITESPACE_CANDIDATE),
                    lambda subset: pc.utf8_trim(pc.replace_substring_regex(subset, _WHITESPACE, " "), " "))


# -- drops -----------------------------------------------------------------------------------
@rule("empty", "Drop comments left empty.", "drop")
def _empty(text: pa.Array, image_ids: np.ndarray, alive: np.ndarray) -> np.ndarray:
    return alive & np.asarray(pc.equal(pc.binary_length(text), 0))


@rule("no-letters", "Drop comments with no letter at all: only digits and punctuation (`7`, `6/10`, `!!!`).", "drop")
def _no_letters(text: pa.Array, image_ids: np.ndarray, alive: np.ndarray) -> np.ndarray:
    return alive & ~_matches(text, r"\pL")


def word_tokens(text: str) -> int:
    """Tokens (from the project tokenizer) that contain at least one letter."""
    return sum(any(ch.isalpha() for ch in token) for token in tokenize(text))


@rule("too-few-words", "Drop 'useless' comments with fewer than two word tokens (tokens with a letter, by "
      "aesthetic.corpus.tokenize), e.g. `nice!`, `wow`, `7/10 great`.", "drop")
def _too_few_words(text: pa.Array, image_ids: np.ndarray, alive: np.ndarray) -> np.ndarray:
    # No token spans a space, and every space-separated chunk with a letter yields a token with a
    # letter: two letters with a space between them mean >= 2 word tokens. Of the rest, a single
    # unbroken run of letters is exactly one word token; only rows like `wow...great` or `didn't`
    # (one chunk, several letter runs) need the tokenizer.
    drop = alive & ~_matches(text, r"\pL.* .*\pL")
    rest = np.flatnonzero(drop)
    if rest.size:
        subset = text.take(pa.array(rest))
        runs = np.asarray(pc.count_substring_regex(subset, r"\pL+"))
        unsure = np.flatnonzero(runs > 1)
        if unsure.size:
            keep = [word_tokens(t) >= 2 for t in subset.take(pa.array(unsure)).to_pylist()]
            drop[rest[unsure[np.asarray(keep, dtype=bool)]]] = False
    return drop


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Whether each key occurs more than once. A stable sort is quick here: the keys come
    sorted by image, so they are long sorted runs (twice as fast as pandas' hashing)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    equal = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(keys), dtype=bool)
    shared[1:] |= equal
    shared[:-1] |= equal
    repeated = np.empty(len(keys), dtype=bool)
    repeated[order] = shared
    return repeated


@rule("duplicate", "Drop exact duplicates of an earlier comment of the same image (after the rules above); "
      "the first in page order is kept.", "drop")
def _duplicate(text: pa.Array, image_ids: np.ndarray, alive: np.ndarray) -> np.ndarray:
    drop = np.zeros(len(text), dtype=bool)
    live = np.flatnonzero(alive)
    if not live.size:
        return drop
    # Only comments sharing (image, byte length) with another can be equal; compare just those.
    lengths = np.asarray(pc.binary_length(text), dtype=np.int64)[live]
    same = _repeated(image_ids[live] * (int(lengths.max()) + 1) + lengths)
    rows = live[same]
    if rows.size:
        codes = np.asarray(pc.dictionary_encode(text.take(pa.array(rows))).indices, dtype=np.int64)
        drop[rows] = pd.Series(image_ids[rows] * (rows.size + 1) + codes).duplicated(keep="first").to_numpy()
    return drop


# -- label leakage ---------------------------------------------------------------------------
# DPChallenge voters often write the vote they cast into the comment. The forms below are the ones
# found in real comments (njtwomey/dpc dumps of challenges 50 and 3636, and the real image page
# 921974; tests/corpus/test_clean.py lists which comment each form comes from). All are RE2 (no
# look-around): what may follow a vote is spelled out in _AFTER, so `a 10 second exposure`,
# `100mm`, `f/2.8`, `1/250` or `2 people` are not votes.
_N = r"(?:10|[1-9])(?:\.[0-9])?"  # a vote on either site's scale (1-10, 1-7), halves included
# After a vote: the end, punctuation that closes it, or a word that goes on about it.
_AFTER = (r"(?:\s*$|\s*[!?,;:)\]*~=-]|\.(?:\s|$|\.)|\s+(?:or|from|for|in|by|because|cause|as|if|anyway|any|and|but"
          r"|on|out|all|though|too|here|overall|PTL|imo|it'?s)\b)")
_OBJECT = (r"(?:it|this|that|you|him|her|this one|that one|(?:this|the|your|my) "
           r"(?:image|photo|picture|pic|shot|entry|one))")
_ADJECTIVE = r"(?:easy|solid|definite|strong|sure|clear|high|low|good|awesome|perfect|well deserved|deserved|full)"
_VOTE_FORMS = (
    # gave this a 10 / I'd give it an 8 / giving this 10 / rates an 8 / scores an easy 10 /
    # couldn't score it higher than 5
    rf"\b(?:gave|give[sn]?|giving|rat(?:e[sd]?|ing)|scor(?:e[sd]?|ing)|vot(?:e[sd]?|ing))\s+(?:{_OBJECT}\s+)?"
    rf"(?:(?:higher|lower|more|less|better|worse)\s+than\s+|at\s+)?(?:(?:only|just|about|at least|easily|probably)\s+)?"
    rf"(?:an?\s+)?(?:{_ADJECTIVE}\s+)?{_N}{_AFTER}",
    # it's a 10 in my book / this would be a 1 / woulda been a 10 / it is an awesome 10 / worth a 7
    rf"\b(?:is|it'?s|be|been|was|worth|deserves?)\s+(?:(?:still|about|at least|only|easily|definitely|probably)\s+)?"
    rf"an?\s+(?:{_ADJECTIVE}\s+)?{_N}{_AFTER}",
    # a 10 from me / would be an 8 for me / an awesome 10 in my book / a 10 all day long
    rf"\b(?:an?\s+)?(?:{_ADJECTIVE}\s+)?{_N}\s+(?:(?:from|for)\s+me\b|in my (?:book|opinion|eyes|view)|all day"
    rf"|as far as I)",
    # my only 10 of the challenge / my vote: 8
    rf"\bmy\s+(?:only|lone|sole|one)\s+{_N}\b",
    r"\bmy (?:vote|score|rating)(?: was| is|:)?\s*(?:an?\s+)?[0-9]",
    # = 7 / :) = 10 / (8) / (9.5) / [10] / <5> / *9* / - 10 - setzler / -9-
    rf"(?:^|[\s(:;!.,]|[a-z][a-z])=+\s*{_N}(?:\s|$|[^\w.]|\.(?:\s|$))",  # `great=6`, not `f=2.8`
    rf"[(\[<*\"]+\s*{_N}\s*[)\]>*\"]+",
    rf"(?:^|[\s.!?,])-+\s*{_N}\s*-+(?:\s|$)",
    # bumped it up to 8 / upping to 7 / from 7 to 9 (a vote changed on a second look)
    rf"\b(?:bump(?:ed|ing)?|upp(?:ed|ing))\s+(?:it\s+|this\s+)?(?:up\s+)?to\s+(?:an?\s+)?{_N}\b",
    rf"\bfrom\s+(?:an?\s+)?{_N}\s+to\s+(?:an?\s+)?{_N}\b",
    # 7/10 / 6 out of 10; not `1/10 of the photo`, `1/10 sec`, `1/10th` (no next word starting with of or sec)
    rf"\b{_N}\s*(?:/|out of)\s*(?:10|7)(?:\s*$|\s*[^\w\s/.]|\.(?:\s|$)|\s+(?:[^os\s]|o[^f\s]|s[^e\s]|se[^c\s]))",
    # great image! 10 goodtempo / shot.  8  Jacko. (a vote, then a signature, ending the comment)
    rf"[.!?]\s+{_N}\s+\w+[.!]?\s*$",
    # 10, 10, 10.
    rf"(?:^|[\s.!?]){_N}(?:\s*,\s*{_N}){{2,}}\s*[.!]",
    # Heck, I got over 6 (the photographer, after the results)
    rf"\bgot\s+(?:over|under|above|below|around)\s+(?:an?\s+)?{_N}\b",
)
SCORE_MENTION = "(?i)" + "|".join(f"(?:{form})" for form in _VOTE_FORMS)
# A bare vote ending the comment (`Clever! 8`, `OMG!! 10!!!`, `Jacko  7`, `...9`, `nice-one----7`), unless
# what comes before makes it something else (`in the top 5`, `part 2`, `only 5`, `more than 3`, `1/8`, `f/8`).
_END_OF_COMMENT = r"\s*[!.]*\s*(?:[:;]-?[)DP]\s*)?$"  # `8`, `10!!!`, `7.`, `10:)`
TRAILING_VOTE = rf"(?:^|[\s.!?,;:/-]){_N}{_END_OF_COMMENT}"
NOT_A_TRAILING_VOTE = (
    r"(?i)(?:\b(?:top|part|take|number|chapter|day|week|round|set|iso|page|level|episode|step|size|of|under|over"
    r"|than|from|to|the|my|our|your|his|her|their|these|those|last|first|next|all|only|just|in|at|on|with|by"
    rf"|about|around|is|are|was|were|be|has|have|had|get|got|made|make|f)\s+|\bno\.\s*|#\s*|\bf\s*/\s*|[0-9]\s*[/-]\s*)"
    rf"{_N}"
    rf"{_END_OF_COMMENT}"
)
SCORE_MENTION_DESCRIPTION = (
    "Comments that state a vote, in the forms DPChallenge voters write it ('I gave this a 7', 'It's a 10 in my "
    "book', 'a 10 from me', '= 8', '(9.5)', '7/10', or a bare vote ending the comment, 'Clever! 8'), may leak the "
    "label; flagged and counted, dropped only with --drop-score-mentions. Plain numbers (100mm, f/2.8, 1/250, "
    "2 people, top 5) are not votes."
)


_DIGITS = ((ord("0"), ord("9")),)

# The paper removed "the images whose comments were all useless (only one word or numbers)"; whether it
# also dropped the useless comments of the other images it does not say. These two rules are its
# "useless"; --useless-comments chooses between the readings.
USELESS_RULES = ("no-letters", "too-few-words")
USELESS_POLICIES = {
    "drop": "each useless comment (no letters, fewer than two word tokens) is dropped; an image with no comment "
            "left is removed",
    "keep": "useless comments stay with an image that has a useful comment; an image whose comments are all "
            "useless is removed (the paper's words read literally)",
}


def score_mentions(text: pa.Array) -> np.ndarray:
    flagged = np.zeros(len(text), dtype=bool)
    # Every form needs a digit. A byte scan finds those rows in 0.36-0.37 s of CPU against 0.89 s for
    # pc.match_substring_regex("[0-9]") on perf/build_splits.py's 3M comments (317 MB; two runs each,
    # `python perf/corpus_tricks.py`), about a tenth of that build: the one corpus trick that paid.
    rows = np.flatnonzero(rows_with_bytes(text, _DIGITS))
    candidates = text.take(pa.array(rows))
    found = np.asarray(pc.match_substring_regex(candidates, SCORE_MENTION), dtype=bool)
    trailing = np.asarray(pc.match_substring_regex(candidates, TRAILING_VOTE), dtype=bool) & ~found
    if trailing.any():
        trailing[trailing] = ~np.asarray(pc.match_substring_regex(candidates.filter(pa.array(trailing)),
                                                                  NOT_A_TRAILING_VOTE), dtype=bool)
    flagged[rows] = found | trailing
    return flagged


@dataclass
class Cleaned:
    """The kept comments: `image_ids[i]` and `all_text[rows[i]]`.

    `all_text` is every comment after the transforms, dropped ones included: the build takes
    each split's comments from it directly, instead of copying the ~300 MB column once more
    here only to copy it again per split. `text` gives the kept ones as one array.
    """

    image_ids: np.ndarray
    rows: np.ndarray
    all_text: pa.Array
    rules: list[RuleHits]
    score_mentions: int
    images_with_score_mentions: int
    useless_kept: int = 0  # useless comments kept beside a useful one (`useless="keep"`)

    @property
    def text(self) -> pa.Array:
        return self.all_text.take(pa.array(self.rows))


def clean(image_ids: np.ndarray, text: pa.Array, *, drop_score_mentions: bool, useless: str = "drop",
          progress: Callable = lambda items, **_: items) -> Cleaned:
    """Run every rule in order over comments sorted by (image, page order).

    `useless` (a key of USELESS_POLICIES): with "keep", the USELESS_RULES mark comments instead of
    dropping them (their hits are the comments they marked), later rules still see them (a repeated
    `wow` is a duplicate), and at the end only the images with no unmarked comment lose them all."""
    if useless not in USELESS_POLICIES:
        raise ValueError(f"useless must be one of {sorted(USELESS_POLICIES)}, not {useless!r}")
    hits: list[RuleHits] = []
    transforms = [r for r in RULES if r.kind == "transform"]
    drops = [r for r in RULES if r.kind == "drop"]
    assert RULES == transforms + drops, "transform rules must come before drop rules"
    # A row no transform could change stays as it is through all of them: run them on the rest only.
    dirty = _matches(text, "|".join(f"(?:{r.candidates})" for r in transforms))
    subset = text.filter(pa.array(dirty))
    alive = np.ones(len(text), dtype=bool)
    marked = np.zeros(len(text), dtype=bool)  # useless but kept for now (useless="keep")
    for r in progress(RULES, total=len(RULES), desc="cleaning rules", unit="rule"):
        if r.kind == "transform":
            subset, changed = r.fn(subset)
            hits.append(RuleHits(r.name, r.description, int(changed.sum())))
            continue
        if subset is not None:
            text, subset = pc.replace_with_mask(text, pa.array(dirty), subset) if dirty.any() else text, None
        # Drop rules mark rows in `alive` instead of copying the column after each rule.
        keep_marked = useless == "keep" and r.name in USELESS_RULES
        drop = r.fn(text, image_ids, alive & ~marked if keep_marked else alive)
        hits.append(RuleHits(r.name, r.description, int(drop.sum())))
        if keep_marked:
            marked |= drop
        else:
            alive &= ~drop
    if marked.any():  # a marked comment stays only beside an unmarked one of its image
        alive &= np.isin(image_ids, image_ids[alive & ~marked])
    flagged = alive & score_mentions(text)
    n_flagged, n_images = int(flagged.sum()), len(set(image_ids[flagged].tolist()))
    if drop_score_mentions:
        hits.append(RuleHits("score-mentions", SCORE_MENTION_DESCRIPTION, n_flagged))
        alive &= ~flagged
    return Cleaned(image_ids[alive], np.flatnonzero(alive), text, hits, n_flagged, n_images,
                   useless_kept=int((alive & marked).sum()))


def rule_set() -> list[dict[str, str]]:
    """The rule set as recorded in provenance (names and descriptions, in order)."""
    return [{"name": r.name, "description": r.description} for r in RULES]
