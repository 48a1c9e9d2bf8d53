"""Compaction re-sorts conversations without changing any answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from tests.conftest import add_tenant

from ccstats.ingest import ingest_conversations
from ccstats.metrics.query import MetricQuery
from ccstats.service import Service
from ccstats.storage import DuckDBStore
from ccstats.storage.duckdb import compaction


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
    before = Service(store).compute_query(query).rows
    assert store.unsorted_rows == 100
    store.compact()
    assert store.unsorted_rows == 0
    assert Service(store).compute_query(query).rows == before
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


def _month_records(tenant: str, month_start_ms: int, count: int, prefix: str) -> list[dict]:
    """`count` chat records of `tenant`, one a minute back from 12 hours into the month."""
    noon = month_start_ms + 12 * 3_600_000
    return [
        {
            "id": f"{prefix}{i}",
            "tenant_id": tenant,
            "channel": "chat",
            "created_at": noon - i * 60_000,
        }
        for i in range(count)
    ]


NOV_2023 = 1_698_796_800_000  # 2023-11-01T00:00:00Z
DEC_2023 = 1_701_388_800_000  # 2023-12-01T00:00:00Z


def test_unsorted_rows_are_counted_per_month_of_creation(store: DuckDBStore) -> None:
    add_tenant(store, "a")
    batch = _month_records("a", NOV_2023, 7, "n") + _month_records("a", DEC_2023, 3, "d")
    assert not ingest_conversations(store, batch).rejected
    assert store.unsorted_months == {"2023-11": 7, "2023-12": 3}
    assert store.unsorted_rows == 10


def test_compact_sorts_month_by_month(store: DuckDBStore) -> None:
    """Each month is sorted by tenant and time; months follow each other, oldest first."""
    add_tenant(store, "a")
    add_tenant(store, "b")
    batch = [
        *_month_records("b", DEC_2023, 5, "bd"),
        *_month_records("a", DEC_2023, 5, "ad"),
        *_month_records("b", NOV_2023, 5, "bn"),
        *_month_records("a", NOV_2023, 5, "an"),
    ]
    assert not ingest_conversations(store, batch).rejected
    store.compact()
    assert store.unsorted_months == {}
    order = store._con.execute(
        "SELECT strftime(created_at, '%Y-%m'), tenant_id, created_at FROM conversations"
    ).fetchall()
    assert order == sorted(order)
    assert [row[:2] for row in order[::5]] == [
        ("2023-11", "a"),
        ("2023-11", "b"),
        ("2023-12", "a"),
        ("2023-12", "b"),
    ]


def test_compact_rewrites_only_the_months_asked(store: DuckDBStore) -> None:
    """A month not asked for keeps its rows where they are (rowids) and its count."""
    add_tenant(store, "a")
    batch = _month_records("a", NOV_2023, 4, "n") + _month_records("a", DEC_2023, 4, "d")
    assert not ingest_conversations(store, batch).rejected
    november = "SELECT rowid FROM conversations WHERE created_at < '2023-12-01' ORDER BY 1"
    before = store._con.execute(november).fetchall()
    store.compact(["2023-12"])
    assert store._con.execute(november).fetchall() == before
    assert store.unsorted_months == {"2023-11": 4}
    december = store._con.execute(
        "SELECT created_at FROM conversations WHERE created_at >= '2023-12-01'"
    ).fetchall()
    assert december == sorted(december) and len(december) == 4


def test_maintain_compacts_the_months_written_into(store: DuckDBStore) -> None:
    """Over 10% (and 50 000) rows unsorted: maintain rewrites exactly the months written into."""
    add_tenant(store, "a")
    big = _month_records("a", NOV_2023, 50_000, "n")
    assert not ingest_conversations(store, big).rejected
    store.maintain()
    assert store.unsorted_rows == 0
    assert not ingest_conversations(store, _month_records("a", DEC_2023, 10, "d")).rejected
    store.maintain()  # 10 rows: not worth a rewrite yet
    assert store.unsorted_months == {"2023-12": 10}
    assert store._con.execute("SELECT count(*) FROM conversations").fetchall() == [(50_010,)]


def test_a_count_from_before_months_makes_every_month_due(tmp_path: Path) -> None:
    """A file whose unsorted rows were one number (before month-by-month compaction) gets every
    month counted whole, so that the next compaction moves it to the months layout."""
    path = str(tmp_path / "s.duckdb")
    with DuckDBStore(path) as store:
        add_tenant(store, "a")
        batch = _month_records("a", NOV_2023, 6, "n") + _month_records("a", DEC_2023, 2, "d")
        assert not ingest_conversations(store, batch).rejected
        store.compact(["2023-12"])
        store._con.execute("DELETE FROM engine_state WHERE key LIKE 'compaction:month:%'")
        store._con.execute("INSERT INTO meta VALUES ('compaction:unsorted_rows', '1')")
        store._con.execute("DELETE FROM meta WHERE key = 'schema:version'")  # version 0
    with DuckDBStore(path) as store:
        assert store.unsorted_months == {"2023-11": 6, "2023-12": 2}
        store.compact()
    with DuckDBStore(path) as store:
        assert store.unsorted_months == {}
        found = store._con.execute(
            "SELECT count(*) FROM engine_state WHERE key = 'compaction:unsorted_rows'"
        ).fetchall()
        assert found == [(0,)]


def test_month_bounds_and_counts() -> None:
    assert compaction.month_bounds("2023-12") == (datetime(2023, 12, 1), datetime(2024, 1, 1))
    assert compaction.month_bounds("2024-02") == (datetime(2024, 2, 1), datetime(2024, 3, 1))
    times = pa.array(
        [datetime(2023, 12, 31, 23, 59, tzinfo=UTC), None, datetime(2024, 1, 1, tzinfo=UTC)],
        pa.timestamp("us", tz="UTC"),
    )
    assert compaction.month_counts(times) == {"2023-12": 1, "2024-01": 1}
    assert compaction.month_counts(times.slice(1, 1)) == {}
