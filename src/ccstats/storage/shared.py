"""A change log shared by the processes of one store, for engines several processes open.

Each process keeps answers until a change touches their range (`answers.ChangeLog`). With one
process per store (DuckDB) its own writes are every change. With several (ClickHouse), each
process also publishes what it changed to the store, and before it serves a kept answer pulls
what the others published: an answer kept by one process is dropped once another process's
write of its range is pulled.
"""

from __future__ import annotations

from typing import Protocol

from ccstats.storage.requests import Changes

__all__ = ["SharedChanges"]


class SharedChanges(Protocol):
    """The store's side of a shared change log (`Store.shared_changes`)."""

    def publish(self, changes: Changes) -> None:
        """Record what this process changed, for the others."""

    def pull(self) -> list[Changes]:
        """What the other processes published since the last pull (or since this log was
        opened), oldest first."""
