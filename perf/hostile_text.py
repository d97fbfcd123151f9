"""Text rules on hostile text, against the same patterns run by `re` alone: the corpus's quote and HTML
cleaning rules, and the Photo.net parser's signature and rating-average patterns.

Each case repeats the opening of a pattern without its end (a corrupt or hostile field), at a size
and at four times it. `re` tries every start and scans ahead from each, so its time grows about 16x
when the field grows 4x; the rules as written (corpus/quotes.py, `clean._before_last_gt`,
`photonet._strip_signature` and `_AVERAGE`) must grow about 4x. Both give the same result (checked
first, on every case), in the same process, CPU time.

It also times both on the real quote reply (../shared/data/dpchallenge/comment_7035001_quote_reply.fragment.html),
the ordinary case, where the linear way costs its extra scans.

Usage: python perf/hostile_text.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aesthetic.corpus.clean import html_to_text  # noqa: E402
from aesthetic.corpus.quotes import remove_quote  # noqa: E402
from aesthetic.crawler.sites.photonet import _AVERAGE, _strip_signature  # noqa: E402

# The rules as `re` patterns, each run over the whole text: the baseline here, and the reference the
# rules are checked against (tests/corpus/test_quotes.py, tests/crawler/test_parse_photonet.py).
_TABLE = re.compile(r"<table\b[^>]*>(?:(?!</?table\b).)*?Originally\s+posted\s+by.*?</table>", re.S | re.I)
_BARE = re.compile(
    r"(?:<(?:div|b|strong|span)\b[^>]*>\s*)*Originally\s+posted\s+by[^<\n]*?:\s*(?:</(?:div|b|strong|span)>\s*)*"
    r"(?:<hr\s*/?>\s*)?<i>.*?</i>", re.S | re.I)
_TEXT = re.compile(r"Originally\s+posted\s+by\s[^\n]*?:[ \t]*(?:\n[^\n]*)?(?:\n|$)|Originally\s+posted\s+by\s.*",
                   re.I | re.S)
_BLOCK_TAG = re.compile(r"<br\s*/?>|<hr\s*/?>|</?(?:p|div|tr|td|table|li|ul|ol|blockquote|h[1-6])\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
_SIGNATURE = re.compile(r"\n?\s*--\s*[^\n]*$")
_AVERAGE_ANY_START = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*7\s+average", re.IGNORECASE)


def reference_table_quotes(text: str) -> str:
    return _TABLE.sub("\n", text)


def reference_bare_quotes(text: str) -> str:
    return _BARE.sub("\n", text)


def reference_remove_quote(text: str) -> str:
    return _TEXT.sub("\n", reference_bare_quotes(reference_table_quotes(text)))


def reference_html_to_text(text: str) -> str:
    return html.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub("\n", text)))


def reference_strip_signature(text: str) -> str:
    return _SIGNATURE.sub("", text)


def _found(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return repr(match and (match.span(), match.group(1)))


def average_found(text: str) -> str:
    return _found(_AVERAGE, text)


def reference_average_found(text: str) -> str:
    return _found(_AVERAGE_ANY_START, text)


# name -> (repeated unit, what ends the field, the smaller field's KB, the rule's function, its reference);
# the sizes keep `re`'s time at four times the size within a few seconds
CASES: dict[str, tuple[str, str, float, Callable[[str], str], Callable[[str], str]]] = {
    "quote table, no </table>": ("<table>Originally posted by x: ", "", 30, remove_quote, reference_remove_quote),
    "quote table, no >": ("<table ", "", 30, remove_quote, reference_remove_quote),
    "bare quote, no </i>": ("Originally posted by x: <i>quoted ", "", 30, remove_quote, reference_remove_quote),
    "bare quote, no colon": ("Originally posted by x ", "<br>", 30, remove_quote, reference_remove_quote),
    "bare quote, no <i>": ("Originally posted by x: y ", "<br>", 30, remove_quote, reference_remove_quote),
    "bold tag, no >": ("<b ", "", 30, remove_quote, reference_remove_quote),
    "bold tags inside one tag": ("<b ", "> x Originally posted by y", 30, remove_quote, reference_remove_quote),
    "html tag, no >": ("<b ", "", 30, html_to_text, reference_html_to_text),
    "signature, -- above the end": ("-- ", "\nx\ny", 5, _strip_signature, reference_strip_signature),
    "average, a long digit run": ("1", " average", 2, average_found, reference_average_found),
}


REAL_QUOTE = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dpchallenge"
              / "comment_7035001_quote_reply.fragment.html")


def _cpu(fn: Callable[[str], str], text: str) -> float:
    start = time.process_time()
    fn(text)
    return time.process_time() - start


def run(scale: float) -> list[dict]:
    rows = []
    for name, (unit, end, kb, ours, reference) in CASES.items():
        repeats = max(1, int(kb * scale * 1000 / len(unit)))
        small, large = unit * repeats + end, unit * repeats * 4 + end
        for text in (small, large):
            if ours(text) != reference(text):
                raise SystemExit(f"{name}: the rule and its `re` reference give different text")
        rows.append({"case": name, "kb": len(small) / 1000,
                     "ours": (_cpu(ours, small), _cpu(ours, large)),
                     "reference": (_cpu(reference, small), _cpu(reference, large))})
    return rows


def real_quote_us(repeats: int) -> tuple[float, float]:
    """Microseconds of CPU per call on the real quote reply: (ours, `re` alone), alternating halves."""
    if not REAL_QUOTE.is_file():
        raise SystemExit(f"the real quote reply {REAL_QUOTE} is missing (see ../shared/data/README.md)")
    text = REAL_QUOTE.read_text(encoding="utf-8")
    if remove_quote(text) != reference_remove_quote(text):
        raise SystemExit("the real quote reply: the rule and its `re` reference give different text")
    ours = reference = 0.0
    for _ in range(2):
        ours += _cpu(lambda t: [remove_quote(t) for _ in range(repeats)], text)
        reference += _cpu(lambda t: [reference_remove_quote(t) for _ in range(repeats)], text)
    return ours / (2 * repeats) * 1e6, reference / (2 * repeats) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="times each case's field size")
    args = parser.parse_args()
    print(f"{'case':28} {'KB':>6}  {'ours s':>15} {'growth':>7}  {'re alone s':>15} {'growth':>7}  re/ours at 4x")
    for row in run(args.scale):
        (a, b), (c, d) = row["ours"], row["reference"]
        print(f"{row['case']:28} {row['kb']:6.0f}  {a:7.4f} {b:7.4f} {b / max(a, 1e-6):6.1f}x  {c:7.3f} {d:7.3f} "
              f"{d / max(c, 1e-6):6.1f}x  {d / max(b, 1e-6):7.0f}x")
    ours, reference = real_quote_us(20_000)
    print(f"real quote reply (1.3 KB): ours {ours:.1f} us, re alone {reference:.1f} us a call: {ours / reference:.2f}x")


if __name__ == "__main__":
    main()
