"""`POST /v1/agent-summary`: conversation metrics per agent beside agent time, occupancy, files."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential, load

from ccstats.records import Agent, NamedOption
from ccstats.storage import Store

RANGE = {"from": "2024-05-02", "to": "2024-05-03"}


def chat(cid: str, created: str, **fields: Any) -> dict[str, Any]:
    """A chat of tenant `t`."""
    return {"id": cid, "tenant_id": "t", "channel": "chat", "created_at": created, **fields}


def interval(
    agent: str, kind: str, start: str, end: str, status: str | None = None
) -> dict[str, Any]:
    """An agent interval of tenant `t`."""
    return {
        "tenant_id": "t",
        "agent_id": agent,
        "kind": kind,
        "status_id": status,
        "started_at": start,
        "ended_at": end,
    }


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    """Tenant `t` (UTC), 2024-05-02. a1 (Ann) took two chats (100 s and 200 s handled, CSAT 5 and
    2), was logged in 08:00-16:00, busy 09:00-10:00 and in an unlabelled status `x` 10:00-10:30.
    a2 (Bob) took nothing and was logged in 23:00 the day before to 01:00 (1 h in the range). One
    chat had no agent."""
    add_tenant(
        store,
        "t",
        agents=[Agent(id="a1", name="Ann", number="801"), Agent(id="a2", name="Bob")],
        agent_statuses=[NamedOption(id="busy", label="Busy")],
    )
    load(
        store,
        [
            chat(
                "c1",
                "2024-05-02T09:00:00Z",
                agent_id="a1",
                agent_connected=True,
                agent_duration_s=100,
                csat_score=5,
            ),
            chat(
                "c2",
                "2024-05-02T11:00:00Z",
                agent_id="a1",
                agent_connected=True,
                agent_duration_s=200,
                csat_score=2,
            ),
            chat("c3", "2024-05-02T12:00:00Z"),
        ],
        [
            interval("a1", "login", "2024-05-02T08:00:00Z", "2024-05-02T16:00:00Z"),
            interval("a1", "status", "2024-05-02T09:00:00Z", "2024-05-02T10:00:00Z", "busy"),
            interval("a1", "status", "2024-05-02T10:00:00Z", "2024-05-02T10:30:00Z", "x"),
            interval("a2", "login", "2024-05-01T23:00:00Z", "2024-05-02T01:00:00Z"),
        ],
    )
    return {"authorization": f"Bearer {credential(store, 't', 'api')['token']}"}


def test_rows_per_agent(app_client: TestClient, headers: dict[str, str]) -> None:
    body = {**RANGE, "metrics": ["agent_sessions", "avg_handle_time", "csat"]}
    answer = app_client.post("/v1/agent-summary", json=body, headers=headers).json()
    assert answer["statuses"] == [{"id": "busy", "label": "Busy"}, {"id": "x", "label": "x"}]
    assert answer["rows"] == [
        {
            "agent_id": "a1",
            "agent_name": "Ann",
            "agent_number": "801",
            "agent_sessions": 2,
            "avg_handle_time": {"value": 150.0, "numerator": 300, "denominator": 2},
            "csat": {"value": 0.5, "numerator": 1, "denominator": 2},
            "logged_in_s": 28800.0,
            # 300 s handled / 28 800 s logged in = 0.0104166..., half up at 6 decimals.
            "occupancy": {"value": 0.010417, "numerator": 300, "denominator": 28800.0},
            "status_s": {"busy": 3600.0, "x": 1800.0},
        },
        {
            "agent_id": "a2",
            "agent_name": "Bob",
            "agent_number": None,
            "agent_sessions": 0,
            "avg_handle_time": {"value": None, "numerator": 0, "denominator": 0},
            "csat": {"value": None, "numerator": 0, "denominator": 0},
            "logged_in_s": 3600.0,  # 00:00-01:00 of the range
            "occupancy": {"value": 0.0, "numerator": 0, "denominator": 3600.0},
            "status_s": {},
        },
    ]


def test_default_metrics(app_client: TestClient, headers: dict[str, str]) -> None:
    answer = app_client.post("/v1/agent-summary", json=RANGE, headers=headers).json()
    assert answer["metrics"] == ["agent_sessions", "avg_handle_time", "avg_first_response", "csat"]


def test_csv(app_client: TestClient, headers: dict[str, str]) -> None:
    body = {**RANGE, "metrics": ["agent_sessions", "csat"]}
    answer = app_client.post("/v1/agent-summary?format=csv", json=body, headers=headers)
    assert answer.headers["content-disposition"] == 'attachment; filename="agents-t.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows == [
        [
            "agent_id",
            "agent_name",
            "agent_number",
            "agent_sessions",
            "csat",
            "logged_in_s",
            "occupancy",
            "status: Busy",
            "status: x",
        ],
        ["a1", "Ann", "801", "2", "0.5", "28800.0", "0.010417", "3600.0", "1800.0"],
        ["a2", "Bob", "", "0", "", "3600.0", "0.0", "0.0", "0.0"],
    ]


def test_filters_narrow_the_conversations_not_the_agent_time(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    body = {**RANGE, "metrics": ["agent_sessions"], "filters": {"channel": "voice"}}
    rows = app_client.post("/v1/agent-summary", json=body, headers=headers).json()["rows"]
    assert [(r["agent_id"], r["agent_sessions"], r["logged_in_s"]) for r in rows] == [
        ("a1", 0, 28800.0),
        ("a2", 0, 3600.0),
    ]


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        ("?format=pdf", RANGE, "unknown_name"),
        ("", {**RANGE, "metrics": ["sessions"]}, "unknown_name"),
        ("", {"from": "2024-05-03", "to": "2024-05-02"}, "invalid_range"),
    ],
)
def test_bad_requests(
    app_client: TestClient, headers: dict[str, str], query: str, body: dict[str, Any], code: str
) -> None:
    answer = app_client.post(f"/v1/agent-summary{query}", json=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
