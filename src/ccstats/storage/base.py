"""The store interface: the facts of every tenant (conversations, messages, agent intervals), one
subclass per engine (DuckDB now, ClickHouse next).

Everything outside `storage/` talks to a `Store` through these methods and the plain values of
`storage.requests`; no SQL leaves this package. Engines take Arrow in and give plain values or
Arrow out; times are aware UTC (but `SearchPage.values`). Tenants, credentials and server state
are the `Registry`'s (`storage.registry`); kept answers are the service's. Methods are
synchronous: FastAPI runs them in its thread pool. `tests/storage/contract/` is the contract
every engine passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar

import pyarrow as pa

from ccstats.metrics.plan import AggregateRequest
from ccstats.storage.registry import Registry
from ccstats.storage.requests import (
    Changes,
    Erased,
    IntervalTotal,
    SearchPage,
    SearchRequest,
    Table,
)
from ccstats.storage.shared import SharedChanges

__all__ = ["KeyTaken", "ResultTooLarge", "Store", "StorageError", "StoreLockedError"]


class StorageError(RuntimeError):
    """The engine failed; the operation stored nothing."""


class StoreLockedError(StorageError):
    """Another process (usually `ccstats serve`) holds the database (a DuckDB file, a chDB
    directory)."""


class ResultTooLarge(ValueError):
    """An aggregate with more rows than its request's `max_rows`."""


class KeyTaken(ValueError):
    """A credential key id already used by a credential of the same kind."""


class Store:
    """Base class of the engines. Every method documents the contract; engines implement it."""

    ENGINE: ClassVar[str] = ""
    """The engine's name, also the sqlglot dialect name of its SQL ("duckdb", "clickhouse")."""

    SCHEMA_VERSION: ClassVar[int] = 0
    """The version of the engine's schema this code writes and reads; a store opened for
    writing is brought to it on open (each change logged), a newer store is refused."""

    registry: Registry
    """The engine's registry of tenants, credentials and server state (`storage.registry`)."""

    shared_changes: SharedChanges | None = None
    """The change log shared by the processes on this store (`storage.shared`); None for an
    engine one process holds (then its own writes are every change)."""

    # -- ingest -----------------------------------------------------------------------------------
    def upsert_conversations(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        """Insert or replace conversations on (tenant_id, id) with their messages, atomically;
        the times it wrote or replaced, per tenant.

        The last of duplicate keys within a batch wins; a retried batch counts once. Raises
        StorageError having stored nothing.
        """
        raise NotImplementedError

    def upsert_intervals(self, intervals: pa.Table) -> Changes:
        """Insert or replace agent intervals on (tenant_id, agent_id, kind, status_id,
        started_at); the times the replaced and the new intervals cover, per tenant."""
        raise NotImplementedError

    def retime(self, tenant_id: str, timezone: str) -> Changes:
        """The tenant's time zone is now `timezone`: recut whatever the engine keeps by local
        day. Every kept answer of the tenant is then stale (its local buckets moved)."""
        raise NotImplementedError

    def erase(
        self,
        tenant_id: str,
        *,
        before: datetime | None = None,
        customer_id: str | None = None,
    ) -> Erased:
        """Delete a tenant's records, atomically, leaving every answer exact (pre-aggregates
        and the next contacts of the conversations that stay, as after an upsert; deferred
        work is `flush`'s as usual):

        - `customer_id`: the customer's conversations with their messages (a data-protection
          erasure); with `before` too, only those created before it;
        - `before` alone: conversations created before it with their messages, and agent
          intervals that ended before it: retention (reports of times after it unchanged);
        - neither: everything of the tenant (its registry entry is the registry's).
        """
        raise NotImplementedError

    # -- reads ------------------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> Table:
        """Columns: `bucket` (if bucketed), the group-by columns, then one per measure. Reads
        what is stored: deferred work (`flush`) is the caller's to finish first."""
        raise NotImplementedError

    def explain(self, request: AggregateRequest) -> str:
        """The SQL `aggregate` would run, without running it."""
        raise NotImplementedError

    def interval_totals(
        self, tenant_id: str, start: datetime, end: datetime, agent_ids: Sequence[str] | None = None
    ) -> list[IntervalTotal]:
        """Agent time per (agent, kind, status), each interval clipped to [start, end)."""
        raise NotImplementedError

    def search(self, request: SearchRequest, count: bool = False) -> SearchPage:
        """One page of conversations (without messages); the total when `count`."""
        raise NotImplementedError

    def iter_search(
        self, request: SearchRequest, batch_size: int = 5000
    ) -> Iterator[pa.RecordBatch]:
        """Every row of a search, in Arrow batches, for streaming exports with flat memory."""
        raise NotImplementedError

    def messages_for(
        self, tenant_id: str, conversation_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Transcripts of some conversations, each ordered by seq."""
        raise NotImplementedError

    def iter_intervals(self, tenant_id: str, batch_size: int = 5000) -> Iterator[pa.RecordBatch]:
        """Every agent interval of a tenant (the columns of `schema.INTERVAL_COLUMNS`), in
        Arrow batches: for copying a store (`ccstats migrate`)."""
        raise NotImplementedError

    def data_as_of(self, tenant_id: str) -> datetime | None:
        """When the tenant's newest record was stored (None if it has none)."""
        raise NotImplementedError

    # -- upkeep -----------------------------------------------------------------------------------
    def pending(self, tenant_id: str) -> bool:
        """Whether `flush` has deferred work of the tenant to finish. False by default."""
        return False

    def flush(self, tenant_ids: Sequence[str] | None = None) -> Changes:
        """Finish deferred work that changes answers (DuckDB: pending next contacts) for
        `tenant_ids` (None: every tenant); the times it changed. Nothing by default.

        Deferred work may change only the stored next contacts, hence only the answers of
        `no_repeat_within` measures (the FCR rates): the service flushes before those, and
        serves every other read without waiting for it."""
        return Changes()

    def maintain(self) -> None:
        """Upkeep that changes no answer (DuckDB: stale rollups, compaction). Nothing by default."""

    # -- operations -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version of the store as opened: `SCHEMA_VERSION`, or less for an older
        store opened read-only (nothing migrated)."""
        raise NotImplementedError

    def backup(self, destination: str) -> None:
        """Write a consistent copy of the whole store (every tenant's facts, the registry, the
        engine's own state) to `destination`, a new path the engine's process can write, while
        it serves: every write committed before the call is in the copy, none that commits
        after its snapshot, and writers do not wait for it. The copy opens as a store of this
        engine. Raises StorageError, leaving nothing at `destination`, when it exists or the
        copy fails."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the engine's resources."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
