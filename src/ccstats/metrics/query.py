"""The query model: one tenant, a time range on a time field, buckets in the tenant's zone,
group-by, filters and metrics -> rows of measures and ratios (ratios with their parts).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ccstats.answers import AnswerCache, Entry, MiB
from ccstats.limits import MAX_BUCKETS, MAX_QUERY_ROWS
from ccstats.metrics import UnknownNameError, get_metric
from ccstats.metrics.catalog import resolve_parametric
from ccstats.metrics.definitions import Measure, Metric, Ratio
from ccstats.numbers import ratio as divide
from ccstats.storage import AggregateRequest, ResultTooLarge, Store
from ccstats.storage.schema import CONVERSATION_COLUMNS
from ccstats.timebuckets import GRANULARITIES, bucket_starts

T = TypeVar("T")

__all__ = [
    "MetricQuery",
    "MetricResult",
    "QueryError",
    "RatioValue",
    "run_query",
    "run_formatted",
    "compile_query",
    "compute_query",
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


@dataclass(frozen=True)
class MetricResult:
    """Rows keyed by column: `bucket` (UTC start, unless total), group fields, then metrics."""

    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str
    measures: tuple[Measure, ...]


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


ANSWERS = AnswerCache(1024, budget=64 * MiB)
"""Metric answers and their wire formats (`ccstats.answers`), at most 64 MiB per store."""


def _cache_key(query: MetricQuery) -> tuple[Any, ...]:
    filters = tuple(sorted((k, tuple(v)) for k, v in query.filters.items()))
    return (*(getattr(query, f) for f in _KEY_FIELDS), filters)


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


def run_query(store: Store, query: MetricQuery) -> MetricResult:
    """Run a query, answering from the cache while the tenant's data in its range is unchanged
    (`ccstats.answers`): ingest of today's calls leaves last month's reports cached, and an
    answer is never served after the data behind it changed."""
    return _copy(_entry(store, query).value)


def run_formatted(
    store: Store, query: MetricQuery, key: Hashable, build: Callable[[MetricResult], T]
) -> T:
    """`build(run_query(store, query))`, kept with the cached answer and served again while the
    answer is: a wire format builds its rows once per answer, not once per request (on a cache
    hit, formatting was 60% of a Huawei report's server time). `key` names the format and every
    input of `build` other than the result; callers must not change what they get.
    """
    entry = _entry(store, query)
    return ANSWERS.formatted(entry, key, lambda: build(_copy(entry.value)))


def _entry(store: Store, query: MetricQuery) -> Entry:
    span = (query.tenant_id, query.start, query.end)
    return ANSWERS.entry(store, _cache_key(query), span, lambda: compute_query(store, query))


def _copy(result: MetricResult) -> MetricResult:
    # Callers may change their rows; the cached ones stay as computed.
    return MetricResult(
        list(result.columns), [dict(r) for r in result.rows], result.sql, result.measures
    )


def _too_many_rows() -> QueryError:
    return QueryError(
        f"the answer has more than {MAX_QUERY_ROWS} rows (buckets times groups); group by fewer"
        " fields, filter, or choose a coarser granularity"
    )


def compute_query(store: Store, query: MetricQuery) -> MetricResult:
    """Run a query: sums and counts from the store, ratios with their parts here.

    Example:
        >>> from datetime import datetime, UTC
        >>> from ccstats.storage import open_store
        >>> q = MetricQuery("t1", ("conversations",), datetime(2024, 1, 1, tzinfo=UTC),
        ...                 datetime(2024, 1, 2, tzinfo=UTC))
        >>> run_query(open_store(), q).rows
        [{'conversations': 0}]
    """
    request, metrics = compile_query(query)
    try:
        table = store.aggregate(request)
    except ResultTooLarge:
        raise _too_many_rows() from None
    rows = table.dicts()
    if request.bucket_starts is None and not request.group_by and not rows:
        rows = [{}]
    if query.fill_empty and request.bucket_starts is not None:
        groups = len({tuple(r[g] for g in request.group_by) for r in rows}) or 1
        if groups * len(request.bucket_starts) > MAX_QUERY_ROWS:
            raise _too_many_rows()
        rows = _fill(rows, request)
    keys = (["bucket"] if request.bucket_starts is not None else []) + list(request.group_by)
    out = [{**{k: r.get(k) for k in keys}, **{m.name: _value(m, r) for m in metrics}} for r in rows]
    return MetricResult(keys + [m.name for m in metrics], out, table.sql, request.measures)
