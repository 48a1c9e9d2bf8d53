"""`GET /v1/conversations?metric=...`: the rows a catalogue measure counts (drill-down)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential, load

from ccstats.storage import Store


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    """Tenant `t`: q1 queued and taken in 10 s, q2 queued and taken in 40 s, q3 abandoned in the
    queue, n1 never queued. c1 and c1-again: the same customer within 2 hours."""
    add_tenant(store, "t")

    def chat(cid: str, minute: int, **fields: Any) -> dict[str, Any]:
        created = f"2024-05-02T10:{minute:02d}:00Z"
        return {"id": cid, "tenant_id": "t", "channel": "chat", "created_at": created, **fields}

    load(
        store,
        [
            chat("q1", 1, queued=True, agent_connected=True, queue_duration_s=10),
            chat("q2", 2, queued=True, agent_connected=True, queue_duration_s=40),
            chat("q3", 3, queued=True, queue_abandoned=True),
            chat("n1", 4),
            chat("c1", 5, customer_id="k", ended_at="2024-05-02T10:06:00Z"),
            chat("c1-again", 50, customer_id="k", ended_at="2024-05-02T10:55:00Z"),
        ],
    )
    return {"authorization": f"Bearer {credential(store, 't', 'api')['token']}"}


def ids(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    """Ids of the search's rows, oldest first."""
    answer = client.get(f"/v1/conversations?sort=created_at&fields=id&{query}", headers=headers)
    assert answer.status_code == 200, answer.json()
    return [r["id"] for r in answer.json()["rows"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metric=queue_abandoned", ["q3"]),
        ("metric=queued", ["q1", "q2", "q3"]),
        ("metric=answered_within_20s", ["q1"]),  # parametric: queued, taken within 20 s
        ("metric=answered_within_30s&queued=true", ["q1"]),
        ("metric=conversations", ["q1", "q2", "q3", "n1", "c1", "c1-again"]),  # no condition
        ("metric=queue_wait_answered", ["q1", "q2"]),  # a sum: the rows it adds
        # FCR: c1's customer came back within 24 h; c1-again is the last contact.
        ("metric=resolved_within_24h", ["c1-again"]),
        ("metric=finished_with_customer", ["c1", "c1-again"]),
    ],
)
def test_rows_of_a_measure(
    app_client: TestClient, headers: dict[str, str], query: str, expected: list[str]
) -> None:
    assert ids(app_client, headers, query) == expected


def test_files_carry_the_same_rows(app_client: TestClient, headers: dict[str, str]) -> None:
    answer = app_client.get(
        "/v1/conversations?metric=queued&format=csv&fields=id&sort=id", headers=headers
    )
    assert answer.content.decode("utf-8-sig").split() == ["id", '"q1"', '"q2"', '"q3"']


@pytest.mark.parametrize(
    ("metric", "code", "text"),
    [
        ("csat", "invalid_metric", "csat is a ratio; name its numerator (csat_satisfied)"),
        ("last_stored_at", "invalid_metric", "a maximum"),
        ("queue_abandond", "unknown_name", "did you mean 'queue_abandoned'"),
    ],
)
def test_what_is_not_a_set_of_rows(
    app_client: TestClient, headers: dict[str, str], metric: str, code: str, text: str
) -> None:
    answer = app_client.get(f"/v1/conversations?metric={metric}", headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code and text in answer.json()["error"]["message"]
