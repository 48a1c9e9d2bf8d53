"""What `create_app` adds for operators: metrics and the request log (`ccstats.observability`),
CORS when origins are configured, and the probes (`health`)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from ccstats.api import health
from ccstats.config import Settings
from ccstats.observability import REQUEST_ID_HEADER, RequestObserver, Telemetry

__all__ = ["install"]

CORS_HEADERS = ["*"]
"""Request headers a cross-origin script may send: every API's own (Authorization, Content-Type,
7moor's `m7-*`, Alibaba's `x-acs-*`)."""
EXPOSED_HEADERS = [REQUEST_ID_HEADER, "X-Data-As-Of", "Content-Disposition"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add telemetry, the request observer, CORS (off without `cors_origins`) and the probes to
    an app whose `state.service` is set."""
    app.state.telemetry = Telemetry(app.state.service, settings.db)
    if settings.cors_origins:
        # Inside the observer, so that a refused preflight is counted and logged too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=CORS_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestObserver, telemetry=app.state.telemetry)
    app.include_router(health.router)
