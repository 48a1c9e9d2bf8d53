"""`ccstats demo`: three tenants, fixed credentials and realistic traffic for every report.

The records are plain dicts, ingested through `ingest_conversations` (validation, transcript facts,
Arrow upsert) like any user's data. Each traffic source draws from its own `Random(f"{seed}:{name}")`,
so the same seed and `today` give the same records, and ids are drawn too: a rerun with the same
seed replaces the records it wrote before instead of adding to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import chain
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from rich.progress import Progress

from ccstats.demo.acme import acme_conversation
from ccstats.demo.aliyun import hotline_call
from ccstats.demo.clock import (
    BUSINESS_HOURS,
    CALLING_HOURS,
    TrafficCalendar,
    dst_changes,
    dst_instant,
    hex_id,
)
from ccstats.demo.huawei import chatbot_session, ivr_call
from ccstats.demo.intervals import agent_intervals
from ccstats.demo.sevenmoor import im_session
from ccstats.demo.tenants import (
    ACME,
    BANK,
    CREDENTIALS,
    RETAIL,
    DemoError,
    demo_tenants,
    ensure_credential,
)
from ccstats.demo.twin24 import bot_call
from ccstats.ingest import IngestResult, ingest_conversations, ingest_intervals
from ccstats.service import Service
from ccstats.storage import Store

__all__ = ["DAYS", "SOURCES", "DemoError", "Source", "create_demo"]

DAYS = 60
"""The demo covers the local dates of the 60 days before `today`."""
CHUNK = 5_000

Builder = Callable[[Random, datetime, list[str]], dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """One kind of traffic: its tenant, its share of the conversations and how to build one."""

    name: str
    tenant_id: str
    share: float
    build: Builder
    customer: Callable[[Random], str] | None = None
    """Makes the customer pool; a pool smaller than the traffic gives repeat contacts (FCR)."""
    hourly: tuple[float, ...] = BUSINESS_HOURS
    on_dst_days: bool = False
    """Also put traffic on the zone's DST change days of the past year (bucketing edge cases)."""


SOURCES: tuple[Source, ...] = (
    Source("huawei_ivr", BANK, 0.21, lambda rng, at, _: ivr_call(rng, at)),
    Source("huawei_chatbot", BANK, 0.09, lambda rng, at, _: chatbot_session(rng, at)),
    Source("7moor_im", BANK, 0.18, im_session, customer=lambda rng: hex_id(rng, 24)),
    Source(
        "aliyun_hotline",
        BANK,
        0.12,
        hotline_call,
        customer=lambda rng: f"7856{rng.randrange(10**4):04d}",
    ),
    Source(
        "twin24_campaigns", RETAIL, 0.25, lambda rng, at, _: bot_call(rng, at), hourly=CALLING_HOURS
    ),
    Source(
        "acme_contact_center",
        ACME,
        0.15,
        acme_conversation,
        customer=lambda rng: f"C{rng.randrange(10**6):06d}",
        on_dst_days=True,
    ),
)


def _split(total: int) -> dict[str, int]:
    """Conversations per source; the rounding remainder goes to the first."""
    counts = {s.name: int(total * s.share) for s in SOURCES}
    counts[SOURCES[0].name] += total - sum(counts.values())
    return counts


def _dst_days(zone: ZoneInfo, today: date) -> list[date]:
    """The zone's DST change days in the year before `today` (America/New_York: March, November)."""
    return dst_changes(zone, today - timedelta(days=365), today - timedelta(days=1))


def _dst_instants(
    rng: Random, calendar: TrafficCalendar, today: date, count: int
) -> list[datetime]:
    """Instants on the DST change days: half in the hours around the change, half by day pattern."""
    per_day = max(4, count // 60) if count >= 20 else 0
    around = (-1, 0, -2, 1)  # the hours before and after the change, the repeated hour first
    instants = []
    for day in _dst_days(calendar.zone, today):
        for k in range(per_day):
            if k % 2 == 0:
                instants.append(dst_instant(rng, calendar.zone, day, around[k // 2 % 4]))
            else:
                instants.append(calendar.instant_on(rng, day))
    return instants


def _generate(
    source: Source, count: int, seed: int, today: date, zone: ZoneInfo
) -> Iterator[dict[str, Any]]:
    """The source's `count` conversations, deterministic for (seed, today, count)."""
    rng = Random(f"{seed}:{source.name}")
    pool = [source.customer(rng) for _ in range(max(20, count // 4))] if source.customer else []
    calendar = TrafficCalendar(zone, today, DAYS, source.hourly)
    fixed = _dst_instants(rng, calendar, today, count) if source.on_dst_days else []
    for index in range(count):
        at = fixed[index] if index < len(fixed) else calendar.instant(rng)
        yield source.build(rng, at, pool)


def _chunks(items: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check(result: IngestResult, chunk: list[dict[str, Any]], what: str) -> None:
    """Every demo record must validate: a rejection is a bug in the generator."""
    if result.rejected:
        first = result.rejected[0]
        raise DemoError(
            f"{len(result.rejected)} demo {what} did not validate; first: #{first.index} "
            f"{first.id or chunk[first.index].get('agent_id')}: {first.reason}"
        )


def _tick(progress: Progress | None, description: str, total: int) -> Callable[[int], None]:
    """A progress-bar task, or nothing without a bar."""
    if progress is None:
        return lambda _: None
    task = progress.add_task(description, total=total)
    return lambda n: progress.advance(task, n)


def _tallied(
    source: Source, records: Iterator[dict[str, Any]], tally: Counter[tuple[str, str, str]]
) -> Iterator[dict[str, Any]]:
    for record in records:
        tally[(record["tenant_id"], record["channel"], source.name)] += 1
        yield record


def _conversations(
    store: Store, counts: dict[str, int], seed: int, today: date, advance: Callable[[int], None]
) -> Counter[tuple[str, str, str]]:
    """Generate and ingest every source's conversations; (tenant, channel, source) counts."""
    zones = {t.id: t.zone for t in demo_tenants()}
    tally: Counter[tuple[str, str, str]] = Counter()
    # One stream of chunks across sources: fewer, fuller store writes.
    records = chain.from_iterable(
        _tallied(s, _generate(s, counts[s.name], seed, today, zones[s.tenant_id]), tally)
        for s in SOURCES
    )
    for chunk in _chunks(records):
        _check(ingest_conversations(store, chunk), chunk, "conversations")
        advance(len(chunk))
    return tally


def _intervals(store: Store, seed: int, dates: list[date], progress: Progress | None) -> int:
    """Generate and ingest the bank agents' login and status intervals."""
    intervals = list(agent_intervals(Random(f"{seed}:intervals"), dates))  # ~10 000: small
    advance = _tick(progress, "agent intervals", len(intervals))
    for chunk in _chunks(intervals):
        _check(ingest_intervals(store, chunk), chunk, "agent intervals")
        advance(len(chunk))
    return len(intervals)


def _summary(
    tally: Counter[tuple[str, str, str]], dst_days: dict[str, list[str]]
) -> list[dict[str, Any]]:
    tenants = []
    for tenant in demo_tenants():
        channels: Counter[str] = Counter()
        sources: Counter[str] = Counter()
        for (tenant_id, channel, source), n in tally.items():
            if tenant_id == tenant.id:
                channels[channel] += n
                sources[source] += n
        tenants.append(
            {
                "id": tenant.id,
                "name": tenant.name,
                "timezone": tenant.timezone,
                "conversations": sum(channels.values()),
                "by_channel": dict(sorted(channels.items())),
                "by_source": dict(sources),
                **({"dst_days": dst_days[tenant.id]} if tenant.id in dst_days else {}),
            }
        )
    return tenants


def create_demo(
    store: Store,
    conversations: int = 20_000,
    *,
    seed: int = 42,
    progress: Progress | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Create the demo tenants, credentials, conversations and agent intervals; returns a summary.

    Rerunning with the same seed and `today` replaces the same records (upserts), never duplicates.

    Example:
        >>> from ccstats.storage import open_store
        >>> summary = create_demo(open_store(), 100, today=date(2026, 11, 21))
        >>> summary["conversations"], summary["from"], summary["to"]
        (100, '2026-09-22', '2026-11-20')
    """
    if conversations < 0:
        raise DemoError(f"the number of conversations must be 0 or more, got {conversations}")
    today = today or date.today()
    service = Service(store)
    for tenant in demo_tenants():
        service.put_tenant(tenant)
    credentials = [ensure_credential(store, c) for c in CREDENTIALS]
    dates = [today - timedelta(days=back) for back in range(DAYS, 0, -1)]
    counts = _split(conversations)
    tally = _conversations(
        store, counts, seed, today, _tick(progress, "demo conversations", conversations)
    )
    intervals = _intervals(store, seed, dates, progress)
    zones = {t.id: t.zone for t in demo_tenants()}
    dst = {
        s.tenant_id: [d.isoformat() for d in _dst_days(zones[s.tenant_id], today)]
        for s in SOURCES
        if s.on_dst_days
    }
    return {
        "seed": seed,
        "today": today.isoformat(),
        "from": dates[0].isoformat(),
        "to": dates[-1].isoformat(),
        "conversations": conversations,
        "agent_intervals": intervals,
        "tenants": _summary(tally, dst),
        "credentials": credentials,
    }
