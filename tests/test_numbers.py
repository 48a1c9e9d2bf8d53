"""Half-up rounding, rates, percentages and averages (`spec/reports.md`, common rules)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ccstats.numbers import average_int, percent, rate_string, ratio, round_half_up, to_decimal


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (2.5, 0, "3"),  # Python's round() gives 2
        (3.5, 0, "4"),
        (-2.5, 0, "-3"),  # half away from zero
        (0.125, 2, "0.13"),  # round(0.125, 2) gives 0.12
        (1.005, 2, "1.01"),  # the float's shortest repr, not its binary value (1.00499...)
        (Decimal("0.33335"), 4, "0.3334"),
        (7, 2, "7.00"),
        (None, 1, "0.0"),
    ],
)
def test_round_half_up(value: float | Decimal | None, decimals: int, expected: str) -> None:
    assert round_half_up(value, decimals) == Decimal(expected)
    assert str(round_half_up(value, decimals)) == expected


def test_ratio_is_exact_and_none_over_zero() -> None:
    assert ratio(1, 4) == Decimal("0.25")
    assert ratio(1, 0) is None
    assert ratio(1, None) is None
    assert ratio(None, 5) == 0
    assert to_decimal(0.1) == Decimal("0.1")


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, "0.5000"),  # Huawei autonomyRate in seed 000
        (1, 3, "0.3333"),
        (2, 3, "0.6667"),
        (1, 8, "0.1250"),
        (1, 16, "0.0625"),
        (5, 10000 * 2 + 1, "0.0002"),  # 0.000249... rounds down
        (1, 20000 / 5, "0.0003"),  # 0.00025 rounds half up
        (3, 3, "1.0000"),
        (0, 0, "-1.0000"),  # an empty denominator (reports.md)
        (4, 0, "-1.0000"),
    ],
)
def test_rate_string(numerator: float, denominator: float, expected: str) -> None:
    assert rate_string(numerator, denominator) == expected


def test_rate_string_with_other_decimals() -> None:
    # averageInteractPerCall has 2 decimals (reports.md): 13 / 8 = 1.625 -> 1.63.
    assert rate_string(13, 8, decimals=2) == "1.63"
    assert rate_string(0, 0, decimals=2) == "-1.00"
    assert rate_string(0, 0, decimals=2, empty="0") == "0.00"


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 3, 33.33),
        (2, 3, 66.67),
        (1, 8, 12.5),
        (1, 800, 0.13),  # 0.125 % rounds half up
        (3, 3, 100),  # the 7moor sample writes "evaluateRate": 100
        (0, 5, 0),
        (0, 0, 0),  # 0 when the denominator is 0
    ],
)
def test_percent(numerator: int, denominator: int, expected: float) -> None:
    value = percent(numerator, denominator)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [(5, 2, 3), (7, 2, 4), (10, 4, 3), (1780, 7, 254), (9, 4, 2), (0, 0, 0), (10, 0, 0)],
)
def test_average_int(total: int, count: int, expected: int) -> None:
    # 5/2 = 2.5 -> 3 and 10/4 = 2.5 -> 3 (half up, where round() gives 2); 1780/7 = 254.28...
    assert average_int(total, count) == expected
