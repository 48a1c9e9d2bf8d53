"""The query model: one tenant, a time range on a time field, buckets in the tenant's zone,
group-by, filters and metrics -> rows of measures and ratios (ratios with their parts).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ccstats.limits import MAX_BUCKETS, MAX_QUERY_ROWS
from ccstats.metrics import UnknownNameError, get_metric
from ccstats.metrics.catalog import resolve_parametric
from ccstats.metrics.definitions import Measure, Metric, Ratio
from ccstats.metrics.plan import AggregateRequest
from ccstats.numbers import ratio as divide
from ccstats.schema import CONVERSATION_COLUMNS
from ccstats.timebuckets import GRANULARITIES, bucket_starts

__all__ = [
    "MetricQuery",
    "MetricResult",
    "QueryError",
    "RatioValue",
    "compile_query",
    "reads_next_contacts",
    "result_of",
    "too_many_rows",
    "GROUPABLE",
]

GROUPABLE = tuple(c for c, kind in CONVERSATION_COLUMNS.items() if kind in ("text", "int", "bool"))
"""Conversation fields that can be grouped by or filtered on."""
TIME_FIELDS = tuple(c for c, kind in CONVERSATION_COLUMNS.items() if kind == "time")


class QueryError(ValueError):
    """A query that cannot run: the message says what is wrong."""


@dataclass(frozen=True)
class RatioValue:
    """A ratio with its parts; `value` is None when the denominator is 0."""

    numerator: int | float
    denominator: int | float

    @property
    def value(self) -> Decimal | None:
        """numerator / denominator, exact."""
        return divide(self.numerator, self.denominator)


@dataclass(frozen=True)
class MetricQuery:
    """What to compute: `start`/`end` are UTC instants, [start, end)."""

    tenant_id: str
    metrics: tuple[str, ...]
    start: datetime
    end: datetime
    timezone: str = "UTC"
    granularity: str = "total"
    time_field: str = "created_at"
    group_by: tuple[str, ...] = ()
    filters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    fill_empty: bool = False

    def key(self) -> Hashable:
        """What identifies the query's answer (its filters in a canonical order)."""
        filters = tuple(sorted((k, tuple(v)) for k, v in self.filters.items()))
        return (*(getattr(self, f) for f in _KEY_FIELDS), filters)


_KEY_FIELDS = (
    "tenant_id",
    "metrics",
    "start",
    "end",
    "timezone",
    "granularity",
    "time_field",
    "group_by",
    "fill_empty",
)


@dataclass(frozen=True)
class MetricResult:
    """Rows keyed by column: `bucket` (UTC start, unless total), group fields, then metrics."""

    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str
    measures: tuple[Measure, ...]

    def copy(self) -> MetricResult:
        """A copy whose rows the caller may change (a kept answer stays as computed)."""
        rows = [dict(r) for r in self.rows]
        return MetricResult(list(self.columns), rows, self.sql, self.measures)


def _metrics(names: Sequence[str]) -> list[Metric]:
    if not names:
        raise QueryError("no metrics asked for")
    return [get_metric(n) for n in names]


def _needed_measures(metrics: list[Metric]) -> tuple[Measure, ...]:
    needed: dict[str, Measure] = {}
    for metric in metrics:
        if isinstance(metric, Measure):
            needed[metric.name] = metric
            continue
        for part in (metric.numerator, metric.denominator):
            resolved = resolve_parametric(part) or [get_metric(part)]
            needed[part] = next(m for m in resolved if m.name == part)  # type: ignore[assignment]
    return tuple(needed.values())


@functools.lru_cache(maxsize=1024)
def _reads_next_contacts(names: tuple[str, ...]) -> bool:
    return any(m.kind == "no_repeat_within" for m in _needed_measures(_metrics(names)))


def reads_next_contacts(query: MetricQuery) -> bool:
    """Whether the query's answer depends on the customers' other conversations (a
    `no_repeat_within` measure: the FCR rates), which a store may settle late (`Store.flush`)."""
    return _reads_next_contacts(tuple(query.metrics))


def _check_fields(query: MetricQuery) -> None:
    for name in (*query.group_by, *query.filters):
        if name not in GROUPABLE:
            raise UnknownNameError("field", name, list(GROUPABLE))
    if query.time_field not in TIME_FIELDS:
        raise UnknownNameError("time field", query.time_field, list(TIME_FIELDS))
    if query.granularity not in GRANULARITIES:
        raise UnknownNameError("granularity", query.granularity, list(GRANULARITIES))
    if query.end <= query.start:
        raise QueryError(
            f"the range ends ({query.end.isoformat()}) before it starts ({query.start.isoformat()})"
        )


_SHORTEST_BUCKET = {
    "half_hour": timedelta(minutes=30),
    "hour": timedelta(hours=1),
    "day": timedelta(hours=23),  # a spring-forward day
    "week": timedelta(days=7) - timedelta(hours=1),
    "month": timedelta(days=28) - timedelta(hours=1),
    "year": timedelta(days=365) - timedelta(hours=1),
}


def _check_bucket_count(query: MetricQuery) -> None:
    """Refuse a query with more than MAX_BUCKETS buckets before making them."""
    shortest = _SHORTEST_BUCKET.get(query.granularity)
    if shortest is None:
        return
    most = (query.end - query.start) // shortest + 2
    if most > MAX_BUCKETS:
        raise QueryError(
            f"granularity {query.granularity} over this range gives up to {most} buckets; at most"
            f" {MAX_BUCKETS}: choose a coarser granularity or a shorter range"
        )


def compile_query(query: MetricQuery) -> tuple[AggregateRequest, list[Metric]]:
    """The store request a query runs as, and its resolved metrics."""
    _check_fields(query)
    _check_bucket_count(query)
    metrics = _metrics(query.metrics)
    buckets = None
    if query.granularity != "total":
        buckets = tuple(
            bucket_starts(query.start, query.end, ZoneInfo(query.timezone), query.granularity)
        )
    request = AggregateRequest(
        tenant_id=query.tenant_id,
        start=query.start,
        end=query.end,
        measures=_needed_measures(metrics),
        time_field=query.time_field,
        bucket_starts=buckets,
        group_by=tuple(query.group_by),
        filters=tuple((k, tuple(v)) for k, v in query.filters.items()),
        max_rows=MAX_QUERY_ROWS,
    )
    return request, metrics


def _value(metric: Metric, row: dict[str, Any]) -> Any:
    if isinstance(metric, Ratio):
        return RatioValue(row.get(metric.numerator) or 0, row.get(metric.denominator) or 0)
    value = row.get(metric.name)
    if metric.kind == "max":
        return value
    return value or 0


def _fill(rows: list[dict[str, Any]], request: AggregateRequest) -> list[dict[str, Any]]:
    assert request.bucket_starts is not None
    groups = {tuple(r[g] for g in request.group_by) for r in rows} or (
        {()} if not request.group_by else set()
    )
    seen = {(r["bucket"], tuple(r[g] for g in request.group_by)) for r in rows}
    filled = list(rows)
    for bucket in request.bucket_starts:
        for group in groups:
            if (bucket, group) not in seen:
                filled.append({"bucket": bucket, **dict(zip(request.group_by, group, strict=True))})
    filled.sort(key=lambda r: (r["bucket"], tuple(str(r[g]) for g in request.group_by)))
    return filled


class _Rows(Protocol):
    """What an engine's aggregate returns (`storage.Table`)."""

    @property
    def sql(self) -> str: ...

    def dicts(self) -> list[dict[str, Any]]: ...


def too_many_rows() -> QueryError:
    """The error of an answer over `MAX_QUERY_ROWS` rows."""
    return QueryError(
        f"the answer has more than {MAX_QUERY_ROWS} rows (buckets times groups); group by fewer"
        " fields, filter, or choose a coarser granularity"
    )


def result_of(
    query: MetricQuery, request: AggregateRequest, metrics: list[Metric], table: _Rows
) -> MetricResult:
    """A query's rows from the engine's sums and counts: ratios with their parts, empty buckets
    filled when asked."""
    rows = table.dicts()
    if request.bucket_starts is None and not request.group_by and not rows:
        rows = [{}]
    if query.fill_empty and request.bucket_starts is not None:
        groups = len({tuple(r[g] for g in request.group_by) for r in rows}) or 1
        if groups * len(request.bucket_starts) > MAX_QUERY_ROWS:
            raise too_many_rows()
        rows = _fill(rows, request)
    keys = (["bucket"] if request.bucket_starts is not None else []) + list(request.group_by)
    out = [{**{k: r.get(k) for k in keys}, **{m.name: _value(m, r) for m in metrics}} for r in rows]
    return MetricResult(keys + [m.name for m in metrics], out, table.sql, request.measures)
