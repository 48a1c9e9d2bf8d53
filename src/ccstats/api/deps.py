"""Request dependencies: the service, the caller's tenant (API token), the admin token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from ccstats.api.errors import ApiError
from ccstats.auth import tenant_for_api_token
from ccstats.records import TenantSettings
from ccstats.service import Service

__all__ = ["get_service", "ServiceDep", "TenantDep", "AdminDep", "bearer"]


def get_service(request: Request) -> Service:
    """The app's service (`ccstats.service`)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_tenant(request: Request, service: ServiceDep) -> TenantSettings:
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


def require_admin(request: Request) -> None:
    """401 unless the request carries the admin token; 403 for a tenant's own API token."""
    expected = request.app.state.settings.admin_token
    token = bearer(request)
    if expected and token is not None and hmac.compare_digest(token, expected):
        return
    if token is not None and tenant_for_api_token(request.app.state.service.registry, token):
        raise ApiError(403, "forbidden", "an API token reaches only its own tenant's data")
    raise ApiError(401, "unauthorized", "this needs the admin token (CCSTATS_ADMIN_TOKEN)")


AdminDep = Annotated[None, Depends(require_admin)]
