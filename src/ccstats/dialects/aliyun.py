"""The Alibaba AICCS dialect (work in progress: routes are added by its issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ccstats.api.responses import JSON

NAME = "aliyun"
router = APIRouter(tags=["aliyun"])


def matches(request: Request) -> bool:
    """RPC requests: `/` carrying an `x-acs-action` header or an `Action` query parameter."""
    return request.url.path == "/" and (
        "x-acs-action" in request.headers or "Action" in request.query_params
    )


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error in this vendor's shape."""
    return JSON({"Code": "InternalError", "Message": message}, status_code=status)
