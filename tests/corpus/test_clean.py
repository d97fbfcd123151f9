"""Each cleaning rule on small cases, the rule order and counts, and score-mention flagging."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from aesthetic.corpus.clean import RULES, clean, html_to_text, remove_quote, score_mentions
from tests.conftest import shared_file


def _clean(texts: list[str], ids: list[int] | None = None, drop: bool = False):
    ids_arr = np.array(ids if ids is not None else [1] * len(texts), dtype=np.int64)
    return clean(ids_arr, pa.array(texts, pa.string()), drop_score_mentions=drop)


def _hits(result) -> dict[str, int]:
    return {r.name: r.hits for r in result.rules}


def test_rules_are_ordered_named_and_described() -> None:
    names = [r.name for r in RULES]
    assert names == ["quotes", "html", "invisible", "nfc", "whitespace", "empty", "no-letters", "too-few-words",
                     "duplicate"]
    assert all(len(r.description) > 20 for r in RULES)


def test_html_entities_and_tags_become_text() -> None:
    assert html_to_text("<b>Great</b> light &amp; colour<br/>really&#39;s nice") == "Great light & colour\nreally's nice"
    result = _clean(["<i>Lovely</i> tones &quot;here&quot;", "plain & simple text"])
    assert result.text.to_pylist() == ['Lovely tones "here"', "plain & simple text"]
    assert _hits(result)["html"] == 1


def test_invisible_characters_are_removed_by_the_crawlers_own_rule() -> None:
    """Control and bidi override/isolate characters in an imported dump go, as they do from crawled pages
    (aesthetic.core.text); whitespace controls stay whitespace."""
    texts = ["Nice\x00 light\x1b and\x7f tones\x9f here", "Lovely \u202eevil\u202c colour \u2066x\u2069 yes",
             "It &#8238;reads&#8236; backwards now", "fine as it is", "tab\tand\x85next line"]
    result = _clean(texts)
    assert result.text.to_pylist() == ["Nice light and tones here", "Lovely evil colour x yes",
                                       "It reads backwards now", "fine as it is", "tab and next line"]
    assert _hits(result)["invisible"] == 3


def test_nfc_makes_decomposed_accents_equal() -> None:
    result = _clean(["cafe\u0301 au lait", "caf\u00e9 au lait"])
    assert result.text.to_pylist() == ["caf\u00e9 au lait"]
    assert _hits(result)["nfc"] == 1 and _hits(result)["duplicate"] == 1


def test_whitespace_is_collapsed_and_trimmed() -> None:
    result = _clean(["  too\tmuch \n\n space\u00a0here  ", "fine as it is", "vertical\x0b\x0ctab\x85too"])
    assert result.text.to_pylist() == ["too much space here", "fine as it is", "vertical tab too"]
    assert _hits(result)["whitespace"] == 2


def test_quotes_of_other_comments_are_removed_from_the_real_fragment() -> None:
    fragment = shared_file("dpchallenge", "comment_7035001_quote_reply.fragment.html").read_text()
    result = _clean([fragment])
    assert result.text.to_pylist() == ["Heck, I may as well give it to you a third time. [sorry about that :-)]"]
    assert "asigmatic" not in result.text[0].as_py()
    assert _hits(result)["quotes"] == 1


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Originally posted by Bob:\nyou are wrong\nI like the colours", "I like the colours"),
        ("Originally posted by Bob: you are wrong, I like the colours", ""),
        ("I like the colours", "I like the colours"),
    ],
)
def test_plain_text_quotes(text: str, kept: str) -> None:
    assert remove_quote(text).strip() == kept


@pytest.mark.parametrize("header", ["Originally posted by Bob:", "originally posted by bob:", "ORIGINALLY POSTED BY BOB:"])
def test_quote_header_in_any_case_is_removed_by_the_rule(header: str) -> None:
    result = _clean([f"{header}\nyou are wrong\nI like the colours"])
    assert result.text.to_pylist() == ["I like the colours"]
    assert _hits(result)["quotes"] == 1


@pytest.mark.parametrize(
    ("text", "rule"),
    [("", "empty"), ("   ", "empty"), ("7", "no-letters"), ("6/10", "no-letters"), ("!!!", "no-letters"),
     ("nice!", "too-few-words"), ("Wow", "too-few-words"), ("7/10 great", "too-few-words"),
     ("<br/>", "empty")],
)
def test_useless_comments_are_dropped_by_the_right_rule(text: str, rule: str) -> None:
    result = _clean([text, "a real comment here"])
    assert result.text.to_pylist() == ["a real comment here"]
    assert _hits(result)[rule] == 1


@pytest.mark.parametrize("text", ["didn't like", "wow...great", "well done", "nice :-) work"])
def test_two_word_tokens_are_enough(text: str) -> None:
    assert _clean([text]).text.to_pylist() == [text]


def test_duplicates_are_dropped_within_an_image_only() -> None:
    result = _clean(["same words here", "same words here", "same words here", "other words here"], ids=[1, 1, 2, 2])
    assert result.image_ids.tolist() == [1, 2, 2]
    assert result.text.to_pylist() == ["same words here", "same words here", "other words here"]
    assert _hits(result)["duplicate"] == 1


@pytest.mark.parametrize(
    ("text", "flagged"),
    [("i gave this a 7", True), ("I'd give it a 6, nice", True), ("solid 7/10 from me", True),
     ("I gave this image a 9 because", True), ("my vote: 8 for the light", True), ("gave it a little energy", False),
     ("one of your 8 votes was mine", False), ("shot at 1/250 s", False)],
)
def test_score_mentions(text: str, flagged: bool) -> None:
    assert score_mentions(pa.array([text])).tolist() == [flagged]


def test_score_mentions_are_counted_and_dropped_only_on_request() -> None:
    texts = ["I gave this a 7, lovely", "lovely light and tones", "6/10 for the crop, sorry"]
    kept = _clean(texts, ids=[1, 1, 2])
    assert (kept.score_mentions, kept.images_with_score_mentions, len(kept.text)) == (2, 2, 3)
    dropped = _clean(texts, ids=[1, 1, 2], drop=True)
    assert dropped.text.to_pylist() == ["lovely light and tones"]
    assert _hits(dropped)["score-mentions"] == 2
