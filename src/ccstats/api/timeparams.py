"""Times in native API requests: ISO 8601 with offset, epoch ms, or tenant-local wall time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.api.errors import ApiError
from ccstats.records import REQUEST_TIMES, parse_time
from ccstats.timebuckets import local_midnight

__all__ = ["parse_request_time", "local_iso"]


def parse_request_time(value: Any, zone: ZoneInfo, name: str) -> datetime:
    """A request time: with an offset or epoch ms as given; a bare date or wall time is tenant-local.

    Times outside `REQUEST_TIMES` (the years 1970-2200 in any zone) are a 400 `invalid_time`.
    """
    try:
        return REQUEST_TIMES.instant(lambda: _instant(value, zone), value)
    except ValueError as error:
        raise ApiError(400, "invalid_time", f"{name}: {error}") from None


def _instant(value: Any, zone: ZoneInfo) -> datetime:
    if isinstance(value, str) and len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return local_midnight(day, zone)
    if isinstance(value, str):
        try:
            naive = datetime.fromisoformat(value)
        except ValueError:
            naive = None
        if naive is not None and naive.tzinfo is None:
            return naive.replace(tzinfo=zone).astimezone(UTC)
    return parse_time(value, REQUEST_TIMES)


def local_iso(instant: datetime, zone: ZoneInfo) -> str:
    """A UTC instant as tenant-local ISO 8601 with its offset."""
    return instant.astimezone(zone).isoformat()
