"""The contract's later promises, on every engine: unique credential keys (`KeyTaken`), bounded
aggregates (`AggregateRequest.max_rows`, `ResultTooLarge`), and `source`, the platform a record
came from, grouped and filtered both on whole quarter hours (where an engine may read a rollup)
and off them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import Credential, KeyTaken, ResultTooLarge, Store

T0 = datetime(2024, 3, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)
CONVERSATIONS = CATALOG["conversations"]
TALK = CATALOG["duration_total"]


@pytest.fixture
def store(engine_store: Store) -> Store:
    engine_store.registry.put_tenant(TenantSettings(id="t1"))
    return engine_store


def _call(cid: str, hours: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": (T0 + hours * HOUR).isoformat(),
        **extra,
    }


def _request(**changes: Any) -> AggregateRequest:
    base = AggregateRequest("t1", T0, T0 + 24 * HOUR, (CONVERSATIONS, TALK))
    return replace(base, **changes)


def test_a_unique_key_is_refused_whatever_its_case_and_spaces(store: Store) -> None:
    registry = store.registry
    registry.add_credential(Credential("t1", "7moor", "AppKey-1", secret="s1"), unique=True)
    with pytest.raises(KeyTaken):
        registry.add_credential(Credential("t2", "7moor", "  appkey-1 ", secret="s2"), unique=True)
    assert [c.tenant_id for c in registry.find_credentials("7moor", "AppKey-1")] == ["t1"]
    assert registry.find_credentials("7moor", "  appkey-1 ") == []  # nothing stored
    # Another kind may use the key; without `unique` nothing is checked (Huawei keys repeat).
    registry.add_credential(Credential("t2", "aliyun", "appkey-1", secret="s3"), unique=True)
    registry.add_credential(Credential("t2", "7moor", "appkey-1", secret="s4"))
    assert [c.kind for c in registry.list_credentials("t1")] == ["7moor"]
    assert [c.kind for c in registry.list_credentials("t2")] == ["aliyun", "7moor"]


def test_an_aggregate_past_max_rows_is_refused(store: Store) -> None:
    # Three access codes in three hours: three groups, three hourly buckets.
    calls = [
        _call("a", 0.25, access_code="100", duration_s=10),
        _call("b", 1.5, access_code="200", duration_s=20),
        _call("c", 2.75, access_code="300"),
    ]
    ingest_conversations(store, calls)
    grouped = _request(group_by=("access_code",))
    assert store.aggregate(replace(grouped, max_rows=3)).rows == [
        ("100", 1, 10),
        ("200", 1, 20),
        ("300", 1, None),
    ]
    with pytest.raises(ResultTooLarge):
        store.aggregate(replace(grouped, max_rows=2))
    hourly = _request(bucket_starts=tuple(T0 + i * HOUR for i in range(24)))
    assert [row[1] for row in store.aggregate(replace(hourly, max_rows=3)).rows] == [1, 1, 1]
    with pytest.raises(ResultTooLarge):
        store.aggregate(replace(hourly, max_rows=2))
    # Buckets of unequal widths: "b" and "c" share the bucket from hour 1 to hour 3, so two
    # answer rows fit in max_rows=2 (whatever number of partial rows an engine folds).
    uneven = _request(bucket_starts=(T0, T0 + HOUR, T0 + 3 * HOUR), max_rows=2)
    assert store.aggregate(uneven).rows == [(T0, 1, 10), (T0 + HOUR, 2, 20)]
    assert store.aggregate(_request(bucket_starts=(T0,), max_rows=1)).rows == [(T0, 3, 30)]
    # A correction that moves "c" into the hour of "b" leaves two hourly rows, not three.
    ingest_conversations(store, [_call("c", 1.75, access_code="300")])
    store.flush()
    assert [row[:2] for row in store.aggregate(replace(hourly, max_rows=2)).rows] == [
        (T0, 1),
        (T0 + HOUR, 2),
    ]


@pytest.mark.parametrize("start_hours", [0, 0.1])
def test_source_is_grouped_and_filtered(store: Store, start_hours: float) -> None:
    calls = [
        _call("a", 1, source="huawei", duration_s=30),
        _call("b", 2, source="huawei", duration_s=12),
        _call("c", 3, source="7moor", duration_s=7),
        _call("d", 4),  # no source
    ]
    ingest_conversations(store, calls)
    # From hour 0 the range lies on quarter hours (a rollup may answer); from 0.1 h it does not.
    start = T0 + start_hours * HOUR
    grouped = _request(start=start, group_by=("source",))
    assert store.aggregate(grouped).rows == [("7moor", 1, 7), ("huawei", 2, 42), (None, 1, None)]
    only = _request(start=start, filters=(("source", ("huawei",)),))
    assert store.aggregate(only).rows == [(2, 42)]
    unset = _request(start=start, filters=(("source", (None, "7moor")),))
    assert store.aggregate(unset).rows == [(2, 7)]
    # A correction changes a record's source: it moves between the groups.
    ingest_conversations(store, [_call("b", 2, source="7moor", duration_s=12)])
    assert store.aggregate(grouped).rows == [
        ("7moor", 2, 19),
        ("huawei", 1, 30),
        (None, 1, None),
    ]
