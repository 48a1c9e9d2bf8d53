"""`POST /v1/summary`: metric totals of a period beside those of the period before it.

The previous period has the current one's length, in the tenant's calendar: whole local months
give the same number of months before (March against February), whole local days the same number
of days before (a week against the week before, whatever DST did), any other range the same
duration before. The change is worked out here, once: the difference of the two values and, for a
non-zero previous value, the difference relative to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ccstats.api.deps import ServiceDep, TenantDep
from ccstats.api.errors import ApiError
from ccstats.api.native import _json_value as json_value  # one JSON shape for metric values
from ccstats.api.native import data_as_of_iso, query_filters
from ccstats.api.timeparams import local_iso, parse_request_time
from ccstats.metrics import UnknownNameError
from ccstats.metrics.query import MetricQuery, QueryError, RatioValue
from ccstats.numbers import ratio, round_half_up, to_decimal
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.timebuckets import local_midnight

__all__ = ["router", "SummaryBody", "previous_range", "change"]

router = APIRouter(prefix="/v1", tags=["native"])
MAX_METRICS = 50
MAX_FILTERS = 50
"""Bounds of a request: metrics named, fields filtered on."""


class SummaryBody(BaseModel):
    """A summary request: metrics over [from, to), optional filters, the time field."""

    metrics: list[str] = Field(min_length=1, max_length=MAX_METRICS)
    from_: str | int = Field(alias="from")
    to: str | int
    filters: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FILTERS)
    time_basis: str = "created_at"


def _midnight_date(instant: datetime, zone: ZoneInfo) -> date | None:
    day = instant.astimezone(zone).date()
    return day if local_midnight(day, zone) == instant else None


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def previous_range(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period before [start, end), of the same length in the tenant's calendar.

    Example:
        >>> from datetime import UTC
        >>> shanghai = ZoneInfo("Asia/Shanghai")
        >>> march = (datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC))
        >>> [t.astimezone(shanghai).date().isoformat() for t in previous_range(*march, shanghai)]
        ['2026-02-01', '2026-03-01']
    """
    first, last = _midnight_date(start, zone), _midnight_date(end, zone)
    if first is None or last is None:
        return start - (end - start), start
    if first.day == 1 and last.day == 1:
        months = (last.year - first.year) * 12 + last.month - first.month
        return local_midnight(_months_before(first, months), zone), start
    return local_midnight(first - timedelta(days=(last - first).days), zone), start


def _number(value: Any) -> Decimal | None:
    if isinstance(value, RatioValue):
        return value.value
    if value is None or isinstance(value, datetime):
        return None
    return to_decimal(value)


def change(current: Any, previous: Any) -> dict[str, float | None]:
    """`difference` (current - previous) and `relative` (difference / previous), rounded half up to
    6 decimals; None where a value is undefined (a ratio over nothing, a previous value of 0)."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return {"difference": None, "relative": None}
    relative = ratio(now - before, before)
    return {
        "difference": float(round_half_up(now - before, 6)),
        "relative": None if relative is None else float(round_half_up(relative, 6)),
    }


def _values(
    service: Service, tenant: TenantSettings, body: SummaryBody, span: tuple[datetime, datetime]
) -> dict[str, Any]:
    try:
        query = MetricQuery(
            tenant_id=tenant.id,
            metrics=tuple(body.metrics),
            start=span[0],
            end=span[1],
            timezone=tenant.timezone,
            time_field=body.time_basis,
            filters=query_filters(body.filters),
        )
        row = service.run_query(query).rows[0]
    except UnknownNameError as error:
        raise ApiError(
            400, "unknown_name", str(error), {"name": error.name, "did_you_mean": error.suggestion}
        ) from None
    except QueryError as error:
        raise ApiError(400, "invalid_query", str(error)) from None
    return {name: row[name] for name in body.metrics}


def _period(span: tuple[datetime, datetime], values: dict[str, Any], zone: ZoneInfo) -> Any:
    return {
        "from": local_iso(span[0], zone),
        "to": local_iso(span[1], zone),
        "values": {name: json_value(value) for name, value in values.items()},
    }


@router.post("/summary", summary="Metric totals of a period and of the period before it")
def post_summary(body: SummaryBody, service: ServiceDep, tenant: TenantDep) -> dict[str, Any]:
    """Each metric over [from, to) and over the previous period of the same length, with the
    change between them."""
    zone = tenant.zone
    current = (
        parse_request_time(body.from_, zone, "from"),
        parse_request_time(body.to, zone, "to"),
    )
    if current[1] <= current[0]:
        raise ApiError(
            400, "invalid_range", "the range ends before it starts: to must be after from"
        )
    previous = previous_range(*current, zone)
    now = _values(service, tenant, body, current)
    before = _values(service, tenant, body, previous)
    return {
        "metrics": list(body.metrics),
        "current": _period(current, now, zone),
        "previous": _period(previous, before, zone),
        "change": {name: change(now[name], before[name]) for name in body.metrics},
        "data_as_of": data_as_of_iso(service, tenant.id),
    }
