"""The twin24 dialect (work in progress: routes are added by its issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ccstats.api.responses import JSON

NAME = "twin24"
router = APIRouter(tags=["twin24"])


def matches(request: Request) -> bool:
    """Requests under /api/v1/."""
    return request.url.path.startswith("/api/v1/")


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error in this vendor's shape."""
    return JSON({"error": message}, status_code=status)
