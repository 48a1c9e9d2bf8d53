"""The DuckDB registry: tenants, credentials and server state in the store's own file.

It shares the store's connection and write lock (`DuckDBStore`): one process holds the file, so
the tenants and credentials read once are kept until this registry writes them, and a
compare-and-set under the write lock is atomic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from ccstats.records import TenantSettings
from ccstats.scope import Scope, ScopeError
from ccstats.storage.base import KeyTaken, StorageError
from ccstats.storage.registry import Credential, Registry

__all__ = ["DuckDBRegistry"]

_CREDENTIALS_KEPT = 10_000
"""Credential lookups kept: unknown keys probed by clients must not pile up."""


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _scope(text: str | None) -> Scope | None:
    if text is None:
        return None
    try:
        return Scope.from_json(text)
    except ScopeError as error:
        raise StorageError(f"a credential's stored scope is unusable: {error}") from None


class DuckDBRegistry(Registry):
    """`Registry` over the `tenants`, `credentials` and `meta` tables of a DuckDB store."""

    def __init__(
        self,
        cursor: Callable[[], duckdb.DuckDBPyConnection],
        write_lock: threading.RLock,
    ) -> None:
        """Use the store's per-thread cursors, and `write_lock` for the registry's writes."""
        self._cursor = cursor
        self._write_lock = write_lock
        self._tenants: dict[str, TenantSettings] | None = None
        self._credentials: dict[tuple[str, str], list[Credential]] = {}
        self._generation = 0
        """Counts writes of tenants and credentials: a lookup read before a write is not kept
        after it (else a reader racing a revocation could keep the revoked credential)."""
        self._kept = threading.Lock()
        self._scope_column: bool | None = None
        """Whether `credentials` has its `scope` column (a file from before scopes opened
        read-only has not: its vendor credentials read with their default scope)."""

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._cursor().execute(sql, list(params)).fetchall()
        except duckdb.Error as error:
            raise StorageError(str(error)) from error

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        with self._write_lock:
            try:
                self._cursor().execute(sql, list(params))
            except duckdb.Error as error:
                raise StorageError(f"nothing was stored: {error}") from error

    def _write_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Statements in one transaction: all or none."""
        with self._write_lock:
            cursor = self._cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                for sql, params in statements:
                    cursor.execute(sql, list(params))
                cursor.execute("COMMIT")
            except duckdb.Error as error:
                cursor.execute("ROLLBACK")
                raise StorageError(f"nothing was changed: {error}") from error

    # -- tenants ----------------------------------------------------------------------------------
    def _tenant_map(self) -> dict[str, TenantSettings]:
        # Every request authenticates against tenants: they are read once and kept until this
        # registry writes them (all writes to a file go through its one process).
        tenants = self._tenants
        if tenants is None:
            generation = self._generation
            rows = self._fetch("SELECT settings FROM tenants ORDER BY id")
            tenants = {t.id: t for t in (TenantSettings.model_validate_json(r[0]) for r in rows)}
            with self._kept:
                if generation == self._generation:
                    self._tenants = tenants
        return tenants

    def _forget(self) -> None:
        """After a write of tenants or credentials (committed): drop every lookup kept."""
        with self._kept:
            self._generation += 1
            self._tenants = None
            self._credentials.clear()

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings | None:
        """Create or replace a tenant's settings; returns the settings it replaced."""
        with self._write_lock:
            before = self._tenant_map().get(tenant.id)
            self._write(
                "INSERT OR REPLACE INTO tenants VALUES (?, ?)",
                [tenant.id, tenant.model_dump_json()],
            )
            self._forget()
        return before

    def get_tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None (a shared object: do not change it)."""
        return self._tenant_map().get(tenant_id)

    def list_tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        return list(self._tenant_map().values())

    # -- credentials ------------------------------------------------------------------------------
    def add_credential(self, credential: Credential, unique: bool = False) -> None:
        """Store a credential; with `unique`, refuse (`KeyTaken`) a key id its kind has already,
        ignoring case and surrounding spaces (checked and written under the write lock)."""
        c = credential
        created = (c.created_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        with self._write_lock:
            if unique and self._fetch(
                "SELECT 1 FROM credentials WHERE kind = ? AND lower(trim(key_id)) = lower(trim(?))",
                [c.kind, c.key_id],
            ):
                raise KeyTaken(f"a {c.kind} credential with key {c.key_id.strip()!r} exists")
            scope = c.with_scope().scope
            self._write(
                "INSERT INTO credentials (tenant_id, kind, key_id, secret_hash, secret,"
                " created_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    c.tenant_id,
                    c.kind,
                    c.key_id,
                    c.secret_hash,
                    c.secret,
                    created,
                    None if scope is None else scope.to_json(),
                ],
            )
            self._forget()

    def find_credentials(self, kind: str, key_id: str) -> list[Credential]:
        """Credentials of a kind with a key id, oldest first (kept until this registry writes
        credentials: every write to the file goes through its one process)."""
        cached = self._credentials.get((kind, key_id))
        if cached is not None:
            return list(cached)
        generation = self._generation
        found = self._credential_rows("kind = ? AND key_id = ?", [kind, key_id])
        with self._kept:
            if generation == self._generation:
                if len(self._credentials) > _CREDENTIALS_KEPT:
                    self._credentials.clear()
                self._credentials[(kind, key_id)] = found
        return list(found)

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        """A tenant's credentials, oldest first."""
        return self._credential_rows("tenant_id = ?", [tenant_id])

    def _credential_rows(self, where: str, params: Sequence[Any]) -> list[Credential]:
        scope = "scope" if self._has_scope_column() else "NULL"
        rows = self._fetch(
            f"SELECT tenant_id, kind, key_id, secret_hash, secret, created_at, {scope}"
            f" FROM credentials WHERE {where} ORDER BY created_at, kind, key_id",
            params,
        )
        return [
            Credential(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                created_at=_aware(row[5]),
                scope=_scope(row[6]),
            ).with_scope()
            for row in rows
        ]

    def delete_credential(self, credential: Credential) -> bool:
        """Delete the matching row; the lookups kept are dropped in the same step."""
        c = credential
        where = (
            "tenant_id = ? AND kind = ? AND key_id = ? AND secret_hash IS NOT DISTINCT FROM ?"
            " AND secret IS NOT DISTINCT FROM ?"
        )
        params = [c.tenant_id, c.kind, c.key_id, c.secret_hash, c.secret]
        with self._write_lock:
            found = self._fetch(f"SELECT count(*) FROM credentials WHERE {where}", params)
            self._write(f"DELETE FROM credentials WHERE {where}", params)
            self._forget()
        return bool(found[0][0])

    def delete_tenant(self, tenant_id: str) -> bool:
        """Delete the tenant's settings and credentials."""
        with self._write_lock:
            existed = tenant_id in self._tenant_map()
            self._write_all(
                [
                    ("DELETE FROM credentials WHERE tenant_id = ?", [tenant_id]),
                    ("DELETE FROM tenants WHERE id = ?", [tenant_id]),
                ]
            )
            self._forget()
        return existed

    def _has_scope_column(self) -> bool:
        if self._scope_column is None:
            found = self._fetch(
                "SELECT 1 FROM duckdb_columns() WHERE table_name = 'credentials'"
                " AND column_name = 'scope'"
            )
            self._scope_column = bool(found)
        return self._scope_column

    # -- server state -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the server's own state, or None."""
        rows = self._fetch("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    def put_meta(self, key: str, value: str | None) -> str | None:
        """Set (None: delete) a value under the write lock; returns the replaced value."""
        with self._write_lock:
            before = self.get_meta(key)
            self._set(key, value)
        return before

    def compare_and_set(self, key: str, expected: str | None, value: str | None) -> bool:
        """Set `key` to `value` only if it holds `expected` (None: absent), under the lock."""
        with self._write_lock:
            if self.get_meta(key) != expected:
                return False
            self._set(key, value)
        return True

    def delete_meta_before(self, prefix: str, cutoff: str) -> int:
        """Delete the values under `prefix` that sort before `cutoff`; how many."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "key LIKE ? ESCAPE '\\' AND value < ?"
        with self._write_lock:
            found = self._fetch(f"SELECT count(*) FROM meta WHERE {where}", [pattern, cutoff])
            self._write(f"DELETE FROM meta WHERE {where}", [pattern, cutoff])
        return int(found[0][0])

    def _set(self, key: str, value: str | None) -> None:
        if value is None:
            self._write("DELETE FROM meta WHERE key = ?", [key])
        else:
            self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
