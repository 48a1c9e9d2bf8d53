"""Buckets in a tenant's zone: hour instants across DST, local calendar days/weeks/months/years,
odd offsets, and midnights that a DST jump skips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ccstats.timebuckets import bucket_starts, local_date_of, local_midnight, parse_local

NY = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> datetime:
    """A UTC instant."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def day_span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) as UTC instants."""
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2024, 3, 10), 23), (date(2024, 11, 3), 25), (date(2024, 7, 4), 24)],
)
def test_new_york_day_lengths(day: date, hours: int) -> None:
    start, end = day_span(day, NY)
    assert end - start == timedelta(hours=hours)
    assert len(bucket_starts(start, end, NY, "hour")) == hours
    assert len(bucket_starts(start, end, NY, "half_hour")) == 2 * hours
    assert bucket_starts(start, end, NY, "day") == [start]


def test_spring_forward_hours_skip_2am() -> None:
    starts = bucket_starts(*day_span(date(2024, 3, 10), NY), NY, "hour")
    assert starts[:3] == [utc(2024, 3, 10, 5), utc(2024, 3, 10, 6), utc(2024, 3, 10, 7)]
    assert [s.astimezone(NY).hour for s in starts[:3]] == [0, 1, 3]


def test_fall_back_hours_repeat_1am() -> None:
    starts = bucket_starts(*day_span(date(2024, 11, 3), NY), NY, "hour")
    assert starts[1:3] == [utc(2024, 11, 3, 5), utc(2024, 11, 3, 6)]
    assert [s.astimezone(NY).isoformat() for s in starts[1:3]] == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
    ]


def test_day_buckets_across_dst_are_local_midnights() -> None:
    start, end = local_midnight(date(2024, 3, 9), NY), local_midnight(date(2024, 3, 12), NY)
    assert bucket_starts(start, end, NY, "day") == [
        utc(2024, 3, 9, 5),  # EST
        utc(2024, 3, 10, 5),  # EST midnight; the day is 23 hours long
        utc(2024, 3, 11, 4),  # EDT
    ]


def test_range_not_on_bucket_edges_includes_the_partial_buckets() -> None:
    start, end = utc(2024, 5, 1, 10, 20), utc(2024, 5, 1, 12, 5)
    assert bucket_starts(start, end, ZoneInfo("UTC"), "hour") == [
        utc(2024, 5, 1, 10),
        utc(2024, 5, 1, 11),
        utc(2024, 5, 1, 12),
    ]
    assert bucket_starts(start, end, ZoneInfo("UTC"), "total") == [start]


def test_week_month_year_are_local_calendar_units() -> None:
    # 2024-05-01T20:00Z is Thursday 2024-05-02 04:00 in Shanghai.
    start, end = utc(2024, 5, 1, 20), utc(2024, 5, 20)
    assert bucket_starts(start, end, SHANGHAI, "week") == [
        utc(2024, 4, 28, 16),  # Monday 2024-04-29 00:00 +08:00
        utc(2024, 5, 5, 16),
        utc(2024, 5, 12, 16),
        utc(2024, 5, 19, 16),
    ]
    assert bucket_starts(utc(2024, 1, 15), utc(2024, 3, 2), SHANGHAI, "month") == [
        utc(2023, 12, 31, 16),
        utc(2024, 1, 31, 16),
        utc(2024, 2, 29, 16),
    ]
    assert bucket_starts(utc(2023, 12, 31, 17), utc(2025, 1, 1), SHANGHAI, "year") == [
        utc(2023, 12, 31, 16),
        utc(2024, 12, 31, 16),
    ]


def test_month_bucket_across_dst_starts_at_each_local_midnight() -> None:
    starts = bucket_starts(utc(2024, 10, 15), utc(2024, 12, 15), NY, "month")
    assert starts == [utc(2024, 10, 1, 4), utc(2024, 11, 1, 4), utc(2024, 12, 1, 5)]


def test_half_hour_offsets() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30
    start, _ = day_span(date(2024, 5, 1), kolkata)
    assert start == utc(2024, 4, 30, 18, 30)
    assert bucket_starts(start, start + timedelta(hours=2), kolkata, "hour") == [
        utc(2024, 4, 30, 18, 30),
        utc(2024, 4, 30, 19, 30),
    ]
    kathmandu = ZoneInfo("Asia/Kathmandu")  # +05:45
    start, _ = day_span(date(2024, 5, 1), kathmandu)
    assert bucket_starts(start, start + timedelta(hours=1), kathmandu, "half_hour") == [
        utc(2024, 4, 30, 18, 15),
        utc(2024, 4, 30, 18, 45),
    ]


def test_lord_howe_half_hour_dst() -> None:
    # Australia/Lord_Howe moves its clocks by 30 minutes: 2024-10-06 has 23.5 hours.
    zone = ZoneInfo("Australia/Lord_Howe")
    start, end = day_span(date(2024, 10, 6), zone)
    assert end - start == timedelta(hours=23, minutes=30)
    assert len(bucket_starts(start, end, zone, "half_hour")) == 47
    hours = bucket_starts(start, end, zone, "hour")
    assert all(h.astimezone(zone).minute == 0 for h in hours)


@pytest.mark.parametrize(
    ("zone", "day", "start"),
    [
        # Chile jumps from 00:00 -04 to 01:00 -03: the day starts at the jump, 04:00Z.
        ("America/Santiago", date(2024, 9, 8), utc(2024, 9, 8, 4)),
        # Cuba jumps from 00:00 -05 to 01:00 -04.
        ("America/Havana", date(2024, 3, 10), utc(2024, 3, 10, 5)),
    ],
)
def test_a_skipped_midnight_starts_the_day_at_the_jump(
    zone: str, day: date, start: datetime
) -> None:
    tz = ZoneInfo(zone)
    assert local_midnight(day, tz) == start
    assert local_date_of(start, tz) == day
    assert local_date_of(start - timedelta(microseconds=1), tz) == day - timedelta(days=1)
    # The day before is a whole 24 hours.
    assert start - local_midnight(day - timedelta(days=1), tz) == timedelta(hours=24)


def test_parse_local_and_local_date_of() -> None:
    assert parse_local("2021-08-05 00:00:00", SHANGHAI) == utc(2021, 8, 4, 16)
    assert parse_local("2021-08-05T00:00:00+00:00", SHANGHAI) == utc(2021, 8, 5)
    assert local_date_of(utc(2021, 8, 4, 16), SHANGHAI) == date(2021, 8, 5)
    assert local_date_of(utc(2021, 8, 4, 15, 59, 59), SHANGHAI) == date(2021, 8, 4)


def test_unknown_granularity() -> None:
    with pytest.raises(ValueError, match="unknown granularity 'fortnight'"):
        bucket_starts(utc(2024, 1, 1), utc(2024, 1, 2), NY, "fortnight")
