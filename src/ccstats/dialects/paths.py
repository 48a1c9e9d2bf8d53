"""Vendor paths answer the same with a trailing slash as without it.

The router would answer `POST /openapi/im-report/session/time/` with a bare 307 redirect to the
path without the slash: an empty body, not the vendor's shape, and a redirect many HTTP clients
do not follow for a POST. The vendors' own gateways route both spellings to the interface, and a
client written for them may well keep the slash of a configured base URL. So on the Huawei, 7moor
and Twin24 paths (Alibaba's RPC path is `/` itself) the trailing slashes are dropped before
routing: the request is then answered exactly as without them, errors included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["TrailingSlashes", "VENDOR_PREFIXES", "without_trailing_slashes"]

VENDOR_PREFIXES = ("/oifde/", "/openapi/im-report/", "/api/v1/")
"""Where the Huawei, 7moor and Twin24 dialects serve (each module's `matches`)."""


def without_trailing_slashes(path: str, root_path: str = "") -> str:
    """A vendor path (below the app's root path) without its trailing slashes; any other path as
    it is.

    Example:
        >>> without_trailing_slashes("/oifde/rest/api/gettoken//")
        '/oifde/rest/api/gettoken'
        >>> without_trailing_slashes("/ccstats/api/v1/auth/login/", "/ccstats")
        '/ccstats/api/v1/auth/login'
        >>> without_trailing_slashes("/v1/metrics/")
        '/v1/metrics/'
    """
    route = path
    if root_path and path.startswith(root_path + "/"):
        route = path[len(root_path) :]
    if len(route) > 1 and route.endswith("/") and route.startswith(VENDOR_PREFIXES):
        return path.rstrip("/")
    return path


class TrailingSlashes:
    """ASGI middleware: routes a vendor path with trailing slashes as the path without them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, its vendor path without trailing slashes."""
        if scope["type"] == "http":
            path = without_trailing_slashes(scope["path"], scope.get("root_path", ""))
            if path != scope["path"]:
                raw = scope.get("raw_path") or scope["path"].encode()
                scope = {**scope, "path": path, "raw_path": raw.rstrip(b"/")}
        await self.app(scope, receive, send)
