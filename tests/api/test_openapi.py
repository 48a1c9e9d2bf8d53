"""HTTP conformance: a 405 names the allowed methods; `/openapi.json` documents every error
status a path answers, in its dialect's shape (issue 15, item 9)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.clients import assert_error_shape, dialect_of

from ccstats.api.openapi import ERROR_SHAPES, ERROR_STATUSES, dialect_of_path
from ccstats.api.schemas import ROUTE_DOCS


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/query", "POST"),
        ("DELETE", "/v1/conversations", "GET, HEAD, POST"),
        ("PATCH", "/v1/tenants/t1", "DELETE, GET, HEAD, PUT"),
        ("PUT", "/v1/conversations/c1", "GET, HEAD"),
        ("GET", "/oifde/rest/api/gettoken", "POST"),
        ("GET", "/openapi/im-report/agent/quality", "POST"),
        ("DELETE", "/api/v1/auth/login", "POST"),
        ("PUT", "/api/v1/search/cis/calls", "GET, HEAD"),
        ("PUT", "/", "GET, HEAD, POST"),
    ],
)
def test_a_405_says_which_methods_are_allowed(
    app_client: TestClient, method: str, path: str, allow: str
) -> None:
    headers = {"x-acs-action": "HotlineSessionQuery"} if path == "/" else {}
    answer = app_client.request(method, path, headers=headers)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allow
    assert_error_shape(dialect_of(path), answer)


def test_every_operation_documents_its_dialects_errors(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        dialect = dialect_of_path(path)
        for method, operation in operations.items():
            if (method, path) in ROUTE_DOCS:  # its own statuses and models: tests/api/test_api_docs
                continue
            responses = operation["responses"]
            for status in ERROR_STATUSES[dialect]:
                documented = responses[str(status)]["content"]["application/json"]["schema"]
                assert documented == ERROR_SHAPES[dialect], (method, path, status)
            if dialect != "twin24":
                # FastAPI's 422 HTTPValidationError is never answered: ccstats says 400.
                assert "422" not in responses, (method, path)


def test_routes_that_read_the_raw_request_document_their_inputs(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    search = paths["/v1/conversations"]["get"]
    assert {p["name"] for p in search["parameters"]} >= {"from", "to", "limit", "cursor", "format"}
    assert "text/csv" in search["responses"]["200"]["content"]
    calls = paths["/api/v1/search/cis/calls"]["get"]
    assert {p["name"] for p in calls["parameters"]} >= {"from", "to", "limit", "output"}
    moor = paths["/openapi/im-report/session/time"]["post"]["requestBody"]
    assert moor["content"]["application/json"]["schema"]["required"] == ["createTime"]
