"""The one rule for characters no reader sees, shared by the crawler (parsed pages) and the corpus
cleaner (imported dumps), so a comment is the same text whichever way it came in.

Removed: C0 and C1 control characters other than the ones that are whitespace (tab, line feed,
vertical tab, form feed, carriage return, U+0085 next line: the whitespace steps turn those into
spaces), DEL, and the bidirectional embedding, override and isolate characters U+202A-U+202E and
U+2066-U+2069, which are invisible yet reorder the text around them (the "Trojan Source" trick) and
can make a comment display as something it does not say.
"""

from __future__ import annotations

import re

# The characters of one character class that Python's re and RE2 (pyarrow's regex kernels) read the
# same way: the controls as \xHH escapes (code points, in both), the bidi controls as the characters
# themselves. Other classes are built from it (crawler/html_text.py adds the spaces HTML keeps).
INVISIBLE_CHARS = "\\x00-\\x08\\x0e-\\x1f\\x7f-\\x84\\x86-\\x9f\u202a-\u202e\u2066-\u2069"
INVISIBLE_PATTERN = f"[{INVISIBLE_CHARS}]"
_INVISIBLE = re.compile(INVISIBLE_PATTERN)


def strip_invisible(text: str) -> str:
    """`text` without the invisible characters above."""
    return _INVISIBLE.sub("", text)
