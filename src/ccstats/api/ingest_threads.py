"""Ingest requests in worker threads of their own, so that reads always find one.

An ingest request waits in a worker thread until the transaction holding its records has
committed (`ingest.commits`). Were it to run on the event loop, nothing else would be served
meanwhile; in the worker threads reads run in (40 by default), enough concurrent ingest
requests would take them all. So ingest runs in at most `INGEST_THREADS` threads of a limiter
of its own: the rest wait their turn on the event loop, and reads keep their threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import Request

__all__ = ["INGEST_THREADS", "in_ingest_thread"]

INGEST_THREADS = 16
"""Ingest requests handled at once (a group commit takes every one of them waiting)."""

T = TypeVar("T")


async def in_ingest_thread(request: Request, func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in an ingest worker thread (the app's limiter, made on first use)."""
    state = request.app.state
    limiter = getattr(state, "ingest_limiter", None)
    if limiter is None:
        limiter = state.ingest_limiter = anyio.CapacityLimiter(INGEST_THREADS)
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=limiter)
