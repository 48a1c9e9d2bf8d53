"""Schema versions of a DuckDB store file: a new file starts at the current version, an older
one is migrated on open one logged step at a time, a newer one is refused; a backup's
pre-aggregates equal the raw rows it holds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.storage.contract.test_store import MEASURES

from ccstats.ingest import ingest_conversations
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore, StorageError
from ccstats.storage.duckdb.migrations import MIGRATIONS, SCHEMA_VERSION, VERSION_KEY

T0 = datetime(2024, 3, 9, tzinfo=UTC)


def test_a_new_file_starts_at_the_current_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "new.duckdb")
    with caplog.at_level(logging.INFO, "ccstats.storage"), DuckDBStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1].version
    assert f"created store {path} at schema {SCHEMA_VERSION}" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, "ccstats.storage"), DuckDBStore(path):
        pass
    assert "schema" not in caplog.text  # nothing to migrate: nothing logged


def test_an_older_file_is_migrated_step_by_step_and_each_step_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "old.duckdb")
    with DuckDBStore(path) as store:
        store.registry.put_tenant(TenantSettings(id="a"))
        # As a file from before versions: no next contacts, one count of unsorted rows.
        store._con.execute("ALTER TABLE conversations DROP COLUMN next_contact_at")
        store._con.execute("INSERT INTO meta VALUES ('compaction:unsorted_rows', '0')")
        store._con.execute(f"DELETE FROM meta WHERE key = '{VERSION_KEY}'")
    with DuckDBStore(path, read_only=True) as store:
        assert store.schema_version() == 0  # read-only: reported, never migrated
    with caplog.at_level(logging.INFO, "ccstats.storage"), DuckDBStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        columns = store._fetch(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'conversations'"
        )
        assert ("next_contact_at",) in columns
    steps = [r.getMessage() for r in caplog.records if "->" in r.getMessage()]
    assert steps == [
        f"store {path}: schema {m.version - 1} -> {m.version}: {m.description}" for m in MIGRATIONS
    ]


def test_a_file_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "newer.duckdb")
    with DuckDBStore(path) as store:
        store._con.execute(
            f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = '{VERSION_KEY}'"
        )
    for read_only in (False, True):
        with pytest.raises(StorageError, match=f"store schema {SCHEMA_VERSION + 1}, newer"):
            DuckDBStore(path, read_only=read_only)


def test_a_backups_pre_aggregates_equal_its_raw_rows(tmp_path: Path) -> None:
    with DuckDBStore() as store:
        store.registry.put_tenant(TenantSettings(id="t1", timezone="America/New_York"))
        calls = [
            {
                "id": f"c{i}",
                "tenant_id": "t1",
                "channel": "voice" if i % 3 else "chat",
                "created_at": (T0 + timedelta(minutes=47 * i)).isoformat(),
                "ended_at": (T0 + timedelta(minutes=47 * i + 9)).isoformat(),
                "customer_id": f"p{i % 7}",
                "duration_s": i,
            }
            for i in range(400)
        ]
        for day in range(0, 400, 30):  # batches within a day: rollups kept up inline
            ingest_conversations(store, calls[day : day + 30])
        store.flush()
        held = tuple(m for m in MEASURES if m.name in store._held)
        store.backup(str(tmp_path / "b.duckdb"))
    request = AggregateRequest("t1", T0, T0 + timedelta(days=40), held)
    with DuckDBStore(str(tmp_path / "b.duckdb")) as copy:
        assert "rollup" in copy.explain(request)
        rolled = copy.aggregate(request).rows
    with DuckDBStore(str(tmp_path / "b.duckdb"), rollups=False) as raw:
        assert raw.aggregate(request).rows == rolled
