"""Demo time and small builders: traffic over the days before `today`, transcripts, ids.

Every random choice goes through a `random.Random` the caller seeded, so the same seed and the same
`today` give the same records.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.timebuckets import local_midnight

__all__ = [
    "BUSINESS_HOURS",
    "CALLING_HOURS",
    "TrafficCalendar",
    "Transcript",
    "dst_changes",
    "dst_instant",
    "hex_id",
    "uuid_id",
    "wait_s",
    "seconds_between",
]

BUSINESS_HOURS: tuple[float, ...] = (
    # 00-05: night
    0.3, 0.2, 0.15, 0.1, 0.1, 0.2,
    # 06-11: morning ramp-up, peak at 10-11
    0.5, 1.5, 4.0, 6.5, 7.5, 7.0,
    # 12-17: lunch dip, afternoon peak
    5.0, 6.0, 7.0, 6.5, 5.5, 4.5,
    # 18-23: evening tail
    3.5, 3.0, 2.5, 1.8, 1.0, 0.6,
)  # fmt: skip
"""Relative inbound traffic per local hour: a contact center's business-hours curve."""

CALLING_HOURS: tuple[float, ...] = tuple(
    w if 9 <= h < 21 else 0.0 for h, w in enumerate(BUSINESS_HOURS)
)
"""Outbound campaigns dial only between 09:00 and 21:00 local time."""

_WEEKDAY = (1.0, 1.05, 1.0, 0.98, 0.92, 0.55, 0.45)  # Monday .. Sunday


class TrafficCalendar:
    """Random instants over the `days` local dates before `today`, shaped by day and hour."""

    def __init__(
        self, zone: ZoneInfo, today: date, days: int, hourly: tuple[float, ...] = BUSINESS_HOURS
    ) -> None:
        self.zone = zone
        self.dates = [today - timedelta(days=back) for back in range(days, 0, -1)]
        # Weekly shape plus a slow upward trend, so day charts are not flat.
        weights = [
            _WEEKDAY[d.weekday()] * (0.85 + 0.3 * i / days) for i, d in enumerate(self.dates)
        ]
        self._day_cum = list(accumulate(weights))
        self._hour_cum = list(accumulate(hourly))

    def instant(self, rng: Random) -> datetime:
        """A UTC instant on one of the dates, business hours more likely."""
        day = rng.choices(self.dates, cum_weights=self._day_cum)[0]
        return self.instant_on(rng, day)

    def instant_on(self, rng: Random, day: date) -> datetime:
        """A UTC instant on a given local date, business hours more likely."""
        hour = rng.choices(range(24), cum_weights=self._hour_cum)[0]
        local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60))
        return local.replace(tzinfo=self.zone).astimezone(UTC)


def dst_changes(zone: ZoneInfo, first: date, last: date) -> list[date]:
    """Local dates in [first, last] on which the zone's UTC offset changes."""
    changes = []
    day = first
    while day <= last:
        if local_midnight(day + timedelta(days=1), zone) - local_midnight(day, zone) != timedelta(
            days=1
        ):
            changes.append(day)
        day += timedelta(days=1)
    return changes


def dst_instant(rng: Random, zone: ZoneInfo, day: date, hour: int) -> datetime:
    """A UTC instant in the `hour`-th hour after the offset change on `day` (negative: before).

    Counted in UTC, not in local time, so a fall-back day's two 01:00 hours are hours -1 and 0.
    """
    start = local_midnight(day, zone)
    change = next(
        start + timedelta(hours=h)
        for h in range(1, 26)
        if (start + timedelta(hours=h)).astimezone(zone).utcoffset()
        != start.astimezone(zone).utcoffset()
    )
    return change + timedelta(hours=hour, seconds=rng.randrange(3600))


def hex_id(rng: Random, length: int) -> str:
    """A random lowercase hex id (7moor session ids, Alibaba record ids)."""
    return f"{rng.getrandbits(length * 4):0{length}x}"


def uuid_id(rng: Random) -> str:
    """A random version-4 UUID string (Twin24 ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def wait_s(rng: Random, mean: float, cap: int, floor: int = 1) -> int:
    """An exponentially distributed wait in whole seconds, within [floor, cap]."""
    return max(floor, min(cap, int(-mean * math.log(1.0 - rng.random()))))


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from start to end."""
    return int((end - start).total_seconds())


class Transcript:
    """Messages of one conversation, written in order with a running clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.messages: list[dict[str, Any]] = []

    def wait(self, seconds: int) -> datetime:
        """Let time pass without a message; returns the new time."""
        self.at += timedelta(seconds=seconds)
        return self.at

    def say(self, sender: str, text: str, after: int, **extra: Any) -> datetime:
        """Add a message `after` seconds after the previous event; returns its time."""
        self.wait(after)
        self.messages.append({"sender": sender, "text": text, "sent_at": self.at, **extra})
        return self.at
