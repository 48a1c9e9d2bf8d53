"""Shared fixtures: a real DuckDB store in memory and the real ASGI app over it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ccstats.app import create_app
from ccstats.auth import create_credential
from ccstats.config import Settings
from ccstats.ingest import ingest_conversations, ingest_intervals
from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore, Store

ADMIN_TOKEN = "adm_test_token"


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty DuckDB store in memory."""
    with DuckDBStore(":memory:") as s:
        yield s


@pytest.fixture
def app_client(store: Store) -> Iterator[TestClient]:
    """The real app over `store`, admin token `ADMIN_TOKEN`."""
    app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)
    with TestClient(app) as client:
        yield client


def add_tenant(
    store: Store, tenant_id: str, timezone: str = "UTC", **settings: Any
) -> TenantSettings:
    """Create a tenant with settings."""
    tenant = TenantSettings(id=tenant_id, timezone=timezone, **settings)
    store.put_tenant(tenant)
    return tenant


def credential(store: Store, tenant_id: str, kind: str, key: str | None = None) -> dict[str, Any]:
    """Create a credential and return what the client gets."""
    return create_credential(store, tenant_id, kind, key)


def load(
    store: Store, conversations: list[dict[str, Any]], intervals: list[dict[str, Any]] | None = None
) -> None:
    """Ingest records, failing the test if any is rejected."""
    result = ingest_conversations(store, conversations)
    assert not result.rejected, result.rejected
    if intervals:
        result = ingest_intervals(store, intervals)
        assert not result.rejected, result.rejected
