"""Row masks from byte scans of an Arrow string buffer agree with plain Python checks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from aesthetic.corpus import bytescan
from aesthetic.corpus.bytescan import (byte_ranges, rows_with_bytes, rows_with_double_space, rows_with_edge_space,
                                       rows_with_substring)

TEXTS = ["skip me  ", "a  b", "a b", " a", "a\tb", "a\u00a0b", "ab ", "", "x<y", "Originally", "x riginally", "ri", "ginally"]


@pytest.fixture(params=["whole", "sliced", "tiny-chunks"])
def text(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Array, list[str]]:
    if request.param == "tiny-chunks":
        monkeypatch.setattr(bytescan, "CHUNK", 3)  # patterns across chunk borders
    if request.param == "sliced":
        return pa.array(TEXTS).slice(1), TEXTS[1:]
    return pa.array(TEXTS), TEXTS


def test_byte_ranges_merge_runs() -> None:
    assert byte_ranges(b"\t\n\x0b\x0c\r<&", non_ascii=True) == ((9, 13), (38, 38), (60, 60), (128, 255))


def test_scans_match_python(text: tuple[pa.Array, list[str]]) -> None:
    array, strings = text
    odd = byte_ranges(b"\t<", non_ascii=True)
    assert rows_with_bytes(array, odd).tolist() == [any(c in "\t<" or ord(c) > 127 for c in s) for s in strings]
    assert rows_with_double_space(array).tolist() == ["  " in s for s in strings]
    assert rows_with_edge_space(array).tolist() == [s != s.strip(" ") for s in strings]
    assert rows_with_substring(array, b"riginally").tolist() == ["riginally" in s for s in strings]


def test_empty_array() -> None:
    empty = pa.array([], pa.string())
    assert rows_with_bytes(empty, byte_ranges(b"<")).size == 0
    assert np.array_equal(rows_with_substring(empty, b"x"), np.zeros(0, bool))
