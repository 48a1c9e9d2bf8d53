"""The filters of `POST /v1/summary` and `POST /v1/agent-summary` are checked as `/v1/query`'s:
an unknown field is a 400 `unknown_name`, a value that is no scalar or of the wrong type a 400
`invalid_filter` (a list holding an object was a 500: an unhashable kept-answer key)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential

from ccstats.storage import Store

PATHS = ("/v1/summary", "/v1/agent-summary")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("filters", "status", "code"),
    [
        ({"no_such_field": "x"}, 400, "unknown_name"),
        ({"channel": {"a": 1}}, 400, "invalid_filter"),
        ({"channel": [{"a": 1}]}, 400, "invalid_filter"),
        ({"channel": ["voice", ["chat"]]}, 400, "invalid_filter"),
        ({"bot_turns": "three"}, 400, "invalid_filter"),
        ({"channel": ["voice", "chat"], "bot_turns": 3}, 200, None),
    ],
)
def test_filters_are_checked(
    app_client: TestClient,
    store: Store,
    path: str,
    filters: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    add_tenant(store, "t1")
    token = credential(store, "t1", "api")["token"]
    body = {"metrics": ["conversations"], "from": "2024-01-01", "to": "2024-02-01"}
    answer = app_client.post(
        path, json={**body, "filters": filters}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["error"]["code"] == code
