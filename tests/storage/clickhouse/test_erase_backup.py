"""ClickHouse's own side of erasure and backup: an erased customer leaves no row in any table
(the ledger's cancel rows included, the old transcripts too), the rollup keeps only sums that
add to nothing, and a backup goes to a new database of the same place, by name or URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.chdb_stores import OPENED, chdb_store, drop_opened

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import StorageError
from ccstats.storage.clickhouse import ClickHouseStore

T0 = datetime(2024, 3, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    s = chdb_store()
    s.registry.put_tenant(TenantSettings(id="t1"))
    yield s
    drop_opened()


def _chat(cid: str, hours: float, customer: str, text: str) -> dict[str, object]:
    created = (T0 + hours * HOUR).isoformat()
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "chat",
        "created_at": created,
        "customer_id": customer,
        "duration_s": 60,
        "messages": [{"seq": 1, "sender": "customer", "text": text, "sent_at": created}],
    }


def _rows(store: ClickHouseStore, table: str, column: str, value: str) -> int:
    found = store._db.query(
        f"SELECT count() FROM {store._t(table)} WHERE {column} = {{v:String}}", {"v": value}
    )
    return int(found[0][0])


def test_an_erased_customer_leaves_no_row(store: ClickHouseStore) -> None:
    ingest_conversations(store, [_chat("a", 1, "x", "my card is 4111"), _chat("b", 2, "y", "hi")])
    # A correction: the ledger now holds a's first row, its cancel and its new row, and the
    # messages table both transcripts.
    ingest_conversations(store, [_chat("a", 1, "x", "my card is 4111, again")])
    store.flush()
    erased = store.erase("t1", customer_id="x")
    assert erased.counts() == {"conversations": 1, "messages": 1, "agent_intervals": 0}
    for table, column in (
        ("conversations", "id"),
        ("conversation_keys", "id"),
        ("contacts", "customer_id"),
        ("messages", "conversation_id"),
    ):
        assert _rows(store, table, column, "a" if column != "customer_id" else "x") == 0, table
    measures = (CATALOG["conversations"], CATALOG["duration_total"])
    request = AggregateRequest("t1", T0, T0 + 24 * HOUR, measures)
    assert store.aggregate(request).rows == [(1, 60)]  # the rollup: a's sums added to nothing
    assert "conversation_rollup" in store.explain(request)


def test_a_backup_goes_to_a_new_database_of_the_same_place(store: ClickHouseStore) -> None:
    ingest_conversations(store, [_chat("a", 1, "x", "hi")])
    name = f"{store.target.database}_copy"
    for wrong in ("../elsewhere", "a b", "chdb:///another/dir?database=x"):
        with pytest.raises(StorageError, match="new database|same server"):
            store.backup(wrong)
    with pytest.raises(StorageError, match="exists"):
        store.backup(store.target.database)
    store.backup(name)
    copy = ClickHouseStore(f"chdb://{store.target.path}?database={name}")
    OPENED.append(copy)
    request = AggregateRequest("t1", T0, T0 + 24 * HOUR, (CATALOG["conversations"],))
    assert copy.aggregate(request).rows == [(1,)]
    assert copy.messages_for("t1", ["a"])["a"][0]["text"] == "hi"
    assert copy.lease.holder != store.lease.holder
    ingest_conversations(copy, [_chat("b", 2, "y", "new")])  # no lease of the source's copied
    assert copy.aggregate(request).rows == [(2,)] and store.aggregate(request).rows == [(1,)]
