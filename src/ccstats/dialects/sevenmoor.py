"""The 7moor dialect (work in progress: routes are added by its issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ccstats.api.responses import JSON

NAME = "7moor"
router = APIRouter(tags=["7moor"])


def matches(request: Request) -> bool:
    """Requests under /openapi/im-report/."""
    return request.url.path.startswith("/openapi/im-report/")


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error in this vendor's shape."""
    return JSON({"error": message}, status_code=status)
