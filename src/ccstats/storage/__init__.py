"""Storage: the `Store` and `Registry` interfaces and their engines. All SQL lives in this package.

- `base.Store`: the facts (conversations, messages, agent intervals), one subclass per engine;
- `registry.Registry`: tenants, credentials and server state;
- `requests`: the plain values crossing the boundary;
- `duckdb/`: the embedded engine.
"""

from __future__ import annotations

from ccstats.metrics.plan import AggregateRequest
from ccstats.storage.base import KeyTaken, ResultTooLarge, StorageError, Store
from ccstats.storage.duckdb import DuckDBStore, StoreLockedError, restore_file
from ccstats.storage.registry import Credential, Registry
from ccstats.storage.requests import (
    Changes,
    Erased,
    IntervalTotal,
    SearchPage,
    SearchRequest,
    Table,
)

__all__ = [
    "AggregateRequest",
    "Changes",
    "Credential",
    "DuckDBStore",
    "Erased",
    "IntervalTotal",
    "KeyTaken",
    "Registry",
    "ResultTooLarge",
    "SearchPage",
    "SearchRequest",
    "StorageError",
    "Store",
    "StoreLockedError",
    "Table",
    "open_store",
    "restore_store",
]


def _refuse_clickhouse(url: str) -> None:
    if url.startswith(("clickhouse://", "clickhouses://", "chdb://")):
        raise StorageError("the ClickHouse engine is not implemented yet; use a DuckDB file path")


def restore_store(backup: str, url: str) -> None:
    """Replace the store at `url` (no process may hold it) with a backup made by
    `Store.backup`. Raises StorageError (StoreLockedError: it is held) having changed nothing."""
    _refuse_clickhouse(url)
    restore_file(backup, url)


def open_store(url: str = ":memory:", read_only: bool = False) -> Store:
    """Open a store: a file path or ":memory:" is DuckDB.

    Example:
        >>> store = open_store(":memory:")
        >>> store.registry.list_tenants()
        []
    """
    _refuse_clickhouse(url)
    return DuckDBStore(url, read_only=read_only)
