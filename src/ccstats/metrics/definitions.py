"""The shapes of metric definitions: a measure is a sum or count the engine computes; a ratio divides
two measures, in Python (`numbers.py`), never in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import sqlglot
from sqlglot import exp

__all__ = ["Measure", "Ratio", "Metric", "MeasureKind", "Unit", "FCR_COLUMNS"]

MeasureKind = Literal["count", "sum", "max", "count_distinct", "no_repeat_within"]

FCR_COLUMNS = frozenset({"tenant_id", "customer_id", "created_at", "ended_at"})
"""The columns a `no_repeat_within` measure reads of its own and its customer's other rows."""

_OTHER_ROWS = (exp.Select, exp.Subquery, exp.Exists, exp.Window)
"""Expression nodes that read rows other than the measure's own."""
Unit = Literal[
    "conversations",
    "messages",
    "seconds",
    "turns",
    "requests",
    "ratio",
    "epoch_ms",
    "agents",
    "currency",
]
"""What a metric's value counts or measures; `currency` is an amount in the records' own
currency (ccstats converts none)."""


@dataclass(frozen=True)
class Measure:
    """An aggregate the engine returns as a plain number.

    `expr` and `where` are portable SQL expressions (DuckDB's syntax, which sqlglot reads) over
    the conversation table's columns (alias `c`), compiled to an engine's SQL only in
    `storage/`. A `count` counts rows matching `where`; a `sum` adds `expr` (nulls as 0) over
    rows matching `where`; `max` is the largest `expr`; `count_distinct` counts distinct `expr`.
    A `no_repeat_within` counts rows matching `where` whose customer opened no other
    conversation of the tenant within `within_hours` after this one ended (first-contact
    resolution, reports.md); each engine implements it its own way (DuckDB keeps each
    conversation's next contact).
    """

    name: str
    description: str
    unit: Unit
    kind: MeasureKind = "count"
    expr: str | None = None
    where: str | None = None
    within_hours: int | None = None

    @cached_property
    def trees(self) -> tuple[exp.Expr, ...]:
        """`expr` and `where` parsed (those given)."""
        texts = (t for t in (self.expr, self.where) if t)
        return tuple(sqlglot.parse_one(t, read="duckdb") for t in texts)

    @cached_property
    def columns(self) -> frozenset[str]:
        """The conversation columns the measure reads."""
        named = {c.name for tree in self.trees for c in tree.find_all(exp.Column)}
        return frozenset(named | (FCR_COLUMNS if self.kind == "no_repeat_within" else set()))

    @cached_property
    def reads_only_its_row(self) -> bool:
        """Whether each row's part depends on that row alone (no subquery, window or other
        rows): then a sum of per-slot parts equals the whole, and a rollup may hold it."""
        if self.kind == "no_repeat_within":
            return False
        return not any(tree.find(*_OTHER_ROWS) for tree in self.trees)

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
