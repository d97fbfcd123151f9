"""Row masks from byte scans of an Arrow string buffer agree with plain Python checks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from aesthetic.corpus import bytescan
from aesthetic.corpus.bytescan import rows_with_bytes

TEXTS = ["skip me  ", "a  b", "a b", " a", "a\tb", "a\u00a0b", "ab ", "", "x<y", "6/10", "gave it a 7", "seven"]


@pytest.fixture(params=["whole", "sliced", "tiny-chunks"])
def text(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Array, list[str]]:
    if request.param == "tiny-chunks":
        monkeypatch.setattr(bytescan, "CHUNK", 3)  # patterns across chunk borders
    if request.param == "sliced":
        return pa.array(TEXTS).slice(1), TEXTS[1:]
    return pa.array(TEXTS), TEXTS


def test_scans_match_python(text: tuple[pa.Array, list[str]]) -> None:
    array, strings = text
    odd = ((9, 9), (60, 60), (128, 255))  # a tab, "<", any non-ASCII byte
    assert rows_with_bytes(array, odd).tolist() == [any(c in "\t<" or ord(c) > 127 for c in s) for s in strings]
    digits = ((ord("0"), ord("9")),)
    assert rows_with_bytes(array, digits).tolist() == [any(c.isdigit() for c in s) for s in strings]


def test_empty_array() -> None:
    empty = pa.array([], pa.string())
    assert np.array_equal(rows_with_bytes(empty, ((60, 60),)), np.zeros(0, bool))
