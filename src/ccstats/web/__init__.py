"""The dashboard: one static page that calls the native `/v1` API with the user's API token."""

from __future__ import annotations

from importlib.resources import files

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["dashboard_response"]


def dashboard_response(request: Request) -> Response:
    """The dashboard page (`GET /` without an Alibaba action)."""
    page = files("ccstats.web").joinpath("static/dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(page)
