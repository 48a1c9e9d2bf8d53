"""What every vendor dialect module provides (README, Concepts: a dialect parses, authenticates, maps to
the query model and formats; it never computes a count)."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response

__all__ = ["Dialect"]


class Dialect(Protocol):
    """A vendor dialect module: its routes and its error shape."""

    NAME: str
    router: APIRouter

    def matches(self, request: Request) -> bool:
        """Whether a request is on this dialect's paths."""
        ...

    def render_error(self, request: Request, status: int, message: str) -> Response:
        """A framework-level error in this vendor's error shape."""
        ...
