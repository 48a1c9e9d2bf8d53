"""The dashboard and the API docs page: static files served by ccstats itself, under a strict
Content-Security-Policy.

Every script and style sheet is a file under `static/` (no inline code, so the policy allows
scripts and styles from this origin only); the charting library (Apache ECharts) and Swagger UI
are vendored under `static/vendor/` from their npm releases (versions and licences in
`static/vendor/README.md`), so both pages work without internet access. The page scripts render
tenant data as text (`textContent`), never as HTML.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["router", "dashboard_response", "docs_response", "static_file", "SECURITY_HEADERS"]

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-cache",
}
"""Headers of the dashboard and docs pages (and, but for the policy, of their static files)."""

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
_STATIC = "static"

router = APIRouter(include_in_schema=False)


def _root() -> Traversable:
    return files("ccstats.web").joinpath(_STATIC)


@cache
def _read(path: str) -> bytes | None:
    """A static file's bytes, None if there is none (package files do not change while serving)."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    node = _root()
    for part in parts:
        node = node.joinpath(part)
    return node.read_bytes() if node.is_file() else None


def _page(name: str) -> Response:
    body = _read(name)
    assert body is not None, f"{name} is missing from the package"
    return HTMLResponse(body, headers=SECURITY_HEADERS)


def dashboard_response(request: Request) -> Response:
    """The dashboard page (`GET /` without an Alibaba action)."""
    return _page("dashboard.html")


@router.get("/docs")
def docs_response() -> Response:
    """The API docs: Swagger UI over `/openapi.json`, from vendored files."""
    return _page("docs.html")


@router.get("/static/{path:path}")
def static_file(path: str) -> Response:
    """A file of the dashboard (scripts, styles, vendored libraries, icons); 404 otherwise."""
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    body = _read(path) if suffix in _TYPES and suffix != ".html" else None
    if body is None:
        return Response(
            b'{"error": {"code": "not_found", "message": "no such file", "details": null}}',
            status_code=404,
            media_type="application/json",
        )
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "content-security-policy"}
    return Response(body, media_type=_TYPES[suffix], headers=headers)
