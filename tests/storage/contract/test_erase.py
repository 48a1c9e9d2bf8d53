"""The erasure contract (`Store.erase`), on every engine: a customer's conversations, a retention
cutoff or a whole tenant deleted, with the counts returned, and every catalogue measure of what
stays equal to a brute-force recomputation (pre-aggregates and next contacts exact)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.storage.contract.conftest import ENGINES
from tests.storage.contract.test_store import (
    MEASURES,
    T0,
    _brute_force,
    _record,
    _same,
    _store,
    records,
)

from ccstats.ingest import ingest_conversations, ingest_intervals
from ccstats.metrics.plan import AggregateRequest
from ccstats.storage import Changes, SearchRequest, Store

HOUR = timedelta(hours=1)


def _assert_exact(store: Store, latest: dict[tuple[str, str], dict[str, Any]]) -> None:
    store.flush()
    for tenant in ("t1", "t2"):
        mine = {k: v for k, v in latest.items() if k[0] == tenant}
        want = _brute_force(mine, tenant) if mine else {}
        request = AggregateRequest(tenant, T0, T0 + timedelta(days=4), MEASURES)
        rows = store.aggregate(request).dicts()
        row = rows[0] if rows else {}
        for m in MEASURES:
            assert _same(row.get(m.name), want.get(m.name)), (tenant, m.name)
        ids = {r["id"] for r in store.search(SearchRequest(tenant, limit=None)).rows}
        assert ids == {k[1] for k in mine}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(records, min_size=1, max_size=6), min_size=1, max_size=3),
    st.sampled_from(["p", "q"]),
    st.integers(0, 70),
    st.booleans(),
)
@pytest.mark.parametrize("engine", ENGINES)
def test_erasures_leave_every_measure_exact(
    engine: str,
    batches: list[list[dict[str, Any]]],
    customer: str,
    cutoff_hours: int,
    flushed: bool,
) -> None:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    with _store(engine) as store:
        for batch in batches:
            recs = [_record(r) for r in batch]
            assert not ingest_conversations(store, recs).rejected
            latest.update({(r["tenant_id"], r["id"]): r for r in recs})
        if flushed:
            store.flush()
        # A data-protection request: every conversation of one customer of t1.
        gone = [k for k, r in latest.items() if k[0] == "t1" and r.get("customer_id") == customer]
        erased = store.erase("t1", customer_id=customer)
        assert erased.conversations == len(gone) and erased.intervals == 0
        assert set(erased.changes.spans) <= {"t1"} and bool(erased.changes) == bool(gone)
        for key in gone:
            del latest[key]
        _assert_exact(store, latest)
        # Retention: what t2 created before the cutoff.
        cutoff = T0 + cutoff_hours * HOUR
        old = [
            k
            for k, r in latest.items()
            if k[0] == "t2" and datetime.fromisoformat(r["created_at"]) < cutoff
        ]
        assert store.erase("t2", before=cutoff).conversations == len(old)
        for key in old:
            del latest[key]
        _assert_exact(store, latest)
        store.maintain()  # rebuilding what a bulk erasure left stale changes no answer
        _assert_exact(store, latest)


def _chat(cid: str, hours: float, tenant: str = "t1", **extra: Any) -> dict[str, Any]:
    created = T0 + hours * HOUR
    messages = [
        {"seq": 1, "sender": "customer", "text": "hi", "sent_at": created.isoformat()},
        {"seq": 2, "sender": "agent", "text": "hello", "sent_at": created.isoformat()},
    ]
    return {
        "id": cid,
        "tenant_id": tenant,
        "channel": "chat",
        "created_at": created.isoformat(),
        "messages": messages,
        **extra,
    }


def _interval(
    agent: str, start_hours: float, end_hours: float, tenant: str = "t1"
) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "agent_id": agent,
        "kind": "login",
        "started_at": T0 + start_hours * HOUR,
        "ended_at": T0 + end_hours * HOUR,
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_erasures_count_conversations_messages_and_intervals(engine: str) -> None:
    with _store(engine) as store:
        ingest_conversations(
            store,
            [
                _chat("a", 1, customer_id="x"),
                _chat("b", 30, customer_id="x"),
                _chat("c", 2, customer_id="y"),
                _chat("a", 1, tenant="t2", customer_id="x"),  # another tenant's customer x
            ],
        )
        ingest_intervals(
            store,
            [
                _interval("u", 0, 3),
                _interval("u", 3, 20),
                _interval("v", 1, 9),
                _interval("v", 30, 31),
            ],
        )
        erased = store.erase("t1", customer_id="x")
        assert erased.counts() == {"conversations": 2, "messages": 4, "agent_intervals": 0}
        lo, hi = erased.changes.spans["t1"]
        assert lo is not None and hi is not None and lo <= T0 + HOUR and hi >= T0 + 30 * HOUR
        assert store.erase("t1", customer_id="x").counts()["conversations"] == 0  # done already
        assert store.messages_for("t2", ["a"])["a"] != []  # the other tenant's x stays
        # Retention at T0 + 10 h: "c" (created at 2 h) and the intervals that ended at 3 h and
        # 9 h go; the one that ended at 20 h (started before the cutoff) stays.
        erased = store.erase("t1", before=T0 + 10 * HOUR)
        assert erased.counts() == {"conversations": 1, "messages": 2, "agent_intervals": 2}
        totals = store.interval_totals("t1", T0, T0 + 40 * HOUR)
        assert [(t.agent_id, t.seconds) for t in totals] == [("u", 17 * 3600.0), ("v", 3600.0)]


@pytest.mark.parametrize("engine", ENGINES)
def test_erasing_a_tenant_deletes_all_of_it_and_nothing_else(engine: str) -> None:
    with _store(engine) as store:
        spread = [_chat(f"c{i}", i * 9, customer_id="x") for i in range(8)]  # a bulk batch
        ingest_conversations(store, spread + [_chat("o", 1, tenant="t2")])
        ingest_intervals(store, [_interval("u", 0, 3), _interval("u", 0, 3, tenant="t2")])
        erased = store.erase("t1")
        assert erased.counts() == {"conversations": 8, "messages": 16, "agent_intervals": 1}
        assert erased.changes == Changes.everything("t1")
        assert not store.pending("t1")
        assert store.search(SearchRequest("t1", limit=None)).rows == []
        assert store.interval_totals("t1", T0, T0 + 100 * HOUR) == []
        store.maintain()
        _assert_exact(store, {("t2", "o"): _chat("o", 1, tenant="t2")})
        # The tenant's id can hold new records again, counted once.
        ingest_conversations(store, [_chat("c0", 0)])
        _assert_exact(
            store, {("t1", "c0"): _chat("c0", 0), ("t2", "o"): _chat("o", 1, tenant="t2")}
        )
