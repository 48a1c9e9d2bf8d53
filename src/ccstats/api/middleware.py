"""ASGI middleware around the whole app: errors answered in the caller's dialect, connection kept.

Starlette answers an unhandled exception with a 500 and then re-raises it, so the server closes
the keep-alive connection (issue 15). `CatchCrashes` answers it itself and keeps the connection,
unless part of the response was already sent (then closing it is the only honest signal left).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Render", "CatchCrashes"]

log = logging.getLogger("ccstats")

Render = Callable[[Request, int, str], Response]
"""Renders an error status and message in the dialect of the request's path."""


class CatchCrashes:
    """Answer an unhandled exception with a 500 in the path's dialect; log its traceback."""

    def __init__(self, app: ASGIApp, render: Render) -> None:
        """Wrap `app`; `render` gives the error response for a request."""
        self.app, self.render = app, render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; a crash before the response started becomes a 500 in the dialect's shape."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error on %s", scope.get("path"))
            if started:
                raise
            response = self.render(
                Request(scope), 500, "internal error; the server log has the details"
            )
            await response(scope, receive, send)
