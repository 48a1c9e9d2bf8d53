"""Shared fixtures: a real store and the real ASGI app over it.

The store is DuckDB in memory, or with `CCSTATS_TEST_ENGINE=chdb` ClickHouse in process (a
fresh database of one chDB directory per test process): the API, dialect and service tests then
run on ClickHouse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.chdb_stores import chdb_store, drop_opened
from tests.services import SERVICES

from ccstats.app import create_app
from ccstats.auth import create_credential
from ccstats.config import Settings
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.storage import DuckDBStore, Store

ADMIN_TOKEN = "adm_test_token"


ENGINE = os.environ.get("CCSTATS_TEST_ENGINE", "duckdb")
"""The engine of the `store` fixture: duckdb, or chdb."""


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty store of `ENGINE`."""
    if ENGINE == "chdb":
        yield chdb_store()
        drop_opened()
        return
    with DuckDBStore(":memory:") as s:
        yield s


@pytest.fixture
def app_client(store: Store) -> Iterator[TestClient]:
    """The real app over `store`, admin token `ADMIN_TOKEN`."""
    app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)
    SERVICES[store] = app.state.service
    with TestClient(app) as client:
        yield client


def service_of(store: Store) -> Service:
    """The service of the app over `store` (or a new one): `load` ingests through it, as a
    client's POST would, so that the app's kept answers see what the test loads. Kept in
    `tests.services`, since pytest imports this file twice (as `conftest` and `tests.conftest`)."""
    return SERVICES.setdefault(store, Service(store))


def add_tenant(
    store: Store, tenant_id: str, timezone: str = "UTC", **settings: Any
) -> TenantSettings:
    """Create (or change) a tenant with settings, as the service does (a new zone recuts)."""
    tenant = TenantSettings(id=tenant_id, timezone=timezone, **settings)
    service_of(store).put_tenant(tenant)
    return tenant


def credential(store: Store, tenant_id: str, kind: str, key: str | None = None) -> dict[str, Any]:
    """Create a credential and return what the client gets."""
    return create_credential(store.registry, tenant_id, kind, key)


def load(
    store: Store, conversations: list[dict[str, Any]], intervals: list[dict[str, Any]] | None = None
) -> None:
    """Ingest records, failing the test if any is rejected."""
    service = service_of(store)
    result = service.ingest_conversations(conversations)
    assert not result.rejected, result.rejected
    if intervals:
        result = service.ingest_intervals(intervals)
        assert not result.rejected, result.rejected
