"""Decoding pages like a browser, and comment HTML -> plain text."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from aesthetic.crawler.html_text import decode_html, node_text

CAFE = "caf\u00e9 \u2019"


@pytest.mark.parametrize(("body", "content_type"), [
    (CAFE.encode("utf-8"), "text/html; charset=utf-8"),
    (CAFE.encode("cp1252"), 'text/html; charset="ISO-8859-1"'),          # latin-1 label means cp1252
    (b'<meta charset="windows-1252">' + CAFE.encode("cp1252"), None),
    (CAFE.encode("cp1252"), "text/html; charset=utf-8"),                 # a false declaration
    (CAFE.encode("utf-8"), "text/html; charset=x-no-such-codec"),
    (b"\xef\xbb\xbf" + CAFE.encode("utf-8"), None),                       # BOM dropped
])
def test_decode(body: bytes, content_type: str | None) -> None:
    assert decode_html(body, content_type).endswith(CAFE)
    assert not decode_html(body, content_type).startswith("\ufeff")


def test_decode_never_fails() -> None:
    assert decode_html(b"a\x81b", None) == "a\ufffdb"   # 0x81 is undefined even in cp1252


def test_node_text_breaks_and_spaces() -> None:
    html = "<td>\r\n  one &amp;\r\n two<br>three<br/><br><br>four<p>para</p><img src=x>end&nbsp;&nbsp;.</td>"
    node = LexborHTMLParser(f"<table><tr>{html}</tr></table>").css_first("td")
    assert node_text(node) == "one & two\nthree\n\nfour\npara\nend ."
