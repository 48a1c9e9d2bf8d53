"""Prometheus `/metrics`: requests by route template, dialect and status; latencies; ingest
records; kept-answer hits; the store's size and upkeep. Each app counts on its own registry, so
every number below is what this test's own requests make."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import ADMIN_TOKEN, add_tenant, credential

from ccstats import app as app_module
from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.observability import Telemetry
from ccstats.service import Service
from ccstats.storage import DuckDBStore, Store

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    out: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def rec(cid: str, day: str = "2024-05-01", **fields: object) -> dict[str, object]:
    return {"id": cid, "channel": "chat", "created_at": f"{day}T10:00:00Z", **fields}


def api_headers(store: Store, tenant: str = "t1") -> dict[str, str]:
    return {"authorization": f"Bearer {credential(store, tenant, 'api')['token']}"}


def test_requests_by_route_template_dialect_and_status(
    app_client: TestClient, store: Store
) -> None:
    add_tenant(store, "t1")
    headers = api_headers(store)
    for conversation_id in ("a", "b", "c"):  # three paths, one route
        answer = app_client.get(f"/v1/conversations/{conversation_id}", headers=headers)
        assert answer.status_code == 404
    assert app_client.get("/no/such/path").status_code == 404
    assert app_client.get("/api/v1/search/cis/calls").status_code == 401  # Twin24, no token
    assert app_client.get("/v1/metrics").status_code == 200

    samples = scrape(app_client)
    requests = "ccstats_http_requests_total"
    detail = {"route": "/v1/conversations/{conversation_id}", "method": "GET", "dialect": "native"}
    assert value(samples, requests, **detail, status="404") == 3
    assert value(samples, "ccstats_http_request_duration_seconds_count", **detail) == 3
    unmatched = {"route": "<unmatched>", "method": "GET", "dialect": "other", "status": "404"}
    assert value(samples, requests, **unmatched) == 1
    twin24 = {"route": "/api/v1/search/cis/calls", "method": "GET", "dialect": "twin24"}
    assert value(samples, requests, **twin24, status="401") == 1
    catalogue = {"route": "/v1/metrics", "method": "GET", "dialect": "native", "status": "200"}
    assert value(samples, requests, **catalogue) == 1
    # No label carries a path a client made up.
    assert not any("/no/such/path" in str(labels) for _, labels in samples)


def test_vendor_requests_are_labelled_with_their_dialect(app_client: TestClient) -> None:
    answer = app_client.post("/oifde/rest/api/queryCallStatisticsReport", json={})
    assert answer.status_code < 500
    samples = scrape(app_client)
    labels = {"route": "/oifde/rest/api/queryCallStatisticsReport", "method": "POST"}
    assert (
        value(
            samples,
            "ccstats_http_requests_total",
            **labels,
            dialect="huawei",
            status=str(answer.status_code),
        )
        == 1
    )


def test_ingest_records_accepted_and_rejected(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    headers = api_headers(store)
    batch = [rec("a"), rec("b"), rec("bad", channel="fax")]
    assert app_client.post("/v1/conversations", json=batch, headers=headers).json()["accepted"] == 2
    admin_batch = [rec("c", tenant_id="t1")]
    answer = app_client.post("/v1/admin/conversations", json=admin_batch, headers=ADMIN)
    assert answer.json()["accepted"] == 1
    interval = {
        "agent_id": "a1",
        "kind": "login",
        "started_at": "2024-05-01T09:00:00Z",
        "ended_at": "2024-05-01T10:00:00Z",
    }
    answer = app_client.post("/v1/agent-intervals", json=[interval], headers=headers)
    assert answer.json() == {"accepted": 1, "rejected": []}

    samples = scrape(app_client)
    records = "ccstats_ingest_records_total"
    assert value(samples, records, kind="conversations", outcome="accepted") == 3
    assert value(samples, records, kind="conversations", outcome="rejected") == 1
    assert value(samples, records, kind="intervals", outcome="accepted") == 1
    assert value(samples, records, kind="intervals", outcome="rejected") == 0


def test_kept_answer_hits_and_misses(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    headers = api_headers(store)
    query = {"metrics": ["conversations"], "from": "2024-05-01", "to": "2024-05-02"}

    def ask() -> int:
        answer = app_client.post("/v1/query", json=query, headers=headers)
        assert answer.status_code == 200
        return int(answer.json()["rows"][0]["conversations"])

    def counts() -> tuple[float, float]:
        samples = scrape(app_client)
        name = "ccstats_kept_answers_total"
        return (
            value(samples, name, cache="metrics", result="hit"),
            value(samples, name, cache="metrics", result="miss"),
        )

    assert ask() == 0 and counts() == (0, 1)  # computed
    assert ask() == 0 and counts() == (1, 1)  # kept
    app_client.post("/v1/conversations", json=[rec("a")], headers=headers)  # inside the range
    assert ask() == 1 and counts() == (1, 2)
    app_client.post("/v1/conversations", json=[rec("z", day="2024-06-01")], headers=headers)
    assert ask() == 1 and counts() == (2, 2)  # a change outside the range keeps the answer

    for _ in range(2):
        assert app_client.get("/v1/conversations", headers=headers).status_code == 200
    samples = scrape(app_client)
    assert value(samples, "ccstats_kept_answers_total", cache="pages", result="miss") == 1
    assert value(samples, "ccstats_kept_answers_total", cache="pages", result="hit") == 1


def test_store_size_and_compaction_backlog(tmp_path: Path) -> None:
    path = str(tmp_path / "ccstats.duckdb")
    with DuckDBStore(path) as store:
        add_tenant(store, "t1")
        client = TestClient(create_app(Settings(db=path, admin_token=ADMIN_TOKEN), store))
        batch = [rec("a"), rec("b"), rec("c")]
        assert (
            client.post("/v1/conversations", json=batch, headers=api_headers(store)).json()[
                "accepted"
            ]
            == 3
        )
        samples = scrape(client)
        # Three conversations written in arrival order, none rewritten sorted yet.
        assert value(samples, "ccstats_upkeep_backlog_rows") == 3
        size = "ccstats_store_size_bytes"
        assert value(samples, size, file="database") == os.path.getsize(path) > 0
        assert value(samples, size, file="wal") == os.path.getsize(path + ".wal") > 0
        store.compact()
        assert value(scrape(client), "ccstats_upkeep_backlog_rows") == 0


def test_a_store_in_memory_has_no_size(app_client: TestClient) -> None:
    samples = scrape(app_client)
    assert not [key for key in samples if key[0] == "ccstats_store_size_bytes"]
    assert value(samples, "ccstats_build_info", version=__import__("ccstats").__version__) == 1


def test_upkeep_rounds_are_timed_and_failures_counted(store: Store) -> None:
    telemetry = Telemetry(Service(store), ":memory:")
    with telemetry.upkeep("maintain"):
        store.maintain()
    with pytest.raises(RuntimeError), telemetry.upkeep("settle"):
        raise RuntimeError("engine gone")
    registry = telemetry.registry
    seconds = "ccstats_upkeep_duration_seconds_count"
    assert registry.get_sample_value(seconds, {"task": "maintain"}) == 1
    assert registry.get_sample_value(seconds, {"task": "settle"}) == 1
    failures = "ccstats_upkeep_failures_total"
    assert registry.get_sample_value(failures, {"task": "settle"}) == 1
    assert registry.get_sample_value(failures, {"task": "maintain"}) is None


def test_the_servers_background_upkeep_is_measured(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SETTLE_INTERVAL_S", 0.02)
    monkeypatch.setattr(app_module, "MAINTENANCE_INTERVAL_S", 0.04)  # every second round
    app = create_app(Settings(db=":memory:"), store)
    seconds = "ccstats_upkeep_duration_seconds_count"
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            samples = scrape(client)
            if value(samples, seconds, task="maintain") and value(samples, seconds, task="settle"):
                break
            time.sleep(0.02)
    assert value(samples, seconds, task="settle") >= 1
    assert value(samples, seconds, task="maintain") >= 1
