"""Each cleaning rule on small cases, the rule order and counts, and score-mention flagging."""

from __future__ import annotations

import json

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


# Votes as real voters wrote them: (file, comment id) in the njtwomey/dpc dumps, the comment id on the real page
# image_921974.html, or (image, index) in the DPC-Captions file; with the words that state the vote.
REAL_VOTES = [
    ("50.sql", 176482, "Gave this a 10"), ("50.sql", 176809, "GAve this a 10."), ("50.sql", 176826, "gave it an 8"),
    ("50.sql", 176598, "I'd give this one an 8."), ("50.sql", 178476, "I would give this a 1."),
    ("50.sql", 179302, "give this only a 2."), ("50.sql", 178534, "I'm giving this 10!"),
    ("50.sql", 176674, "scores an easy 10 :)"), ("50.sql", 179310, "it rates an 8."),
    ("50.sql", 179321, "couldn't score it higher than 5."), ("50.sql", 1551444, "Would have rated it a 10 if"),
    ("50.sql", 176585, "It's a 10 in my book."), ("50.sql", 177098, "at least an 8 in my book."),
    ("50.sql", 179297, "It's a 5 in my opinion."), ("50.sql", 177085, "It's a 10 as far as I'm concerned."),
    ("50.sql", 176577, "It would be a 10 from me"), ("50.sql", 178531, "A 10 from me."),
    ("50.sql", 178556, "A definite 10 from me."), ("50.sql", 176603, "Would be an 8 for me."),
    ("50.sql", 176586, "A 10 all day long."), ("50.sql", 179307, "This would be a 1."),
    ("50.sql", 179323, "This would be about a 5."), ("50.sql", 177045, "woulda been a 10."),
    ("50.sql", 177096, "it is an awesome 10."), ("50.sql", 177103, "this is still a solid 10!"),
    ("50.sql", 179303, "Worth a 7."), ("50.sql", 178991, "My only 10 of the challenge."),
    ("50.sql", 176884, ":) = 10 Shiiizzzam"), ("50.sql", 176893, "! = 9 Shiiizzzam"), ("50.sql", 177186, "= 8 - setzler"),
    ("50.sql", 176480, "- 10 - setzler"), ("50.sql", 177107, "-9-"), ("50.sql", 176550, "Eeew! 8"),
    ("50.sql", 176555, "Clever! 8"), ("50.sql", 176530, "10!!!"), ("50.sql", 176720, "jacko  7"),
    ("50.sql", 176719, "8  Jacko."), ("50.sql", 177378, "10 goodtempo"), ("50.sql", 177746, "picture...10"),
    ("50.sql", 177091, "10, 10, 10."), ("50.sql", 179905, "I got over 6"), ("3636.sql", 7756775, "give you a 10."),
    ("921974", 6245175, "i gave this a 7."), ("921974", 6243000, "This was my only 10."),
    ("921974", 6236954, "nice-one----7"), ("921974", 6238311, "10 from me"),
    ("dpc-captions", ("182950.jpg", 0), "(8)"), ("dpc-captions", ("136718.jpg", 0), "((7))"),
    ("dpc-captions", ("178858.jpg", 0), "great=6"),
]
# Numbers in real comments that are not votes.
REAL_NON_VOTES = [
    ("50.sql", 176853, "35mm"), ("50.sql", 176997, "640 pixels"), ("50.sql", 178606, "only 5 toes!"),
    ("50.sql", 176846, "No.1 this week for me."), ("50.sql", 179204, "awmk1981"), ("50.sql", 178958, "<3"),
    ("921974", 6242356, "I'm giving 5 ribbons total."),
]


@pytest.fixture(scope="module")
def real_comments() -> dict[tuple[str, object], str]:
    from aesthetic.crawler.sites.dpchallenge import parse
    from aesthetic.corpus.dpc_sql import read_file

    texts: dict[tuple[str, object], str] = {}
    for name in ("50.sql", "3636.sql"):
        table = read_file(shared_file("comments", "dpc_sql", name))
        texts.update({(name, c): t for c, t in zip(table["comment_id"].to_pylist(), table["text"].to_pylist())})
    page = parse(shared_file("dpchallenge", "image_921974.html").read_bytes(), None)
    texts.update({("921974", c.comment_id): c.text for c in page.comments})
    captions = json.loads(shared_file("comments", "dpc_captions_impression_and_subject.json").read_text())
    texts.update({("dpc-captions", (key, i)): t for key, comments in captions.items() for i, t in enumerate(comments)})
    return texts


@pytest.mark.parametrize(("source", "comment", "words"), REAL_VOTES + REAL_NON_VOTES)
def test_score_mentions_on_real_comments(real_comments: dict, source: str, comment: object, words: str) -> None:
    text = real_comments[(source, comment)]
    assert words in text  # the list is the real comment's own words
    assert score_mentions(pa.array([text])).tolist() == [(source, comment, words) in REAL_VOTES]


@pytest.mark.parametrize("text", ["shot with a 100mm lens, nice", "wide open at f/2.8 the bokeh is great",
                                  "1/250 froze the motion well", "I count 2 people in the frame",
                                  "there are 2 people", "a 10 second exposure works here", "you should make the top 5",
                                  "1/10 of the photo is sky", "taken at 1/8", "stopped down to f/8", "f=2.8 was too shallow",
                                  "I gave up after 2 hours", "my 2 cents: crop the left"])
def test_plain_numbers_are_not_votes(text: str) -> None:
    assert score_mentions(pa.array([text])).tolist() == [False]


def test_score_mentions_are_counted_and_dropped_only_on_request() -> None:
    texts = ["I gave this a 7, lovely", "lovely light and tones", "6/10 for the crop, sorry"]
    kept = _clean(texts, ids=[1, 1, 2])
    assert (kept.score_mentions, kept.images_with_score_mentions, len(kept.text)) == (2, 2, 3)
    dropped = _clean(texts, ids=[1, 1, 2], drop=True)
    assert dropped.text.to_pylist() == ["lovely light and tones"]
    assert _hits(dropped)["score-mentions"] == 2


def test_useless_comments_keep_reads_the_paper_literally() -> None:
    """`keep`: an image's one-word and numeric comments stay beside a useful one; an image whose comments
    are all useless goes; a repeated useless comment is still a duplicate; an empty one still goes."""
    texts = ["Lovely tones here", "wow", "7", "wow", "",   # image 1: one useful comment
             "nice!", "8/10"]                          # image 2: all useless
    ids = [1, 1, 1, 1, 1, 2, 2]
    ids_arr = np.array(ids, dtype=np.int64)
    kept = clean(ids_arr, pa.array(texts, pa.string()), drop_score_mentions=False, useless="keep")
    assert kept.text.to_pylist() == ["Lovely tones here", "wow", "7"]
    assert kept.image_ids.tolist() == [1, 1, 1]
    assert kept.useless_kept == 2
    assert _hits(kept) == {**_hits(kept), "empty": 1, "no-letters": 2, "too-few-words": 3, "duplicate": 1}
    dropped = clean(ids_arr, pa.array(texts, pa.string()), drop_score_mentions=False)
    assert dropped.text.to_pylist() == ["Lovely tones here"] and dropped.useless_kept == 0
    with pytest.raises(ValueError, match="useless must be one of"):
        clean(ids_arr, pa.array(texts, pa.string()), drop_score_mentions=False, useless="maybe")
