"""Admin API: tenants and credentials, and ingest for any tenant (used by `ccstats import` while the
server holds the database). Every route needs the admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError

from ccstats import __version__
from ccstats.api.deps import AdminDep, ServiceDep
from ccstats.api.errors import ApiError
from ccstats.api.ingest_threads import in_ingest_thread
from ccstats.api.native import ingest_body
from ccstats.api.schemas import CredentialScope
from ccstats.auth import CredentialError, create_credential, scope_for
from ccstats.records import TenantSettings, describe_validation_error
from ccstats.service import Ambiguous, NotFound, StorageError

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


@router.delete("/tenants/{tenant_id}", summary="Delete a tenant with its data")
def delete_tenant(tenant_id: str, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """Delete a tenant: every conversation, message and agent interval of it, what was derived
    from them, its settings and its credentials (refused at once). Counts what went."""
    try:
        return service.delete_tenant(tenant_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except StorageError as error:
        raise ApiError(503, "storage_failed", str(error)) from None


@router.delete(
    "/tenants/{tenant_id}/customers/{customer_id}", summary="Erase a customer of any tenant"
)
def delete_customer(
    tenant_id: str, customer_id: str, service: ServiceDep, _: AdminDep
) -> dict[str, Any]:
    """`DELETE /v1/customers/{customer_id}` for any tenant (`ccstats customers erase`)."""
    try:
        return service.erase_customer(tenant_id, customer_id)
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except StorageError as error:
        raise ApiError(503, "storage_failed", f"nothing was erased: {error}") from None


@router.get("/tenants/{tenant_id}/credentials", summary="List a tenant's credentials")
def list_credentials(tenant_id: str, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """Each credential's id, kind, key and creation time, oldest first; never a secret."""
    try:
        return {"credentials": service.credentials(tenant_id)}
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None


@router.delete("/tenants/{tenant_id}/credentials/{credential}", summary="Revoke a credential")
def revoke_credential(
    tenant_id: str, credential: str, service: ServiceDep, _: AdminDep
) -> dict[str, Any]:
    """Delete a credential, named by its id or by its key when only one credential has it:
    refused from the next request on, with the tokens issued for it (Huawei, Twin24)."""
    try:
        return {"revoked": service.revoke_credential(tenant_id, credential)}
    except NotFound as error:
        raise ApiError(404, "not_found", str(error)) from None
    except Ambiguous as error:
        raise ApiError(400, "ambiguous", str(error)) from None


class CredentialBody(BaseModel):
    """Which credential to create, and for a vendor credential what it may see."""

    kind: str
    key: str | None = None
    scope: CredentialScope | None = None


@router.post("/tenants/{tenant_id}/credentials", summary="Create a credential")
def post_credential(
    tenant_id: str, body: CredentialBody, service: ServiceDep, _: AdminDep
) -> dict[str, Any]:
    """A new credential of a kind (api, huawei, 7moor, twin24, aliyun); the secret is shown once.
    A vendor credential's answers are restricted to its `scope` (default: its vendor's source
    and records with no source); the answer shows the scope."""
    try:
        given = body.scope.model_dump(exclude_none=True) if body.scope is not None else None
        scope = scope_for(body.kind, given) if given is not None else None
        return create_credential(service.registry, tenant_id, body.kind, body.key, scope=scope)
    except CredentialError as error:
        raise ApiError(400, "invalid_credential", str(error)) from None


_DRY_RUN = Query(
    False, description="Validate only: the answer lists what would be rejected; nothing is stored."
)


@router.post("/admin/conversations", summary="Ingest conversations of any tenant")
async def admin_conversations(
    request: Request, service: ServiceDep, _: AdminDep, dry_run: bool = _DRY_RUN
) -> dict[str, Any]:
    """Like POST /v1/conversations, but records name their own (existing) tenant."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await in_ingest_thread(
        request, ingest_body, service, body, content_type, "conversations", None, request, dry_run
    )


@router.post("/admin/agent-intervals", summary="Ingest agent intervals of any tenant")
async def admin_intervals(
    request: Request, service: ServiceDep, _: AdminDep, dry_run: bool = _DRY_RUN
) -> dict[str, Any]:
    """Like POST /v1/agent-intervals, for any tenant."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await in_ingest_thread(
        request, ingest_body, service, body, content_type, "intervals", None, request, dry_run
    )


class DemoBody(BaseModel):
    """How much demo data to create (`ccstats demo`)."""

    conversations: int = Field(20_000, ge=0, le=2_000_000, description="How many conversations.")
    seed: int = Field(42, description="Random seed: the same seed gives the same data.")


@router.post("/admin/demo", summary="Create the demo tenants and data")
def post_demo(body: DemoBody, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """The demo tenants, their fixed credentials and realistic data (docs/demo.md); the summary.
    What `ccstats demo` does while the server holds the database."""
    from ccstats.demo import DemoError, create_demo

    try:
        summary = create_demo(service.store, body.conversations, seed=body.seed)
    except DemoError as error:
        raise ApiError(400, "invalid_request", str(error)) from None
    for tenant in summary["tenants"]:
        service.changed_everything(tenant["id"])
    return summary


class BackupBody(BaseModel):
    """Where the server writes the backup."""

    destination: str = Field(
        min_length=2,
        max_length=4096,
        description="An absolute path on the server's machine that does not exist yet; the "
        "server's process must be able to write there.",
    )


@router.post("/admin/backup", summary="Back the store up while serving")
def post_backup(body: BackupBody, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """A consistent copy of the whole store (every tenant, the registry, the pre-aggregates)
    written to `destination` while the server goes on serving and ingesting: every record
    acknowledged before the request is in it. `ccstats restore` puts it back."""
    target = Path(body.destination)
    if not target.is_absolute():
        raise ApiError(400, "invalid_request", "destination must be an absolute path")
    if target.exists():
        raise ApiError(400, "invalid_request", f"{body.destination} exists: choose another name")
    if not target.parent.is_dir():
        raise ApiError(400, "invalid_request", f"{target.parent} is not a directory")
    try:
        return service.backup(body.destination)
    except StorageError as error:
        raise ApiError(503, "storage_failed", str(error)) from None


@router.get("/admin/store", summary="The store's engine and schema versions")
def get_store(service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    """What `ccstats --version` shows of a store a server holds."""
    return {"version": __version__, **service.store_info()}
