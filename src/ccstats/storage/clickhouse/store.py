"""The ClickHouse engine: a sign ledger of conversations on a server, or in process (chDB).

An upsert, under the write lock: the batch's last record of each key wins; the keys' live rows
are found (`conversation_keys`, then the rows by primary key); one block goes in with each live
row again at `sign = -1` and each new row at `+1` and a newer version, under an insert token
(atomic within a partition; ClickHouse drops a resent block). Messages go in first, at the new
version: they are read at the conversation's current one. The customers touched wait in
`pending_contacts` for `flush`, which rewrites the rows whose next contact changed the same way.

Exact in every merge state: counts and sums are signed (`aggregate`, or the 15-minute `rollup`
the same blocks fill when it covers a report), row reads use FINAL. A
key whose cancel row was lost with half of a block that spanned two partitions shows two live
versions; the next upsert of the key (the caller's retry of the failed call) cancels both.

One writer per tenant at a time: in this process the write lock (per database), across
processes the tenant's writer lease (`storage.lease`), held before every write: a write of a
tenant another process holds fails with `WriterBusy`, storing nothing. (Two processes writing
one tenant could cancel a row twice and corrupt every sum.)
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ccstats.metrics.plan import AggregateRequest
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    INTERVAL_COLUMNS,
    MESSAGE_COLUMNS,
    TIME_COLUMNS,
    conversation_schema,
)
from ccstats.storage import paging
from ccstats.storage.base import ResultTooLarge, StorageError, Store
from ccstats.storage.clickhouse import aggregate, ddl
from ccstats.storage.clickhouse import sql as q
from ccstats.storage.clickhouse.aggregate import Plan
from ccstats.storage.clickhouse.changes import ClickHouseChangeLog
from ccstats.storage.clickhouse.client import Connection, Target, parse_url
from ccstats.storage.clickhouse.contacts import Contact, next_contacts
from ccstats.storage.clickhouse.registry import ClickHouseRegistry
from ccstats.storage.clickhouse.rollup import SIGNATURE_KEY, TABLE, Rollup, held_measures
from ccstats.storage.lease import LEASE_PREFIX, LEASE_SECONDS, WriterBusy, WriterLease
from ccstats.storage.requests import (
    Changes,
    Erased,
    IntervalTotal,
    SearchPage,
    SearchRequest,
    Table,
)

__all__ = ["ClickHouseStore"]

log = logging.getLogger(__name__)

SCHEMA_KEY = "clickhouse:schema_version"
_CHUNK = 5_000
"""Keys per lookup statement (a bound list of ids travels with the statement)."""

LEDGER_SCHEMA = conversation_schema()
for _name, _type in (
    ("next_contact_at", pa.timestamp("us")),
    ("messages_version", pa.uint64()),
    ("version", pa.uint64()),
    ("sign", pa.int8()),
):
    LEDGER_SCHEMA = LEDGER_SCHEMA.append(pa.field(_name, _type))
_LEDGER_COLUMNS = ", ".join(f"`{f.name}`" for f in LEDGER_SCHEMA)
_INTERVAL_SCHEMA = pa.schema(
    [(n, pa.timestamp("us") if k == "time" else pa.string()) for n, k in INTERVAL_COLUMNS.items()]
)


class _Clock:
    """Row versions: microseconds of the wall clock, strictly increasing in this process (a
    version is never reused, so an interrupted write leaves nothing a later one could meet)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return self._last


_BACKED_UP = (
    "tenants",
    "credentials",
    "meta",
    "conversations",
    "messages",
    "agent_intervals",
    "pending_contacts",
)
"""The tables a backup copies; the others are filled from them (views) or not kept (the
change log: a copy starts with no process's changes)."""

_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_CLOCK = _Clock()
_LOCKS: dict[tuple[Any, ...], threading.RLock] = {}
_LOCKS_LOCK = threading.Lock()


def _write_lock(target: Target) -> threading.RLock:
    """One write lock per database in this process, whatever number of stores open it."""
    key = (target.path, target.host, target.port, target.database)
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(key, threading.RLock())


def _token() -> str:
    return uuid.uuid4().hex


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for at in range(0, len(values), _CHUNK):
        yield values[at : at + _CHUNK]


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _naive_times(table: pa.Table | pa.RecordBatch) -> Any:
    """Times as naive UTC (how the engine takes them, and how DuckDB's Arrow gives them)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("us")))
        elif pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


def _last_of_each_key(table: pa.Table, keys: list[str]) -> pa.Table:
    """The last row of each key, in batch order."""
    positions = pa.array(range(table.num_rows), pa.int64())
    last = (
        table.select(keys)
        .append_column("_pos", positions)
        .group_by(keys, use_threads=False)
        .aggregate([("_pos", "max")])
    )
    if last.num_rows == table.num_rows:
        return table
    return table.take(pc.array_take(last["_pos_max"], pc.sort_indices(last["_pos_max"])))


def _spans(tables: Sequence[pa.Table], columns: Sequence[str], low: str, high: str) -> Changes:
    """Per tenant, the earliest `low`-column and the latest `high`-column time of the rows
    (NULLs skipped), over every table."""
    spans: dict[str, tuple[datetime | None, datetime | None]] = {}
    for table in tables:
        if table.num_rows == 0:
            continue
        times = table.select(["tenant_id", *columns])
        aggregations = [(c, "min") for c in columns if low == "*" or c == low]
        aggregations += [(c, "max") for c in columns if high == "*" or c == high]
        grouped = times.group_by("tenant_id", use_threads=False).aggregate(aggregations)
        for row in grouped.to_pylist():
            lows = [v for k, v in row.items() if k.endswith("_min") and v is not None]
            highs = [v for k, v in row.items() if k.endswith("_max") and v is not None]
            lo, hi = (min(lows) if lows else None), (max(highs) if highs else None)
            tenant = row["tenant_id"]
            if tenant in spans:
                a, b = spans[tenant]
                lo = a if lo is None else lo if a is None else min(a, lo)
                hi = b if hi is None else hi if b is None else max(b, hi)
            spans[tenant] = (lo, hi)
    return Changes.of_rows([(t, lo, hi) for t, (lo, hi) in spans.items()])


class ClickHouseStore(Store):
    """ClickHouse implementation of `Store` (see the module docstring)."""

    ENGINE = "clickhouse"
    SCHEMA_VERSION = ddl.SCHEMA_VERSION

    def __init__(
        self, url: str, *, rollups: bool = True, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        """Open a `chdb:///dir` or `clickhouse(s)://` store, creating its tables if missing;
        `rollups` off reads every report from the ledger (tests compare the two; a cluster has
        no rollup yet); `lease_seconds`: how long a tenant's writer lease lasts."""
        self.url = url
        self.target = parse_url(url)
        self._db = Connection(self.target)
        self._write_lock = _write_lock(self.target)
        self.registry = ClickHouseRegistry(self._db, self._write_lock, _CLOCK, _token)
        self.lease = WriterLease(self.registry, seconds=lease_seconds)
        """This store object's writer leases: it writes a tenant only while it holds its
        lease (`storage.lease`), so that several processes never write one tenant at once."""
        self.shared_changes: ClickHouseChangeLog | None = None
        self._sums = {**q.AGGREGATE_SETTINGS, **(q.NO_JIT if self.target.embedded else {})}
        self._rollup = (
            Rollup(f"`{self.target.database}`", held_measures())
            if rollups and not self.target.cluster
            else None
        )
        try:
            self._create()
            self.shared_changes = ClickHouseChangeLog(
                self._db, self.lease.holder, self.registry.forget
            )
            self._pending: set[str] = self._noted_tenants()
            """Tenants with customers in `pending_contacts` (`flush`)."""
        except StorageError:
            self._db.close()
            raise

    def _noted_tenants(self) -> set[str]:
        rows = self._db.query(
            f"SELECT DISTINCT tenant_id FROM (SELECT tenant_id FROM {self._t('pending_contacts')}"
            " GROUP BY tenant_id, customer_id HAVING sum(n) > 0)"
        )
        return {r[0] for r in rows}

    def _t(self, name: str) -> str:
        return self._db.table(name)

    def _create(self) -> None:
        """Create what is missing; refuse a database of a newer schema."""
        with self._write_lock:
            for statement in ddl.statements(self.target.database, self.target.cluster):
                self._db.command(statement)
            found = self._schema_version()
            if found is not None and int(found) > ddl.SCHEMA_VERSION:
                raise StorageError(
                    f"the database holds schema {found}, newer than this ccstats"
                    f" ({ddl.SCHEMA_VERSION}): upgrade ccstats"
                )
            if found is not None and int(found) < ddl.SCHEMA_VERSION:
                for statement in ddl.upgrade(self.target.database, self.target.cluster):
                    self._db.command(statement)
            if found != str(ddl.SCHEMA_VERSION):
                self.registry.put_meta(SCHEMA_KEY, str(ddl.SCHEMA_VERSION))
            if self._rollup is not None:
                self._open_rollup(self._rollup)

    def _schema_version(self) -> str | None:
        """The database's schema version, read as every schema keeps it (before `upgrade`)."""
        rows = self._db.query(
            f"SELECT value FROM {self._t('meta')} FINAL WHERE key = {{k:String}}",
            {"k": SCHEMA_KEY},
        )
        return str(rows[0][0]) if rows else None

    def _open_rollup(self, rollup: Rollup) -> None:
        """Create the rollup, or rebuild it from the ledger when its shape changed."""
        wanted = rollup.signature()
        table, view = rollup.create()
        exists = self._db.query(f"EXISTS TABLE {rollup.table}")[0][0]
        if exists and self.registry.get_meta(SIGNATURE_KEY) == wanted:
            self._db.command(table)
            self._db.command(view)
            return
        for statement in [*rollup.drop(), table, rollup.backfill(), view]:
            self._db.command(statement, settings=q.NO_JIT)
        self.registry.put_meta(SIGNATURE_KEY, wanted)

    # -- operations -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The version the database records (brought to `SCHEMA_VERSION` on open)."""
        found = self._schema_version()
        return int(found) if found is not None else 0

    def backup(self, destination: str) -> None:
        """Copy the store into a new database on the same server (or chDB directory), named
        by `destination`: a database name, or a URL of this store's place with another
        database. Its tables are created first, the views included; then the registry, the
        ledger, the messages, the intervals and the pending customers are copied, one
        `INSERT ... SELECT` each (each reads one snapshot of its table; writers do not wait),
        and the views fill the copy's lookups and rollup from the copied ledger. Every
        customer of the copy is noted pending, so its first `flush` recomputes every next
        contact from the rows it holds. The copy opens as a store with that URL."""
        target = self._backup_target(destination)
        db = f"`{target.database}`"
        if self._db.query(f"EXISTS DATABASE {db}")[0][0]:
            raise StorageError(f"the database {target.database} exists: a backup needs a new one")
        try:
            for statement in ddl.statements(target.database, target.cluster):
                self._db.command(statement)
            if self._rollup is not None:
                for statement in Rollup(db, self._rollup.measures).create():
                    self._db.command(statement)
            once = {"insert_deduplicate": 0, **q.NO_JIT}
            for table in _BACKED_UP:
                names = ", ".join(f"`{n}`" for n in self._columns_of(table))
                # Leases are the source's processes': none holds the copy.
                where = f" WHERE NOT startsWith(key, '{LEASE_PREFIX}')" if table == "meta" else ""
                self._db.command(
                    f"INSERT INTO {db}.`{table}` ({names}) SELECT {names}"
                    f" FROM {self._t(table)}{where}",
                    settings=once,
                )
            self._db.command(
                f"INSERT INTO {db}.`pending_contacts` SELECT tenant_id, customer_id, 1"
                f" FROM {db}.`contacts` GROUP BY tenant_id, customer_id",
                settings=once,
            )
        except StorageError:
            self._db.command(f"DROP DATABASE IF EXISTS {db} SYNC")
            raise

    def _columns_of(self, table: str) -> list[str]:
        """The stored columns of one of the store's tables, by name (a column added by an
        upgrade sits last in an older database, in its place in a new one)."""
        rows = self._db.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String}"
            " AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
            {"d": self.target.database, "t": table},
        )
        return [row[0] for row in rows]

    def _backup_target(self, destination: str) -> Target:
        if "://" not in destination:
            if not _DATABASE_NAME.fullmatch(destination):
                raise StorageError(
                    f"{destination!r}: a ClickHouse backup goes to a new database, named with"
                    " letters, digits and _ (or a URL of this place with another database)"
                )
            return replace(self.target, database=destination)
        target = parse_url(destination)
        place = (target.path, target.host, target.port, target.cluster)
        if place != (self.target.path, self.target.host, self.target.port, self.target.cluster):
            raise StorageError(
                "a ClickHouse backup goes to another database of the same server or chDB"
                " directory (a database name, or a URL that differs only in its database)"
            )
        if target.database == self.target.database:
            raise StorageError(f"the database {target.database} exists: it is this store's")
        return target

    def close(self) -> None:
        """Let this store's writer leases go and close its clients."""
        if self._db.open:
            self.lease.release()
        self._db.close()

    def drop(self, wait: bool = True) -> None:
        """Drop the store's whole database (tests; a migration started over), then close;
        `wait`: until its files are gone (else the server removes them later)."""
        sync = " SYNC" if wait else ""
        on = f" ON CLUSTER `{self.target.cluster}`" if self.target.cluster else ""
        self.close()
        db = Connection(self.target)  # (cheap: the clients of the place are shared)
        try:
            db.command(f"DROP DATABASE IF EXISTS `{self.target.database}`{on}{sync}")
        finally:
            db.close()

    # -- the ledger -------------------------------------------------------------------------------
    def _live(self, tenant_id: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """(id, version, created_at, count) of the keys' versions whose signs do not add to 0:
        normally one live version each (count 1). A count below 0 is a row cancelled twice
        (two writers at once); the upsert restores it while it cancels the live ones."""
        found: list[tuple[Any, ...]] = []
        for chunk in _chunks(ids):
            found += self._db.query(
                f"SELECT id, version, any(created_at), sum(sign) AS s FROM"
                f" {self._t('conversation_keys')} WHERE tenant_id = {{t:String}}"
                " AND id IN {ids:Array(String)} GROUP BY id, version HAVING s != 0",
                {"t": tenant_id, "ids": list(chunk)},
            )
        return found

    def _rows(self, tenant_id: str, live: Sequence[tuple[Any, ...]]) -> pa.Table:
        """The full rows of live versions, each as many times as it is live."""
        wanted = {(i, v): n for i, v, _, n in live}
        tables = []
        for chunk in _chunks(live):
            found = self._db.query_arrow(
                f"SELECT {_LEDGER_COLUMNS} FROM {self._t('conversations')}"
                f" WHERE tenant_id = {{t:String}} AND created_at IN {{cs:Array({ddl.TIME})}}"
                " AND id IN {ids:Array(String)} AND sign = 1"
                " ORDER BY id, version LIMIT 1 BY id, version",
                {
                    "t": tenant_id,
                    "cs": sorted({c for _, _, c, _ in chunk}),
                    "ids": [i for i, *_ in chunk],
                },
            )
            tables.append(_naive_times(found).cast(LEDGER_SCHEMA))
        rows = pa.concat_tables(tables) if tables else LEDGER_SCHEMA.empty_table()
        keys = zip(rows["id"].to_pylist(), rows["version"].to_pylist(), strict=True)
        take = [at for at, key in enumerate(keys) for _ in range(wanted.get(key, 0))]
        return rows.take(take)

    def _write(self, cancels: pa.Table, states: pa.Table, restores: pa.Table | None = None) -> None:
        """One block: the cancels (live rows at sign -1), the rows cancelled once too often
        again at +1, and the new rows."""
        cancels = cancels.set_column(
            LEDGER_SCHEMA.get_field_index("sign"),
            "sign",
            pa.array([-1] * cancels.num_rows, pa.int8()),
        )
        parts = [cancels, *([restores] if restores is not None else []), states]
        self._db.insert("conversations", pa.concat_tables(parts), _token())

    def _note_customers(
        self, rows: Sequence[pa.Table], weights: dict[tuple[str, str], int] | None = None
    ) -> None:
        """+1 in `pending_contacts` for each customer of the rows (or the given weights)."""
        if weights is None:
            weights = {}
            for table in rows:
                pairs = table.select(["tenant_id", "customer_id"]).to_pylist()
                for pair in pairs:
                    if pair["customer_id"] is not None:
                        weights[(pair["tenant_id"], pair["customer_id"])] = 1
        if not weights:
            return
        table = pa.table(
            {
                "tenant_id": [t for t, _ in weights],
                "customer_id": [c for _, c in weights],
                "n": pa.array(list(weights.values()), pa.int64()),
            }
        )
        self._db.insert("pending_contacts", table, _token())

    # -- ingest -----------------------------------------------------------------------------------
    def upsert_conversations(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        """Replace on (tenant_id, id): cancel the live rows and add the new ones, in one block."""
        if conversations.num_rows == 0:
            return Changes()
        batch = conversations.select(list(CONVERSATION_COLUMNS)).cast(conversation_schema())
        batch = _last_of_each_key(batch, ["tenant_id", "id"])
        with self._write_lock:
            self.lease.hold(pc.unique(batch["tenant_id"]).to_pylist())
            version = _CLOCK()
            olds, restores = [], []
            newer: dict[tuple[str, str], int] = {}
            for tenant in pc.unique(batch["tenant_id"]).to_pylist():
                ids = pc.filter(batch["id"], pc.equal(batch["tenant_id"], tenant)).to_pylist()
                found = self._live(tenant, ids)
                live = [row for row in found if row[3] > 0]
                for key, old, _, _ in live:
                    if old >= version:  # a version from a clock ahead of ours
                        newer[(tenant, key)] = max(newer.get((tenant, key), 0), old + 1)
                if live:
                    olds.append(self._rows(tenant, live))
                if over := [(i, v, c, -n) for i, v, c, n in found if n < 0]:
                    log.error(
                        "tenant %s: %d conversation rows were cancelled twice (two writers at"
                        " once?); restored with this upsert",
                        tenant,
                        len(over),
                    )
                    restores.append(self._rows(tenant, over))
            old = pa.concat_tables(olds) if olds else LEDGER_SCHEMA.empty_table()
            restored = pa.concat_tables(restores) if restores else None
            versions = pa.array(
                [
                    newer.get(key, version)
                    for key in zip(
                        batch["tenant_id"].to_pylist(), batch["id"].to_pylist(), strict=True
                    )
                ]
                if newer
                else [version] * batch.num_rows,
                pa.uint64(),
            )
            states = (
                batch.append_column("next_contact_at", pa.nulls(batch.num_rows, pa.timestamp("us")))
                .append_column("messages_version", versions)
                .append_column("version", versions)
                .append_column("sign", pa.array([1] * batch.num_rows, pa.int8()))
            )
            self._insert_messages(messages, batch, versions)
            self._write(old, states, restored)
            touched = [old, batch, *([restored] if restored is not None else [])]
            self._note_customers(touched)
            self._pending |= set(pc.unique(batch["tenant_id"]).to_pylist())
        return _spans(touched, TIME_COLUMNS, "*", "*")

    def _insert_messages(self, messages: pa.Table, batch: pa.Table, versions: pa.Array) -> None:
        if messages.num_rows == 0:
            return
        rows = messages.select(list(MESSAGE_COLUMNS))
        distinct = pc.unique(versions)
        if len(distinct) == 1:
            column = pa.array([distinct[0].as_py()] * rows.num_rows, pa.uint64())
        else:
            by_key = dict(
                zip(
                    zip(batch["tenant_id"].to_pylist(), batch["id"].to_pylist(), strict=True),
                    versions.to_pylist(),
                    strict=True,
                )
            )
            keys = zip(
                rows["tenant_id"].to_pylist(), rows["conversation_id"].to_pylist(), strict=True
            )
            column = pa.array([by_key.get(k, 0) for k in keys], pa.uint64())
        self._db.insert("messages", rows.append_column("version", column), _token())

    def upsert_intervals(self, intervals: pa.Table) -> Changes:
        """Replace on (tenant_id, agent_id, kind, status_id, started_at): a newer version of the
        key (ReplacingMergeTree, read FINAL). The changed times are those of the replaced and
        the new intervals, as `interval_totals` reads every interval overlapping its range."""
        if intervals.num_rows == 0:
            return Changes()
        keys = ["tenant_id", "agent_id", "kind", "status_id", "started_at"]
        batch = intervals.select(list(INTERVAL_COLUMNS)).cast(_INTERVAL_SCHEMA)
        batch = _last_of_each_key(batch, keys)
        with self._write_lock:
            self.lease.hold(pc.unique(batch["tenant_id"]).to_pylist())
            olds = []
            for tenant in pc.unique(batch["tenant_id"]).to_pylist():
                mine = batch.filter(pc.equal(batch["tenant_id"], tenant))
                wanted = set(zip(*(mine[k].to_pylist() for k in keys), strict=True))
                found = self._db.query_arrow(
                    f"SELECT {', '.join(keys)}, ended_at FROM {self._t('agent_intervals')} FINAL"
                    " WHERE tenant_id = {t:String} AND agent_id IN {a:Array(String)}"
                    f" AND started_at IN {{s:Array({ddl.TIME})}}",
                    {
                        "t": tenant,
                        "a": sorted(set(mine["agent_id"].to_pylist())),
                        "s": sorted(set(mine["started_at"].to_pylist())),
                    },
                )
                found = _naive_times(found)
                match = [
                    k in wanted for k in zip(*(found[c].to_pylist() for c in keys), strict=True)
                ]
                olds.append(found.filter(pa.array(match, pa.bool_())))
            version = pa.array([_CLOCK()] * batch.num_rows, pa.uint64())
            self._db.insert("agent_intervals", batch.append_column("version", version), _token())
        tables = [*olds, batch.select(["tenant_id", "started_at", "ended_at"])]
        return _spans(tables, ["started_at", "ended_at"], "started_at", "ended_at")

    # -- erasure ----------------------------------------------------------------------------------
    def erase(
        self,
        tenant_id: str,
        *,
        before: datetime | None = None,
        customer_id: str | None = None,
    ) -> Erased:
        """Conversations: their live rows cancelled in one block (the rollup and the views'
        tables take the cancels, as after an upsert; their customers noted pending), then every
        row of them deleted from the ledger, the views' tables and the messages (lightweight
        deletes: a balanced set, so every sum stays exact). A whole tenant is deleted from
        every table."""
        with self._write_lock:
            self.lease.hold([tenant_id])
            if before is None and customer_id is None:
                return self._erase_tenant(tenant_id)
            erased = self._erase_conversations(tenant_id, before, customer_id)
            if customer_id is not None:
                return erased
            assert before is not None
            intervals, changes = self._erase_intervals(tenant_id, before)
        return replace(erased, intervals=intervals, changes=erased.changes.merge(changes))

    def _erase_conversations(
        self, tenant_id: str, before: datetime | None, customer_id: str | None
    ) -> Erased:
        params = q.Params()
        where = f"tenant_id = {params.text(tenant_id)}"
        if before is not None:
            where += f" AND created_at < {params.time(before)}"
        if customer_id is not None:
            where += f" AND customer_id = {params.text(customer_id)}"
        found = self._db.query(
            f"SELECT id, version, created_at, sum(sign) AS s FROM {self._t('conversations')}"
            f" WHERE {where} GROUP BY id, version, created_at HAVING s > 0",
            params.values,
        )
        if not found:
            return Erased()
        ids = sorted({row[0] for row in found})
        messages = self._current_messages(tenant_id, ids)
        old = self._rows(tenant_id, found)
        self._write(old, LEDGER_SCHEMA.empty_table())
        self._note_customers([old])
        self._pending.add(tenant_id)
        for chunk in _chunks(ids):
            for table, column in (
                ("conversations", "id"),
                ("conversation_keys", "id"),
                ("contacts", "id"),
                ("messages", "conversation_id"),
            ):
                self._db.command(
                    f"DELETE FROM {self._t(table)} WHERE tenant_id = {{t:String}}"
                    f" AND {column} IN {{ids:Array(String)}}",
                    {"t": tenant_id, "ids": list(chunk)},
                )
        return Erased(len(ids), messages, 0, _spans([old], TIME_COLUMNS, "*", "*"))

    def _current_messages(self, tenant_id: str, ids: Sequence[str]) -> int:
        """How many messages the conversations have at their current versions."""
        total = 0
        for chunk in _chunks(ids):
            rows = self._db.query(
                "SELECT count() FROM (SELECT conversation_id, version FROM"
                f" {self._t('messages')} WHERE tenant_id = {{t:String}}"
                " AND conversation_id IN {ids:Array(String)}) AS m INNER JOIN (SELECT id,"
                f" argMax(messages_version, version) AS v FROM {self._t('conversation_keys')}"
                " WHERE tenant_id = {t:String} AND id IN {ids:Array(String)} GROUP BY id"
                " HAVING sum(sign) > 0) AS k ON m.conversation_id = k.id AND m.version = k.v",
                {"t": tenant_id, "ids": list(chunk)},
            )
            total += int(rows[0][0])
        return total

    def _erase_intervals(self, tenant_id: str, before: datetime) -> tuple[int, Changes]:
        """The agent intervals that ended before `before`: every version of their keys."""
        params = {"t": tenant_id, "b": before.astimezone(UTC).replace(tzinfo=None)}
        key = "cityHash64(agent_id, kind, ifNull(status_id, '\\0'), started_at)"
        found = self._db.query(
            f"SELECT {key}, started_at, ended_at FROM {self._t('agent_intervals')} FINAL"
            f" WHERE tenant_id = {{t:String}} AND ended_at < {{b:{ddl.TIME}}}",
            params,
        )
        if not found:
            return 0, Changes()
        hashes = [row[0] for row in found]
        for at in range(0, len(hashes), _CHUNK):
            self._db.command(
                f"DELETE FROM {self._t('agent_intervals')} WHERE tenant_id = {{t:String}}"
                f" AND started_at < {{b:{ddl.TIME}}} AND {key} IN {{h:Array(UInt64)}}",
                {**params, "h": hashes[at : at + _CHUNK]},
            )
        low = min(row[1] for row in found)
        high = max(row[2] for row in found)
        return len(found), Changes.of_rows([(tenant_id, low, high)])

    def _erase_tenant(self, tenant_id: str) -> Erased:
        """Every row of the tenant in every table (its registry entry is the registry's)."""
        one = {"t": tenant_id}
        counted = self._db.query(
            f"SELECT (SELECT sum(sign) FROM {self._t('conversations')} WHERE tenant_id = {{t:String}}),"
            f" (SELECT count() FROM {self._t('agent_intervals')} FINAL WHERE tenant_id = {{t:String}})",
            one,
        )
        conversations, intervals = (int(v or 0) for v in counted[0])
        live = self._db.query(
            f"SELECT id FROM {self._t('conversation_keys')} WHERE tenant_id = {{t:String}}"
            " GROUP BY id HAVING sum(sign) > 0",
            one,
        )
        messages = self._current_messages(tenant_id, [row[0] for row in live])
        tables = [
            "conversations",
            "conversation_keys",
            "contacts",
            "tenant_as_of",
            "messages",
            "agent_intervals",
            "pending_contacts",
        ]
        if self._rollup is not None:
            tables.append(TABLE)
        for table in tables:
            self._db.command(f"DELETE FROM {self._t(table)} WHERE tenant_id = {{t:String}}", one)
        self._pending.discard(tenant_id)
        return Erased(conversations, messages, intervals, Changes.everything(tenant_id))

    def retime(self, tenant_id: str, timezone: str) -> Changes:
        """Nothing is kept by local day (no rollups yet): only every kept answer is stale."""
        return Changes.everything(tenant_id)

    # -- next contacts ----------------------------------------------------------------------------
    def pending(self, tenant_id: str) -> bool:
        """Whether upserts left next contacts of the tenant to recompute (`flush`)."""
        return tenant_id in self._pending

    def flush(self, tenant_ids: Sequence[str] | None = None) -> Changes:
        """Recompute the next contacts of the customers upserts noted, for `tenant_ids` (None:
        every tenant): the rows whose value changed are rewritten (cancel and state rows), and
        the noted customers taken off `pending_contacts` by the amounts read. A tenant whose
        writer lease another process holds is left to that process."""
        changes = Changes()
        with self._write_lock:
            if tenant_ids is None:  # the server's upkeep: also what other processes noted
                self._pending |= self._noted_tenants()
            tenants = sorted(self._pending if tenant_ids is None else self._pending & {*tenant_ids})
            for tenant in tenants:
                try:
                    self.lease.hold([tenant])
                except WriterBusy as busy:  # its writer settles it (`pending_contacts`)
                    log.info("next contacts left to the tenant's writer: %s", busy)
                    self._pending.discard(tenant)
                    continue
                changes = changes.merge(self._settle(tenant))
                self._pending.discard(tenant)
        return changes

    def _settle(self, tenant_id: str) -> Changes:
        noted = self._db.query(
            f"SELECT customer_id, sum(n) AS s FROM {self._t('pending_contacts')}"
            " WHERE tenant_id = {t:String} GROUP BY customer_id HAVING s > 0",
            {"t": tenant_id},
        )
        if not noted:
            return Changes()
        newest: dict[str, Contact] = {}
        for chunk in _chunks([c for c, _ in noted]):
            rows = self._db.query(
                "SELECT customer_id, id, version, any(created_at), any(ended_at),"
                f" any(next_contact_at), sum(sign) AS s FROM {self._t('contacts')}"
                " WHERE tenant_id = {t:String} AND customer_id IN {cs:Array(String)}"
                " GROUP BY customer_id, id, version HAVING s > 0",
                {"t": tenant_id, "cs": list(chunk)},
            )
            for row in rows:
                contact = Contact(*row[:6])
                if row[1] not in newest or newest[row[1]].version < contact.version:
                    newest[row[1]] = contact
        changed = next_contacts(newest.values())
        spans = Changes()
        if changed:
            live = [(i, newest[i].version, newest[i].created_at, 1) for i in changed]
            old = self._rows(tenant_id, live)
            version = _CLOCK()
            nexts = pa.array([changed[i] for i in old["id"].to_pylist()], pa.timestamp("us"))
            versions = pa.array(
                [max(version, v + 1) for v in old["version"].to_pylist()], pa.uint64()
            )
            state = old.set_column(
                old.schema.get_field_index("next_contact_at"), "next_contact_at", nexts
            )
            state = state.set_column(state.schema.get_field_index("version"), "version", versions)
            self._write(old, state)
            spans = _spans([old], TIME_COLUMNS, "*", "*")
        self._note_customers([], {(tenant_id, c): -int(n) for c, n in noted})
        return spans

    # -- reads ------------------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> Table:
        """Sums and counts per bucket and group: from the rollup when it covers the counts and
        sums, the maxima then from the ledger read FINAL; else all from the ledger."""
        keys = (["bucket"] if request.bucket_starts is not None else []) + list(request.group_by)
        found: dict[str, dict[tuple[Any, ...], Any]] = {}
        order: list[tuple[Any, ...]] = []
        plans = self._plans(request)
        for number, plan in enumerate(plans):
            rows = aggregate.fold(plan, self._rows_of(plan, request), request.bucket_starts)
            if number == 0:  # the counts and sums: which buckets and groups hold live rows
                if request.max_rows is not None and len(rows) > request.max_rows:
                    raise ResultTooLarge(f"the result has more than {request.max_rows} rows")
                order = [row[: len(keys)] for row in rows]
            for row in rows:
                for measure, value in zip(plan.measures, row[len(keys) :], strict=True):
                    found.setdefault(measure.name, {})[row[: len(keys)]] = value
        names = [m.name for m in request.measures]
        out = [(*key, *(found.get(n, {}).get(key) for n in names)) for key in order]
        return Table([*keys, *names], out, ";\n".join(p.sql for p in plans))

    def _rows_of(self, plan: Plan, request: AggregateRequest) -> list[tuple[Any, ...]]:
        """The engine's rows of a plan; ResultTooLarge, reading no more than the bound, when
        they are more than an answer of `max_rows` rows can fold (`aggregate.row_bound`)."""
        bound = aggregate.row_bound(plan, request)
        if bound is None:
            return self._db.query(plan.sql, plan.params, self._sums)
        rows = self._db.query(f"{plan.sql} LIMIT {bound + 1}", plan.params, self._sums)
        if len(rows) > bound:
            raise ResultTooLarge(f"the result has more than {request.max_rows} rows")
        return rows

    def explain(self, request: AggregateRequest) -> str:
        """The SQL `aggregate` runs (its partial sums per slot; `aggregate.fold` adds them)."""
        return ";\n".join(p.sql for p in self._plans(request))

    def _plans(self, request: AggregateRequest) -> list[Plan]:
        """The rollup's plan of the counts and sums when it covers them (then the ledger's of
        the maxima, if any), else the ledger's of everything."""
        ledger = self._t("conversations")
        if self._rollup is None:
            return [aggregate.plan(ledger, request)]
        sums = tuple(m for m in request.measures if q.is_count(m) or m.kind == "sum")
        rest = tuple(m for m in request.measures if m not in sums)
        counted = replace(request, measures=sums)
        if not sums or not self._rollup.covers(counted):
            return [aggregate.plan(ledger, request)]
        plans = [self._rollup.plan(counted)]
        if rest:
            plans.append(aggregate.plan(ledger, replace(request, measures=rest)))
        return plans

    def interval_totals(
        self, tenant_id: str, start: datetime, end: datetime, agent_ids: Sequence[str] | None = None
    ) -> list[IntervalTotal]:
        """Agent time per (agent, kind, status), clipped to [start, end)."""
        params = q.Params()
        lo, hi = params.time(start), params.time(end)
        sql = (
            "SELECT agent_id, kind, status_id, sum(greatest(0,"
            f" toUnixTimestamp64Micro(least(ended_at, {hi}))"
            f" - toUnixTimestamp64Micro(greatest(started_at, {lo})))), count()"
            f" FROM {self._t('agent_intervals')} FINAL WHERE tenant_id = {params.text(tenant_id)}"
            f" AND started_at < {hi} AND ended_at >= {lo}"
        )
        if agent_ids is not None:
            sql += f" AND agent_id IN {params.texts(agent_ids)}"
        sql += " GROUP BY agent_id, kind, status_id"
        rows = sorted(
            self._db.query(sql, params.values),
            key=lambda r: (r[0], r[1], r[2] is None, r[2] or ""),
        )
        return [IntervalTotal(r[0], r[1], r[2], int(r[3] or 0) / 1_000_000, r[4]) for r in rows]

    def search(self, request: SearchRequest, count: bool = False) -> SearchPage:
        """One page of live conversations and, when asked, the total count."""
        columns = request.columns or tuple(CONVERSATION_COLUMNS)
        rows = self._page(request) if request.limit != 0 else []
        total = None
        if count:
            sql, params = q.count_sql(self._t("conversations"), request)
            found = self._db.query(sql, params, q.AGGREGATE_SETTINGS)
            total = int(found[0][0] or 0) if found else 0
        return SearchPage(columns, rows, total)

    def _page(self, request: SearchRequest) -> list[tuple[Any, ...]]:
        """The page, from the narrowest window at the range's sorting end that holds it whole
        (`paging`: FINAL over a day, not over the month), else from the whole range."""
        span = paging.FIRST_SPAN
        table = self._t("conversations")
        while (window := paging.narrowed(request, span)) is not None:
            rows = self._db.query(*q.search_sql(table, window))
            if len(rows) == request.limit:
                return rows
            span = paging.next_span(span, request, len(rows))
        return self._db.query(*q.search_sql(table, request))

    def iter_search(
        self, request: SearchRequest, batch_size: int = 5000
    ) -> Iterator[pa.RecordBatch]:
        """Every row of a search in Arrow batches of at most `batch_size` rows."""
        sql, params = q.search_sql(self._t("conversations"), request)
        for batch in self._db.stream(sql, params):
            batch = _naive_times(batch)
            for at in range(0, batch.num_rows, batch_size):
                yield batch.slice(at, batch_size)

    def iter_intervals(self, tenant_id: str, batch_size: int = 5000) -> Iterator[pa.RecordBatch]:
        """Every agent interval of a tenant (its current versions), in Arrow batches."""
        columns = ", ".join(f"`{c}`" for c in INTERVAL_COLUMNS)
        sql = (
            f"SELECT {columns} FROM {self._t('agent_intervals')} FINAL"
            " WHERE tenant_id = {t:String} ORDER BY started_at"
        )
        for batch in self._db.stream(sql, {"t": tenant_id}):
            batch = _naive_times(batch)
            for at in range(0, batch.num_rows, batch_size):
                yield batch.slice(at, batch_size)

    def messages_for(
        self, tenant_id: str, conversation_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Transcripts of some conversations (at their current versions), ordered by seq."""
        out: dict[str, list[dict[str, Any]]] = {cid: [] for cid in conversation_ids}
        for chunk in _chunks(list(dict.fromkeys(conversation_ids))):
            # Two steps, not an IN subquery: on a cluster both tables are Distributed (a
            # subquery of one inside the other would have to be GLOBAL).
            current = self._db.query(
                f"SELECT id, argMax(messages_version, version) FROM {self._t('conversation_keys')}"
                " WHERE tenant_id = {t:String} AND id IN {ids:Array(String)}"
                " GROUP BY id HAVING sum(sign) > 0",
                {"t": tenant_id, "ids": list(chunk)},
            )
            if not current:
                continue
            versions = dict(current)
            rows = self._db.query(
                "SELECT conversation_id, seq, sender, agent_id, text, sent_at, bot_outcome,"
                f" version FROM {self._t('messages')} WHERE tenant_id = {{t:String}}"
                " AND conversation_id IN {ids:Array(String)} AND version IN {vs:Array(UInt64)}"
                " ORDER BY conversation_id, seq",
                {"t": tenant_id, "ids": list(versions), "vs": sorted(set(versions.values()))},
            )
            for row in rows:
                if versions.get(row[0]) != row[7]:
                    continue  # another conversation's version, or an old transcript
                out[row[0]].append(
                    {
                        "seq": row[1],
                        "sender": row[2],
                        "agent_id": row[3],
                        "text": row[4],
                        "sent_at": _aware(row[5]),
                        "bot_outcome": row[6],
                    }
                )
        return out

    def data_as_of(self, tenant_id: str) -> datetime | None:
        """When the tenant's newest record was stored."""
        rows = self._db.query(
            f"SELECT max(stored_at) FROM {self._t('tenant_as_of')} WHERE tenant_id = {{t:String}}",
            {"t": tenant_id},
            q.AGGREGATE_SETTINGS,
        )
        return _aware(rows[0][0]) if rows else None

    def maintain(self) -> None:
        """Nothing: the server merges parts by itself, and no answer waits for upkeep."""
