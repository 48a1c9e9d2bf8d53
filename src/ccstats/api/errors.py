"""Native `/v1` errors: `{"error": {"code", "message", "details"}}` with a 4xx status."""

from __future__ import annotations

from typing import Any

from ccstats.responses import JSON

__all__ = ["ApiError", "error_response"]


class ApiError(Exception):
    """An error answered in ccstats's own shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.retry_after = retry_after


def error_response(error: ApiError) -> JSON:
    """The response for an ApiError (with `Retry-After` when it says when to try again)."""
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return JSON(body, status_code=error.status, headers=headers)
