"""The ASGI app: the native API, the admin API, every vendor dialect, the dashboard."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from ccstats import __version__, web
from ccstats.api import (
    admin,
    agents,
    apidocs,
    conversations,
    exports,
    native,
    openapi,
    operations,
    session,
    summary,
)
from ccstats.api.deps import token_refusal
from ccstats.api.errors import ApiError, error_response
from ccstats.api.middleware import CatchCrashes, LimitBodies
from ccstats.config import Settings, forget_server_url, note_server_url
from ccstats.dialects import DIALECTS, aliyun
from ccstats.dialects.paths import TrailingSlashes
from ccstats.observability import Telemetry, dialect_of
from ccstats.service import Service
from ccstats.storage import Store, open_store
from ccstats.web import dashboard_response

__all__ = ["create_app"]

log = logging.getLogger("ccstats")


def _native_error(request: Request, status: int, message: str) -> Response:
    code = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        429: "too_many_requests",
    }
    return error_response(
        ApiError(
            status,
            code.get(status, "invalid_request" if status < 500 else "internal_error"),
            message,
        )
    )


def _render(request: Request, status: int, message: str) -> Response:
    # A framework-level error (404, 405, a bad body, a crash) on a vendor path still reaches the
    # vendor's client in its vendor's error shape.
    dialect = DIALECTS.get(dialect_of(request.scope))  # (paths below the root path)
    if dialect is not None:
        return dialect.render_error(request, status, message)
    return _native_error(request, status, message)


INGEST_PATHS = ("/v1/conversations", "/v1/agent-intervals", "/v1/admin/", "/v1/tenants/")
"""Paths whose bodies may be as large as an ingest batch (`Settings.max_body_bytes`)."""


def _body_limit(settings: Settings) -> Callable[[Scope], int]:
    def limit_of(scope: Scope) -> int:
        path: str = scope.get("path", "")
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in INGEST_PATHS):
            return settings.max_body_bytes
        return min(settings.max_query_body_bytes, settings.max_body_bytes)

    return limit_of


_PUBLIC = ("/v1/metrics", "/v1/session")
"""`/v1` paths without a token: the catalogue, and the dashboard's sign-in (token in the body)."""


def _precheck(request: Request) -> Response | None:
    # The native API's credentials are a header: check them before any body is read. Vendor
    # dialects check theirs in their routes, before reading a body where the protocol allows.
    if not request.url.path.startswith("/v1/") or request.url.path in _PUBLIC:
        return None
    refusal = token_refusal(request)
    return error_response(refusal) if refusal is not None else None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> Response:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        parts = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}"
            for e in error.errors()
        ]
        return _render(request, 400, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        response = _render(request, error.status_code, str(error.detail))
        if error.status_code == 405:
            response.headers["Allow"] = openapi.allowed_methods(request.app, request.url.path)
        return response


MAINTENANCE_INTERVAL_S = 30.0
SETTLE_INTERVAL_S = 2.0
"""How often the background task finishes what ingest deferred (`Service.flush`); every
`MAINTENANCE_INTERVAL_S` it also runs the store's upkeep (`Service.maintain`)."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the store's background upkeep (deferred work, compaction) while the app serves; note
    the server's URL beside the database while it serves (`state.note_url`, set by `serve`)."""
    stop = threading.Event()
    service: Service = app.state.service
    telemetry: Telemetry = app.state.telemetry

    def upkeep() -> None:
        rounds = max(1, round(MAINTENANCE_INTERVAL_S / SETTLE_INTERVAL_S))
        done = 0
        while not stop.wait(SETTLE_INTERVAL_S):
            done += 1
            try:
                if done % rounds == 0:
                    with telemetry.upkeep("maintain"):
                        service.maintain()
                else:
                    with telemetry.upkeep("settle"):
                        service.flush()
            except Exception:  # upkeep must never take the server down; the next round retries
                log.exception("store maintenance failed")

    worker = threading.Thread(target=upkeep, name="ccstats-maintenance", daemon=True)
    worker.start()
    settings: Settings = app.state.settings
    noted = None
    if getattr(app.state, "note_url", False):  # `ccstats serve`: the CLI beside it finds it
        noted = note_server_url(settings.db, settings.host, settings.port, settings.root_path)
    try:
        yield
    finally:
        stop.set()
        service.close()  # the journal's batches stored before the process ends
        # Here, not after `uvicorn.run`: uvicorn ends the process by the signal it caught.
        forget_server_url(settings.db, noted)


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The app over a store (opened from `settings.db` when not given).

    Example:
        >>> app = create_app(Settings(db=":memory:"))
        >>> app.title
        'ccstats'
    """
    settings = settings or Settings(db=":memory:")
    app = FastAPI(
        title="ccstats",
        version=__version__,
        description="Contact-center analytics: one store, the native /v1 API and vendor-compatible reports.",
        lifespan=_lifespan,
        docs_url=None,  # served by `ccstats.web` from vendored files, under its CSP
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store or open_store(settings.db)
    journal = Path(settings.journal) if settings.journal else None
    app.state.service = Service(app.state.store, journal=journal)
    operations.install(app, settings)
    _install_error_handlers(app)
    app.add_middleware(TrailingSlashes)  # a vendor path with a trailing slash: never a bare 307
    # The last added runs first: crashes are caught around everything, bodies bounded inside.
    app.add_middleware(
        LimitBodies, render=_render, limit_of=_body_limit(settings), precheck=_precheck
    )
    app.add_middleware(CatchCrashes, render=_render)
    app.include_router(native.router)
    app.include_router(conversations.router)
    app.include_router(admin.router)
    for router in (session.router, summary.router, agents.router, exports.router, web.router):
        app.include_router(router)
    for dialect in DIALECTS.values():
        app.include_router(dialect.router)
    app.add_api_route(
        "/",
        _root,
        methods=["GET"],
        summary="The dashboard, or an Alibaba AICCS RPC call (GET with an action)",
        operation_id="rpc_get",
    )
    openapi.install(app)  # every path's errors in its dialect's shape
    apidocs.install(app)  # then the native API's models over it (`schemas.document`)
    return app


async def _root(request: Request) -> Response:
    """`GET /`: an Alibaba RPC call when it names an action (`x-acs-action` or `Action`), else
    the dashboard (the Alibaba endpoint is the server's root: seed 004)."""
    if aliyun.matches(request):
        return await aliyun.rpc(request)
    return dashboard_response(request)
