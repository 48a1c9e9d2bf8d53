"""`POST /v1/summary`: a period beside the one before it, of the same length in the tenant's
calendar, with the change between them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential, load

from ccstats.api.summary import change, previous_range
from ccstats.metrics.query import RatioValue
from ccstats.storage import Store


def local(text: str, zone: str) -> datetime:
    """A tenant-local wall time as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "start", "end", "before"),
    [
        # Whole months: the same number of months before (February is shorter).
        ("Asia/Shanghai", "2026-03-01", "2026-04-01", "2026-02-01"),
        ("Asia/Shanghai", "2026-01-01", "2026-04-01", "2025-10-01"),
        # Whole days: the same number of days before, DST or not (the week before has 169 h).
        ("America/New_York", "2024-11-04", "2024-11-11", "2024-10-28"),
        ("Asia/Shanghai", "2026-03-15", "2026-04-15", "2026-02-12"),
        # Anything else: the same duration before.
        ("Europe/Berlin", "2026-05-04T10:00", "2026-05-04T12:00", "2026-05-04T08:00"),
    ],
)
def test_previous_range(zone: str, start: str, end: str, before: str) -> None:
    span = (local(start, zone), local(end, zone))
    assert previous_range(*span, ZoneInfo(zone)) == (local(before, zone), span[0])


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (3, 1, {"difference": 2.0, "relative": 2.0}),
        (1, 3, {"difference": -2.0, "relative": -0.666667}),  # half up at 6 decimals
        (4, 0, {"difference": 4.0, "relative": None}),  # relative to nothing
        (RatioValue(2, 3), RatioValue(1, 1), {"difference": -0.333333, "relative": -0.333333}),
        (RatioValue(1, 2), RatioValue(0, 0), {"difference": None, "relative": None}),
    ],
)
def test_change(now: Any, before: Any, expected: dict[str, Any]) -> None:
    assert change(now, before) == expected


def chat(cid: str, created: str, tenant: str = "t", **fields: Any) -> dict[str, Any]:
    """A chat of tenant `t`."""
    return {"id": cid, "tenant_id": tenant, "channel": "chat", "created_at": created, **fields}


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    """Tenant `t` (UTC): one chat on 2024-05-01 (CSAT 5), three on 2024-05-02 (CSAT 5, 5, 2);
    tenant `other` has a chat on 2024-05-02 that must not count."""
    add_tenant(store, "t")
    add_tenant(store, "other")
    load(
        store,
        [
            chat("p1", "2024-05-01T10:00:00Z", csat_score=5),
            chat("c1", "2024-05-02T09:00:00Z", csat_score=5),
            chat("c2", "2024-05-02T10:00:00Z", csat_score=5),
            chat("c3", "2024-05-02T23:59:59Z", csat_score=2),
            chat("o1", "2024-05-02T10:00:00Z", tenant="other", csat_score=1),
        ],
    )
    return {"authorization": f"Bearer {credential(store, 't', 'api')['token']}"}


def test_summary_of_a_day_and_the_day_before(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    body = {
        "metrics": ["conversations", "csat", "avg_handle_time"],
        "from": "2024-05-02",
        "to": "2024-05-03",
    }
    answer = app_client.post("/v1/summary", json=body, headers=headers).json()
    assert answer["current"] == {
        "from": "2024-05-02T00:00:00+00:00",
        "to": "2024-05-03T00:00:00+00:00",
        "values": {
            "conversations": 3,
            "csat": {"value": 0.666667, "numerator": 2, "denominator": 3},
            "avg_handle_time": {"value": None, "numerator": 0, "denominator": 0},
        },
    }
    assert answer["previous"]["from"] == "2024-05-01T00:00:00+00:00"
    assert answer["previous"]["values"]["conversations"] == 1
    assert answer["previous"]["values"]["csat"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert answer["change"] == {
        "conversations": {"difference": 2.0, "relative": 2.0},
        "csat": {"difference": -0.333333, "relative": -0.333333},
        "avg_handle_time": {"difference": None, "relative": None},
    }
    assert answer["metrics"] == body["metrics"] and answer["data_as_of"]


def test_filters_apply_to_both_periods(app_client: TestClient, headers: dict[str, str]) -> None:
    body = {
        "metrics": ["conversations"],
        "from": "2024-05-02",
        "to": "2024-05-03",
        "filters": {"csat_score": 5},
    }
    answer = app_client.post("/v1/summary", json=body, headers=headers).json()
    assert answer["current"]["values"] == {"conversations": 2}
    assert answer["previous"]["values"] == {"conversations": 1}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"metrics": ["csat"], "from": "2024-05-03", "to": "2024-05-02"}, "invalid_range"),
        ({"metrics": ["csta"], "from": "2024-05-02", "to": "2024-05-03"}, "unknown_name"),
        (
            {"metrics": ["csat"], "from": "2024-05-02", "to": "2024-05-03", "filters": {"nope": 1}},
            "unknown_name",
        ),
        ({"metrics": [], "from": "2024-05-02", "to": "2024-05-03"}, "invalid_request"),
        ({"metrics": ["csat"] * 51, "from": "2024-05-02", "to": "2024-05-03"}, "invalid_request"),
        (
            {
                "metrics": ["csat"],
                "from": "2024-05-02",
                "to": "2024-05-03",
                "filters": {f"f{i}": 1 for i in range(51)},
            },
            "invalid_request",
        ),
        ({"metrics": ["csat"], "from": "yesterday", "to": "2024-05-03"}, "invalid_time"),
    ],
)
def test_bad_requests_name_the_problem(
    app_client: TestClient, headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    answer = app_client.post("/v1/summary", json=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


def test_needs_a_token(app_client: TestClient) -> None:
    body = {"metrics": ["csat"], "from": "2024-05-02", "to": "2024-05-03"}
    assert app_client.post("/v1/summary", json=body).status_code == 401
