"""Probes and metrics for operators: `/healthz` (the process answers), `/readyz` (the store answers
with the current schema), `/metrics` (Prometheus). None needs a token: they carry no tenant data."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from ccstats.observability import telemetry_of
from ccstats.responses import JSON
from ccstats.schema import CONVERSATION_COLUMNS
from ccstats.storage import SearchRequest, StorageError, Store

__all__ = ["router", "Health", "Readiness", "store_checks"]

router = APIRouter(tags=["operations"])

_PROBE_TENANT = "\x00readyz"
"""No tenant has this id (ids are visible text): the probe reads the tables, not a tenant's rows."""


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the server can answer: each check is `ok` or says what failed."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(
        description="`store`: the store answers a read; `schema`: every table has the columns "
        "this version reads."
    )


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def store_checks(store: Store) -> dict[str, str]:
    """`store` and `schema`, each `ok` or what failed (the first line of the engine's error)."""
    try:
        store.registry.get_meta("readyz")
    except Exception as error:  # any failure means not ready, and says why
        return {"store": f"unreachable: {_first_line(error)}", "schema": "not checked"}
    try:
        # Every column this version reads, of conversations and of messages: a store file left
        # behind by an older version that was not migrated fails here.
        columns = tuple(CONVERSATION_COLUMNS)
        store.search(SearchRequest(tenant_id=_PROBE_TENANT, columns=columns, limit=1))
        store.messages_for(_PROBE_TENANT, ["-"])
    except StorageError as error:
        return {"store": "ok", "schema": f"not current: {_first_line(error)}"}
    except Exception as error:
        return {"store": "ok", "schema": f"unreadable: {_first_line(error)}"}
    version = store.schema_version()
    if version < store.SCHEMA_VERSION:  # a store opened read-only is never migrated
        return {
            "store": "ok",
            "schema": f"not current: store schema {version}, this version writes "
            f"{store.SCHEMA_VERSION}",
        }
    return {"store": "ok", "schema": "ok"}


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    """Always `{"status": "ok"}` while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    summary="Readiness: the store answers, with the current schema",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A check failed."}},
)
def readyz(request: Request) -> Response:
    """200 when every check is `ok`, else 503 with the failed check's reason."""
    checks = store_checks(request.app.state.store)
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSON(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition."}},
)
def metrics(request: Request) -> Response:
    """Requests by route, dialect and status, latencies, ingest counts, kept-answer hits, the
    store's size and the background upkeep (docs/operations.md lists every series)."""
    telemetry = telemetry_of(request.app)
    body = generate_latest(telemetry.registry) if telemetry else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
