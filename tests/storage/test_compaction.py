"""Compaction re-sorts conversations without changing any answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import add_tenant

from ccstats.ingest import ingest_conversations
from ccstats.metrics.query import MetricQuery, compute_query
from ccstats.storage import DuckDBStore


def test_compact_keeps_every_record_and_sorts_them(store: DuckDBStore) -> None:
    add_tenant(store, "b")
    add_tenant(store, "a")
    records = [
        {
            "id": f"{t}{i}",
            "tenant_id": t,
            "channel": "chat",
            "created_at": 1_700_000_000_000 - i * 60_000,
            "bot_turns": i % 5,
        }
        for i in range(50)
        for t in ("b", "a")
    ]
    assert not ingest_conversations(store, records).rejected
    query = MetricQuery(
        "a",
        ("conversations", "bot_turns"),
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
        granularity="hour",
    )
    before = compute_query(store, query).rows
    assert store.unsorted_rows == 100
    store.compact()
    assert store.unsorted_rows == 0
    assert compute_query(store, query).rows == before
    order = store._con.execute("SELECT tenant_id, created_at FROM conversations").fetchall()
    assert order == sorted(order)
    store.maintain()  # nothing to do: no rows arrived since


def test_rows_to_compact_are_remembered_across_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "s.duckdb")
    records = [
        {"id": f"c{i}", "tenant_id": "a", "channel": "chat", "created_at": 1_700_000_000_000 - i}
        for i in range(30)
    ]
    with DuckDBStore(path) as store:
        add_tenant(store, "a")
        assert not ingest_conversations(store, records).rejected
    with DuckDBStore(path) as store:
        assert store.unsorted_rows == 30
        store.compact()
    with DuckDBStore(path) as store:
        assert store.unsorted_rows == 0
