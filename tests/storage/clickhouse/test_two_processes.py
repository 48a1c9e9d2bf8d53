"""Two processes on one ClickHouse database, as two store objects with a service each (chDB lets
one process open a directory: see `test_shared_state`): a write by one drops the other's kept
answers of its range and only those (the shared change log), and a tenant one writes is
refused to the other over HTTP with a 503 that names the holder (the writer lease)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.chdb_stores import OPENED, chdb_url, drop_opened

from ccstats.app import create_app
from ccstats.auth import create_credential
from ccstats.config import Settings
from ccstats.metrics.query import MetricQuery
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.storage.clickhouse import ClickHouseStore

T0 = datetime(2024, 3, 30, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def pair() -> Iterator[tuple[ClickHouseStore, ClickHouseStore]]:
    url = chdb_url()
    one, two = ClickHouseStore(url), ClickHouseStore(url)
    OPENED.append(one)
    yield one, two
    two.close()
    drop_opened()


def _service(store: ClickHouseStore) -> Service:
    service = Service(store)
    service.changes.pull_every = 0  # pull at every check (the default waits 0.5 s between)
    return service


def _call(cid: str, at: datetime) -> dict[str, object]:
    return {"id": cid, "tenant_id": "t1", "channel": "voice", "created_at": at.isoformat()}


def _count(service: Service, day: int) -> object:
    start = T0 + day * DAY
    query = MetricQuery("t1", ("conversations",), start, start + DAY)
    return service.run_query(query).rows[0]["conversations"]


def test_a_write_by_one_drops_the_other_ones_kept_answers_of_its_range(
    pair: tuple[ClickHouseStore, ClickHouseStore],
) -> None:
    writer, reader = (_service(s) for s in pair)
    writer.put_tenant(TenantSettings(id="t1"))
    writer.ingest_conversations([_call("a", T0 + timedelta(hours=1)), _call("b", T0 - DAY)])
    assert (_count(reader, 0), _count(reader, -1)) == (1, 1)
    misses = reader.metric_answers.misses
    assert (_count(reader, 0), _count(reader, -1)) == (1, 1)  # both kept
    assert reader.metric_answers.misses == misses
    # A change spans its records' times up to their `stored_at` (now): day 0 on, not day -1.
    writer.ingest_conversations([_call("c", T0 + timedelta(hours=2))])
    assert _count(reader, 0) == 2  # recomputed: the writer published day 0's change
    assert reader.metric_answers.misses == misses + 1
    assert _count(reader, -1) == 1  # the day before untouched: still kept
    assert reader.metric_answers.misses == misses + 1
    # A process keeps its own changes, not a pulled copy of them: the writer's answers too.
    assert _count(writer, 0) == 2


def test_a_tenant_the_other_process_writes_is_a_503_naming_it(
    pair: tuple[ClickHouseStore, ClickHouseStore],
) -> None:
    one, two = pair
    _service(one).put_tenant(TenantSettings(id="t1"))
    _service(one).ingest_conversations([_call("a", T0)])
    app = create_app(Settings(db=two.url, admin_token="adm_two"), two)
    token = create_credential(two.registry, "t1", "api")["token"]
    with TestClient(app) as client:
        answer = client.post(
            "/v1/conversations",
            json=[_call("b", T0)],
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "storage_failed"
    assert "nothing of the batch was stored" in error["message"]
    assert f"being written by another process ({one.lease.holder})" in error["message"]
    assert _count(_service(two), 0) == 1


def test_a_settings_change_by_one_is_read_by_the_other_at_its_next_check(
    pair: tuple[ClickHouseStore, ClickHouseStore],
) -> None:
    writer, reader = (_service(s) for s in pair)
    writer.put_tenant(TenantSettings(id="t1"))
    assert _count(reader, 0) == 0
    found = reader.tenant("t1")
    assert found is not None and found.timezone == "UTC"  # now kept by the reader's registry
    writer.put_tenant(TenantSettings(id="t1", timezone="Asia/Tokyo"))
    assert _count(reader, 0) == 0  # the check pulls the change of every time of t1
    found = reader.tenant("t1")
    assert found is not None and found.timezone == "Asia/Tokyo"
