"""The store interface: one base class, one implementation per engine (DuckDB now, ClickHouse next).

Everything outside `storage/` talks to a `Store` through these methods and the plain values below;
no SQL leaves this package. Methods are synchronous: FastAPI runs them in its thread pool.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from types import TracebackType
from typing import Any, Literal

import pyarrow as pa

from ccstats.metrics.definitions import Measure
from ccstats.records import TenantSettings
from ccstats.storage.schema import CONVERSATION_COLUMNS

__all__ = [
    "AggregateRequest",
    "Credential",
    "IntervalTotal",
    "KeyTaken",
    "ResultTooLarge",
    "SearchRequest",
    "SearchPage",
    "Store",
    "StorageError",
    "Table",
]


class StorageError(RuntimeError):
    """The engine failed; the operation stored nothing."""


@dataclass(frozen=True)
class Table:
    """A result: column names and rows of plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    sql: str = ""

    def dicts(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


Filters = tuple[tuple[str, tuple[Any, ...]], ...]
"""(column, allowed values) pairs; a row matches when every column is one of its values."""


@dataclass(frozen=True)
class AggregateRequest:
    """Sums and counts of one tenant's conversations, bucketed by time and grouped.

    `bucket_starts` are UTC instants (from `timebuckets.bucket_starts`); each row falls in the
    bucket of the latest start <= its time. None means one bucket for the whole range.
    """

    tenant_id: str
    start: datetime
    end: datetime
    measures: tuple[Measure, ...]
    time_field: str = "created_at"
    bucket_starts: tuple[datetime, ...] | None = None
    group_by: tuple[str, ...] = ()
    filters: Filters = ()
    max_rows: int | None = None
    """More result rows than this raise `ResultTooLarge` (none of them is kept in memory)."""


class ResultTooLarge(ValueError):
    """An aggregate with more rows than its request's `max_rows`."""


class KeyTaken(ValueError):
    """A credential key id already used by a credential of the same kind."""


@dataclass(frozen=True)
class SearchRequest:
    """A page of one tenant's conversations: range, equality filters, sort, paging.

    `sort` is (column, descending) pairs; `id` always breaks ties. `after` is a keyset cursor: the
    sort values and id of the last row of the previous page. `offset` is used only without `after`.
    """

    tenant_id: str
    start: datetime | None = None
    end: datetime | None = None
    time_field: str = "created_at"
    end_inclusive: bool = False
    filters: Filters = ()
    sort: tuple[tuple[str, bool], ...] = (("created_at", True),)
    limit: int | None = 100
    offset: int = 0
    after: tuple[Any, ...] | None = None
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SearchPage:
    """Rows of a search and, when asked, the total match count.

    `values` are the rows as the engine returns them: tuples in the order of `columns`, times as
    naive UTC. A wire format that writes many rows reads them as they are (a 1000-row page of 86
    columns is 86 000 values); `rows` and `row` give dicts with aware UTC times.
    """

    columns: tuple[str, ...]
    values: list[tuple[Any, ...]]
    total: int | None = None

    @cached_property
    def _times(self) -> tuple[int, ...]:
        return tuple(
            i for i, name in enumerate(self.columns) if CONVERSATION_COLUMNS.get(name) == "time"
        )

    def row(self, index: int) -> dict[str, Any]:
        """Row `index` as a dict, times as aware UTC."""
        values = self.values[index]
        out = dict(zip(self.columns, values, strict=True))
        for i in self._times:
            if values[i] is not None:
                out[self.columns[i]] = values[i].replace(tzinfo=UTC)
        return out

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict, times as aware UTC."""
        return [self.row(i) for i in range(len(self.values))]

    def column(self, name: str) -> list[Any]:
        """One column of every row, as the engine returns it (times naive UTC)."""
        i = self.columns.index(name)
        return [values[i] for values in self.values]


@dataclass(frozen=True)
class Credential:
    """A way in for one tenant: `kind` (api, huawei, 7moor, twin24, aliyun) and a key id.

    `secret_hash` holds secrets that only need checking (tokens, passwords); `secret` holds HMAC
    secrets needed to verify signatures, as given.
    """

    tenant_id: str
    kind: str
    key_id: str
    secret_hash: str | None = None
    secret: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class IntervalTotal:
    """Seconds an agent spent logged in (`kind=login`) or in a status, clipped to a range."""

    agent_id: str
    kind: Literal["login", "status"]
    status_id: str | None
    seconds: float
    intervals: int


class Store:
    """Base class of the engines. Every method documents the contract; engines implement it."""

    SQL_DIALECT: str = ""

    def generation(self, tenant_id: str) -> int:
        """A counter that changes whenever the tenant's conversations change (caches key on it)."""
        raise NotImplementedError

    def changed_since(
        self, tenant_id: str, generation: int, start: datetime, end: datetime
    ) -> bool:
        """Whether any change after `generation` may have touched the tenant's conversations
        with a time in [start, end] (engines that keep no change spans: any change)."""
        return self.generation(tenant_id) != generation

    # -- tenants and credentials ---------------------------------------------------------------
    def put_tenant(self, tenant: TenantSettings) -> None:
        """Create or replace a tenant's settings."""
        raise NotImplementedError

    def get_tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None."""
        raise NotImplementedError

    def list_tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        raise NotImplementedError

    def add_credential(self, credential: Credential, unique: bool = False) -> None:
        """Store a credential; with `unique`, raise `KeyTaken` (storing nothing) when a
        credential of its kind has the same key id, ignoring case and surrounding spaces."""
        raise NotImplementedError

    def find_credentials(self, kind: str, key_id: str) -> list[Credential]:
        """Credentials of a kind with a key id (several for a key id may exist, e.g. Huawei)."""
        raise NotImplementedError

    def tenant_owns_instance(self, tenant_id: str, instance_id: str) -> bool:
        """Whether any of the tenant's conversations carries this instance id."""
        raise NotImplementedError

    # -- ingest -----------------------------------------------------------------------------------
    def upsert_conversations(self, conversations: pa.Table, messages: pa.Table) -> int:
        """Insert or replace conversations on (tenant_id, id) with their messages, atomically.

        The last of duplicate keys within a batch wins. Raises StorageError having stored nothing.
        """
        raise NotImplementedError

    def upsert_intervals(self, intervals: pa.Table) -> int:
        """Insert or replace agent intervals on (tenant_id, agent_id, kind, status_id, started_at)."""
        raise NotImplementedError

    # -- reads ------------------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> Table:
        """Columns: `bucket` (if bucketed), the group-by columns, then one per measure."""
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

    def data_as_of(self, tenant_id: str) -> datetime | None:
        """When the tenant's newest record was stored (None if it has none)."""
        raise NotImplementedError

    # -- the server's own small state (signing secrets, refresh tokens) ---------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the server's own state, or None."""
        raise NotImplementedError

    def put_meta(self, key: str, value: str | None) -> str | None:
        """Set a value (None deletes it) atomically; returns the value it replaced."""
        raise NotImplementedError

    def maintain(self) -> None:
        """Background upkeep (e.g. re-sorting recently written data); a no-op by default."""

    def settle_contacts(self, tenant_ids: Sequence[str] | None = None) -> None:
        """Finish the work upserts deferred (next contacts); frequent, cheap when nothing waits.
        A no-op by default."""

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
