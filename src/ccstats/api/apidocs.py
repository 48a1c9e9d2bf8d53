"""`/redoc` (ReDoc) from assets shipped in the package (`vendor/VENDORED.md`), and the amended
OpenAPI schema: the API docs work without internet access. `/docs` (Swagger UI) is `ccstats.web`'s,
under the dashboard's Content-Security-Policy."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from ccstats.api.schemas import document

__all__ = ["ASSETS_PATH", "install"]

ASSETS_PATH = "/docs-assets"
_ASSETS = Path(str(files("ccstats.api").joinpath("vendor")))


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def install(app: FastAPI) -> None:
    """Serve ReDoc and its assets, and the amended OpenAPI schema (`schemas.document`). The app
    must be made with `docs_url=None, redoc_url=None`."""
    document(app)
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}/static/favicon.svg",
            with_google_fonts=False,
        )
