"""The shapes of metric definitions: a measure is a sum or count the engine computes; a ratio divides
two measures, in Python (`numbers.py`), never in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Measure", "Ratio", "Metric", "MeasureKind", "Unit"]

MeasureKind = Literal["count", "sum", "max", "count_distinct"]
Unit = Literal[
    "conversations", "messages", "seconds", "turns", "requests", "ratio", "epoch_ms", "agents"
]


@dataclass(frozen=True)
class Measure:
    """An aggregate the engine returns as a plain number.

    `expr` and `where` are portable SQL expressions over the conversation table's columns (alias
    `c`), compiled to an engine's SQL only in `storage/`. A `count` counts rows matching `where`; a
    `sum` adds `expr` (nulls as 0) over rows matching `where`; `max` is the largest `expr`.
    """

    name: str
    description: str
    unit: Unit
    kind: MeasureKind = "count"
    expr: str | None = None
    where: str | None = None

    @property
    def is_ratio(self) -> bool:
        """Measures are never ratios."""
        return False


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator of two measures, computed in Python after the query.

    `unit="ratio"` is a fraction 0..1 that a report formats as a rate or a percentage; `seconds` and
    `turns` are averages.
    """

    name: str
    description: str
    numerator: str
    denominator: str
    unit: Unit = "ratio"

    @property
    def is_ratio(self) -> bool:
        """Ratios are computed from two measures."""
        return True


Metric = Measure | Ratio
