"""argparse types shared by the CLIs: a bad number is a usage error (exit 2) when the
command line is parsed, not a traceback (or a silent NaN) deep inside a run."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def finite_float(text: str) -> float:
    """A finite number: float() also takes 'nan' and 'inf', which would reach thresholds and schedulers."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return number


def float_at_least(low: float, *, strict: bool = False) -> Callable[[str], float]:
    """A finite number >= low (> low with `strict`)."""
    def parse(text: str) -> float:
        number = finite_float(text)
        if number < low or (strict and number == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, got {text}")
        return number
    return parse


def float_in(low: float, high: float) -> Callable[[str], float]:
    """A finite number in [low, high): a dropout rate of 1 would zero every activation."""
    def parse(text: str) -> float:
        number = finite_float(text)
        if not low <= number < high:
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}), got {text}")
        return number
    return parse


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer >= low: a 0 batch size or item limit is refused up front."""
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if number < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {number}")
        return number
    return parse
