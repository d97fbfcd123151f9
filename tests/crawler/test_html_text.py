"""Decoding pages as they declare, and comment HTML -> the plain text a reader sees."""

from __future__ import annotations

import re
import sys

import pytest
from selectolax.lexbor import LexborHTMLParser

from aesthetic.core.text import strip_invisible
from aesthetic.crawler.html_text import (
    _SPACES,
    _UTF8_PIECE,
    BREAK,
    KEPT_SPACES,
    collapse_text,
    decode_html,
    ends_html,
    guess_charset,
    html_utf8,
    is_utf8,
    node_text,
)

CAFE = "caf\u00e9 \u2019"


@pytest.mark.parametrize(("body", "content_type", "text"), [
    (CAFE.encode("utf-8"), "text/html; charset=utf-8", CAFE),
    (CAFE.encode("cp1252"), 'text/html; charset="ISO-8859-1"', CAFE),     # latin-1 label means cp1252
    (b'<meta charset="windows-1252">' + CAFE.encode("cp1252"), None, CAFE),
    (b"\xef\xbb\xbf" + CAFE.encode("utf-8"), None, CAFE),                 # BOM dropped
    (b"\xef\xbb\xbf" + CAFE.encode("utf-8"), "text/html; charset=windows-1252", CAFE),  # a BOM wins
    # The header wins over <meta>; an unknown label is no declaration (then <meta>, then a guess).
    (b'<meta charset="utf-8">' + CAFE.encode("cp1252"), "text/html; charset=windows-1252", CAFE),
    (CAFE.encode("utf-8"), "text/html; charset=x-no-such-codec", CAFE),
    (b'<meta charset="windows-1252">' + CAFE.encode("cp1252"), "text/html; charset=x-nope", CAFE),
    (CAFE.encode("utf-8"), "text/html; charset=utf-7", CAFE),           # never honoured: guessed instead
    # A declaration is believed: bytes invalid in it are replaced, one by one, never re-read as cp1252.
    (CAFE.encode("cp1252"), "text/html; charset=utf-8", "caf\ufffd \ufffd"),
    ("h\u00e9 caf\u00e9".encode("utf-8").replace(b" ", b"\x92"), "text/html; charset=utf-8", "h\u00e9\ufffdcaf\u00e9"),
    ('<meta charset="utf-8">d\u00e9j\u00e0 vu'.encode("utf-8") + b"\xff", None, "d\u00e9j\u00e0 vu\ufffd"),
])
def test_decode(body: bytes, content_type: str | None, text: str) -> None:
    assert decode_html(body, content_type).endswith(text)
    assert not decode_html(body, content_type).startswith("\ufeff")
    # The bytes lexbor is given, and the markers are sought in, are that text.
    assert html_utf8(body, content_type).decode("utf-8") == decode_html(body, content_type)


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Each of these cut at every offset around a boundary between two of is_utf8's pieces, and wrong there.
_AROUND_PIECES = [b"x" * (_UTF8_PIECE - k) + seq + b"y" * 3
                  for seq in ("\u00e9".encode(), "\u2019".encode(), "\U0001f600".encode(),
                              b"\xe2\x80", b"\xf0\x9f\x98", b"\xff", b"\xed\xa0\x80", b"\xc0\xaf")
                  for k in range(5)]


@pytest.mark.parametrize("data", [b"", b"plain", CAFE.encode(), CAFE.encode("cp1252"), b"ends cut \xe2\x80",
                                  b"\xe2\x80\x99" * _UTF8_PIECE, *_AROUND_PIECES,
                                  *(piece[:len(piece) - 3] for piece in _AROUND_PIECES)])
def test_is_utf8_is_strict_decoding(data: bytes) -> None:
    assert is_utf8(data) == _valid_utf8(data)


def test_a_page_that_is_valid_utf8_is_given_as_it_came() -> None:
    body = b'<meta charset="utf-8">' + CAFE.encode() * _UTF8_PIECE
    assert html_utf8(body, None) is body and html_utf8(body, "text/html; charset=utf-8") is body
    assert html_utf8(body + b"\xff", None) == body + "\ufffd".encode()


@pytest.mark.parametrize(("tail", "ends"), [
    (b"</body></html>\n", True), (b"</BODY></HTML>", True), (b"</html>" + b" " * 4089, True),
    (b"</html>" + b" " * 4090, False), (b"</body></ht", False), (b"", False),
])
def test_ends_html(tail: bytes, ends: bool) -> None:
    assert ends_html(b"<html><body>" + b"x" * 5000 + tail) == ends


@pytest.mark.parametrize(("body", "guess"), [
    (CAFE.encode("utf-8"), "utf-8"),
    ("d\u00e9j\u00e0 vu, na\u00efve \u2014 caf\u00e9".encode("utf-8") + b" \x92 stray", "utf-8"),  # one stray byte
    (CAFE.encode("cp1252"), "cp1252"),
    ("d\u00e9j\u00e0 vu, na\u00efve caf\u00e9".encode("cp1252"), "cp1252"),
    (b"plain ascii", "utf-8"),
])
def test_undeclared_pages_are_guessed(body: bytes, guess: str) -> None:
    assert guess_charset(body) == guess


def test_an_undeclared_utf8_page_with_a_stray_byte_is_not_mojibake() -> None:
    body = "d\u00e9j\u00e0 vu, na\u00efve \u2014 caf\u00e9".encode("utf-8") + b" \x92"
    assert decode_html(body, "text/html") == "d\u00e9j\u00e0 vu, na\u00efve \u2014 caf\u00e9 \ufffd"


def test_decode_never_fails() -> None:
    assert decode_html(b"a\x81b", None) == "a\ufffdb"   # 0x81 is undefined even in cp1252


def test_node_text_breaks_and_spaces() -> None:
    html = "<td>\r\n  one &amp;\r\n two<br>three<br/><br><br>four<p>para</p><img src=x>end&nbsp;&nbsp;.</td>"
    node = LexborHTMLParser(f"<table><tr>{html}</tr></table>").css_first("td")
    assert node_text(node) == "one & two\nthree\n\nfour\npara\nend ."


def test_node_text_of_nesting_deeper_than_the_recursion_limit() -> None:
    depth = sys.getrecursionlimit() * 3
    html = "<span>" * depth + "in<br>deep<div>block</div>" + "</span>" * depth + "after<script>x</script>"
    node = LexborHTMLParser(f"<table><tr><td>{html}</td></tr></table>").css_first("td")
    assert node_text(node) == "in\ndeep\nblock\nafter"


@pytest.mark.parametrize(("cell", "text"), [
    ("Nice<script>document.write('spam')</script> light", "Nice light"),
    ("Nice<style>td { color: red }</style> light", "Nice light"),
    ("Nice<template><p>hidden</p></template> light", "Nice light"),
    ("Nice<noscript>enable JavaScript</noscript> light", "Nice light"),
    ("Nice<noscript><noscript>nested</noscript><script>x</script></noscript> light", "Nice light"),
    ("Ni\x01ce\x7f li\x9fght", "Nice light"),                   # C0, DEL, C1 controls
    ("Ni&#1;ce li&#x8d;ght&#0;", "Nice light\ufffd"),           # as references (&#0; is U+FFFD)
    ("Nice \u202eelttil\u202c light \u2066x\u2069", "Nice elttil light x"),  # bidi overrides and isolates
    ("Nice\x85light\x0bnow", "Nice light now"),                 # whitespace controls are spaces
])
def test_comment_text_is_the_visible_text(cell: str, text: str) -> None:
    node = LexborHTMLParser(f"<table><tr><td>{cell}</td></tr></table>").css_first("td")
    assert node_text(node) == text


def test_the_split_shortcut_sees_the_same_spaces_as_html() -> None:
    """collapse_text uses str.split() unless the text holds one of KEPT_SPACES: exactly the characters
    str.split() treats as space that HTML collapsing keeps (after the invisible ones are removed)."""
    split_only = {c for c in map(chr, range(sys.maxunicode + 1))
                  if c.isspace() and strip_invisible(c) and not _SPACES.fullmatch(c)}
    kept = re.compile(f"[{KEPT_SPACES}]")
    assert split_only == {c for c in map(chr, range(sys.maxunicode + 1)) if kept.fullmatch(c)}
    assert {c for c in map(chr, range(sys.maxunicode + 1)) if _SPACES.fullmatch(c) and not c.isspace()} == {"\u200b"}


@pytest.mark.parametrize(("raw", "text"), [
    # Spaces HTML does not collapse stay inside a line and go at its ends, as the rule says.
    (f"a\u3000 b{BREAK} \u3000c\u2028 ", "a\u3000 b\nc"),
    (f"x\u2009\u2009y{BREAK}{BREAK}{BREAK}{BREAK}z", "x\u2009\u2009y\n\nz"),
    ("in\x01visible \u202eand\u202c  spaced", "invisible and spaced"),
    # Only HTML whitespace: the str.split way, the same lines.
    (f" one \u200b\u200b two\r\n{BREAK} \t{BREAK}{BREAK}\xa0three\x85 ", "one two\n\nthree"),
    (f"{BREAK}{BREAK}{BREAK}", ""),
    ("", ""),
])
def test_collapse_text(raw: str, text: str) -> None:
    assert collapse_text(raw) == text
