"""Aggregates on ClickHouse: signed partial sums per slot and group, folded into the request's
buckets in Python.

Buckets are the request's own starts (`timebuckets`, from Python's zone rules), never computed by
ClickHouse's zone functions (`toStartOfHour` cuts Lord Howe's half-hour DST wrong: design notes,
section 5). The engine groups rows by *slot*: whole steps of `grid` microseconds from the first
start, where `grid` is the greatest common divisor of the gaps between starts, so every start is
a slot boundary and every slot lies in one bucket (a month of local days across a DST change:
hour slots; days of a zone without one: the buckets themselves). Python then maps each slot to
its bucket (the latest start at or before it, clamped to the last) and adds the parts:
counts and sums add as integers, maxima take the max, distinct values unite. Integer nanoseconds
of float sums are divided once (`n / 10**9`, correctly rounded), on exact totals.

A group shows when it holds a live row (`sum(sign) > 0`): a bucket a correction moved every row
out of is absent, as in a fresh aggregation.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.storage.clickhouse import sql as q

__all__ = ["Plan", "fold", "plan", "row_bound"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(instant: datetime) -> int:
    """Microseconds since 1970 of an aware instant (a naive one is UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Plan:
    """A request's SQL and what `fold` needs to turn its rows into the answer."""

    sql: str
    params: dict[str, Any]
    measures: tuple[Measure, ...]
    starts_us: tuple[int, ...] | None
    grid: int
    groups: int


def grid_of(starts_us: Sequence[int]) -> int:
    """The widest slot on which every start lies (0: one bucket, no slots)."""
    gaps = [b - a for a, b in zip(starts_us, starts_us[1:], strict=False)]
    return math.gcd(*gaps) if gaps else 0


def plan(table: str, request: AggregateRequest) -> Plan:
    """The SELECT of a request's partial sums per slot and group."""
    params = q.Params()
    tf = q.column(request.time_field)
    keys: list[str] = []
    where = (
        f"c.tenant_id = {params.text(request.tenant_id)}"
        f" AND {tf} >= {params.time(request.start)} AND {tf} < {params.time(request.end)}"
    )
    starts_us: tuple[int, ...] | None = None
    grid = 0
    if request.bucket_starts is not None:
        starts_us = tuple(epoch_us(b) for b in request.bucket_starts)
        grid = grid_of(starts_us)
        first = params.add(starts_us[0], "Int64")
        # Rows before the first start are in no bucket (as DuckDB's ASOF join drops them).
        where += f" AND toUnixTimestamp64Micro({tf}) >= {first}"
        slot = (
            f"intDiv(toUnixTimestamp64Micro({tf}) - {first}, {params.add(grid, 'Int64')})"
            if grid
            else "toInt64(0)"
        )
        keys.append(f"{slot} AS _slot")
    keys += [f"{q.column(g)} AS `g_{g}`" for g in request.group_by]
    where += q.filters_sql(request.filters, params)
    parts = ["sum(sign) AS _live"]
    for i, measure in enumerate(request.measures):
        parts += q.measure_parts(measure, i)
    final = " FINAL" if q.needs_final(request.measures) else ""
    sql = f"SELECT {', '.join([*keys, *parts])} FROM {table} AS c{final} WHERE {where}"
    if keys:
        # A slot of a group without a live row adds nothing to any measure (its cancel rows
        # take back what its rows added; FINAL drops both): left out, so the rows the engine
        # returns are bounded by the answer's (`row_bound`).
        sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} HAVING _live > 0"
    return Plan(sql, params.values, request.measures, starts_us, grid, len(request.group_by))


def row_bound(p: Plan, request: AggregateRequest) -> int | None:
    """At most how many rows the engine returns for an answer of `request.max_rows` rows:
    each answer row folds at most one row per slot of its bucket (None: no limit asked)."""
    if request.max_rows is None:
        return None
    per = 1
    if p.starts_us is not None and p.grid:
        edges = [*p.starts_us, max(epoch_us(request.end), p.starts_us[-1] + 1)]
        per = max(-(-(b - a) // p.grid) for a, b in zip(edges, edges[1:], strict=False))
    return request.max_rows * per


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class _Sums:
    """One output row's running parts: live rows, then per measure its total (and, for sums,
    how many live values it added)."""

    __slots__ = ("live", "values", "present")

    def __init__(self, measures: int) -> None:
        self.live = 0
        self.values: list[Any] = [None] * measures
        self.present = [0] * measures

    def add(self, row: Sequence[Any], measures: Sequence[Measure], offset: int) -> None:
        self.live += int(row[offset] or 0)
        at = offset + 1
        for i, measure in enumerate(measures):
            value = row[at]
            at += 1
            if q.is_count(measure):
                self.values[i] = (self.values[i] or 0) + int(value or 0)
            elif measure.kind == "max":
                if value is not None and (self.values[i] is None or value > self.values[i]):
                    self.values[i] = value
            elif measure.kind == "count_distinct":
                self.values[i] = (self.values[i] or set()) | set(value or ())
            else:
                self.values[i] = (self.values[i] or 0) + int(value or 0)
                self.present[i] += int(row[at] or 0)
                at += 1

    def result(self, measures: Sequence[Measure]) -> list[Any]:
        out: list[Any] = []
        for i, measure in enumerate(measures):
            value = self.values[i]
            if q.is_count(measure):
                out.append(value or 0)
            elif measure.kind == "max":
                out.append(_utc(value))
            elif measure.kind == "count_distinct":
                out.append(len(value or ()))
            elif self.present[i] <= 0:
                out.append(None)
            elif q.is_float_sum(measure):
                out.append(value / 1_000_000_000)  # int / int: correctly rounded
            else:
                out.append(value)
        return out


def _order(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def fold(
    p: Plan, rows: Sequence[Sequence[Any]], buckets: Sequence[datetime] | None
) -> list[tuple[Any, ...]]:
    """The answer's rows from the engine's slot rows: (bucket, groups..., measures...), sorted
    by bucket and groups (NULLs last), groups without a live row left out."""
    offset = (1 if p.starts_us is not None else 0) + p.groups
    if p.starts_us is None and p.groups == 0:
        total = _Sums(len(p.measures))
        for row in rows:
            total.add(row, p.measures, offset)
        return [tuple(total.result(p.measures))]
    assert p.starts_us is None or buckets is not None
    folded: dict[tuple[Any, ...], _Sums] = {}
    first = p.starts_us[0] if p.starts_us else 0
    for row in rows:
        key: tuple[Any, ...] = tuple(_utc(v) for v in row[offset - p.groups : offset])
        if p.starts_us is not None:
            index = bisect_right(p.starts_us, first + int(row[0]) * p.grid) - 1
            key = (index, *key)
        found = folded.get(key)
        if found is None:
            found = folded[key] = _Sums(len(p.measures))
        found.add(row, p.measures, offset)
    out = []
    for key in sorted(folded, key=lambda k: tuple(_order(v) for v in k)):
        sums = folded[key]
        if sums.live <= 0:
            continue
        head: tuple[Any, ...] = key
        if p.starts_us is not None and buckets is not None:
            head = (buckets[key[0]].astimezone(UTC), *key[1:])
        out.append((*head, *sums.result(p.measures)))
    return out
