"""Request dependencies: the service, the caller's tenant (API token), the admin token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ccstats.api.errors import ApiError
from ccstats.auth import tenant_for_api_token
from ccstats.records import TenantSettings
from ccstats.service import Service

__all__ = [
    "get_service",
    "ServiceDep",
    "TenantDep",
    "AdminDep",
    "bearer",
    "API_TOKEN",
    "ADMIN_TOKEN",
]


def get_service(request: Request) -> Service:
    """The app's service (`ccstats.service`)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]

# The schemes document the tokens in OpenAPI (the Authorize button of /docs); the checks below
# read the header themselves, so that every failure is an error in our own shape.
API_TOKEN = HTTPBearer(
    scheme_name="apiToken",
    description="A tenant's API token (`ccstats credentials add TENANT api`): reads and writes "
    "that tenant's data only.",
    auto_error=False,
)
ADMIN_TOKEN = HTTPBearer(
    scheme_name="adminToken",
    description="The admin token: `CCSTATS_ADMIN_TOKEN`, or the file `<db>.admin-token` the "
    "server writes beside the database.",
    auto_error=False,
)
_ApiScheme = Annotated[HTTPAuthorizationCredentials | None, Security(API_TOKEN)]
_AdminScheme = Annotated[HTTPAuthorizationCredentials | None, Security(ADMIN_TOKEN)]


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_tenant(request: Request, service: ServiceDep, _: _ApiScheme = None) -> TenantSettings:
    """The tenant of the request's API token (401 without a valid one)."""
    token = bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    tenant_id = tenant_for_api_token(service.registry, token)
    tenant = service.tenant(tenant_id) if tenant_id else None
    if tenant is None:
        raise ApiError(401, "unauthorized", "the API token is not valid")
    return tenant


TenantDep = Annotated[TenantSettings, Depends(current_tenant)]


def require_admin(request: Request, _: _AdminScheme = None) -> None:
    """401 unless the request carries the admin token; 403 for a tenant's own API token."""
    expected = request.app.state.settings.admin_token
    token = bearer(request)
    if expected and token is not None and hmac.compare_digest(token, expected):
        return
    if token is not None and tenant_for_api_token(request.app.state.service.registry, token):
        raise ApiError(403, "forbidden", "an API token reaches only its own tenant's data")
    raise ApiError(401, "unauthorized", "this needs the admin token (CCSTATS_ADMIN_TOKEN)")


AdminDep = Annotated[None, Depends(require_admin)]
