"""`next_contact_at` and the FCR measures it serves stay exact after any sequence of upserts
(storage/duckdb/contacts.py): customers changing, conversations moving, ended before created."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import add_tenant, load

from ccstats.metrics import get_metric
from ccstats.storage.base import AggregateRequest
from ccstats.storage.duckdb.store import DuckDBStore

T0 = datetime(2024, 5, 1, tzinfo=UTC)
DAY = timedelta(days=1)

# The definition in reports.md (7moor quality), as the catalogue wrote it before the column:
# the customer opened no other conversation of the tenant within N h after this one ended.
_NOT_EXISTS = (
    "SELECT count(*) FROM conversations c WHERE c.tenant_id = ? AND c.ended_at IS NOT NULL"
    " AND NOT coalesce(c.lost, false) AND c.customer_id IS NOT NULL AND NOT EXISTS ("
    "SELECT 1 FROM conversations o WHERE o.tenant_id = c.tenant_id"
    " AND o.customer_id = c.customer_id AND o.id <> c.id AND o.created_at > c.ended_at"
    " AND o.created_at <= c.ended_at + INTERVAL {hours} HOUR)"
)


def _record(tenant: str, cid: str, customer: str | None, hour: int, ended: int | None) -> Any:
    created = T0 + timedelta(hours=hour)
    record: dict[str, Any] = {
        "id": cid,
        "tenant_id": tenant,
        "channel": "chat",
        "created_at": created.isoformat(),
        "customer_id": customer,
        "agent_id": "p" if hour % 2 else "q",
    }
    if ended is not None:
        record["ended_at"] = (created + timedelta(hours=ended)).isoformat()
    return record


def _expected_next(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], Any]:
    out = {}
    for key, row in rows.items():
        ended = row.get("ended_at")
        later = [
            datetime.fromisoformat(o["created_at"])
            for okey, o in rows.items()
            if okey != key
            and okey[0] == key[0]
            and row["customer_id"] is not None
            and o["customer_id"] == row["customer_id"]
            and ended is not None
            and datetime.fromisoformat(o["created_at"]) > datetime.fromisoformat(ended)
        ]
        out[key] = min(later) if later else None
    return out


def _check(store: DuckDBStore, rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    """After a flush, FCR answers equal the definition, and so do the stored next contacts."""
    store.flush()
    for tenant in ("a", "b"):
        for hours in (24, 48, 5):
            measure = get_metric(f"resolved_within_{hours}h")
            request = AggregateRequest(tenant, T0 - 10 * DAY, T0 + 40 * DAY, (measure,))  # type: ignore[arg-type]
            answer = store.aggregate(request)
            want = store._fetch(_NOT_EXISTS.format(hours=hours), [tenant])[0][0]
            assert (answer.rows[0][0] or 0) == want, (tenant, hours, answer.sql)
            by_agent = replace(request, group_by=("agent_id",))
            per_agent = {r[0]: r[1] for r in store.aggregate(by_agent).rows}
            assert sum(v or 0 for v in per_agent.values()) == want
    stored = {
        (t, i): (n.replace(tzinfo=UTC) if n else None)
        for t, i, n in store._fetch("SELECT tenant_id, id, next_contact_at FROM conversations")
    }
    assert stored == _expected_next(rows)


_RECORDS = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from([f"c{i}" for i in range(8)]),
    st.sampled_from(["x", "y", None]),
    st.sampled_from([0, 5, 20, 23, 26, 30, 49, 50, 75, 100, 140]),
    st.one_of(st.none(), st.integers(-3, 80)),  # negative: ended before it was created
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_RECORDS, min_size=1, max_size=6), min_size=1, max_size=6))
def test_next_contact_equals_the_definition_after_any_upserts(batches: list[list[Any]]) -> None:
    store = DuckDBStore()
    add_tenant(store, "a")
    add_tenant(store, "b")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for batch in batches:
        records = {(r[0], r[1]): _record(*r) for r in batch}  # one record per key in a batch
        load(store, list(records.values()))
        rows.update(records)
        _check(store, rows)  # a batch over more than a day leaves the rollups stale: raw table
        store.maintain()  # fresh again: the next batch moves FCR counts by their difference
        _check(store, rows)
    store.compact()
    _check(store, rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.lists(_RECORDS, min_size=1, max_size=6), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_fcr_counts_after_stale_batches_and_maintenance(batches: list[Any]) -> None:
    """Several batches may leave the rollups stale before `maintain`: the moves of next
    contacts outside their spans (`contact_moves`) add up exactly, replaced rows included."""
    store = DuckDBStore()
    add_tenant(store, "a")
    add_tenant(store, "b")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for batch, maintain in batches:
        records = {(r[0], r[1]): _record(*r) for r in batch}
        load(store, list(records.values()))
        rows.update(records)
        if maintain:
            store.maintain()
            assert not store._fetch("SELECT * FROM contact_moves")
        _check(store, rows)
    store.maintain()
    _check(store, rows)


def test_hand_worked_repeat_contacts() -> None:
    store = DuckDBStore()
    add_tenant(store, "a")
    add_tenant(store, "b")
    # x: c1 ends at 2:00; c2 opens at 20:00 (18 h later), c3 at 50:00 (c2 ended at 21:00, so
    # 29 h after it). Tenant b's x opens at 3:00 but is another tenant's customer.
    load(
        store,
        [
            _record("a", "c1", "x", 0, 2),
            _record("a", "c2", "x", 20, 1),
            _record("a", "c3", "x", 50, 1),
            _record("b", "c1", "x", 3, 1),
        ],
    )
    store.flush()
    nxt = dict(
        ((t, i), n)
        for t, i, n in store._fetch("SELECT tenant_id, id, next_contact_at FROM conversations")
    )
    assert nxt[("a", "c1")] == datetime(2024, 5, 1, 20)
    assert nxt[("a", "c2")] == datetime(2024, 5, 3, 2)
    assert nxt[("a", "c3")] is None
    assert nxt[("b", "c1")] is None
    resolved_24 = get_metric("resolved_within_24h")
    request = AggregateRequest("a", T0, T0 + 5 * DAY, (resolved_24,))  # type: ignore[arg-type]
    # c1 repeats within 24 h (18 h); c2's next is 29 h later; c3 has none: 2 resolved.
    assert store.aggregate(request).rows == [(2,)]
    # Moving c2 to another customer: c1 no longer repeats, and its rollup slot moves with it.
    load(store, [_record("a", "c2", "y", 20, 1)])
    store.flush()
    assert store.aggregate(request).rows == [(3,)]


def test_upserts_defer_next_contacts_to_flush() -> None:
    """c1 (x, ends at 2:00) then, one day-batch later, c2 (x, opens at 20:00): the upsert
    notes customer x as pending; reads leave it so; `flush` settles it (c1 repeats within
    24 h: 1 resolved, c2) and returns c1's time as changed."""
    store = DuckDBStore()
    add_tenant(store, "a")
    load(store, [_record("a", "c1", "x", 0, 2)])
    store.flush()
    load(store, [_record("a", "c2", "x", 20, 1)])
    assert store._fetch("SELECT * FROM pending_contacts") == [("a", "x")]
    assert store.pending("a")
    window = (T0, T0 + 5 * DAY)
    count = AggregateRequest("a", *window, (get_metric("conversations"),))  # type: ignore[arg-type]
    assert store.aggregate(count).rows == [(2,)]
    assert not store.flush([])  # no tenant named: nothing settled
    assert store._fetch("SELECT * FROM pending_contacts") == [("a", "x")]
    # The upsert wrote 20:00-21:00 only; the flush moved c1's next contact (0:00-2:00).
    lo, hi = store.flush(["a"]).spans["a"]
    assert lo is not None and hi is not None
    assert lo <= T0 + timedelta(hours=3) and hi >= T0
    assert store._fetch("SELECT * FROM pending_contacts") == []
    assert not store.pending("a")
    fcr = AggregateRequest("a", *window, (get_metric("resolved_within_24h"),))  # type: ignore[arg-type]
    assert "conversation_rollup" in store.explain(fcr)
    assert store.aggregate(fcr).rows == [(1,)]
    load(store, [_record("a", "c3", "x", 100, 1)])  # c2's next contact: 79 h later
    store.flush()
    assert store.aggregate(fcr).rows == [(2,)]
    assert store._fetch("SELECT * FROM pending_contacts") == []


def test_a_bulk_batch_moves_earlier_fcr_counts_without_rebuilding_them() -> None:
    """c1 (hour 0, ends at 2:00) has no repeat. A bulk batch (hours 20 to 72, replacing c3:
    a batch of new keys only adds to the rollups) opens c2 for the same customer 18 h after c1
    ended: the stale span is the batch's own, and `maintain` moves c1's count in its 00:00 slot
    by the difference instead of rebuilding back to it."""
    store = DuckDBStore()
    add_tenant(store, "a")
    load(store, [_record("a", "c1", "x", 0, 2)])
    load(store, [_record("a", "c3", "y", 72, 1)])
    resolved = "SELECT m_resolved_within_24h FROM conversation_rollup WHERE slot = ?"
    slot = T0.replace(tzinfo=None)
    assert store._fetch(resolved, [slot]) == [(1,)]
    load(store, [_record("a", "c2", "x", 20, 1), _record("a", "c3", "y", 72, 1)])
    store.flush()
    marks = store._fetch("SELECT value FROM engine_state WHERE key LIKE 'stale:%'")
    span = "2024-05-01 20:00:00.000000|2024-05-04 00:00:00.000000"
    assert marks == [(span,), (span,)]  # not back to c1's 00:00
    moves = store._fetch("SELECT rollup, id, created_at, old FROM contact_moves ORDER BY ALL")
    assert moves == [
        ("agent_day_rollup", "c1", slot, None),
        ("conversation_rollup", "c1", slot, None),
    ]
    store.maintain()
    assert store._fetch("SELECT * FROM contact_moves") == []
    assert store._fetch(resolved, [slot]) == [(0,)]  # c1 repeats within 24 h now
    request = AggregateRequest("a", T0, T0 + 5 * DAY, (get_metric("resolved_within_24h"),))  # type: ignore[arg-type]
    assert "conversation_rollup" in store.explain(request)
    assert store.aggregate(request).rows == [(2,)]  # c2 and c3


def test_a_row_moved_twice_before_maintenance_keeps_the_count_its_rollup_holds() -> None:
    """c1's next contact moves to c2 (20:00) in one bulk batch, then back to none when the next
    bulk batch gives c2 to another customer: `contact_moves` keeps the first old value (none),
    so `maintain` moves c1's count by nothing, not back and forth twice. (Each bulk batch
    replaces a row: a batch of new keys only adds to the rollups, leaving nothing stale.)"""
    store = DuckDBStore()
    add_tenant(store, "a")
    load(store, [_record("a", "c1", "x", 0, 2)])
    load(store, [_record("a", "c3", "y", 72, 1)])
    for batch in (
        [_record("a", "c2", "x", 20, 1), _record("a", "c3", "y", 72, 1)],
        [_record("a", "c2", "y", 20, 1), _record("a", "c4", "z", 72, 1)],
    ):
        load(store, batch)
        store.flush()
    moves = store._fetch("SELECT rollup, id, old FROM contact_moves WHERE id = 'c1' ORDER BY 1")
    assert moves == [("agent_day_rollup", "c1", None), ("conversation_rollup", "c1", None)]
    store.maintain()
    resolved = "SELECT m_resolved_within_24h FROM conversation_rollup WHERE slot = ?"
    assert store._fetch(resolved, [T0.replace(tzinfo=None)]) == [(1,)]  # c1: no repeat


def test_a_new_zone_recounts_local_days_and_forgets_their_moves() -> None:
    """A zone change refills the tenant's local-day rollup from the raw table while it is
    stale: the moves recorded before are counted in already, and `maintain` adds none."""
    store = DuckDBStore()
    add_tenant(store, "a")
    load(store, [_record("a", "c1", "x", 0, 2)])
    load(store, [_record("a", "c3", "y", 72, 1)])  # replaced by the bulk batch: it goes stale
    load(store, [_record("a", "c2", "x", 20, 1), _record("a", "c3", "y", 72, 1)])
    store.flush()
    add_tenant(store, "a", timezone="Asia/Kolkata")
    assert store._fetch("SELECT rollup FROM contact_moves") == [("conversation_rollup",)]
    store.maintain()
    total = "SELECT sum(m_resolved_within_24h) FROM {} WHERE tenant_id = 'a'"
    for table in ("conversation_rollup", "agent_day_rollup"):
        assert store._fetch(total.format(table)) == [(2,)]  # c2 and c3; c1 repeats


def test_a_store_without_the_column_is_filled_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    with DuckDBStore(path) as store:
        add_tenant(store, "a")
        load(store, [_record("a", "c1", "x", 0, 2), _record("a", "c2", "x", 20, 1)])
        store.flush()
        # As a file written before the column existed.
        store._con.execute("ALTER TABLE conversations DROP COLUMN next_contact_at")
        store._con.execute("DELETE FROM engine_state WHERE key = 'contacts:next_contact_at'")
        store._con.execute("DELETE FROM meta WHERE key = 'schema:version'")  # version 0
    with DuckDBStore(path) as store:
        found = store._fetch("SELECT id, next_contact_at FROM conversations ORDER BY id")
        assert found == [("c1", datetime(2024, 5, 1, 20)), ("c2", None)]


@pytest.mark.parametrize("rollups", [True, False])
def test_fcr_with_and_without_rollups(rollups: bool) -> None:
    store = DuckDBStore(rollups=rollups)
    add_tenant(store, "a")
    load(store, [_record("a", "c1", "x", 0, 2), _record("a", "c2", "x", 20, 1)])
    request = AggregateRequest(
        "a",
        T0,
        T0 + 5 * DAY,
        (get_metric("resolved_within_24h"),),  # type: ignore[arg-type]
    )
    assert ("conversation_rollup" in store.explain(request)) is rollups
    store.flush()
    assert store.aggregate(request).rows == [(1,)]  # c1 repeats (18 h), c2 does not
