"""DuckDB and ClickHouse (chDB) answer the demo data identically: every catalogue metric at every
granularity, in the tenants' zones and in zones with half-hour and 45-minute offsets, grouped and
filtered, by another time field; pages of every sort, totals, transcripts, agent time.

Both stores get the same demo (same seed, same `today`: the same records). What differs is only
when each stored them, so `stored_at` and the `last_stored_at` metric are compared for presence,
not value.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from tests.chdb_stores import chdb_store, drop_opened

from ccstats.demo import create_demo
from ccstats.demo.tenants import demo_tenants
from ccstats.metrics import CATALOG
from ccstats.metrics.query import MetricQuery, MetricResult
from ccstats.records import TenantSettings
from ccstats.service import SearchRequest, Service
from ccstats.storage import DuckDBStore, Store

TODAY = date(2026, 11, 21)
START = datetime(2026, 9, 20, tzinfo=UTC)
END = datetime(2026, 11, 22, tzinfo=UTC)
METRICS = tuple(sorted(CATALOG))
STAMPS = ("last_stored_at", "stored_at")
"""When each store wrote a record: present in the same places, equal in no two runs."""


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[Service, Service]]:
    """The demo in DuckDB and in ClickHouse, each behind its service."""
    duck: Store = DuckDBStore(":memory:")
    house: Store = chdb_store()
    for store in (duck, house):
        create_demo(store, 3000, today=TODAY)
    yield Service(duck), Service(house)
    duck.close()
    drop_opened()


def _stamped(value: Any) -> Any:
    return None if value is None else "stamped"


def _plain(result: MetricResult) -> list[dict[str, Any]]:
    return [{k: _stamped(v) if k in STAMPS else v for k, v in row.items()} for row in result.rows]


def _same_answer(pair: tuple[Service, Service], query: MetricQuery) -> list[dict[str, Any]]:
    duck, house = (s.run_query(query) for s in pair)
    assert duck.columns == house.columns
    assert _plain(duck) == _plain(house), query
    return duck.rows


TENANTS = [t.id for t in demo_tenants()]


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("granularity", ["total", "day", "hour", "half_hour", "week", "month"])
def test_every_metric_at_every_granularity(
    services: tuple[Service, Service], tenant: str, granularity: str
) -> None:
    zone = next(t.timezone for t in demo_tenants() if t.id == tenant)
    query = MetricQuery(tenant, METRICS, START, END, zone, granularity)
    rows = _same_answer(services, query)
    assert sum(r["conversations"] for r in rows) > 0  # the demo filled the tenant


@pytest.mark.parametrize("zone", ["Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"])
@pytest.mark.parametrize("granularity", ["day", "hour", "month"])
def test_buckets_of_odd_zones(
    services: tuple[Service, Service], zone: str, granularity: str
) -> None:
    for tenant in TENANTS:
        _same_answer(services, MetricQuery(tenant, METRICS, START, END, zone, granularity))


@pytest.mark.parametrize(
    "group_by", [("channel",), ("agent_id",), ("access_code", "direction"), ("csat_option_id",)]
)
def test_grouped_and_filtered(services: tuple[Service, Service], group_by: tuple[str, ...]) -> None:
    for tenant in TENANTS:
        query = MetricQuery(tenant, METRICS, START, END, "UTC", "day", group_by=group_by)
        _same_answer(services, query)
        filtered = replace(query, filters={"channel": ("chat",), "direction": ("inbound", None)})
        _same_answer(services, filtered)


def test_by_another_time_field(services: tuple[Service, Service]) -> None:
    for tenant in TENANTS:
        query = MetricQuery(tenant, METRICS, START, END, "UTC", "week", time_field="ended_at")
        _same_answer(services, query)


def _pages(service: Service, request: SearchRequest, pages: int) -> list[list[dict[str, Any]]]:
    out = []
    for _ in range(pages):
        page = service.search(request, count=True)
        out.append(
            [{k: _stamped(v) if k in STAMPS else v for k, v in r.items()} for r in page.rows]
        )
        if not page.values:
            break
        last = page.rows[-1]
        request = replace(request, after=(*(last[c] for c, _ in request.sort), last["id"]))
    return out


@pytest.mark.parametrize(
    "sort",
    [
        (("created_at", True),),
        (("created_at", False),),
        (("duration_s", True), ("created_at", False)),
        (("agent_id", False),),
    ],
)
def test_detail_pages(
    services: tuple[Service, Service], sort: tuple[tuple[str, bool], ...]
) -> None:
    for tenant in TENANTS:
        request = SearchRequest(tenant, START, END, sort=sort, limit=50)
        duck, house = (_pages(s, request, 3) for s in services)
        assert duck == house
        assert any(duck)
        totals = {s.count(replace(request, filters=(("channel", ("voice",)),))) for s in services}
        assert len(totals) == 1


def test_offsets_exports_and_transcripts(services: tuple[Service, Service]) -> None:
    for tenant in TENANTS:
        request = SearchRequest(tenant, START, END, limit=20, offset=40)
        duck, house = (s.search(request) for s in services)
        assert duck.columns == house.columns
        assert _pages(services[0], request, 1) == _pages(services[1], request, 1)
        ids = duck.column("id")
        assert services[0].messages_for(tenant, ids) == services[1].messages_for(tenant, ids)
        whole = SearchRequest(tenant, START, END, limit=None, columns=("id", "duration_s"))
        exports = [
            sorted(
                row
                for b in s.iter_search(whole, 500)
                for row in zip(*b.to_pydict().values(), strict=True)
            )
            for s in services
        ]
        assert exports[0] == exports[1] and exports[0]


def test_agent_time(services: tuple[Service, Service]) -> None:
    seen = 0
    for tenant in TENANTS:
        for day in range(0, 60, 7):
            lo = START + timedelta(days=day)
            duck, house = (s.interval_totals(tenant, lo, lo + timedelta(days=3)) for s in services)
            assert duck == house
            seen += len(duck)
    assert seen  # the demo's bank agents logged in


def _chat(i: int, rng: random.Random) -> dict[str, Any]:
    """A chat whose replies come after fractions of a second: float facts with many digits."""
    t = datetime(2024, 3, 9, tzinfo=UTC) + timedelta(minutes=37 * i)
    messages = []
    for seq in range(rng.randint(2, 6)):
        t += timedelta(seconds=rng.uniform(0, 90))
        sender = "customer" if seq % 2 == 0 else "agent"
        messages.append(
            {
                "seq": seq,
                "sender": sender,
                "agent_id": "x" if sender == "agent" else None,
                "text": "...",
                "sent_at": t.isoformat(timespec="microseconds"),
            }
        )
    start = messages[0]["sent_at"]
    return {
        "id": f"c{i}",
        "tenant_id": "t1",
        "channel": "chat",
        "created_at": start,
        "agent_id": "x",
        "agent_connected": True,
        "messages": messages,
    }


def test_float_sums_agree_to_the_last_digit() -> None:
    rng = random.Random(7)
    chats = [_chat(i, rng) for i in range(300)]
    pair = (Service(DuckDBStore(":memory:")), Service(chdb_store()))
    try:
        for service in pair:
            service.put_tenant(TenantSettings(id="t1"))
            assert not service.ingest_conversations(chats).rejected
        floats = (
            "first_response_total",
            "reply_wait_total",
            "avg_first_response",
            "avg_reply_wait",
        )
        start = datetime(2024, 3, 1, tzinfo=UTC)
        for granularity in ("total", "hour", "day"):
            query = MetricQuery("t1", floats, start, start + timedelta(days=30), "UTC", granularity)
            rows = _same_answer(pair, query)
            assert any(r["first_response_total"] % 1 for r in rows)  # fractions were added
    finally:
        pair[0].store.close()
        drop_opened()
