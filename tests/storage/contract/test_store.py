"""The store contract (`storage.base.Store`), on every engine: upserts count once under retries and
corrections, every catalogue measure equals a brute-force recomputation from the records, searches
page stably, deferred work is finished by `flush` only, and every method keeps its promise."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.storage.contract.conftest import ENGINES, make_store

from ccstats.ingest import ingest_conversations, ingest_intervals
from ccstats.metrics import CATALOG, Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import Conversation, TenantSettings
from ccstats.schema import conversations_to_arrow
from ccstats.storage import Changes, SearchRequest, Store
from ccstats.timebuckets import bucket_starts

T0 = datetime(2024, 3, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
MEASURES = tuple(
    m for m in CATALOG.values() if isinstance(m, Measure) and m.name != "last_stored_at"
)
"""Every measure of the catalogue but the time of ingest itself (`last_stored_at`)."""


def _store(engine: str, *tenants: tuple[str, str]) -> Store:
    store = make_store(engine)
    for tenant_id, zone in tenants or (("t1", "UTC"), ("t2", "UTC")):
        store.registry.put_tenant(TenantSettings(id=tenant_id, timezone=zone))
    return store


def _call(cid: str, hours: float, tenant: str = "t1", **extra: Any) -> dict[str, Any]:
    created = T0 + hours * HOUR
    return {
        "id": cid,
        "tenant_id": tenant,
        "channel": "voice",
        "created_at": created.isoformat(),
        **extra,
    }


def _count(store: Store, tenant: str = "t1", start: datetime = T0, days: int = 5) -> int:
    request = AggregateRequest(
        tenant, start, start + timedelta(days=days), (CATALOG["conversations"],)
    )  # type: ignore[arg-type]
    return int(store.aggregate(request).rows[0][0] or 0)


# -- upserts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_retried_batch_counts_once(engine: str) -> None:
    with _store(engine) as store:
        batch = [_call("a", 1), _call("b", 2), _call("a", 3)]  # "a" twice: the last wins
        for _ in range(3):
            assert ingest_conversations(store, batch).accepted == 3
        assert _count(store) == 2
        page = store.search(SearchRequest("t1", limit=10, sort=(("created_at", False),)))
        assert [(r["id"], r["created_at"]) for r in page.rows] == [
            ("b", T0 + 2 * HOUR),
            ("a", T0 + 3 * HOUR),
        ]


@pytest.mark.parametrize("engine", ENGINES)
def test_corrections_move_a_record_across_buckets_days_months_and_customers(engine: str) -> None:
    with _store(engine, ("t1", "America/New_York")) as store:
        moves = [
            _call("a", 1, customer_id="x"),
            _call("a", 30, customer_id="x"),  # another day
            _call("a", 24 * 25, customer_id="y"),  # another month, another customer
        ]
        for record in moves:
            ingest_conversations(store, [record])
        assert _count(store, days=2) == 0
        assert _count(store, start=T0 + timedelta(days=24), days=2) == 1
        starts = tuple(
            bucket_starts(T0, T0 + timedelta(days=31), _zone("America/New_York"), "month")
        )
        request = AggregateRequest(
            "t1", T0, T0 + timedelta(days=31), (CATALOG["conversations"],), bucket_starts=starts
        )  # type: ignore[arg-type]
        rows = store.aggregate(request).rows
        assert [(bucket.astimezone(UTC), n) for bucket, n in rows] == [(starts[1], 1)]


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@pytest.mark.parametrize("engine", ENGINES)
def test_upserts_return_the_times_they_changed(engine: str) -> None:
    with _store(engine) as store:
        table, messages = conversations_to_arrow(
            [Conversation.model_validate(_call("a", 5, ended_at=(T0 + 6 * HOUR).isoformat()))],
            datetime.now(UTC),
        )
        changes = store.upsert_conversations(table, messages)
        lo, hi = changes.spans["t1"]
        assert lo is not None and hi is not None and lo.tzinfo is not None
        assert lo <= T0 + 5 * HOUR and hi >= T0 + 6 * HOUR
        # Moved elsewhere: both the old and the new times are changed.
        table, messages = conversations_to_arrow(
            [Conversation.model_validate(_call("a", 50))], datetime.now(UTC)
        )
        lo, hi = store.upsert_conversations(table, messages).spans["t1"]
        assert lo is not None and hi is not None
        assert lo <= T0 + 5 * HOUR and hi >= T0 + 50 * HOUR
        assert store.upsert_conversations(table.slice(0, 0), messages.slice(0, 0)) == Changes()


@pytest.mark.parametrize("engine", ENGINES)
def test_intervals_upsert_clip_and_report_their_span(engine: str) -> None:
    login = {"tenant_id": "t1", "agent_id": "a", "kind": "login"}
    with _store(engine) as store:
        first = [{**login, "started_at": T0 + HOUR, "ended_at": T0 + 3 * HOUR}]
        result = ingest_intervals(store, first)
        assert result.accepted == 1 and "t1" in result.changes.spans
        ingest_intervals(store, first)  # a retry replaces, never adds
        totals = store.interval_totals("t1", T0 + 2 * HOUR, T0 + 10 * HOUR)
        assert [(t.agent_id, t.kind, t.seconds, t.intervals) for t in totals] == [
            ("a", "login", 3600.0, 1)
        ]
        assert store.interval_totals("t1", T0, T0 + HOUR, ["b"]) == []


# -- every measure against a brute-force recomputation ------------------------------------------

records = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b", "c", "d", "e"]),
        "tenant_id": st.sampled_from(["t1", "t2"]),
        "channel": st.sampled_from(["voice", "chat"]),
        "direction": st.sampled_from(["inbound", "outbound"]),
        "created_at": st.integers(0, 70 * 3600).map(
            lambda s: (T0 + timedelta(seconds=s)).isoformat()
        ),
        "duration_s": st.none() | st.integers(0, 900),
        "bot_turns": st.none() | st.integers(0, 6),
        "ended_in_bot": st.booleans(),
        "agent_connected": st.booleans(),
        "queued": st.booleans(),
        "lost": st.booleans(),
        "agent_id": st.sampled_from(["x", "y", None]),
        "csat_score": st.none() | st.integers(1, 5),
        "customer_id": st.sampled_from(["p", "q", None]),
        "price": st.sampled_from([None, "0.10", "0.2", "1.79", "999999999999.999999999"]),
        "ended_after_s": st.none() | st.integers(0, 30 * 3600),
    }
)


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k != "ended_after_s" and v is not None}
    if raw["ended_after_s"] is not None:
        created = datetime.fromisoformat(raw["created_at"])
        out["ended_at"] = (created + timedelta(seconds=raw["ended_after_s"])).isoformat()
    return out


def _brute_force(latest: dict[tuple[str, str], dict[str, Any]], tenant: str) -> dict[str, Any]:
    """Every measure over the tenant's records as last written, from a plain table: next contacts
    by their definition (the earliest other conversation of the customer created after this one
    ended), each measure's own expression over that table, nothing of the engine's machinery."""
    models = [Conversation.model_validate(r) for r in latest.values()]
    table, _ = conversations_to_arrow(models, datetime.now(UTC))
    nexts = []
    for m in models:
        later = [
            o.created_at
            for o in models
            if m.customer_id is not None
            and m.ended_at is not None
            and o.tenant_id == m.tenant_id
            and o.customer_id == m.customer_id
            and o.id != m.id
            and o.created_at > m.ended_at
        ]
        nexts.append((m.ended_at, min(later) if later else None))
    con = duckdb.connect()
    out = {}
    for m in MEASURES:
        conditions = [m.where] if m.where else []
        if m.within_hours is not None:  # no other contact of the customer within N h
            hours = timedelta(hours=m.within_hours)
            repeats = [e is not None and n is not None and n <= e + hours for e, n in nexts]
            table_m = table.append_column("_no_repeat", pa.array([not r for r in repeats]))
            conditions.append("_no_repeat")
        else:
            table_m = table
        con.register("c", table_m)
        where = f" FILTER (WHERE {' AND '.join(conditions)})" if conditions else ""
        agg = {
            "count": "count(*)",
            "no_repeat_within": "count(*)",
            "count_distinct": f"count(DISTINCT {m.expr})",
            "max": f"max({m.expr})",
        }.get(m.kind, f"sum({m.expr})")
        if m.expr == "price":  # decimal text (data-model: `price`), added as the decimal it is
            agg = "sum(CAST(price AS DECIMAL(38,9)))"
        sql = (
            f"SELECT {agg}{where} FROM c WHERE tenant_id = ? AND created_at >= ? AND created_at < ?"
        )
        end = (T0 + timedelta(days=4)).replace(tzinfo=None)
        out[m.name] = con.execute(sql, [tenant, T0.replace(tzinfo=None), end]).fetchone()[0]  # type: ignore[index]
    return out


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, datetime) or isinstance(want, datetime):
        return got == want or (
            got is not None
            and want is not None
            and got.replace(tzinfo=None) == want.replace(tzinfo=None)
        )
    if isinstance(got, float) or isinstance(want, float):
        return math.isclose(float(got or 0), float(want or 0), rel_tol=1e-9, abs_tol=1e-9)
    return (got or 0) == (want or 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(records, min_size=1, max_size=5), min_size=1, max_size=4), st.booleans())
@pytest.mark.parametrize("engine", ENGINES)
def test_every_measure_equals_a_brute_force_recomputation(
    engine: str, batches: list[list[dict[str, Any]]], flush_each: bool
) -> None:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    with _store(engine) as store:
        for batch in batches:
            recs = [_record(r) for r in batch]
            assert not ingest_conversations(store, recs).rejected
            for r in recs:
                latest[(r["tenant_id"], r["id"])] = r
            if flush_each:
                store.flush()
        store.flush()
        for tenant in ("t1", "t2"):
            want = (
                _brute_force({k: v for k, v in latest.items() if k[0] == tenant}, tenant)
                if any(k[0] == tenant for k in latest)
                else {}
            )
            request = AggregateRequest(tenant, T0, T0 + timedelta(days=4), MEASURES)
            row = store.aggregate(request).dicts()[0] if store.aggregate(request).rows else {}
            for m in MEASURES:
                assert _same(row.get(m.name), want.get(m.name)), (
                    m.name,
                    row.get(m.name),
                    want.get(m.name),
                )


@pytest.mark.parametrize("engine", ENGINES)
def test_cost_adds_prices_exactly(engine: str) -> None:
    # Ten calls of 0.10 and one of 0.20 cost 1.20: added as floats they make 1.2000000000000002.
    calls = [_call(f"c{i}", i, price="0.10") for i in range(10)] + [_call("d", 11, price="0.20")]
    with _store(engine) as store:
        assert not ingest_conversations(store, [*calls, _call("free", 12)]).rejected
        store.flush()
        request = AggregateRequest("t1", T0, T0 + timedelta(days=1), (CATALOG["cost"],))  # type: ignore[arg-type]
        assert store.aggregate(request).rows[0][0] == 1.2
        store.maintain()  # the same from the pre-aggregates
        assert store.aggregate(request).rows[0][0] == 1.2


# -- flush, pending, retime, maintain --------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_reads_never_flush_and_flush_finishes_deferred_work(engine: str) -> None:
    fcr = CATALOG["resolved_within_24h"]
    with _store(engine) as store:
        ingest_conversations(
            store, [_call("a", 0, customer_id="x", ended_at=(T0 + HOUR).isoformat())]
        )
        store.flush()
        request = AggregateRequest("t1", T0, T0 + timedelta(days=3), (fcr,))  # type: ignore[arg-type]
        assert store.aggregate(request).rows == [(1,)]
        later = _call("b", 5, customer_id="x", ended_at=(T0 + 6 * HOUR).isoformat())
        ingest_conversations(store, [later])  # "a" is repeated within 24 h
        assert store.pending("t1")
        # A read counts "a" as stored (resolved) until a flush: reads never write.
        assert store.aggregate(request).rows == [(2,)]
        assert store.pending("t1")
        store.flush()
        assert not store.pending("t1")
        assert store.aggregate(request).rows == [(1,)]  # "b" resolved, "a" not
        assert store.flush() == Changes()  # nothing left


@pytest.mark.parametrize("engine", ENGINES)
def test_retime_recuts_local_days_and_changes_everything(engine: str) -> None:
    with _store(engine) as store:
        ingest_conversations(store, [_call("a", 23)])  # 23:00 UTC: the next day in Tokyo
        store.registry.put_tenant(TenantSettings(id="t1", timezone="Asia/Tokyo"))
        assert store.retime("t1", "Asia/Tokyo") == Changes.everything("t1")
        zone = _zone("Asia/Tokyo")
        starts = tuple(bucket_starts(T0, T0 + timedelta(days=3), zone, "day"))
        request = AggregateRequest(
            "t1", T0, T0 + timedelta(days=3), (CATALOG["conversations"],), bucket_starts=starts
        )  # type: ignore[arg-type]
        ((bucket, count),) = store.aggregate(request).rows
        assert bucket.astimezone(zone).date().isoformat() == "2024-03-10" and count == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_maintain_changes_no_answer(engine: str) -> None:
    with _store(engine) as store:
        spread = [_call(str(i), i * 10, customer_id="x") for i in range(12)]  # a bulk batch
        ingest_conversations(store, spread)
        store.flush()
        request = AggregateRequest("t1", T0, T0 + timedelta(days=6), MEASURES)
        before = store.aggregate(request).rows
        store.maintain()
        assert store.aggregate(request).rows == before


# -- reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_search_pages_by_keyset_stably_under_concurrent_ingest(engine: str) -> None:
    with _store(engine) as store:
        ingest_conversations(store, [_call(f"c{i:02}", i) for i in range(10)])
        request = SearchRequest(
            "t1", T0, T0 + timedelta(days=1), sort=(("created_at", False),), limit=4
        )
        seen: list[str] = []
        after = None
        while True:
            page = store.search(SearchRequest(**{**request.__dict__, "after": after}), count=True)
            assert page.total is not None and page.total >= 10
            seen += [r["id"] for r in page.rows]
            if len(page.values) < 4:
                break
            last = page.rows[-1]
            after = (last["created_at"], last["id"])
            # A newer call arrives while the client pages: earlier pages stay as they were.
            ingest_conversations(store, [_call(f"n{len(seen)}", 30)])
        assert seen == [f"c{i:02}" for i in range(10)]


@pytest.mark.parametrize("engine", ENGINES)
def test_iter_search_messages_data_as_of_and_explain(engine: str) -> None:
    with _store(engine) as store:
        assert store.data_as_of("t1") is None
        msgs = [
            {"seq": 1, "sender": "customer", "text": "hi", "sent_at": T0.isoformat()},
            {
                "seq": 2,
                "sender": "agent",
                "agent_id": "x",
                "text": "hello",
                "sent_at": (T0 + timedelta(seconds=5)).isoformat(),
            },
        ]
        ingest_conversations(store, [_call("a", 0, channel="chat", messages=msgs), _call("b", 1)])
        as_of = store.data_as_of("t1")
        assert as_of is not None and as_of.tzinfo is not None
        batches = list(
            store.iter_search(SearchRequest("t1", limit=None, columns=("id",)), batch_size=1)
        )
        assert sorted(i for b in batches for i in b.column("id").to_pylist()) == ["a", "b"]
        transcript = store.messages_for("t1", ["a", "b"])
        assert [(m["seq"], m["sender"], m["text"]) for m in transcript["a"]] == [
            (1, "customer", "hi"),
            (2, "agent", "hello"),
        ]
        assert transcript["b"] == [] and store.messages_for("t2", ["a"]) == {"a": []}
        request = AggregateRequest("t1", T0, T0 + HOUR, (CATALOG["conversations"],))  # type: ignore[arg-type]
        assert "SELECT" in store.explain(request).upper()


@pytest.mark.parametrize("engine", ENGINES)
def test_one_tenant_never_reads_another(engine: str) -> None:
    with _store(engine) as store:
        ingest_conversations(store, [_call("a", 1, tenant="t1"), _call("a", 1, tenant="t2")])
        assert _count(store, "t1") == 1 and _count(store, "t2") == 1
        assert [r["tenant_id"] for r in store.search(SearchRequest("t2")).rows] == ["t2"]
