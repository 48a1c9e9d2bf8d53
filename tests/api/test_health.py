"""`/healthz` and `/readyz`: liveness, and readiness of the store and its schema, with no token."""

from __future__ import annotations

from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.storage import DuckDBStore, Store, open_store


def test_healthz_answers_ok_without_a_token(app_client: TestClient) -> None:
    answer = app_client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_over_a_current_store(app_client: TestClient) -> None:
    answer = app_client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"store": "ok", "schema": "ok"}}


def test_readyz_is_unavailable_when_the_store_is_closed(store: Store) -> None:
    client = TestClient(create_app(Settings(db=":memory:"), store))
    store.close()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["store"].startswith("unreachable: ")
    assert body["checks"]["schema"] == "not checked"
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_readyz_says_which_column_an_old_store_file_lacks(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    DuckDBStore(path).close()
    with duckdb.connect(path) as con:  # a file as an older version (without the field) left it
        con.execute("ALTER TABLE conversations DROP COLUMN customer_name")
    store = open_store(path, read_only=True)
    try:
        answer = TestClient(create_app(Settings(db=path), store)).get("/readyz")
    finally:
        store.close()
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["store"] == "ok"
    assert checks["schema"].startswith("not current: ")
    assert "customer_name" in checks["schema"]
    assert "\n" not in checks["schema"]


def test_probes_are_in_the_openapi_schema(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)
    assert "503" in paths["/readyz"]["get"]["responses"]


def test_readyz_says_the_schema_version_of_an_older_store_opened_read_only(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "older.duckdb")
    DuckDBStore(path).close()
    with duckdb.connect(path) as con:  # recorded as one version older
        con.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema:version'",
            [str(DuckDBStore.SCHEMA_VERSION - 1)],
        )
    store = open_store(path, read_only=True)
    try:
        answer = TestClient(create_app(Settings(db=path), store)).get("/readyz")
    finally:
        store.close()
    assert answer.status_code == 503
    assert answer.json()["checks"]["schema"] == (
        f"not current: store schema {DuckDBStore.SCHEMA_VERSION - 1}, this version writes "
        f"{DuckDBStore.SCHEMA_VERSION}"
    )
