"""Request dependencies: the service, the caller's tenant (API token), the admin token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ccstats.api.errors import ApiError
from ccstats.api.session_cookie import session_token
from ccstats.auth import tenant_for_api_token
from ccstats.limits import MAX_TEXT
from ccstats.ratelimit import address_key, limiter_of
from ccstats.records import TenantSettings
from ccstats.service import Service

__all__ = [
    "get_service",
    "ServiceDep",
    "TenantDep",
    "AdminDep",
    "bearer",
    "token_refusal",
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


def _limit_keys(request: Request, token: str) -> tuple[str, str]:
    """Failed tokens count against the client address and the token's key id (`ccs_<key>_...`)."""
    parts = token.split("_", 2)
    key = parts[1][:MAX_TEXT] if len(parts) == 3 and parts[0] == "ccs" else "other"
    return address_key(request), f"native:{key}"


def _refuse_if_blocked(request: Request, keys: tuple[str, ...]) -> None:
    wait = limiter_of(request.app.state).retry_after(*keys)
    if wait is not None:
        raise ApiError(
            429,
            "too_many_requests",
            f"too many failed authentications; try again in {wait} s",
            {"retry_after": wait},
            retry_after=wait,
        )


def _known_token(request: Request, token: str) -> tuple[bool, str | None]:
    """(the admin token, the tenant of an API token), counting a token that is neither as a
    failure; 429 while the caller's address or the token's key has failed too often."""
    keys = _limit_keys(request, token)
    _refuse_if_blocked(request, keys)
    expected = request.app.state.settings.admin_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return True, None
    tenant_id = tenant_for_api_token(request.app.state.service.registry, token)
    if tenant_id is None:
        limiter_of(request.app.state).failed(*keys)
    return False, tenant_id


def current_tenant(request: Request, service: ServiceDep, _: _ApiScheme = None) -> TenantSettings:
    """The tenant of the request's API token, or of the dashboard's sign-in cookie (401 without a
    valid one, 429 after too many failed ones: `ccstats.ratelimit`)."""
    token = bearer(request) or session_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    tenant_id = _known_token(request, token)[1]
    tenant = service.tenant(tenant_id) if tenant_id else None
    if tenant is None:
        raise ApiError(401, "unauthorized", "the API token is not valid")
    return tenant


TenantDep = Annotated[TenantSettings, Depends(current_tenant)]


def require_admin(request: Request, _: _AdminScheme = None) -> None:
    """401 unless the request carries the admin token; 403 for a tenant's own API token."""
    token = bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", "this needs the admin token (CCSTATS_ADMIN_TOKEN)")
    admin, tenant_id = _known_token(request, token)
    if admin:
        return
    if tenant_id is not None:
        raise ApiError(403, "forbidden", "an API token reaches only its own tenant's data")
    raise ApiError(401, "unauthorized", "this needs the admin token (CCSTATS_ADMIN_TOKEN)")


AdminDep = Annotated[None, Depends(require_admin)]


def token_refusal(request: Request) -> ApiError | None:
    """Why a request carries no valid token (tenant API token or admin token), or None.

    The app checks it before reading any body of a `/v1` request (`api.middleware.LimitBodies`):
    an unauthenticated caller never gets a body read. Routes then check which token they need.
    """
    token = bearer(request) or session_token(request)
    if token is None:
        return ApiError(401, "unauthorized", "send an API token: Authorization: Bearer <token>")
    try:
        admin, tenant_id = _known_token(request, token)
    except ApiError as error:
        return error
    if not admin and tenant_id is None:
        return ApiError(401, "unauthorized", "the API token is not valid")
    return None
