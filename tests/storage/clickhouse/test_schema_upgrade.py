"""A database of an older ClickHouse schema is upgraded on open: schema 1 had no `source`
column and a rollup without it; opening it with this ccstats adds the column (NULL in the old
rows), rebuilds the rollup from the ledger, gives `meta` its compare-and-set columns, and
records schema 2 (a newer schema is refused: `test_ledger`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.chdb_stores import OPENED, chdb_url, drop_opened

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import Credential, SearchRequest
from ccstats.storage.clickhouse import ClickHouseStore
from ccstats.storage.clickhouse.ddl import SCHEMA_VERSION
from ccstats.storage.clickhouse.rollup import SIGNATURE_KEY
from ccstats.storage.clickhouse.store import SCHEMA_KEY

T0 = datetime(2024, 3, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def url() -> Iterator[str]:
    yield chdb_url()
    drop_opened()


def _open(url: str) -> ClickHouseStore:
    store = ClickHouseStore(url)
    OPENED.append(store)
    return store


def _call(cid: str, hours: float, **extra: object) -> dict[str, object]:
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": (T0 + hours * HOUR).isoformat(),
        **extra,
    }


def _make_schema_1(url: str) -> None:
    """A database as schema 1 left it, with two calls: no `source` column, no rollup of it."""
    store = ClickHouseStore(url)
    store.registry.put_tenant(TenantSettings(id="t1"))
    ingest_conversations(store, [_call("a", 1, duration_s=10), _call("b", 2, duration_s=20)])
    store.registry.put_meta(SIGNATURE_KEY, "schema-1")
    store.registry.put_meta(SCHEMA_KEY, "1")
    store.registry.put_meta("twin24.secret", "kept")
    store.registry.add_credential(Credential("t1", "twin24", "old@example.com", secret_hash="h"))
    store.lease.release()  # schema 1 had no writer leases
    db = f"`{store.target.database}`"
    for statement in (
        f"DROP VIEW {db}.`conversation_rollup_mv`",
        f"DROP TABLE {db}.`conversation_rollup`",
        f"ALTER TABLE {db}.`conversations` DROP COLUMN `source`",
        f"ALTER TABLE {db}.`meta` DROP COLUMN `cas`, DROP COLUMN `writer`",
        f"ALTER TABLE {db}.`credentials` DROP COLUMN `scope`",
    ):
        store._db.command(statement)
    store.close()


def test_a_schema_1_database_gets_source_and_a_rebuilt_rollup(url: str) -> None:
    _make_schema_1(url)
    store = _open(url)
    assert SCHEMA_VERSION == 3 and store.registry.get_meta(SCHEMA_KEY) == "3"
    # The server state written before is read and swapped as any (`meta` got `cas`, `writer`).
    assert store.registry.get_meta("twin24.secret") == "kept"
    assert store.registry.compare_and_set("twin24.secret", "kept", "new")
    # A credential stored before scopes reads its kind's default (schema 3 added the column).
    (login,) = store.registry.find_credentials("twin24", "old@example.com")
    assert login.scope is not None and login.scope.as_dict()["sources"] == ["twin24", None]
    ingest_conversations(store, [_call("c", 3, source="huawei", duration_s=5)])
    measures = (CATALOG["conversations"], CATALOG["duration_total"])
    # Whole hours: read from the rebuilt rollup; a quarter past: from the ledger. Both agree.
    for start in (T0, T0 + HOUR / 4):
        request = AggregateRequest("t1", start, T0 + 24 * HOUR, measures, group_by=("source",))
        assert store.aggregate(request).rows == [("huawei", 1, 5), (None, 2, 30)]
    assert "conversation_rollup" in store.explain(
        AggregateRequest("t1", T0, T0 + 24 * HOUR, measures, group_by=("source",))
    )
    rows = store.search(SearchRequest("t1", sort=(("id", False),), columns=("id", "source"))).rows
    assert [(r["id"], r["source"]) for r in rows] == [("a", None), ("b", None), ("c", "huawei")]
    # Opening it again changes nothing.
    again = _open(url)
    assert again.registry.get_meta(SCHEMA_KEY) == "3"
    assert again.aggregate(AggregateRequest("t1", T0, T0 + 24 * HOUR, measures)).rows == [(3, 35)]
