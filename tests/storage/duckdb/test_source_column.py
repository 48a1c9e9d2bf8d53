"""The `source` column (issue 20): added to store files written before it, filled by ingest, and a
dimension of the conversation rollup, so a request filtered or grouped by source stays on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa

from ccstats.metrics import CATALOG
from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import Conversation, TenantSettings
from ccstats.service import Service
from ccstats.storage.duckdb.store import DuckDBStore

START = datetime(2024, 3, 1, tzinfo=UTC)


def _conversation(number: int, source: str | None) -> dict[str, object]:
    return {
        "id": f"c{number}",
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": (START + timedelta(minutes=number)).isoformat(),
        "source": source,
    }


def _request() -> AggregateRequest:
    return AggregateRequest(
        "t1",
        START,
        START + timedelta(days=1),
        (cast(Measure, CATALOG["conversations"]),),
        bucket_starts=(START,),
    )


def test_a_store_file_without_the_column_gets_it_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    with DuckDBStore(path) as store:
        Service(store).put_tenant(TenantSettings(id="t1"))
        Service(store).ingest_conversations([_conversation(1, None)])
    con = duckdb.connect(path)
    con.execute("DROP TABLE IF EXISTS conversation_rollup")
    con.execute('ALTER TABLE conversations DROP COLUMN "source"')
    con.execute("DELETE FROM meta WHERE key = 'schema:version'")  # a file from before versions
    con.close()
    store = DuckDBStore(path)
    Service(store).ingest_conversations([_conversation(2, "huawei")])
    rows = store._fetch("SELECT id, source FROM conversations ORDER BY id")
    store.close()
    assert rows == [("c1", None), ("c2", "huawei")]


def test_source_filters_and_groups_on_the_rollup() -> None:
    store = DuckDBStore()
    service = Service(store)
    service.put_tenant(TenantSettings(id="t1"))
    # 2 huawei, 1 7moor, 1 with no source.
    service.ingest_conversations(
        [
            _conversation(1, "huawei"),
            _conversation(2, "huawei"),
            _conversation(3, "7moor"),
            _conversation(4, None),
        ]
    )
    store.maintain()
    grouped = replace(_request(), group_by=("source",))
    assert "conversation_rollup" in store.explain(grouped)
    counts = {row[1]: row[-1] for row in store.aggregate(grouped).rows}
    assert counts == {"huawei": 2, "7moor": 1, None: 1}
    scoped = replace(_request(), filters=(("source", ("7moor", None)),))
    assert "conversation_rollup" in store.explain(scoped)
    assert sum(row[-1] for row in store.aggregate(scoped).rows) == 2


def test_source_longer_than_64_characters_is_rejected() -> None:
    assert Conversation.model_fields["source"].metadata  # bounded on the model
    store = DuckDBStore()
    service = Service(store)
    service.put_tenant(TenantSettings(id="t1"))
    result = service.ingest_conversations([_conversation(1, "x" * 65), _conversation(2, "y" * 64)])
    assert result.accepted == 1 and len(result.rejected) == 1


def test_the_columnar_ingest_takes_source() -> None:
    store = DuckDBStore()
    service = Service(store)
    service.put_tenant(TenantSettings(id="t1"))
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "tenant_id": ["t1"] * 3,
            "channel": ["chat"] * 3,
            "created_at": [START] * 3,
            "source": ["twin24", None, "z" * 65],
        }
    )
    result = service.ingest_table(table)
    assert result.accepted == 2 and len(result.rejected) == 1
    assert store._fetch("SELECT id, source FROM conversations ORDER BY id") == [
        ("a", "twin24"),
        ("b", None),
    ]
