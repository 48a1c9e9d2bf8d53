"""Admin API: tenants and credentials, and ingest for any tenant (used by `ccstats import` while the
server holds the database). Every route needs the admin token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from ccstats.api.deps import AdminDep, ServiceDep
from ccstats.api.errors import ApiError
from ccstats.api.native import ingest_body
from ccstats.auth import CredentialError, create_credential
from ccstats.records import TenantSettings, describe_validation_error

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["admin"])


@router.get("/tenants", summary="List tenants")
def list_tenants(service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """Every tenant's settings."""
    return {"tenants": [t.model_dump() for t in service.registry.list_tenants()]}


@router.get("/tenants/{tenant_id}", summary="One tenant")
def get_tenant(tenant_id: str, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """A tenant's settings."""
    tenant = service.tenant(tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", f"unknown tenant {tenant_id!r}")
    return tenant.model_dump()


@router.put("/tenants/{tenant_id}", summary="Create or update a tenant")
async def put_tenant(
    tenant_id: str, request: Request, service: ServiceDep, _: AdminDep
) -> dict[str, Any]:
    """Create a tenant or change the settings given (others keep their values)."""
    try:
        changes = await request.json()
    except ValueError:
        raise ApiError(400, "malformed_payload", "the body is not JSON") from None
    if not isinstance(changes, dict):
        raise ApiError(400, "malformed_payload", "the body must be a JSON object of settings")
    current = service.tenant(tenant_id)
    merged = {**(current.model_dump() if current else {}), **changes, "id": tenant_id}
    try:
        tenant = TenantSettings.model_validate(merged)
    except ValidationError as error:
        raise ApiError(400, "invalid_settings", describe_validation_error(error)) from None
    service.put_tenant(tenant)
    return tenant.model_dump()


class CredentialBody(BaseModel):
    """Which credential to create."""

    kind: str
    key: str | None = None


@router.post("/tenants/{tenant_id}/credentials", summary="Create a credential")
def post_credential(
    tenant_id: str, body: CredentialBody, service: ServiceDep, _: AdminDep
) -> dict[str, Any]:
    """A new credential of a kind (api, huawei, 7moor, twin24, aliyun); the secret is shown once."""
    try:
        return create_credential(service.registry, tenant_id, body.kind, body.key)
    except CredentialError as error:
        raise ApiError(400, "invalid_credential", str(error)) from None


@router.post("/admin/conversations", summary="Ingest conversations of any tenant")
async def admin_conversations(request: Request, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """Like POST /v1/conversations, but records name their own (existing) tenant."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return ingest_body(service, body, content_type, "conversations", None, request)


@router.post("/admin/agent-intervals", summary="Ingest agent intervals of any tenant")
async def admin_intervals(request: Request, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """Like POST /v1/agent-intervals, for any tenant."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return ingest_body(service, body, content_type, "intervals", None, request)
