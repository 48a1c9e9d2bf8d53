"""Ingest: rejected records carry their index and reason, the rest lands, a retry never counts twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.conftest import add_tenant

from ccstats.ingest import (
    PayloadError,
    ingest_conversations,
    ingest_intervals,
    parse_payload,
    read_records,
)
from ccstats.metrics import CATALOG
from ccstats.metrics.query import MetricQuery
from ccstats.records import INT64_MAX, INT64_MIN, MAX_COUNT
from ccstats.service import Service
from ccstats.storage import StorageError, Store
from ccstats.storage.duckdb.store import DuckDBStore

DAY = (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))


def record(cid: str, tenant: str = "t1", **fields: object) -> dict[str, object]:
    return {
        "id": cid,
        "tenant_id": tenant,
        "channel": "voice",
        "created_at": "2024-05-01T10:00:00Z",
        **fields,
    }


def count(store: Store, tenant: str = "t1", metric: str = "conversations") -> object:
    return Service(store).run_query(MetricQuery(tenant, (metric,), *DAY)).rows[0][metric]


def test_same_batch_twice_counts_once(store: Store) -> None:
    add_tenant(store, "t1")
    batch = [record("a", bot_turns=2), record("b", bot_turns=3)]
    assert ingest_conversations(store, batch).accepted == 2
    assert ingest_conversations(store, batch).accepted == 2
    assert count(store) == 2
    assert count(store, metric="bot_turns") == 5


def test_resent_record_replaces_the_old_one(store: Store) -> None:
    add_tenant(store, "t1")
    ingest_conversations(store, [record("a", bot_turns=2, messages=[{"sender": "customer"}] * 3)])
    ingest_conversations(store, [record("a", bot_turns=7, messages=[{"sender": "customer"}])])
    assert count(store, metric="bot_turns") == 7
    assert count(store, metric="messages") == 1
    assert len(store.messages_for("t1", ["a"])["a"]) == 1


def test_duplicate_key_in_one_batch_keeps_the_last(store: Store) -> None:
    add_tenant(store, "t1")
    ingest_conversations(store, [record("a", bot_turns=1), record("a", bot_turns=4)])
    assert count(store) == 1
    assert count(store, metric="bot_turns") == 4


def test_rejected_records_have_index_id_and_reason_and_the_rest_lands(store: Store) -> None:
    add_tenant(store, "t1")
    items = [
        record("a"),
        {"id": "b", "tenant_id": "t1"},
        "oops",
        record("c", channel="fax"),
        record("d"),
    ]
    result = ingest_conversations(store, items)
    assert result.accepted == 2
    rejected = {(r.index, r.id): r.reason for r in result.rejected}
    assert set(rejected) == {(1, "b"), (2, None), (3, "c")}
    assert "channel: required field is missing" in rejected[(1, "b")]
    assert "expected a JSON object" in rejected[(2, None)]
    assert count(store) == 2


def test_unknown_tenant_is_rejected(store: Store) -> None:
    add_tenant(store, "t1")
    result = ingest_conversations(store, [record("a", tenant="ghost")])
    assert result.accepted == 0
    assert result.rejected[0].reason.startswith("unknown tenant 'ghost'")


def test_a_key_writes_only_its_tenant(store: Store) -> None:
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    result = ingest_conversations(store, [record("a", tenant="t2"), record("b")], tenant_id="t1")
    assert result.accepted == 1
    assert "not this key's tenant" in result.rejected[0].reason
    assert count(store, "t2") == 0


def test_storage_failure_stores_nothing_of_the_batch(store: Store) -> None:
    if not isinstance(store, DuckDBStore):
        pytest.skip("injects its fault through DuckDB's own connection")
    add_tenant(store, "t1")
    ingest_conversations(store, [record("a", bot_turns=2, nps="9")])
    # Fault injection in the real engine: a constraint the next batch violates half-way, after the
    # old "a" has been deleted inside the transaction.
    assert isinstance(store, DuckDBStore)
    store._con.execute("ALTER TABLE conversations ALTER COLUMN nps SET NOT NULL")
    with pytest.raises(StorageError, match="nothing was stored"):
        ingest_conversations(store, [record("b", nps="1"), record("a", bot_turns=5)])
    assert count(store) == 1
    assert count(store, metric="bot_turns") == 2


def test_payload_formats() -> None:
    assert parse_payload(b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert parse_payload(b'{"a": 1}') == [{"a": 1}]
    assert parse_payload(b'{"a": 1}\n{"a": 2}\n', "application/x-ndjson") == [{"a": 1}, {"a": 2}]
    assert parse_payload(b'{"a": 1}\n{"a": 2}', "application/json") == [{"a": 1}, {"a": 2}]
    with pytest.raises(PayloadError, match="malformed JSON"):
        parse_payload(b"[1, 2")


def test_ndjson_files_are_read_a_chunk_at_a_time(store: Store, tmp_path: Path) -> None:
    """Five lines, one blank and one not JSON: chunks of two items; the bad line is rejected
    by its line in the file (4) at its position among the items (2)."""
    add_tenant(store, "t1")
    file = tmp_path / "calls.ndjson"
    lines = [record("a"), record("b"), None, "{not json", record("c")]
    file.write_text(
        "\n".join("" if x is None else x if isinstance(x, str) else json.dumps(x) for x in lines)
    )
    chunks = list(read_records(file, chunk_size=2))
    assert [len(c) for c in chunks] == [2, 2]
    result = ingest_conversations(store, [item for chunk in chunks for item in chunk])
    assert result.accepted == 3
    assert [(r.index, r.reason.split(":")[0]) for r in result.rejected] == [
        (2, "line 4 is not JSON")
    ]


def test_intervals_upsert_on_their_key(store: Store) -> None:
    add_tenant(store, "t1")
    interval = {
        "tenant_id": "t1",
        "agent_id": "a",
        "kind": "login",
        "started_at": "2024-05-01T08:00:00Z",
        "ended_at": "2024-05-01T09:00:00Z",
    }
    ingest_intervals(store, [interval])
    ingest_intervals(store, [{**interval, "ended_at": "2024-05-01T10:00:00Z"}])
    totals = store.interval_totals("t1", *DAY)
    assert [(t.agent_id, t.kind, t.seconds) for t in totals] == [("a", "login", 7200.0)]
    bad = ingest_intervals(store, [{**interval, "ended_at": "2024-05-01T07:00:00Z"}])
    assert "ended_at is before started_at" in bad.rejected[0].reason


def test_records_at_the_edges_of_every_range_are_stored_and_reported(store: Store) -> None:
    # Issue 15: the largest accepted values must not overflow a pre-aggregate or a metric.
    add_tenant(store, "t")
    counts = {
        f: MAX_COUNT
        for f in ("duration_s", "bot_duration_s", "agent_duration_s", "ring_duration_s")
        + ("queue_duration_s", "bot_turns", "bot_api_requests", "bot_api_successes")
    }
    messages = [
        {"sender": "customer", "text": "x", "sent_at": "1970-01-01T00:00:00Z", "seq": INT64_MAX},
        {"sender": "agent", "text": "y", "sent_at": "2200-12-31T23:59:59Z", "seq": INT64_MIN},
    ]
    records = [
        {
            "id": f"c{i}",
            "channel": channel,
            "created_at": "2200-12-31T23:59:59.999999Z" if i else 0,
            "agent_id": "a",
            "customer_id": "cu",
            "region_id": INT64_MIN,
            "customer_utc_offset": INT64_MAX,
            "answered_at": "1970-01-01T00:00:00Z",
            "ended_at": "2200-12-31T23:59:59Z",
            "messages": messages,
            **counts,
        }
        for i, channel in enumerate(["voice", "chat", "voice"])
    ]
    result = ingest_conversations(store, records, "t")
    assert (result.accepted, result.rejected) == (3, [])
    store.maintain()
    start, end = datetime(1970, 1, 1, tzinfo=UTC), datetime(2201, 1, 1, tzinfo=UTC)
    query = MetricQuery("t", ("bot_turns", "duration_total", *CATALOG), start, end)
    row = Service(store).run_query(query).rows[0]
    assert row["conversations"] == 3
    assert row["bot_turns"] == 3 * MAX_COUNT
    assert row["duration_total"] == 3 * MAX_COUNT
