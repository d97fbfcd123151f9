"""What an answer means (crawler/verdict.py), case by case, without a server."""

from __future__ import annotations

import pytest

from aesthetic.crawler.sites.base import ParsedComment, ParsedPage
from aesthetic.crawler.verdict import Verdict, final, judge, needs_parse

COMMENT = ParsedComment(0, 1, "a", "Lovely light.", None, None)
PHOTO = ParsedPage("ok", [COMMENT], "https://images.example/1.jpg")
EMPTY_PHOTO = ParsedPage("ok", [], "https://images.example/1.jpg")
CUT = ParsedPage("ok", [COMMENT], "https://images.example/1.jpg", complete=False)
BLOCK = ParsedPage("blocked")
GONE = ParsedPage("missing")
ODD = ParsedPage("unrecognised")
ODD_CUT = ParsedPage("unrecognised", complete=False)

# (status, page, archived, parse error, misattributed) -> (action, odd, keep_page, reason contains)
CASES = [
    (200, PHOTO, False, None, None, ("done", False, True, None)),
    (200, EMPTY_PHOTO, False, None, None, ("done", False, True, None)),        # recognised, really no comments
    (200, PHOTO, True, None, None, ("done", False, True, None)),
    (404, None, False, None, None, ("missing", False, False, None)),
    (410, None, True, None, None, ("missing", False, False, None)),
    (200, GONE, False, None, None, ("missing", False, True, None)),
    (200, BLOCK, False, None, None, ("block", False, True, "block page")),
    (200, BLOCK, True, None, None, ("fail", False, True, "capture is the site's block page")),
    (403, BLOCK, False, None, None, ("block", False, False, "block page")),
    (403, ODD, False, None, None, ("retry", True, False, "HTTP 403")),
    (403, None, False, None, None, ("retry", True, False, "HTTP 403")),
    # A page the parser does not recognise is never "done, 0 comments": odd (live) or failed (archive).
    (200, ODD, False, None, None, ("retry", True, True, "not a photo page")),
    (200, ODD, True, None, None, ("fail", False, True, "not a photo page")),
    (200, CUT, False, None, None, ("retry", True, True, "truncated")),
    (200, CUT, True, None, None, ("fail", False, True, "capture looks truncated")),
    (200, ODD_CUT, False, None, None, ("retry", True, True, "truncated")),
    (200, None, False, "parse error: KeyError('x')", None, ("fail", False, True, "parse error")),
    (200, PHOTO, False, None, "another page than X", ("fail", False, True, "another page")),
    (200, PHOTO, True, None, "the capture is of Y, another page", ("fail", False, True, "capture is of Y")),
    (200, BLOCK, False, None, "another page than X", ("fail", False, True, "another page")),
    (429, None, False, None, None, ("retry", False, False, "HTTP 429")),
    (503, None, True, None, None, ("retry", False, False, "HTTP 503")),
    (500, None, False, None, None, ("retry", False, False, "HTTP 500")),
    (599, None, False, None, None, ("retry", False, False, "HTTP 599")),
    (408, None, False, None, None, ("retry", False, False, "HTTP 408")),
    (400, None, False, None, None, ("fail", False, False, "HTTP 400")),
    (401, None, False, None, None, ("fail", False, False, "HTTP 401")),
    (451, None, False, None, None, ("fail", False, False, "HTTP 451")),
    (302, None, False, None, None, ("fail", False, False, "HTTP 302")),  # a redirect without Location
    (204, None, False, None, None, ("fail", False, False, "HTTP 204")),
]


@pytest.mark.parametrize(("status", "page", "archived", "error", "wrong", "expected"), CASES)
def test_judge(status, page, archived, error, wrong, expected) -> None:
    verdict = judge(status, page, archived=archived, parse_error=error, misattributed=wrong)
    action, odd, keep, reason = expected
    assert (verdict.action, verdict.odd, verdict.keep_page) == (action, odd, keep)
    assert verdict.normal == (action == "done")  # only a real photo page tells us the host is fine
    if reason is None:
        assert verdict.reason is None
    else:
        assert reason in verdict.reason


def test_only_200_and_403_answers_are_parsed() -> None:
    assert [s for s in (200, 204, 301, 403, 404, 429, 500) if needs_parse(s)] == [200, 403]
    with pytest.raises(ValueError):
        judge(200, None, archived=False)


@pytest.mark.parametrize(("verdict", "state"), [
    (Verdict("done"), ("done", None)),
    (Verdict("missing"), ("missing", None)),
    (Verdict("fail", "HTTP 400"), ("failed", "HTTP 400")),
    (Verdict("retry", "the page looks truncated"), ("failed", "the page looks truncated")),
    (Verdict("block", "the site's block page"), ("failed", "the site's block page")),
])
def test_final_state_when_no_more_tries_are_possible(verdict: Verdict, state) -> None:
    """After the last attempt, and in `reparse`, a verdict that would retry or cool down is a failure."""
    assert final(verdict) == state
