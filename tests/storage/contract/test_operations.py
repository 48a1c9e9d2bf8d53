"""The operations contract, on every engine: a store reports its schema version, and a backup
taken while writers commit holds every write acknowledged before it, consistently (rollups and
registry included), and opens as a store of its own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.storage.contract.conftest import ENGINES, backup_destination, make_store, open_backup

from ccstats.auth import create_credential
from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import SearchRequest, StorageError, Store

T0 = datetime(2024, 3, 9, tzinfo=UTC)


def _call(cid: str, minutes: int, customer: str = "x") -> dict[str, Any]:
    created = T0 + timedelta(minutes=minutes)
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": created.isoformat(),
        "ended_at": (created + timedelta(minutes=5)).isoformat(),
        "customer_id": customer,
    }


def _ids(store: Store) -> set[str]:
    return {row["id"] for row in store.search(SearchRequest("t1", limit=None)).rows}


def _totals(store: Store) -> list[tuple[Any, ...]]:
    measures = (CATALOG["conversations"], CATALOG["resolved_within_24h"])
    request = AggregateRequest("t1", T0, T0 + timedelta(days=30), measures)  # type: ignore[arg-type]
    return store.aggregate(request).rows


@pytest.mark.parametrize("engine", ENGINES)
def test_a_new_store_is_at_the_code_schema_version(engine: str) -> None:
    with make_store(engine) as store:
        assert store.schema_version() == type(store).SCHEMA_VERSION


@pytest.mark.parametrize("engine", ENGINES)
def test_a_backup_taken_while_writers_commit_holds_every_acknowledged_write(
    engine: str, tmp_path: Path
) -> None:
    destination = backup_destination(engine, tmp_path)
    with make_store(engine) as store:
        store.registry.put_tenant(TenantSettings(id="t1", timezone="Asia/Shanghai"))
        shown = create_credential(store.registry, "t1", "api")
        store.registry.put_meta("nonce:abc", "2030-01-01T00:00:00")
        ingest_conversations(store, [_call(f"old{i}", i * 37, f"p{i % 5}") for i in range(300)])
        acknowledged: list[str] = []
        stop = threading.Event()

        def write() -> None:
            n = 0
            while not stop.is_set():
                batch = [_call(f"w{n}-{k}", (n * 3 + k) % 5000, f"p{k}") for k in range(5)]
                assert not ingest_conversations(store, batch).rejected
                acknowledged.extend(r["id"] for r in batch)
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while len(acknowledged) < 50:
                stop.wait(0.01)
            before = set(acknowledged)
            store.backup(destination)
        finally:
            stop.set()
            writer.join()
        sent = set(acknowledged) | {f"old{i}" for i in range(300)}
        with pytest.raises(StorageError, match="exists"):
            store.backup(destination)  # never over an existing file
    with open_backup(engine, destination) as copy:
        found = _ids(copy)
        assert before | {f"old{i}" for i in range(300)} <= found <= sent
        assert copy.registry.get_tenant("t1") == TenantSettings(id="t1", timezone="Asia/Shanghai")
        key = shown["token"].split("_")[1]
        assert [c.tenant_id for c in copy.registry.find_credentials("api", key)] == ["t1"]
        assert copy.registry.get_meta("nonce:abc") == "2030-01-01T00:00:00"
        # Consistent: the pre-aggregates agree with the rows the copy holds.
        copy.flush()
        ((conversations, _),) = _totals(copy)
        assert conversations == len(found)
        assert copy.schema_version() == type(copy).SCHEMA_VERSION
