"""Ratios, percentages and half-up rounding: done once, here, for every report and engine.

`docs/reports.md`, common rules: Huawei rates are strings with 4 decimals ("0.5000") and "-1.0000"
when the denominator is 0; 7moor percentages are `x * 100` rounded half up to 2 decimals and 0 for an
empty denominator; averages of seconds are integers rounded half up, 0 over nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["round_half_up", "ratio", "rate_string", "percent", "average_int", "to_decimal"]

Number = int | float | Decimal | None


def to_decimal(value: Number) -> Decimal:
    """A number as an exact Decimal (floats via their shortest repr, None as 0)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def round_half_up(value: Number, decimals: int = 0) -> Decimal:
    """Round half away from zero to `decimals` places (Python's round() is half-even)."""
    quantum = Decimal(1).scaleb(-decimals)
    return to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def ratio(numerator: Number, denominator: Number) -> Decimal | None:
    """numerator / denominator as an exact Decimal, None when the denominator is 0 or missing."""
    den = to_decimal(denominator)
    if den == 0:
        return None
    return to_decimal(numerator) / den


def rate_string(
    numerator: Number, denominator: Number, decimals: int = 4, empty: str = "-1"
) -> str:
    """A rate as a fixed-decimal string ("0.5000"); `empty` with `decimals` zeros when undefined."""
    value = ratio(numerator, denominator)
    if value is None:
        return f"{Decimal(empty):.{decimals}f}"
    return f"{round_half_up(value, decimals):.{decimals}f}"


def percent(numerator: Number, denominator: Number, decimals: int = 2) -> int | float:
    """A share as a percentage number rounded half up (33.33); 0 when the denominator is 0.

    Whole numbers come out as int (the 7moor seed writes `"evaluateRate": 100`).
    """
    value = ratio(numerator, denominator)
    if value is None:
        return 0
    rounded = round_half_up(value * 100, decimals)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def average_int(total: Number, count: Number) -> int:
    """An average rounded half up to an integer; 0 over nothing."""
    value = ratio(total, count)
    return 0 if value is None else int(round_half_up(value))
