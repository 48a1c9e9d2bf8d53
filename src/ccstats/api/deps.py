"""Request dependencies: the store, the caller's tenant (API token), the admin token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from ccstats.api.errors import ApiError
from ccstats.auth import tenant_for_api_token
from ccstats.records import TenantSettings
from ccstats.storage import Store

__all__ = ["get_store", "StoreDep", "TenantDep", "AdminDep", "bearer", "token_refusal"]


def get_store(request: Request) -> Store:
    """The app's store."""
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_tenant(request: Request, store: StoreDep) -> TenantSettings:
    """The tenant of the request's API token (401 without a valid one)."""
    token = bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    tenant_id = tenant_for_api_token(store, token)
    tenant = store.get_tenant(tenant_id) if tenant_id else None
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
    if token is not None and tenant_for_api_token(request.app.state.store, token):
        raise ApiError(403, "forbidden", "an API token reaches only its own tenant's data")
    raise ApiError(401, "unauthorized", "this needs the admin token (CCSTATS_ADMIN_TOKEN)")


AdminDep = Annotated[None, Depends(require_admin)]


def token_refusal(request: Request) -> ApiError | None:
    """Why a request carries no valid token (tenant API token or admin token), or None.

    The app checks it before reading any body of a `/v1` request (`api.middleware.LimitBodies`):
    an unauthenticated caller never gets a body read. Routes then check which token they need.
    """
    token = bearer(request)
    if token is None:
        return ApiError(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    expected = request.app.state.settings.admin_token
    if expected and hmac.compare_digest(token, expected):
        return None
    if tenant_for_api_token(request.app.state.store, token) is None:
        return ApiError(401, "unauthorized", "the API token is not valid")
    return None
