"""`GET /v1/metrics` and `POST /v1/query` over the real app: buckets in the tenant's zone, ratios
with their parts, `?explain=1`, tenant walls, and 400s that name the problem."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ADMIN_TOKEN, add_tenant, credential, load

from ccstats.metrics import CATALOG
from ccstats.storage import Store


def auth(store: Store, tenant: str) -> dict[str, str]:
    """Headers with a fresh API token of the tenant."""
    return {"authorization": f"Bearer {credential(store, tenant, 'api')['token']}"}


def chat(cid: str, created: str, tenant: str = "ny", **fields: Any) -> dict[str, Any]:
    """A chat conversation."""
    return {"id": cid, "tenant_id": tenant, "channel": "chat", "created_at": created, **fields}


@pytest.fixture
def ny(store: Store) -> dict[str, str]:
    """Tenant `ny` (America/New_York) around the 2024-11-03 fall-back, plus a tenant `other`."""
    add_tenant(store, "ny", "America/New_York")
    add_tenant(store, "other")
    load(
        store,
        [
            # 2024-11-03 00:30 EDT, 01:30 EDT, 01:30 EST (an hour later), 23:30 EST.
            chat("a", "2024-11-03T04:30:00Z", queued=True, queue_abandoned=True, agent_id="x"),
            chat("b", "2024-11-03T05:30:00Z", queued=True, agent_id="x"),
            chat("c", "2024-11-03T06:30:00Z", queued=True, agent_id="y"),
            chat("d", "2024-11-04T04:30:00Z", agent_id="y", csat_score=5),
            # 2024-11-04 00:30 EST: the next local day.
            chat("e", "2024-11-04T05:30:00Z", agent_id="y"),
            chat("o", "2024-11-03T05:30:00Z", tenant="other"),
        ],
    )
    return auth(store, "ny")


def query(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    """POST /v1/query with defaults for the fall-back day."""
    payload = {"metrics": ["conversations"], "from": "2024-11-03", "to": "2024-11-04", **body}
    return client.post("/v1/query", json=payload, headers=headers)


def test_catalogue_lists_every_metric_with_its_parts(app_client: TestClient) -> None:
    body = app_client.get("/v1/metrics").json()
    by_name = {m["name"]: m for m in body["metrics"]}
    assert set(by_name) == set(CATALOG)
    assert by_name["abandonment_rate"] == {
        "name": "abandonment_rate",
        "description": CATALOG["abandonment_rate"].description,
        "unit": "ratio",
        "kind": "ratio",
        "numerator": "queue_abandoned",
        "denominator": "queued",
    }
    assert by_name["conversations"]["kind"] == "count"
    assert "service_level_<N>s" in body["parametric"]


def test_local_day_total(app_client: TestClient, ny: dict[str, str]) -> None:
    answer = query(app_client, ny)
    assert answer.status_code == 200
    body = answer.json()
    # The local 2024-11-03 (25 hours) holds a, b, c and d; e is on 2024-11-04; o is another tenant's.
    assert body["rows"] == [{"conversations": 4}]
    assert body["columns"] == ["conversations"]
    assert body["data_as_of"]


def test_hour_buckets_are_local_with_their_offsets(
    app_client: TestClient, ny: dict[str, str]
) -> None:
    body = query(app_client, ny, granularity="hour").json()
    assert body["rows"] == [
        {"bucket": "2024-11-03T00:00:00-04:00", "conversations": 1},
        {"bucket": "2024-11-03T01:00:00-04:00", "conversations": 1},
        {"bucket": "2024-11-03T01:00:00-05:00", "conversations": 1},
        {"bucket": "2024-11-03T23:00:00-05:00", "conversations": 1},
    ]
    filled = query(app_client, ny, granularity="hour", fill_empty=True).json()
    assert len(filled["rows"]) == 25
    assert sum(r["conversations"] for r in filled["rows"]) == 4


def test_day_buckets_group_by_and_filters(app_client: TestClient, ny: dict[str, str]) -> None:
    body = query(app_client, ny, to="2024-11-05", granularity="day", group_by=["agent_id"]).json()
    assert body["columns"] == ["bucket", "agent_id", "conversations"]
    assert body["rows"] == [
        {"bucket": "2024-11-03T00:00:00-04:00", "agent_id": "x", "conversations": 2},
        {"bucket": "2024-11-03T00:00:00-04:00", "agent_id": "y", "conversations": 2},
        {"bucket": "2024-11-04T00:00:00-05:00", "agent_id": "y", "conversations": 1},
    ]
    filtered = query(app_client, ny, filters={"agent_id": ["x"], "queued": True}).json()
    assert filtered["rows"] == [{"conversations": 2}]


def test_ratios_come_with_their_parts(app_client: TestClient, ny: dict[str, str]) -> None:
    body = query(app_client, ny, metrics=["abandonment_rate", "csat", "avg_handle_time"]).json()
    assert body["rows"] == [
        {
            "abandonment_rate": {"value": 0.333333, "numerator": 1, "denominator": 3},
            "csat": {"value": 1.0, "numerator": 1, "denominator": 1},
            "avg_handle_time": {"value": None, "numerator": 0, "denominator": 0},
        }
    ]


def test_explain_shows_definitions_and_sql(app_client: TestClient, ny: dict[str, str]) -> None:
    body = app_client.post(
        "/v1/query?explain=1",
        json={"metrics": ["service_level_30s"], "from": "2024-11-03", "to": "2024-11-04"},
        headers=ny,
    ).json()
    explain = body["explain"]
    assert explain["metrics"][0]["name"] == "service_level_30s"
    assert explain["metrics"][0]["numerator"] == "answered_within_30s"
    assert {m["name"] for m in explain["measures"]} == {"answered_within_30s", "queued"}
    assert "SELECT" in explain["sql"] and "queue_duration_s" in explain["sql"]
    assert body["rows"] == [{"service_level_30s": {"value": 0.0, "numerator": 0, "denominator": 3}}]


def test_a_token_reads_only_its_tenant(
    app_client: TestClient, store: Store, ny: dict[str, str]
) -> None:
    other = query(app_client, auth(store, "other")).json()
    # 2024-11-03 in UTC (other's zone) holds only o.
    assert other["rows"] == [{"conversations": 1}]
    assert query(app_client, {}).status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"metrics": ["conversatons"]}, "unknown_name", "did you mean 'conversations'"),
        ({"group_by": ["agnt_id"]}, "unknown_name", "did you mean 'agent_id'"),
        ({"filters": {"chanel": "chat"}}, "unknown_name", "did you mean 'channel'"),
        ({"granularity": "dy"}, "unknown_name", "did you mean 'day'"),
        ({"time_basis": "ended"}, "unknown_name", "did you mean 'ended_at'"),
        ({"from": "2024-11-05"}, "invalid_query", "before it starts"),
        ({"from": "soon"}, "invalid_time", "from:"),
        ({"metrics": []}, "invalid_query", "no metrics"),
        ({"metrics": "conversations"}, "invalid_request", "metrics"),
    ],
)
def test_bad_queries_are_400s_naming_the_problem(
    app_client: TestClient, ny: dict[str, str], body: dict[str, Any], code: str, fragment: str
) -> None:
    answer = query(app_client, ny, **body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def test_unknown_metric_details_carry_the_nearest_name(
    app_client: TestClient, ny: dict[str, str]
) -> None:
    error = query(app_client, ny, metrics=["abandon_rate"]).json()["error"]
    assert error["details"] == {"name": "abandon_rate", "did_you_mean": "abandonment_rate"}


def test_a_body_that_is_not_json_is_a_400_in_our_shape(
    app_client: TestClient, ny: dict[str, str]
) -> None:
    answer = app_client.post(
        "/v1/query", content=b"{", headers={**ny, "content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}


def test_an_unknown_time_zone_is_refused_for_a_tenant(app_client: TestClient) -> None:
    answer = app_client.put(
        "/v1/tenants/bad",
        json={"timezone": "Mars/Olympus"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert answer.status_code == 400
    assert "unknown IANA time zone 'Mars/Olympus'" in answer.json()["error"]["message"]
