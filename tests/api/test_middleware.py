"""The app's middleware over a real uvicorn: errors in the caller's dialect, connection kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import ADMIN_TOKEN
from tests.serving import serve

from ccstats.api.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.storage import DuckDBStore

BANK = {"authorization": "Bearer ccs_bank_demo-token"}


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    """The app over the demo tenants (a few records), with a route that crashes."""
    with DuckDBStore(":memory:") as store:
        create_demo(store, 50)
        app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)

        @app.get("/v1/test-crash")
        def crash() -> None:
            raise RuntimeError("a bug")

        @app.get("/api/v1/test-crash")
        def twin24_crash() -> None:
            raise RuntimeError("a bug")

        yield app


@pytest.fixture(scope="module")
def base(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _local_address(response: httpx.Response) -> object:
    return response.extensions["network_stream"].get_extra_info("client_addr")


ERRORS = [
    ("GET", "/v1/test-crash", None, 500),
    ("GET", "/api/v1/test-crash", None, 500),
    ("GET", "/v1/conversations?from=0001-01-01", None, 400),
    ("POST", "/v1/query", {"metrics": ["conversations"], "from": 10**30, "to": "2024-01-01"}, 400),
    ("POST", "/v1/query", {"metrics": ["x"], "from": "2024-01-01", "to": "2024-01-02"}, 400),
    ("GET", "/v1/nowhere", None, 404),
    ("DELETE", "/v1/metrics", None, 405),
    ("GET", "/v1/metrics", None, 200),
]


def test_errors_and_crashes_keep_the_connection(base: str) -> None:
    # Issue 15: after a 500 the server closed the keep-alive connection.
    with httpx.Client(base_url=base, headers=BANK, limits=httpx.Limits(max_connections=1)) as c:
        first = c.get("/v1/metrics")
        address = _local_address(first)
        for method, path, body, status in ERRORS:
            response = c.request(method, path, json=body)
            assert response.status_code == status, (path, response.text)
            assert response.headers.get("connection") != "close", path
            assert _local_address(response) == address, f"{method} {path} closed the connection"


def test_a_crash_is_answered_in_the_dialect_of_its_path(base: str) -> None:
    with httpx.Client(base_url=base, headers=BANK) as client:
        native = client.get("/v1/test-crash")
        twin24 = client.get("/api/v1/test-crash")
    assert native.status_code == twin24.status_code == 500
    assert native.json()["error"]["code"] == "internal_error"
    assert twin24.json() == {
        "error": "internal error; the server log has the details",
        "details": None,
    }
    assert "Traceback" not in native.text + twin24.text
