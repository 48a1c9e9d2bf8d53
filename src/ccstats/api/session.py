"""`/v1/session`: the dashboard signs in with an API token, asks who it is, signs out.

`GET /v1/session` always answers 200, signed in or not, so a page that opens before anyone signed
in shows its sign-in form (and, on an install without tenants, how to make one) instead of an
error. The cookie itself is described in `session_cookie`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ccstats.api.deps import ServiceDep, bearer
from ccstats.api.errors import ApiError
from ccstats.api.native import data_as_of_iso
from ccstats.api.session_cookie import (
    CLIENT_HEADER,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from ccstats.auth import tenant_for_api_token
from ccstats.records import TenantSettings
from ccstats.responses import JSON
from ccstats.service import Service

__all__ = ["router", "SignIn", "describe_session"]

router = APIRouter(prefix="/v1", tags=["native"])


class SignIn(BaseModel):
    """A sign-in: the API token (`ccstats credentials add TENANT api`) and whether to keep it."""

    token: str = Field(min_length=1, max_length=512)
    remember: bool = False


def _from_dashboard(request: Request) -> None:
    # Another site's form could otherwise sign a browser in to the attacker's tenant, or out.
    if not request.headers.get(CLIENT_HEADER):
        raise ApiError(
            400, "missing_header", f"sign-in requests carry the {CLIENT_HEADER} header (any value)"
        )


def _tenant_of(service: Service, token: str | None) -> TenantSettings | None:
    tenant_id = tenant_for_api_token(service.registry, token) if token else None
    return service.tenant(tenant_id) if tenant_id else None


def describe_session(service: Service, tenant: TenantSettings | None) -> dict[str, Any]:
    """What the dashboard needs to know: the tenant's own settings (names and labels it shows), or,
    signed out, whether this install has any tenant yet."""
    if tenant is None:
        return {"signed_in": False, "fresh_install": not service.registry.list_tenants()}
    return {
        "signed_in": True,
        "tenant": tenant.model_dump(),
        "data_as_of": data_as_of_iso(service, tenant.id),
    }


@router.get("/session", summary="Who is signed in (200 even when nobody is)")
def get_session(request: Request, service: ServiceDep) -> Response:
    """The tenant of the request's token or sign-in cookie; a cookie whose token no longer works is
    cleared."""
    token = bearer(request) or session_token(request)
    tenant = _tenant_of(service, token)
    response = JSON(describe_session(service, tenant))
    if tenant is None and session_token(request):
        clear_session_cookie(response, request)
    return response


@router.post("/session", summary="Sign the dashboard in with an API token")
def post_session(body: SignIn, request: Request, service: ServiceDep) -> Response:
    """Check the token; if it is valid, keep it in an HttpOnly, SameSite=Strict cookie (for 30 days
    with `remember`, else until the browser closes)."""
    _from_dashboard(request)
    token = body.token.strip()
    tenant = _tenant_of(service, token)
    if tenant is None:
        raise ApiError(401, "unauthorized", "the API token is not valid")
    response = JSON(describe_session(service, tenant))
    set_session_cookie(response, request, token, body.remember)
    return response


@router.delete("/session", summary="Sign the dashboard out")
def delete_session(request: Request, service: ServiceDep) -> Response:
    """Forget the sign-in cookie (the token itself stays valid: revoke it on the server)."""
    _from_dashboard(request)
    response = JSON(describe_session(service, None))
    clear_session_cookie(response, request)
    return response
