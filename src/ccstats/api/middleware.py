"""ASGI middleware around the whole app: errors answered in the caller's dialect, connection kept,
request bodies bounded.

Starlette answers an unhandled exception with a 500 and then re-raises it, so the server closes
the keep-alive connection (issue 15). `CatchCrashes` answers it itself and keeps the connection,
unless part of the response was already sent (then closing it is the only honest signal left).

`LimitBodies` bounds every request body while it streams in: a declared `Content-Length` over the
path's limit is refused before a byte is read, and a body that grows past it (chunked) fails the
read that crosses the limit; both are a 413 in the path's dialect. Header-borne credentials are
checked before any body is read (`precheck`). A 413 or an early refusal leaves body bytes unread on
the connection, so those answers carry `Connection: close` unless the body was small enough to drain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Render", "CatchCrashes", "LimitBodies", "BodyTooLarge", "Precheck", "DRAIN_BYTES"]

log = logging.getLogger("ccstats")

Render = Callable[[Request, int, str], Response]
"""Renders an error status and message in the dialect of the request's path."""
Precheck = Callable[[Request], Response | None]
"""The refusal of a request by its headers alone (credentials), or None to go on."""
DRAIN_BYTES = 64 * 1024
"""A refused request's body up to this size is read and dropped, so the connection stays usable."""


class BodyTooLarge(HTTPException):
    """A request body past its path's limit (raised by the read that crosses it)."""

    def __init__(self, limit: int) -> None:
        """The error for a body over `limit` bytes."""
        super().__init__(413, f"the request body is larger than {limit} bytes, this path's limit")


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


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _chunked(scope: Scope) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope.get("headers", ())
    )


def _closing(send: Send) -> Send:
    """`send` with `Connection: close` added to the response head."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


async def _drain(receive: Receive, up_to: int) -> bool:
    """Read and drop the body; False when it is longer than `up_to` (left unread)."""
    read = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        read += len(message.get("body", b""))
        if read > up_to:
            return False
        if not message.get("more_body", False):
            return True


class LimitBodies:
    """Refuse request bodies over their path's limit, never reading past it (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        render: Render,
        limit_of: Callable[[Scope], int],
        precheck: Precheck | None = None,
    ) -> None:
        """Wrap `app`; `limit_of` gives a request's body limit in bytes, `precheck` may refuse a
        request with a body by its headers before the body is read."""
        self.app, self.render, self.limit_of, self.precheck = app, render, limit_of, precheck

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length and the headers, then count the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            refusal = self.render(Request(scope), 413, BodyTooLarge(limit).detail)
            await refusal(scope, receive, _closing(send))
            return
        if (declared or _chunked(scope)) and self.precheck is not None:
            refused = self.precheck(Request(scope))
            if refused is not None:
                drained = await _drain(receive, min(limit, DRAIN_BYTES))
                await refused(scope, receive, send if drained else _closing(send))
                return
        body = _CountedBody(receive, limit)
        closing = _closing(send)

        async def sending(message: Message) -> None:
            # Past the limit, the rest of the body is still on the wire: the connection ends.
            await (closing if body.over else send)(message)

        await self.app(scope, body.receive, sending)


class _CountedBody:
    """A request's `receive` that raises `BodyTooLarge` on the read that takes it past `limit`."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive, self.limit, self.read, self.over = receive, limit, 0, False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                self.over = True
                raise BodyTooLarge(self.limit)
        return message
