"""Storage: the `Store` and `Registry` interfaces and their engines. All SQL lives in this package.

- `base.Store`: the facts (conversations, messages, agent intervals), one subclass per engine;
- `registry.Registry`: tenants, credentials and server state;
- `requests`: the plain values crossing the boundary;
- `duckdb/`: the embedded engine;
- `clickhouse/`: ClickHouse, on a server or in process (chDB); imported only when a URL asks
  for it (clickhouse-connect is an optional dependency).
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
    "describe_url",
    "open_store",
    "restore_store",
]


CLICKHOUSE_SCHEMES = ("chdb://", "clickhouse://", "clickhouses://")
"""URL prefixes of the ClickHouse engine (docs/clickhouse.md)."""


def restore_store(backup: str, url: str) -> None:
    """Replace the store at `url` (no process may hold it) with a backup made by
    `Store.backup`. Raises StorageError (StoreLockedError: it is held) having changed nothing.
    A ClickHouse backup is a database of its own: it is served where it is, not restored."""
    if url.startswith(CLICKHOUSE_SCHEMES) or backup.startswith(CLICKHOUSE_SCHEMES):
        raise StorageError(
            "restoring replaces a DuckDB file; a ClickHouse backup is a database of its own:"
            " serve it with --db naming that database (docs/clickhouse.md, Backups)"
        )
    restore_file(backup, url)


def open_store(url: str = ":memory:", read_only: bool = False) -> Store:
    """Open a store: a file path or ":memory:" is DuckDB; `chdb:///absolute/dir` is ClickHouse
    in this process; `clickhouse://user:password@host:8123/database` (`clickhouses://` for
    HTTPS) is a ClickHouse server.

    Example:
        >>> store = open_store(":memory:")
        >>> store.registry.list_tenants()
        []
    """
    if url.startswith(CLICKHOUSE_SCHEMES):
        if read_only:
            raise StorageError("a ClickHouse store opens read-write only")
        from ccstats.storage.clickhouse import ClickHouseStore

        return ClickHouseStore(url)
    return DuckDBStore(url, read_only=read_only)


def describe_url(url: str) -> str:
    """A store URL fit for messages and logs: without a password.

    Example:
        >>> describe_url("clickhouse://app:secret@ch1:8123/stats")
        'clickhouse://app:***@ch1:8123/stats'
    """
    if url.startswith(CLICKHOUSE_SCHEMES):
        from ccstats.storage.clickhouse.client import redact

        return redact(url)
    return url
