"""Demo Bank's agent time (7moor workload, seed 002): daily logins and status intervals within them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.demo.clock import wait_s
from ccstats.demo.tenants import AGENT_STATUSES, BANK, BANK_AGENTS

__all__ = ["agent_intervals"]

_ZONE = ZoneInfo("Asia/Shanghai")
_SHIFTS = (8, 12)  # early shift 08:00-17:00, late shift 12:00-21:00 local, alternating by agent
_SHIFT_HOURS = 9
# Status mix: online most of the time, then busy, break, and the seed's two test statuses rarely.
_STATUS_WEIGHTS = (60, 25, 11, 2, 2)
_MEAN_MINUTES = (45, 15, 12, 8, 8)


def _statuses(
    rng: Random, agent_id: str, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    """Consecutive status intervals filling one login."""
    at = start
    while at < end:
        index = rng.choices(range(len(AGENT_STATUSES)), _STATUS_WEIGHTS)[0]
        minutes = wait_s(rng, _MEAN_MINUTES[index], 150, floor=2)
        until = min(end, at + timedelta(minutes=minutes, seconds=rng.randrange(60)))
        yield _interval(agent_id, "status", at, until, AGENT_STATUSES[index].id)
        at = until


def _interval(
    agent_id: str, kind: str, start: datetime, end: datetime, status: str | None = None
) -> dict[str, Any]:
    return {
        "tenant_id": BANK,
        "agent_id": agent_id,
        "kind": kind,
        "status_id": status,
        "started_at": start,
        "ended_at": end,
    }


def _works(day: date, agent_number: int) -> bool:
    # Five days on, two off, with the days off staggered across agents.
    return (day.toordinal() + agent_number) % 7 not in (0, 1)


def agent_intervals(rng: Random, dates: list[date]) -> Iterator[dict[str, Any]]:
    """Each agent's login per working day and the status intervals inside it."""
    for number, agent in enumerate(BANK_AGENTS):
        shift = _SHIFTS[number % 2]
        for day in dates:
            if not _works(day, number):
                continue
            local = datetime(day.year, day.month, day.day, shift, tzinfo=_ZONE).astimezone(UTC)
            start = local + timedelta(minutes=rng.randint(-15, 10), seconds=rng.randrange(60))
            end = local + timedelta(hours=_SHIFT_HOURS, minutes=rng.randint(-10, 25))
            yield _interval(agent.id, "login", start, end)
            yield from _statuses(rng, agent.id, start, end)
