"""The embedded engine: DuckDB in a file (or `:memory:` for tests).

One connection owns the database; each thread reads through its own cursor, and writes are
serialized by a lock (datasette's write thread). Bulk writes go through Arrow.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ccstats.absent import refuse_if_absent
from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    INTERVAL_COLUMNS,
    MESSAGE_COLUMNS,
    STORE_COLUMNS,
    conversations_to_arrow,
)
from ccstats.storage import paging
from ccstats.storage.base import ResultTooLarge, StorageError, Store, StoreLockedError
from ccstats.storage.duckdb import compaction, contacts, migrations, preagg
from ccstats.storage.duckdb import sql as q
from ccstats.storage.duckdb.registry import DuckDBRegistry
from ccstats.storage.requests import (
    Changes,
    Erased,
    IntervalTotal,
    SearchPage,
    SearchRequest,
    Table,
)

__all__ = ["DuckDBStore", "StoreLockedError", "restore_file"]

log = logging.getLogger(__name__)


# DuckDB's Python client tries `import pandas` for every bound parameter (and list element);
# without pandas each try walks sys.path. Failing it at once: a query with 5 scalar parameters
# 0.65 -> 0.32 ms (measured; bench/NOTES.md item 7).
refuse_if_absent("pandas")


_BULK_SPAN = 86_400_000_000
"""A batch whose created_at values span more than a day (us) defers its tenants' rollups to
`maintain`: recomputing the touched slots would re-aggregate most of their history per batch
(a year-spread 5 000-row batch at 10M: 2.6 s; the whole tenant once: about 4 s)."""


def _stale_key(table: str, tenant_id: str) -> str:
    return f"stale:{table}:{tenant_id}"


def _stale_span(found: list[tuple[Any, ...]]) -> tuple[datetime, datetime] | None:
    """The `created_at` span a stale mark holds (`preagg.stale_span_sql`); None: the whole
    tenant (a mark without one, from older files)."""
    value = found[0][0] if found else None
    if not isinstance(value, str) or "|" not in value:
        return None
    lo, hi = value.split("|")
    return datetime.fromisoformat(lo), datetime.fromisoformat(hi)


def _is_bulk(conversations: pa.Table) -> bool:
    times = pc.min_max(conversations["created_at"].cast(pa.int64()))
    low, high = times["min"].as_py(), times["max"].as_py()
    return low is not None and high - low > _BULK_SPAN


def _aware(value: Any) -> Any:
    return (
        value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
    )


def _remove(path: Path) -> None:
    """A file and the WAL DuckDB may have left beside it."""
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)


def _page_columns(request: SearchRequest) -> tuple[str, ...]:
    return request.columns or tuple(CONVERSATION_COLUMNS)


_LAST_OF_EACH_KEY = " QUALIFY row_number() OVER (PARTITION BY tenant_id, id ORDER BY _pos DESC) = 1"


_COPIED_ROWS = 2_000
"""Appended batches of at most this many rows are read from a copy (`DuckDBStore._appended`)."""
_COPY = "_batch_copy"


def _keys_unique(table: pa.Table) -> bool:
    # The de-duplicating QUALIFY costs 3x the insert itself; ingest already sends unique keys.
    keys = table.select(["tenant_id", "id"]).group_by(["tenant_id", "id"]).aggregate([])
    return bool(keys.num_rows == table.num_rows)


class DuckDBStore(Store):
    """DuckDB implementation of `Store`."""

    ENGINE = "duckdb"
    SCHEMA_VERSION = migrations.SCHEMA_VERSION

    def __init__(
        self,
        path: str = ":memory:",
        read_only: bool = False,
        *,
        rollups: bool = True,
        bucket_arithmetic: bool = True,
        appends: bool = True,
    ) -> None:
        """Open (creating) a store; `rollups`/`bucket_arithmetic` off force the raw aggregate path,
        `appends` off the replacing upsert for every batch, new keys or not (tests and the
        bench compare the two)."""
        self.path = path
        self.bucket_arithmetic = bucket_arithmetic
        self.appends = appends
        try:
            self._con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise StoreLockedError(f"{path} is in use by another process: {error}") from None
            raise StorageError(f"cannot open {path}: {error}") from None
        self._con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on the terminal for long statements (a migration, a
        # compaction); the server's log and the CLI's own progress display are no place for it.
        self._con.execute("SET enable_progress_bar = false")
        if not read_only:
            # A commit over the default 16 MiB of WAL checkpoints inline: a 50 000-row upsert into
            # the 1M bench store took 2.2 s instead of 0.35 s (measured). 256 MiB bounds the WAL.
            self._con.execute("SET checkpoint_threshold = '256MiB'")
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._as_of: dict[str, datetime | None] = {}
        # The registry's writes (a 7moor or Alibaba nonce on every signed request, a Twin24
        # refresh token) take a lock of their own: behind the conversations' write lock they
        # waited for every ingest transaction (a signed report took 100-650 ms under steady
        # ingest, bench/NOTES.md). Its tables are no store write's, and DuckDB commits
        # transactions on different tables side by side.
        self.registry = DuckDBRegistry(self._cursor, threading.RLock())
        self._unsorted_months: dict[str, int] = {}
        """Per UTC month ('YYYY-MM'), conversations written since it was last rewritten sorted
        (`compaction`); kept in `engine_state` with every upsert, so compaction resumes after a restart."""
        self.read_only = read_only
        self._pending: set[str] = set()
        """Tenants with customers in `pending_contacts` (`flush`)."""
        try:
            self._bring_schema(path, read_only)
        except StorageError:
            self._con.close()  # the file is free for another try (or another version)
            raise
        if not read_only or self._has_table("engine_state"):
            found = self._con.execute(
                "SELECT key, value FROM engine_state WHERE key LIKE ?", [compaction.month_key("%")]
            ).fetchall()
            prefix = len(compaction.month_key(""))
            self._unsorted_months = {key[prefix:]: int(value) for key, value in found}
        if not read_only:
            found = self._con.execute("SELECT DISTINCT tenant_id FROM pending_contacts").fetchall()
            self._pending = {row[0] for row in found}
        self._rollups: list[preagg.Rollup] = []
        self._stale: set[tuple[str, str]] = set()
        """(rollup table, tenant) whose rollup rows wait for `maintain` (a bulk batch)."""
        self._held: dict[str, Measure] = {m.name: m for m in preagg.rollup_measures()}
        if rollups:
            for rollup in preagg.ROLLUPS:
                self._open_rollup(rollup, read_only)
        self._delta_columns = preagg.contact_delta_columns(self._rollups, list(self._held.values()))

    def _zones_of(self, tenant_ids: Sequence[str]) -> dict[str, str]:
        """Tenants' zones (UTC for a tenant without settings, as the rollups cut its days)."""
        tenants = {t: self.registry.get_tenant(t) for t in tenant_ids}
        return {t: s.timezone if s is not None else "UTC" for t, s in tenants.items()}

    def _bring_schema(self, path: str, read_only: bool) -> None:
        """Create the tables and migrate an older file (`migrations`); refuse a newer one."""
        if read_only:
            migrations.refuse_newer(migrations.stored_version(self._con), path)
            return
        created = not self._has_table("conversations")
        for statement in q.ddl():
            self._con.execute(statement)
        migrations.migrate(self._con, path, created)

    def _has_table(self, name: str) -> bool:
        tables = self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        return (name,) in tables

    def _open_rollup(self, rollup: preagg.Rollup, read_only: bool) -> None:
        """Use a rollup, (re)building it when missing or made for other measure definitions."""
        measures = tuple(self._held.values())
        wanted = preagg.signature(rollup, measures)
        key = f"rollup:{rollup.table}"
        found = self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        tables = {row[0] for row in found}
        current = self._con.execute(
            "SELECT value FROM engine_state WHERE key = ?", [key]
        ).fetchall()
        if rollup.table not in tables or not current or current[0][0] != wanted:
            if read_only:
                return  # the raw table answers what this rollup would
            self._con.execute("BEGIN TRANSACTION")
            self._con.execute(preagg.build_sql(rollup, measures))
            if rollup.local_day:
                zones = self._zones_of([t.id for t in self.registry.list_tenants()])
                for sql, params in preagg.fill_sql(rollup, measures, zones):
                    self._con.execute(sql, params)
            self._con.execute(*preagg.clear_moves_sql(rollup))  # counted afresh
            self._con.execute("INSERT OR REPLACE INTO engine_state VALUES (?, ?)", [key, wanted])
            self._con.execute("COMMIT")
        self._rollups.append(rollup)
        found = self._con.execute(
            "SELECT key FROM engine_state WHERE key LIKE ?", [_stale_key(rollup.table, "%")]
        ).fetchall()
        prefix = len(_stale_key(rollup.table, ""))
        self._stale |= {(rollup.table, row[0][prefix:]) for row in found}

    # -- plumbing -------------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._new_cursor()
            self._local.cursor = cursor
        return cursor

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")  # a cursor is a connection of its own
        return cursor

    def _fetch(
        self, sql: str, params: Sequence[Any] = (), at_most: int | None = None
    ) -> list[tuple[Any, ...]]:
        """The result's rows; with `at_most`, ResultTooLarge past that many (none kept)."""
        try:
            result = self._cursor().execute(sql, list(params))
            if at_most is None:
                return result.fetchall()
            rows = result.fetchmany(at_most + 1)
        except duckdb.Error as error:
            raise StorageError(str(error)) from error
        if len(rows) > at_most:
            raise ResultTooLarge(f"the result has more than {at_most} rows")
        return rows

    def _write(
        self,
        statements: Sequence[tuple[str, Sequence[Any]]],
        result: str | None = None,
        **tables: pa.Table,
    ) -> list[tuple[Any, ...]]:
        """Run statements in one transaction; `result`: a SELECT read just before the commit."""
        with self._write_lock:
            cursor = self._cursor()
            for name, table in tables.items():
                cursor.register(name, table)
            try:
                cursor.execute("BEGIN TRANSACTION")
                for sql, params in statements:
                    cursor.execute(sql, list(params))
                rows = cursor.execute(result).fetchall() if result else []
                cursor.execute("COMMIT")
            except duckdb.Error as error:
                cursor.execute("ROLLBACK")
                raise StorageError(f"nothing was stored: {error}") from error
            finally:
                for name in tables:
                    cursor.unregister(name)
        return rows

    def close(self) -> None:
        """Close the database."""
        self._con.close()

    # -- operations -------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The version the file records (`migrations`)."""
        try:
            return migrations.stored_version(self._cursor())
        except duckdb.Error as error:
            raise StorageError(str(error)) from error

    def backup(self, destination: str) -> None:
        """`ATTACH` a new file and `COPY FROM DATABASE` into it: one statement, so one snapshot
        of every table; writers go on meanwhile (measured: 4M rows in 5.5 s while 189 writes
        committed, the copy holding exactly those acknowledged before it began). Written as
        `<destination>.partial`, renamed when complete. The copy is a store file as it is, with
        no WAL beside it."""
        target = Path(destination)
        if target.exists():
            raise StorageError(f"{destination} exists: remove it or choose another name")
        partial = target.with_name(target.name + ".partial")
        _remove(partial)  # left by a copy that failed
        alias = f"backup_{secrets.token_hex(6)}"
        cursor = self._new_cursor()
        try:
            found = cursor.execute("SELECT current_database()").fetchone()
            source = '"' + str(found[0] if found else "memory").replace('"', '""') + '"'
            cursor.execute(f"ATTACH {q.literal(str(partial))} AS {alias}")
            try:
                cursor.execute(f"COPY FROM DATABASE {source} TO {alias}")
            finally:
                cursor.execute(f"DETACH {alias}")
            os.replace(partial, target)
        except (duckdb.Error, OSError) as error:
            _remove(partial)
            raise StorageError(f"the backup to {destination} failed: {error}") from error
        finally:
            cursor.close()

    # -- tenants' zones --------------------------------------------------------------------------
    def retime(self, tenant_id: str, timezone: str) -> Changes:
        """Recut the tenant's local-day rollups in `timezone` (rows stored before the tenant
        existed were cut in UTC days)."""
        measures = tuple(self._held.values())
        statements: list[tuple[str, Sequence[Any]]] = []
        for rollup in (r for r in self._rollups if r.local_day):
            statements.append((f"DELETE FROM {rollup.table} WHERE tenant_id = ?", [tenant_id]))
            statements += preagg.fill_sql(rollup, measures, {tenant_id: timezone})[:1]
            statements.append(preagg.clear_moves_sql(rollup, tenant_id))  # counted afresh
        if statements:
            self._write(statements)
        return Changes.everything(tenant_id)  # a new zone moves every local bucket

    # -- ingest ---------------------------------------------------------------------------------
    def upsert_conversations(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        """Replace on (tenant_id, id), in one transaction: a batch none of whose keys is stored
        is appended, its rows added to the rollups by difference (`_appended`); any other
        deletes the batch's keys, then inserts, its touched rollup slots recomputed
        (`_replaced`)."""
        if conversations.num_rows == 0:
            return Changes()
        unique = _keys_unique(conversations)
        zones = self._zones_of(pc.unique(conversations["tenant_id"]).to_pylist())
        counts = compaction.month_counts(conversations["created_at"])
        with self._write_lock:  # no writer between the probe, the month counts and the commit
            months = {
                month: self._unsorted_months.get(month, 0) + count
                for month, count in counts.items()
            }
            unsorted: list[tuple[str, list[Any]]] = []
            if months:
                values = ", ".join("(?, ?)" for _ in months)
                unsorted.append(
                    (
                        f"INSERT OR REPLACE INTO engine_state VALUES {values}",
                        [v for m, n in months.items() for v in (compaction.month_key(m), str(n))],
                    )
                )
            if self.appends and unique and not self._any_stored(conversations, list(zones)):
                statements, result, batch = self._appended(conversations, zones, messages)
            else:
                statements, result, batch = self._replaced(conversations, zones, unique)
            spans = self._write(
                [*statements, *unsorted], result=result, _batch_c=batch, _batch_m=messages
            )
            self._unsorted_months.update(months)
            self._pending |= zones.keys()
        self._as_of.clear()
        return Changes.of_rows(spans)

    def _any_stored(self, conversations: pa.Table, tenant_ids: list[str]) -> bool:
        """Whether any key of the batch is stored (call under the write lock: no upsert can
        store one before the batch's transaction begins)."""
        cursor = self._cursor()
        cursor.register("_probe", conversations.select(["tenant_id", "id"]))
        # The tenants as literals: the scan skips other tenants' row groups (`contacts._only`).
        only = ", ".join(q.literal(t) for t in sorted(tenant_ids))
        try:
            found = cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM conversations t SEMI JOIN _probe k"
                " ON t.tenant_id = k.tenant_id AND t.id = k.id"
                f" WHERE t.tenant_id IN ({only}))"
            ).fetchone()
        except duckdb.Error as error:
            raise StorageError(f"nothing was stored: {error}") from error
        finally:
            cursor.unregister("_probe")
        return bool(found and found[0])

    def _appended(
        self, conversations: pa.Table, zones: dict[str, str], messages: pa.Table
    ) -> tuple[list[tuple[str, list[Any]]], str, pa.Table]:
        """The statements of a batch that replaces nothing (unique keys, none stored): its
        customers noted pending, its parts added to every rollup (`preagg.merge_sql`, stale
        tenants included: a rebuild of their stale span recomputes its slots anyway, and the
        others stay exact), its rows and messages inserted; the spans it changed are its own.
        Nothing reads the raw table, so a bulk batch leaves nothing stale either."""
        conv_cols = ", ".join(f'"{c}"' for c in CONVERSATION_COLUMNS)
        measures = tuple(self._held.values())
        statements: list[tuple[str, list[Any]]] = []
        batch = "_batch_c"
        if conversations.num_rows <= _COPIED_ROWS:
            # Each statement that scans the Arrow batch pays for its 87 columns whatever the
            # rows: a small batch is copied once into a table of the cursor's own (it keeps the
            # last batch until the next), read by the five statements (a one-row batch: 116 ->
            # 76 ms at 1M, bench/NOTES.md).
            if not getattr(self._local, "copy", False):
                self._cursor().execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_COPY} AS"
                    f" SELECT {conv_cols} FROM conversations LIMIT 0"
                )
                self._local.copy = True
            batch = _COPY
            statements += [
                (f"DELETE FROM {_COPY}", []),
                (f"INSERT INTO {_COPY} BY NAME SELECT * FROM _batch_c", []),
            ]
        statements.append((contacts.pend_batch_sql(batch), []))
        statements += [(preagg.merge_sql(r, measures, zones, batch), []) for r in self._rollups]
        statements.append(
            (f"INSERT INTO conversations ({conv_cols}) SELECT {conv_cols} FROM {batch}", [])
        )
        if messages.num_rows:
            msg_cols = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
            statements.append(
                (f"INSERT INTO messages ({msg_cols}) SELECT {msg_cols} FROM _batch_m", [])
            )
        return statements, contacts.batch_spans_sql(batch), conversations

    def _replaced(
        self, conversations: pa.Table, zones: dict[str, str], unique: bool
    ) -> tuple[list[tuple[str, list[Any]]], str, pa.Table]:
        """The statements of a batch that may replace stored rows: the replaced rows' and the
        batch's customers noted pending and spans collected, the touched rollup slots
        recomputed (or, for a bulk batch, the tenants marked stale), the batch's keys deleted,
        its rows inserted (the last of each key when keys repeat)."""
        conv_cols = ", ".join(f'"{c}"' for c in CONVERSATION_COLUMNS)
        msg_cols = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
        keys = "(SELECT DISTINCT tenant_id, id FROM _batch_c)"
        positions = pa.array(range(conversations.num_rows), pa.int64())
        batch = conversations if unique else conversations.append_column("_pos", positions)
        # The customers touched wait in `pending_contacts` for `flush`. `_span` collects the
        # times the upsert changes, per tenant: kept answers of other times stay valid.
        before: list[tuple[str, list[Any]]] = [
            (contacts.customers_sql(keys), []),
            (contacts.pend_sql(), []),
        ]
        before += [(sql, []) for sql in contacts.spans_sql(keys)]
        rollups_before, after = self._rollup_statements(keys, zones, _is_bulk(conversations))
        before += rollups_before
        after += [(sql, []) for sql in contacts.cleanup_sql()]
        statements = [
            *before,
            (
                f"DELETE FROM conversations t USING {keys} k"
                " WHERE t.tenant_id = k.tenant_id AND t.id = k.id",
                [],
            ),
            (
                f"DELETE FROM messages t USING {keys} k"
                " WHERE t.tenant_id = k.tenant_id AND t.conversation_id = k.id",
                [],
            ),
            (
                f"INSERT INTO conversations ({conv_cols}) SELECT {conv_cols} FROM _batch_c"
                + ("" if unique else _LAST_OF_EACH_KEY),
                [],
            ),
            (f"INSERT INTO messages ({msg_cols}) SELECT {msg_cols} FROM _batch_m", []),
            *after,
        ]
        return statements, contacts.tenant_spans_sql(), batch

    # -- erasure --------------------------------------------------------------------------------
    def erase(
        self,
        tenant_id: str,
        *,
        before: datetime | None = None,
        customer_id: str | None = None,
    ) -> Erased:
        """Conversations go through the upsert's own machinery with an empty batch (their
        customers noted pending, their rollup slots recomputed in the same transaction, or the
        tenant's rollups marked stale when they span more than a day); a whole tenant is
        dropped from every table at once."""
        if before is None and customer_id is None:
            return self._erase_tenant(tenant_id)
        where, params = "tenant_id = ?", [tenant_id]
        if before is not None:
            where += " AND created_at < ?"
            params.append(q._naive(before))
        if customer_id is not None:
            where += " AND customer_id = ?"
            params.append(customer_id)
        erased = self._erase_conversations(tenant_id, where, params)
        if customer_id is not None:
            return erased
        assert before is not None
        intervals, changes = self._erase_intervals(tenant_id, before)
        return replace(erased, intervals=intervals, changes=erased.changes.merge(changes))

    def _erase_conversations(self, tenant_id: str, where: str, params: list[Any]) -> Erased:
        found = self._fetch(
            f"SELECT count(*), min(created_at), max(created_at) FROM conversations WHERE {where}",
            params,
        )
        count, low, high = found[0]
        if not count:
            return Erased()
        keys = "(SELECT tenant_id, id FROM _erase)"
        zones = self._zones_of([tenant_id])
        bulk = low is not None and (high - low).total_seconds() * 1_000_000 > _BULK_SPAN
        before: list[tuple[str, list[Any]]] = [
            (
                f"CREATE OR REPLACE TEMP TABLE _erase AS SELECT tenant_id, id FROM conversations WHERE {where}",
                params,
            ),
            (
                "CREATE OR REPLACE TEMP TABLE _erase_m AS SELECT count(*) AS n FROM messages m"
                " SEMI JOIN _erase k ON m.tenant_id = k.tenant_id AND m.conversation_id = k.id",
                [],
            ),
            (contacts.customers_sql(keys), []),
            (contacts.pend_sql(), []),
        ]
        before += [(sql, []) for sql in contacts.spans_sql(keys)]
        rollups_before, after = self._rollup_statements(keys, zones, bulk)
        empty, no_messages = conversations_to_arrow([], datetime.now(UTC))
        with self._write_lock:
            rows = self._write(
                [
                    *before,
                    *rollups_before,
                    (
                        f"DELETE FROM conversations t USING {keys} k"
                        " WHERE t.tenant_id = k.tenant_id AND t.id = k.id",
                        [],
                    ),
                    (
                        f"DELETE FROM messages t USING {keys} k"
                        " WHERE t.tenant_id = k.tenant_id AND t.conversation_id = k.id",
                        [],
                    ),
                    *after,
                    *((sql, []) for sql in contacts.cleanup_sql()),
                ],
                result=f"SELECT s.*, (SELECT count(*) FROM _erase), (SELECT n FROM _erase_m)"
                f" FROM ({contacts.tenant_spans_sql()}) s",
                _batch_c=empty,
                _batch_m=no_messages,
            )
            self._pending.add(tenant_id)
        self._as_of.clear()
        if not rows:
            return Erased()
        return Erased(rows[0][3], rows[0][4], 0, Changes.of_rows([row[:3] for row in rows]))

    def _erase_intervals(self, tenant_id: str, before: datetime) -> tuple[int, Changes]:
        where = "tenant_id = ? AND ended_at < ?"
        params = [tenant_id, q._naive(before)]
        rows = self._write(
            [
                (
                    "CREATE OR REPLACE TEMP TABLE _ispan AS SELECT tenant_id, started_at,"
                    f" ended_at FROM agent_intervals WHERE {where}",
                    params,
                ),
                (f"DELETE FROM agent_intervals WHERE {where}", params),
            ],
            result="SELECT tenant_id, min(started_at), max(ended_at), count(*) FROM _ispan"
            " GROUP BY ALL",
        )
        if not rows:
            return 0, Changes()
        return int(rows[0][3]), Changes.of_rows([row[:3] for row in rows])

    def _erase_tenant(self, tenant_id: str) -> Erased:
        """Every row of the tenant in every table, its stale marks and pending work."""
        one = [tenant_id]
        statements: list[tuple[str, Sequence[Any]]] = [
            (
                "CREATE OR REPLACE TEMP TABLE _erase_n AS SELECT"
                " (SELECT count(*) FROM conversations WHERE tenant_id = ?) AS c,"
                " (SELECT count(*) FROM messages WHERE tenant_id = ?) AS m,"
                " (SELECT count(*) FROM agent_intervals WHERE tenant_id = ?) AS i",
                [tenant_id] * 3,
            ),
            *(
                (f"DELETE FROM {table} WHERE tenant_id = ?", one)
                for table in (
                    "conversations",
                    "messages",
                    "agent_intervals",
                    "pending_contacts",
                    "contact_moves",
                    *(r.table for r in self._rollups),
                )
            ),
            *(
                ("DELETE FROM engine_state WHERE key = ?", [_stale_key(r.table, tenant_id)])
                for r in self._rollups
            ),
        ]
        with self._write_lock:
            rows = self._write(statements, result="SELECT c, m, i FROM _erase_n")
            self._stale -= {(r.table, tenant_id) for r in self._rollups}
            self._pending.discard(tenant_id)
        self._as_of.clear()
        counts = rows[0]
        return Erased(counts[0], counts[1], counts[2], Changes.everything(tenant_id))

    def pending(self, tenant_id: str) -> bool:
        """Whether upserts left next contacts of the tenant to recompute (`flush`)."""
        return tenant_id in self._pending

    def flush(self, tenant_ids: Sequence[str] | None = None) -> Changes:
        """Recompute the next contacts upserts left pending (`contacts`) for `tenant_ids` (None:
        every tenant), in one transaction: the stored values, and the rollups' FCR counts by
        their difference (for a stale tenant, in `contact_moves` for `maintain`). The service
        calls it before a read of the tenant's answers; the server's background task every few
        seconds."""
        with self._write_lock:
            tenants = sorted(self._pending if tenant_ids is None else self._pending & {*tenant_ids})
            if not tenants or self.read_only:
                return Changes()
            zones = self._zones_of(tenants)
            measures = tuple(self._held.values())
            fresh = {
                r: {t: z for t, z in zones.items() if (r.table, t) not in self._stale}
                for r in self._rollups
            }
            delta: list[tuple[str, list[Any]]] = []
            add: list[tuple[str, list[Any]]] = []
            for rollup, live in fresh.items():
                for tenant_id in zones.keys() - live.keys():
                    delta.append(
                        (preagg.record_moves_sql(), [rollup.table, tenant_id, rollup.table])
                    )
                if live:
                    delta += [(q, []) for q in preagg.contact_delta_sql(rollup, measures, live, -1)]
                    add += [(q, []) for q in preagg.contact_delta_sql(rollup, measures, live, 1)]
                    add += [(q, []) for q in preagg.apply_delta_sql(rollup, measures)]
            spans = self._write(
                [
                    *((sql, []) for sql in contacts.pending_sql(tenants)),
                    (contacts.changed_sql(tenants, self._delta_columns), []),
                    *delta,
                    (contacts.update_sql(), []),
                    *add,
                    *((sql, []) for sql in contacts.cleanup_sql()),
                ],
                result=contacts.tenant_spans_sql("_next"),
            )
            self._pending -= set(tenants)
        return Changes.of_rows(spans)

    def _rollup_statements(
        self, keys: str, zones: dict[str, str], bulk: bool
    ) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Any]]]]:
        """An upsert's rollup work: statements before its DELETE and after its INSERT.

        The slots of the replaced rows and of the batch are recomputed from the raw table in the
        same transaction: a rollup never differs from a fresh aggregation of the rows as stored
        (`flush` then moves the FCR counts of the rows whose next contact changes).
        After a bulk batch the tenants' rollups are marked stale instead (readers use the raw
        table) until `maintain` rebuilds the `created_at` span of the replaced rows and the
        batch, and moves the FCR counts of the rows elsewhere whose next contact changed
        (`contact_moves`).
        """
        fresh = {
            r: {t: z for t, z in zones.items() if not bulk and (r.table, t) not in self._stale}
            for r in self._rollups
        }
        before: list[tuple[str, list[Any]]] = []
        after: list[tuple[str, list[Any]]] = []
        measures = tuple(self._held.values())
        for rollup, tenants in fresh.items():
            for tenant_id in zones.keys() - tenants.keys():
                # `_span` holds the replaced rows and the batch (`contacts.spans_sql`) here.
                stale = _stale_key(rollup.table, tenant_id)
                before.append((preagg.stale_span_sql(), [stale, tenant_id, stale]))
                # Before the commit: a reader that sees the new data also sees the mark.
                self._stale.add((rollup.table, tenant_id))
            if tenants:
                before.append((preagg.touched_sql(rollup, keys, tenants), []))
                after += preagg.refresh_sql(rollup, measures, tenants)
        return before, after

    def upsert_intervals(self, intervals: pa.Table) -> Changes:
        """Replace on (tenant_id, agent_id, kind, status_id, started_at); the changed times are
        those the replaced and the new intervals cover, as `interval_totals` reads every
        interval that overlaps its range."""
        if intervals.num_rows == 0:
            return Changes()
        cols = ", ".join(f'"{c}"' for c in INTERVAL_COLUMNS)
        match = (
            "t.tenant_id = k.tenant_id AND t.agent_id = k.agent_id AND t.kind = k.kind"
            " AND t.status_id IS NOT DISTINCT FROM k.status_id AND t.started_at = k.started_at"
        )
        spans = self._write(
            [
                (
                    "CREATE OR REPLACE TEMP TABLE _ispan AS SELECT t.tenant_id, t.started_at,"
                    f" t.ended_at FROM agent_intervals t SEMI JOIN _batch_i k ON {match}"
                    " UNION ALL SELECT tenant_id, started_at, ended_at FROM _batch_i",
                    [],
                ),
                (f"DELETE FROM agent_intervals t USING _batch_i k WHERE {match}", []),
                (
                    f"INSERT INTO agent_intervals ({cols}) SELECT {cols} FROM _batch_i QUALIFY"
                    " row_number() OVER (PARTITION BY tenant_id, agent_id, kind, status_id, started_at) = 1",
                    [],
                ),
            ],
            # An interval without an end reaches no range (`interval_totals`); none at all: open.
            result="SELECT tenant_id, min(started_at), max(ended_at) FROM _ispan GROUP BY ALL",
            _batch_i=intervals,
        )
        return Changes.of_rows(spans)

    # -- reads ----------------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> Table:
        """Sums and counts per bucket and group (from the rollup when it covers the request)."""
        sql, params = self._aggregate_sql(request)
        columns = (["bucket"] if request.bucket_starts is not None else []) + list(request.group_by)
        columns += [m.name for m in request.measures]
        fetched = self._fetch(sql, params, request.max_rows)
        rows = [tuple(_aware(v) for v in row) for row in fetched]
        return Table(columns, rows, sql)

    def explain(self, request: AggregateRequest) -> str:
        """The SQL `aggregate` runs."""
        return self._aggregate_sql(request)[0]

    def _aggregate_sql(self, request: AggregateRequest) -> tuple[str, list[Any]]:
        arithmetic = self.bucket_arithmetic
        tenant = self.registry.get_tenant(request.tenant_id)
        zone = ZoneInfo(tenant.timezone if tenant is not None else "UTC")
        for rollup in self._rollups:
            if (rollup.table, request.tenant_id) in self._stale:
                continue
            if preagg.covers(rollup, self._held, request, zone):
                return preagg.aggregate_sql(rollup, request, arithmetic)
        return q.aggregate_sql(request, arithmetic)

    def interval_totals(
        self, tenant_id: str, start: datetime, end: datetime, agent_ids: Sequence[str] | None = None
    ) -> list[IntervalTotal]:
        """Agent time per (agent, kind, status), clipped to [start, end)."""
        lo, hi = q._naive(start), q._naive(end)
        sql = (
            "SELECT agent_id, kind, status_id,"
            " sum(greatest(0, epoch(least(ended_at, ?)) - epoch(greatest(started_at, ?)))), count(*)"
            " FROM agent_intervals WHERE tenant_id = ? AND started_at < ? AND ended_at >= ?"
        )
        params: list[Any] = [hi, lo, tenant_id, hi, lo]
        if agent_ids is not None:
            ids_sql, ids_param = q.text_list(agent_ids)
            sql += f" AND agent_id IN (SELECT {ids_sql})"
            params.append(ids_param)
        sql += " GROUP BY ALL ORDER BY ALL"
        return [
            IntervalTotal(r[0], r[1], r[2], float(r[3] or 0), r[4])
            for r in self._fetch(sql, params)
        ]

    def search(self, request: SearchRequest, count: bool = False) -> SearchPage:
        """One page of conversations and, when asked, the total count."""
        cursor = self._cursor()
        try:
            # One snapshot for the page's two steps (rowids) and its count.
            cursor.execute("BEGIN TRANSACTION")
            try:
                columns, rows = self._page_rows(cursor, request)
                total = None
                if count:
                    count_sql, count_params = q.count_sql(request)
                    found = cursor.execute(count_sql, count_params).fetchone()
                    total = found[0] if found else 0
            finally:
                cursor.execute("ROLLBACK")
        except duckdb.Error as error:
            raise StorageError(str(error)) from error
        return SearchPage(columns, rows, total)

    def _page_rows(
        self, cursor: duckdb.DuckDBPyConnection, request: SearchRequest
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """The page's columns and rows: keys sorted first, then the columns fetched for those
        rows only, put in the keys' order."""
        if request.limit == 0:
            return _page_columns(request), []
        if request.limit is None:
            sql, params = q.search_sql(request)
            return _page_columns(request), cursor.execute(sql, params).fetchall()
        keys = self._page_keys(cursor, request)
        bounds = []
        for i, column in enumerate(q.page_bound_columns(request), start=1):
            values = [k[i] for k in keys]
            if values and None not in values:
                bounds.append((column, min(values), max(values)))
        rowids = [k[0] for k in keys]
        sql, params = q.page_rows_sql(request, rowids, bounds)
        by_rowid = {row[0]: row[1:] for row in cursor.execute(sql, params).fetchall()}
        return _page_columns(request), [by_rowid[r] for r in rowids]

    @staticmethod
    def _page_keys(cursor: duckdb.DuckDBPyConnection, request: SearchRequest) -> list[Any]:
        """Step 1 of a page: its keys, from the narrowest window at the range's sorting end that
        holds the whole page (`paging`), else from the whole range."""
        span = paging.FIRST_SPAN
        while (window := paging.narrowed(request, span)) is not None:
            sql, params = q.page_keys_sql(window)
            keys = cursor.execute(sql, params).fetchall()
            if len(keys) == request.limit:
                return keys
            span = paging.next_span(span, request, len(keys))
        sql, params = q.page_keys_sql(request)
        return cursor.execute(sql, params).fetchall()

    def iter_search(
        self, request: SearchRequest, batch_size: int = 5000
    ) -> Iterator[pa.RecordBatch]:
        """Every row of a search in Arrow batches, from a cursor of its own."""
        sql, params = q.search_sql(request)
        cursor = self._new_cursor()
        try:
            result = cursor.execute(sql, params)
            # duckdb 1.5 deprecates fetch_record_batch for to_arrow_reader (the same reader).
            read = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
            reader = read(batch_size)
            yield from reader
        except duckdb.Error as error:
            raise StorageError(str(error)) from error
        finally:
            cursor.close()

    def iter_intervals(self, tenant_id: str, batch_size: int = 5000) -> Iterator[pa.RecordBatch]:
        """Every agent interval of a tenant, in Arrow batches."""
        cols = ", ".join(f'"{c}"' for c in INTERVAL_COLUMNS)
        cursor = self._new_cursor()
        try:
            result = cursor.execute(
                f"SELECT {cols} FROM agent_intervals WHERE tenant_id = ? ORDER BY started_at",
                [tenant_id],
            )
            read = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
            yield from read(batch_size)
        except duckdb.Error as error:
            raise StorageError(str(error)) from error
        finally:
            cursor.close()

    def messages_for(
        self, tenant_id: str, conversation_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Transcripts of some conversations, ordered by seq."""
        out: dict[str, list[dict[str, Any]]] = {cid: [] for cid in conversation_ids}
        if not conversation_ids:
            return out
        ids_sql, ids_param = q.text_list(conversation_ids)
        sql = (
            "SELECT conversation_id, seq, sender, agent_id, text, sent_at, bot_outcome FROM messages"
            f" WHERE tenant_id = ? AND conversation_id IN (SELECT {ids_sql})"
            " ORDER BY conversation_id, seq"
        )
        for row in self._fetch(sql, [tenant_id, ids_param]):
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
        if tenant_id not in self._as_of:
            rows = self._fetch(
                "SELECT max(stored_at) FROM conversations WHERE tenant_id = ?", [tenant_id]
            )
            self._as_of[tenant_id] = _aware(rows[0][0])
        return self._as_of[tenant_id]

    @property
    def unsorted_rows(self) -> int:
        """Conversations written since their month was last rewritten sorted (`compact`)."""
        return sum(self._unsorted_months.values())

    @property
    def unsorted_months(self) -> dict[str, int]:
        """`unsorted_rows` per UTC month of `created_at` ('YYYY-MM')."""
        return dict(self._unsorted_months)

    def maintain(self) -> None:
        """Rebuild stale rollups (`_BULK_SPAN`); once the rows written in arrival order are over
        10% of the table (>= 50 000), rewrite sorted the months they were written into. Changes
        no answer: a rollup equals the rows as stored, pending next contacts or not (`flush`
        moves its FCR counts by their difference afterwards)."""
        self.refresh_stale_rollups()
        if self.unsorted_rows < 50_000:
            return
        total = self._fetch("SELECT count(*) FROM conversations")[0][0]
        if self.unsorted_rows * 10 >= total:
            self.compact(list(self._unsorted_months))

    def refresh_stale_rollups(self) -> None:
        """Rebuild, one tenant at a time, the rollup rows bulk batches left stale: the slots of
        the `created_at` span they changed, or the whole tenant when the mark has no span."""
        measures = tuple(self._held.values())
        rollups = {r.table: r for r in self._rollups}
        for table, tenant_id in sorted(self._stale):
            rollup = rollups[table]
            zone = self._zones_of([tenant_id])
            key = _stale_key(table, tenant_id)
            with self._write_lock:  # no upsert between the rebuild and the unmarking
                span = _stale_span(
                    self._fetch("SELECT value FROM engine_state WHERE key = ?", [key])
                )
                if span is None:
                    rebuild = [
                        (f"DELETE FROM {table} WHERE tenant_id = ?", [tenant_id]),
                        *preagg.fill_sql(rollup, measures, zone)[:1],
                    ]
                else:
                    touched, *refresh = preagg.range_refresh_sql(
                        rollup, measures, tenant_id, zone[tenant_id], *span
                    )
                    moved = preagg.moves_sql(
                        rollup, measures, tenant_id, zone[tenant_id], self._delta_columns
                    )
                    # The moved rows' differences leave out the slots `touched` rebuilds.
                    apply = preagg.apply_moves_sql(rollup, measures) if moved else []
                    rebuild = [touched, *moved, *refresh, *apply]
                done = [
                    preagg.clear_moves_sql(rollup, tenant_id),
                    ("DELETE FROM engine_state WHERE key = ?", [key]),
                ]
                self._write([*rebuild, *done])
                self._stale.discard((table, tenant_id))  # after the commit: readers switch back

    def compact(self, months: Sequence[str] | None = None) -> None:
        """Rewrite conversations and rollups sorted by (tenant_id, time), one UTC month
        ('YYYY-MM') per transaction: `months`, or every month the table holds.

        A tenant's time range then lies in few row groups (zone maps skip the rest). Readers
        keep their snapshot; an upsert waits for one month's rewrite at most; a checkpoint
        every `compaction.CHECKPOINT_ROWS` rewritten rows frees the old blocks for the next
        months, so the file grows by about that much, not by the whole table."""
        sizes = dict(self._fetch(compaction.months_sql()))
        due = sorted(sizes if months is None else months)
        columns = [*CONVERSATION_COLUMNS, *STORE_COLUMNS]
        tables = [r.table for r in self._rollups]
        since_checkpoint = 0
        for number, month in enumerate(due, start=1):
            started = time.perf_counter()
            since_checkpoint += sizes.get(month, 0)
            with self._write_lock:  # plain DML (not DROP/RENAME): readers keep their snapshot
                self._write(
                    [
                        *compaction.rewrite_sql(month, columns, tables),
                        ("DELETE FROM engine_state WHERE key = ?", [compaction.month_key(month)]),
                    ]
                )
                self._unsorted_months.pop(month, None)
                last = number == len(due)
                if self.path != ":memory:" and (
                    last or since_checkpoint >= compaction.CHECKPOINT_ROWS
                ):
                    self._con.execute("CHECKPOINT")
                    since_checkpoint = 0
            log.info(
                "compacted %s (%d of %d) in %.1f s",
                month,
                number,
                len(due),
                time.perf_counter() - started,
            )


def restore_file(source: str, destination: str) -> None:
    """Put the backup `source` (`DuckDBStore.backup`) in place as the store file `destination`,
    which no process may hold. Checks that `source` is a store this code reads, copies it beside
    `destination` and renames it over it, and removes the WAL of the file it replaces (replayed
    over the backup, it would mix the two). Raises StorageError having changed nothing."""
    if not Path(source).is_file():
        raise StorageError(f"{source}: no such backup file")
    try:
        probe = duckdb.connect(source, read_only=True)
    except duckdb.Error as error:
        raise StorageError(f"{source} is not a ccstats store: {error}") from None
    try:
        if not {"conversations", "meta", "tenants"} <= {
            row[0] for row in probe.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }:
            raise StorageError(f"{source} is a DuckDB file, but not a ccstats store")
        migrations.refuse_newer(migrations.stored_version(probe), source)
    finally:
        probe.close()
    target = Path(destination)
    if target.exists():
        try:  # held by a server? (a held file must not be swapped underneath it)
            duckdb.connect(destination).close()
        except duckdb.Error as error:
            if "lock" in str(error).lower():
                raise StoreLockedError(f"{destination} is in use by another process") from None
            # Not a store (damaged, say): replacing it is what a restore is for.
    partial = target.with_name(target.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        Path(destination + ".wal").unlink(missing_ok=True)
        os.replace(partial, target)
    except OSError as error:
        _remove(partial)
        raise StorageError(f"cannot restore {source} to {destination}: {error}") from None
