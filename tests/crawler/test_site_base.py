"""The site contract's shared pieces: a comment built fast, and member ids read from profile links."""

from __future__ import annotations

from datetime import datetime

import pytest

from aesthetic.crawler.sites.base import ParsedComment, member_id

FIELDS = dict(position=3, comment_id=7, author="ann", text="Lovely light.", posted_at=datetime(2009, 5, 1, 13, 2),
              during_challenge=True, edited=True, helpful=False, author_id=108069)


def test_a_comment_built_by_of_is_the_one_the_constructor_builds() -> None:
    fast, plain = ParsedComment.of(**FIELDS), ParsedComment(**FIELDS)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    with pytest.raises(AttributeError):   # still frozen
        fast.text = "changed"


@pytest.mark.parametrize("drop", ["helpful", "author_id"])
def test_of_refuses_a_missing_field_rather_than_leave_it_unset(drop: str) -> None:
    with pytest.raises(TypeError, match="exactly the fields"):
        ParsedComment.of(**{k: v for k, v in FIELDS.items() if k != drop})


@pytest.mark.parametrize(("href", "expected"), [
    ("/profile.php?USER_ID=108069", 108069),                 # the usual link (the fast path)
    ("profile.php?USER_ID=108069&x=1", 108069),              # more parameters
    ("/profile.php?x=1&USER_ID=42", 42),
    ("/profile.php?USER_ID=%31%32", 12),                     # percent-encoded digits
    ("/profile.php?USER_ID=12a", None),
    ("/profile.php?USER_ID=\u0663", None),                   # a non-ASCII digit is not an id
    ("/profile.php?USER_ID=", None),
    ("/profile.php?USER_ID=1&USER_ID=2", None),              # two ids: neither is believed
    ("/profile.php?OTHER_ID=5", None),
    ("/profile.php#top?USER_ID=5", None),                    # after a `#`: the fragment, not the query
    ("/profile.php?USER_ID=5#top", 5),
    ("https://www.dpchallenge.com/profile.php?USER_ID=7", 7),
    (None, None),
])
def test_member_id(href: str | None, expected: int | None) -> None:
    assert member_id(href, "USER_ID") == expected
