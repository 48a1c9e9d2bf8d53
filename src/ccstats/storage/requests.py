"""The plain values that cross the storage boundary: search requests and pages, result tables,
agent interval totals, and the `Changes` an upsert or a flush made. Times are aware UTC, except
`SearchPage.values` (see there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import Filters
from ccstats.schema import CONVERSATION_COLUMNS

__all__ = ["Changes", "Erased", "IntervalTotal", "SearchPage", "SearchRequest", "Span", "Table"]


@dataclass(frozen=True)
class Table:
    """A result: column names and rows of plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str = ""

    def dicts(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class SearchRequest:
    """A page of one tenant's conversations: range, equality filters, sort, paging.

    `sort` is (column, descending) pairs; `id` always breaks ties. `after` is a keyset cursor: the
    sort values and id of the last row of the previous page. `offset` is used only without `after`.
    """

    tenant_id: str
    start: datetime | None = None
    end: datetime | None = None
    time_field: str = "created_at"
    end_inclusive: bool = False
    filters: Filters = ()
    sort: tuple[tuple[str, bool], ...] = (("created_at", True),)
    limit: int | None = 100
    offset: int = 0
    after: tuple[Any, ...] | None = None
    columns: tuple[str, ...] | None = None
    counted_by: Measure | None = None
    """Only the conversations a catalogue measure counts or adds (its condition, compiled by the
    engine: a `no_repeat_within` reads the engine's next contacts)."""


@dataclass(frozen=True)
class SearchPage:
    """Rows of a search and, when asked, the total match count.

    `values` are the rows as the engine returns them: tuples in the order of `columns`, times as
    naive UTC (the one place where times cross the boundary naive: a wire format that writes many
    rows reads them as they are, and a 1000-row page of 86 columns is 86 000 values; making each
    time aware costs about 1 us a value). `rows` and `row` give dicts with aware UTC times.
    """

    columns: tuple[str, ...]
    values: list[tuple[Any, ...]]
    total: int | None = None

    @cached_property
    def _times(self) -> tuple[int, ...]:
        return tuple(
            i for i, name in enumerate(self.columns) if CONVERSATION_COLUMNS.get(name) == "time"
        )

    def row(self, index: int) -> dict[str, Any]:
        """Row `index` as a dict, times as aware UTC."""
        values = self.values[index]
        out = dict(zip(self.columns, values, strict=True))
        for i in self._times:
            if values[i] is not None:
                out[self.columns[i]] = values[i].replace(tzinfo=UTC)
        return out

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict, times as aware UTC."""
        return [self.row(i) for i in range(len(self.values))]

    def column(self, name: str) -> list[Any]:
        """One column of every row, as the engine returns it (times naive UTC)."""
        i = self.columns.index(name)
        return [values[i] for values in self.values]


@dataclass(frozen=True)
class IntervalTotal:
    """Seconds an agent spent logged in (`kind=login`) or in a status, clipped to a range."""

    agent_id: str
    kind: Literal["login", "status"]
    status_id: str | None
    seconds: float
    intervals: int


Span = tuple[datetime | None, datetime | None]
"""A closed time span [lo, hi]; None at either end: open (a change of everything)."""


@dataclass(frozen=True)
class Changes:
    """Per tenant, the span of every time an upsert or a flush wrote or replaced (of any time
    field of the rows it touched). Kept answers whose range misses the span stay valid."""

    spans: Mapping[str, Span] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.spans)

    @classmethod
    def of_rows(cls, rows: list[tuple[Any, ...]]) -> Changes:
        """From (tenant_id, lo, hi) rows as an engine returns them (naive UTC or aware)."""
        return cls({tenant: (_utc(lo), _utc(hi)) for tenant, lo, hi in rows})

    @classmethod
    def everything(cls, tenant_id: str) -> Changes:
        """A change of every time of one tenant (e.g. its time zone changed)."""
        return cls({tenant_id: (None, None)})

    def merge(self, other: Changes) -> Changes:
        """Both changes: per tenant, the span covering both."""
        spans = dict(self.spans)
        for tenant, (lo, hi) in other.spans.items():
            if tenant not in spans:
                spans[tenant] = (lo, hi)
                continue
            a, b = spans[tenant]
            spans[tenant] = (
                None if a is None or lo is None else min(a, lo),
                None if b is None or hi is None else max(b, hi),
            )
        return Changes(spans)


@dataclass(frozen=True)
class Erased:
    """What `Store.erase` deleted: conversations, their messages, agent intervals, and the
    times that changed (as an upsert's `Changes`)."""

    conversations: int = 0
    messages: int = 0
    intervals: int = 0
    changes: Changes = field(default_factory=Changes)

    def counts(self) -> dict[str, int]:
        """`{"conversations", "messages", "agent_intervals"}` as the API answers them."""
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "agent_intervals": self.intervals,
        }


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
