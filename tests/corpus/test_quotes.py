"""The quote rule and the HTML rule give exactly what their `re` patterns give, on the real quote reply and
on generated fields built from the patterns' own pieces; each HTML pattern is checked on its own, since
the plain-text pattern after them would hide a difference (it removes all from a header on)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from aesthetic.corpus.clean import html_to_text
from aesthetic.corpus.quotes import _bare_quotes, _table_quotes, remove_quote
from perf.hostile_text import (
    reference_bare_quotes,
    reference_html_to_text,
    reference_remove_quote,
    reference_table_quotes,
)
from tests.conftest import shared_file

# The patterns' pieces, whole and broken, in other cases (re.I folds `İ` and `ı` to `i`), and what lies
# around them in real comments.
_PIECES = ["<table>", "<table ", "<TABLE class=q>", "<table a='>'>", "</table>", "</Table>", "</table ", "<tablex>",
           "Originally posted by", "ORİGİNALLY  POSTED\nBY", "originally posted by", "Originally posted", ":", ": ",
           "::", " ", "\n", "\t", "\u00a0", "<i>", "</i>", "<I>", "</İ>", "<i >", "<b>", "<b ", "</b>", "<bx>",
           "<b\u00e9>", "<div class=x>", "<div a='<b>'>", "<span>", "</span>", "<strong>", "</strong >", "<hr/>",
           "<hr >", "<hr>", "<br/>", "x", "é", ">", "<", "a:b", '"', "posted by", "&amp;", "&#39;"]


def _pick(rng: random.Random, pieces: list[str], most: int) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))


def _soup(rng: random.Random) -> str:
    return _pick(rng, _PIECES, 30)


def _bare_quote_like(rng: random.Random) -> str:
    """One to three bare quotes, each part present, broken or missing."""
    def one() -> str:
        return (_pick(rng, ["<b>", "<div class=t>", " ", "\n", "<span x='<b'>", "<b ", "x", "<strong>"], 3)
                + rng.choice(["Originally posted by", "originally  posted\tby", "Originally posted"])
                + _pick(rng, [" x", ":", " ", "<", "\n", "y:z", "Originally posted by"], 3)
                + rng.choice([":", "", "::"])
                + _pick(rng, [" ", "\n", "</b>", "</div>", "<hr/>", "<hr >", "x", "</span >"], 3)
                + rng.choice(["<i>", "<I>", "", "<i >"])
                + _pick(rng, ["q", ":", "<i>", "\n", "Originally posted by"], 3)
                + rng.choice(["</i>", "", "</I>", "</i"]) + _pick(rng, ["z", " ", "\n"], 2))
    return "".join(one() for _ in range(rng.randint(1, 3)))


def _table_quote_like(rng: random.Random) -> str:
    return _pick(rng, ["<table>", "<table ", "<table a='>'>", "</table>", "</table ", "<tablex", "Originally posted by",
                       "x", ">", "<", "\n", "<TABLE>", "</TABLE>"], 25)


@pytest.mark.parametrize(
    ("make", "ours", "reference"),
    [(_soup, remove_quote, reference_remove_quote), (_soup, _table_quotes, reference_table_quotes),
     (_table_quote_like, _table_quotes, reference_table_quotes),
     (_bare_quote_like, _bare_quotes, reference_bare_quotes), (_soup, html_to_text, reference_html_to_text)],
    ids=["rule-soup", "table-soup", "table-like", "bare-like", "html-soup"],
)
def test_generated_fields_give_the_patterns_own_text(make: Callable, ours: Callable, reference: Callable) -> None:
    rng = random.Random(20261203)
    fields = [make(rng) for _ in range(4000)]
    wrong = [text for text in fields if ours(text) != reference(text)]
    assert wrong == []
    # Not a vacuous check: the patterns change a good share of these fields.
    assert sum(reference(text) != text for text in fields) >= 150


def test_the_real_quote_reply_gives_the_patterns_own_text() -> None:
    fragment = shared_file("dpchallenge", "comment_7035001_quote_reply.fragment.html").read_text()
    assert remove_quote(fragment) == reference_remove_quote(fragment)
    assert "asigmatic" not in remove_quote(fragment) and "a third time" in remove_quote(fragment)


def test_matches_through_tags_inside_one_tag_start_at_the_first() -> None:
    """Tags inside another's attribute share its `>`: the match starts at the outermost one."""
    text = 'keep <b title="<b <span x=">  Originally posted by Bob: <i>his words</i> mine'
    assert remove_quote(text) == reference_remove_quote(text) == "keep \n mine"
