"""perf/hostile_text.py at a tiny size: every case runs, checked equal to `re` first, and reports both times."""

from __future__ import annotations

import pytest

from perf.hostile_text import CASES, real_quote_us, run
from tests.conftest import shared_file


def test_every_case_reports_both_sizes_for_both_ways() -> None:
    rows = run(scale=0.01)
    assert [row["case"] for row in rows] == list(CASES)
    for row in rows:
        assert row["kb"] > 0 and len(row["ours"]) == len(row["reference"]) == 2
        assert min(*row["ours"], *row["reference"]) >= 0


def test_the_real_quote_reply_is_timed_both_ways() -> None:
    shared_file("dpchallenge", "comment_7035001_quote_reply.fragment.html")
    ours, reference = real_quote_us(repeats=5)
    assert ours > 0 and reference > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_hostile_field_gives_what_re_gives(case: str) -> None:
    unit, end, _, ours, reference = CASES[case]
    text = unit * 300 + end
    assert ours(text) == reference(text)
