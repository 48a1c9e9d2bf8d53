"""The aggregate fast paths give the raw answers: bucketing by arithmetic instead of the ASOF join
(DST zones, odd offsets, ranges across an offset change)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ccstats.metrics import CATALOG
from ccstats.storage import duckdb_sql as q
from ccstats.storage.base import AggregateRequest
from ccstats.storage.duckdb_store import DuckDBStore
from ccstats.timebuckets import bucket_starts, local_midnight

ZONES = (
    "America/New_York",
    "Asia/Shanghai",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Africa/Casablanca",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "Asia/Kolkata",
)


@pytest.fixture(scope="module")
def raw_store() -> DuckDBStore:
    """Rows every 7 minutes and 13 seconds over 2024 (one tenant), nothing else."""
    store = DuckDBStore()
    store._con.execute(
        "INSERT INTO conversations (tenant_id, id, created_at)"
        " SELECT 't', i::VARCHAR, TIMESTAMP '2024-01-01' + to_seconds(i * 433) FROM range(73000) r(i)"
    )
    return store


def _request(zone: ZoneInfo, first: date, days: int, granularity: str) -> AggregateRequest:
    start, end = local_midnight(first, zone), local_midnight(first + timedelta(days=days), zone)
    return AggregateRequest(
        "t",
        start,
        end,
        (CATALOG["conversations"],),
        bucket_starts=tuple(bucket_starts(start, end, zone, granularity)),
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    ("first", "days", "granularity"),
    [
        (date(2024, 3, 1), 45, "day"),  # crosses the northern spring change
        (date(2024, 10, 20), 20, "hour"),  # crosses the northern autumn change
        (date(2024, 3, 30), 3, "half_hour"),
        (date(2024, 1, 1), 366, "month"),
        (date(2024, 6, 3), 70, "week"),
        (date(2024, 1, 1), 200, "year"),
        (date(2024, 6, 1), 30, "day"),  # no change for most zones: arithmetic
    ],
)
def test_bucket_arithmetic_equals_asof_join(
    raw_store: DuckDBStore, zone: str, first: date, days: int, granularity: str
) -> None:
    request = _request(ZoneInfo(zone), first, days, granularity)
    fast = raw_store._fetch(*q.aggregate_sql(request))
    asof = raw_store._fetch(*q.aggregate_sql(request, arithmetic=False))
    assert fast == asof
    assert [r[0].replace(tzinfo=UTC) for r in fast] == list(request.bucket_starts or ())


def test_arithmetic_used_only_where_exact() -> None:
    ny, shanghai = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
    # Hours are always equal steps; New York's days across 10 March 2024 are not (23 h).
    assert q.bucket_sql("t", _request(ny, date(2024, 3, 9), 3, "hour")) is not None
    assert q.bucket_sql("t", _request(ny, date(2024, 3, 9), 3, "day")) is None
    assert q.bucket_sql("t", _request(ny, date(2024, 6, 1), 30, "day")) is not None
    # Months of a fixed-offset zone: date_trunc on the local time (UTC+8).
    month = q.bucket_sql("t", _request(shanghai, date(2024, 1, 1), 366, "month"))
    assert month == "date_trunc('month', t + INTERVAL (480) MINUTE) - INTERVAL (480) MINUTE"
    # New York's months start at 05:00 or 04:00 UTC: no single offset, the ASOF join.
    assert q.bucket_sql("t", _request(ny, date(2024, 1, 1), 366, "month")) is None


def test_hand_worked_fall_back_day_in_new_york(raw_store: DuckDBStore) -> None:
    # 3 Nov 2024 is 25 h long in New York; a range of that day and the next by day: two buckets,
    # the first 25 h. Rows are every 433 s from 2024-01-01 00:00 UTC.
    ny = ZoneInfo("America/New_York")
    request = _request(ny, date(2024, 11, 3), 2, "day")
    rows = raw_store._fetch(*q.aggregate_sql(request))
    assert rows == raw_store._fetch(*q.aggregate_sql(request, arithmetic=False))
    first = datetime(2024, 11, 3, 4, tzinfo=UTC)  # EDT midnight
    second = datetime(2024, 11, 4, 5, tzinfo=UTC)  # EST midnight

    def count(lo: datetime, hi: datetime) -> int:
        base = datetime(2024, 1, 1, tzinfo=UTC)
        up = -(-int((lo - base).total_seconds()) // 433)
        return -(-int((hi - base).total_seconds()) // 433) - up

    assert [(r[0].replace(tzinfo=UTC), r[1]) for r in rows] == [
        (first, count(first, second)),
        (second, count(second, second + timedelta(hours=24))),
    ]
