"""Storage: the `Store` interface and its engines. All SQL lives in this package."""

from __future__ import annotations

from ccstats.storage.base import (
    AggregateRequest,
    Credential,
    IntervalTotal,
    KeyTaken,
    ResultTooLarge,
    SearchPage,
    SearchRequest,
    StorageError,
    Store,
    Table,
)
from ccstats.storage.duckdb_store import DuckDBStore, StoreLockedError

__all__ = [
    "AggregateRequest",
    "Credential",
    "DuckDBStore",
    "IntervalTotal",
    "KeyTaken",
    "ResultTooLarge",
    "SearchPage",
    "SearchRequest",
    "StorageError",
    "Store",
    "StoreLockedError",
    "Table",
    "open_store",
]


def open_store(url: str = ":memory:", read_only: bool = False) -> Store:
    """Open a store: a file path or ":memory:" is DuckDB.

    Example:
        >>> store = open_store(":memory:")
        >>> store.list_tenants()
        []
    """
    if url.startswith("clickhouse://"):
        raise StorageError("the ClickHouse engine is not implemented yet; use a DuckDB file path")
    return DuckDBStore(url, read_only=read_only)
