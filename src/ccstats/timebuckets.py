"""Time buckets in a tenant's zone.

Hour and half-hour buckets are instants: every local hour start is its own bucket, so a DST fall-back
day has 25 hourly buckets and a spring-forward day 23. Day, week, month and year buckets are local
calendar units starting at local midnight. Bucket starts are computed here, in Python, and handed to the
store as UTC instants, so every engine buckets identically.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "GRANULARITIES",
    "Granularity",
    "bucket_starts",
    "local_midnight",
    "local_date_of",
    "parse_local",
]

Granularity = Literal["half_hour", "hour", "day", "week", "month", "year", "total"]
GRANULARITIES: tuple[str, ...] = ("half_hour", "hour", "day", "week", "month", "year", "total")
_STEP_MINUTES = {"half_hour": 30, "hour": 60}


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `zone` (the first instant if midnight is skipped)."""
    naive = datetime.combine(day, time())
    candidate = naive.replace(tzinfo=zone)
    instant = candidate.astimezone(UTC)
    # A zone that jumps over midnight (e.g. America/Santiago): the local day starts at the jump.
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        # In a gap, fold=1 maps midnight to an instant before the jump (still the previous day);
        # the first minute from there whose local date is `day` is the jump itself.
        instant = min(instant, naive.replace(tzinfo=zone, fold=1).astimezone(UTC))
        while instant.astimezone(zone).date() < day:
            instant += timedelta(minutes=1)
    return instant


def local_date_of(instant: datetime, zone: ZoneInfo) -> date:
    """The local calendar date containing a UTC instant."""
    return instant.astimezone(zone).date()


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """A local wall-clock string ("2021-08-05 00:00:00") in `zone` as a UTC instant."""
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _floor_subhour(instant: datetime, zone: ZoneInfo, minutes: int) -> datetime:
    local = instant.astimezone(zone)
    excess = timedelta(
        minutes=local.minute % minutes, seconds=local.second, microseconds=local.microsecond
    )
    return instant - excess


def _subhour_starts(
    start: datetime, end: datetime, zone: ZoneInfo, minutes: int
) -> Iterator[datetime]:
    # Offsets are whole quarter hours, so every local hour or half-hour start is on a 15-minute UTC
    # grid; walking that grid keeps the buckets right across any offset change (Lord Howe's 30-minute
    # DST, Kathmandu's +05:45).
    current = _floor_subhour(start, zone, minutes)
    quarter = timedelta(minutes=15)
    while current < end:
        local = current.astimezone(zone)
        if local.minute % minutes == 0:
            yield current
        current += quarter


def _calendar_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    return day


def _next_calendar(day: date, granularity: str) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7)
    if granularity == "month":
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def _calendar_starts(
    start: datetime, end: datetime, zone: ZoneInfo, granularity: str
) -> Iterator[datetime]:
    day = _calendar_start(local_date_of(start, zone), granularity)
    while (instant := local_midnight(day, zone)) < end:
        yield instant
        day = _next_calendar(day, granularity)


def bucket_starts(
    start: datetime, end: datetime, zone: ZoneInfo, granularity: str
) -> list[datetime]:
    """UTC starts of every bucket overlapping [start, end), ascending.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> ny = ZoneInfo("America/New_York")
        >>> day = local_midnight(date(2024, 3, 10), ny)
        >>> len(bucket_starts(day, local_midnight(date(2024, 3, 11), ny), ny, "hour"))
        23
    """
    if granularity == "total":
        return [start]
    if granularity in _STEP_MINUTES:
        return list(_subhour_starts(start, end, zone, _STEP_MINUTES[granularity]))
    if granularity in ("day", "week", "month", "year"):
        return list(_calendar_starts(start, end, zone, granularity))
    raise ValueError(f"unknown granularity {granularity!r}")
