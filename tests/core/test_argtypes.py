"""The CLIs' shared argparse types refuse what would fail (or silently misbehave) later in a run."""

from __future__ import annotations

import argparse

import pytest

from aesthetic.core.argtypes import finite_float, float_at_least, float_in, int_at_least


@pytest.mark.parametrize(("text", "message"), [("x", "not a number: 'x'"), ("nan", "not a finite number"),
                                               ("inf", "not a finite number"), ("-inf", "not a finite number")])
def test_finite_float_refuses_non_numbers(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        finite_float(text)


def test_bounds() -> None:
    assert finite_float("2.5") == 2.5
    assert float_at_least(0)("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError, match="must be >= 0, got -1"):
        float_at_least(0)("-1")
    with pytest.raises(argparse.ArgumentTypeError, match="must be > 0, got 0"):
        float_at_least(0, strict=True)("0")
    assert float_in(0, 1)("0") == 0.0 and float_in(0, 1)("0.99") == 0.99
    for text in ("1", "-0.1"):
        with pytest.raises(argparse.ArgumentTypeError, match=rf"must be in \[0, 1\), got {text}"):
            float_in(0, 1)(text)
    assert int_at_least(1)("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="must be >= 1, got 0"):
        int_at_least(1)("0")
    with pytest.raises(argparse.ArgumentTypeError, match="not an integer: '1.5'"):
        int_at_least(1)("1.5")


def test_a_cli_turns_them_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="prog")
    parser.add_argument("--batch-size", type=int_at_least(1))
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--batch-size", "0"])
    assert stop.value.code == 2
    assert "argument --batch-size: must be >= 1, got 0" in capsys.readouterr().err
