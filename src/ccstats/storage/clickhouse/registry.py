"""The ClickHouse registry: tenants, credentials and server state in the store's database.

`tenants` and `meta` are ReplacingMergeTree tables (a write is a row of a higher version; a
deleted value a row marked `deleted`). `meta`'s writes are compare-and-set across threads and
processes: ClickHouse keeps one block per insert token, and every writer replacing the same
state uses the same token (`ClickHouseRegistry._swap`), so nonces, Huawei tokens, Twin24
refresh tokens and writer leases stay one-use with several processes on one database.
Tenants and credentials read are kept for `CACHE_SECONDS`, so a change made by another process
is seen within that time (this process's own at once).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ccstats.records import TenantSettings
from ccstats.scope import Scope, ScopeError
from ccstats.storage.base import KeyTaken, StorageError
from ccstats.storage.clickhouse.client import Connection
from ccstats.storage.registry import Credential, Registry

__all__ = ["CACHE_SECONDS", "ClickHouseRegistry"]

CACHE_SECONDS = 2.0
"""How long tenants and credentials read are kept (every request authenticates against them)."""

_SWAP_TRIES = 100
"""Attempts of `put_meta` against writers that change the same value meanwhile."""

_CREDENTIALS_KEPT = 10_000
"""Credential lookups kept: unknown keys probed by clients must not pile up."""


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class ClickHouseRegistry(Registry):
    """`Registry` over the `tenants`, `credentials` and `meta` tables of a ClickHouse store."""

    def __init__(
        self,
        connection: Connection,
        write_lock: threading.RLock,
        version: Callable[[], int],
        token: Callable[[], str],
    ) -> None:
        """Use the store's connection, its write lock, its version clock and insert tokens."""
        self._db = connection
        self._write_lock = write_lock
        self._version = version
        self._token = token
        self._tenants: tuple[float, dict[str, TenantSettings]] | None = None
        self._credentials: dict[tuple[str, str], tuple[float, list[Credential]]] = {}
        self._kept = threading.Lock()
        self._generation = 0
        """Bumped by every write of tenants or credentials: a lookup that read before it is
        not kept (it may hold a credential just deleted)."""

    def forget(self) -> None:
        """Drop the tenants and credentials kept: the next reads go to the database (after a
        write here, or another process changed a tenant)."""
        with self._kept:
            self._generation += 1
            self._tenants = None
            self._credentials.clear()

    # -- tenants ----------------------------------------------------------------------------------
    def _tenant_map(self) -> dict[str, TenantSettings]:
        kept = self._tenants
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[1]
        generation = self._generation
        rows = self._db.query(f"SELECT settings FROM {self._db.table('tenants')} FINAL ORDER BY id")
        tenants = {t.id: t for t in (TenantSettings.model_validate_json(r[0]) for r in rows)}
        with self._kept:
            if generation == self._generation:
                self._tenants = (time.monotonic(), tenants)
        return tenants

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings | None:
        """Create or replace a tenant's settings; returns the settings it replaced."""
        with self._write_lock:
            self.forget()
            before = self._tenant_map().get(tenant.id)
            row = pa.table(
                {
                    "id": [tenant.id],
                    "settings": [tenant.model_dump_json()],
                    "version": pa.array([self._version()], pa.uint64()),
                }
            )
            self._db.insert("tenants", row, self._token())
            self.forget()
        return before

    def get_tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None (a shared object: do not change it)."""
        return self._tenant_map().get(tenant_id)

    def list_tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        return list(self._tenant_map().values())

    def delete_tenant(self, tenant_id: str) -> bool:
        """Delete the tenant's settings and credentials (lightweight deletes: gone from every
        read at once, from the disk at the next merges)."""
        with self._write_lock:
            self.forget()
            existed = tenant_id in self._tenant_map()
            params = {"t": tenant_id}
            table = self._db.table
            self._db.command(
                f"DELETE FROM {table('credentials')} WHERE tenant_id = {{t:String}}", params
            )
            self._db.command(f"DELETE FROM {table('tenants')} WHERE id = {{t:String}}", params)
            self.forget()
        return existed

    # -- credentials ------------------------------------------------------------------------------
    def add_credential(self, credential: Credential, unique: bool = False) -> None:
        """Store a credential; with `unique`, refuse (`KeyTaken`) a key id its kind has already,
        ignoring case and surrounding spaces (checked and written under the write lock: one
        at a time in this process)."""
        c = credential
        created = _naive(c.created_at or datetime.now(UTC))
        row = pa.table(
            {
                "tenant_id": [c.tenant_id],
                "kind": [c.kind],
                "key_id": [c.key_id],
                "secret_hash": pa.array([c.secret_hash], pa.string()),
                "secret": pa.array([c.secret], pa.string()),
                "created_at": pa.array([created], pa.timestamp("us")),
                "scope": pa.array([_scope_text(c.with_scope().scope)], pa.string()),
            }
        )
        with self._write_lock:
            if unique and self._key_taken(c.kind, c.key_id):
                raise KeyTaken(f"a {c.kind} credential with key {c.key_id.strip()!r} exists")
            self._db.insert("credentials", row, self._token())
            self.forget()

    def _key_taken(self, kind: str, key_id: str) -> bool:
        rows = self._db.query(
            f"SELECT 1 FROM {self._db.table('credentials')} WHERE kind = {{k:String}}"
            " AND lowerUTF8(trimBoth(key_id)) = lowerUTF8(trimBoth({i:String})) LIMIT 1",
            {"k": kind, "i": key_id},
        )
        return bool(rows)

    def _credential_rows(self, where: str, params: dict[str, Any]) -> list[Credential]:
        rows = self._db.query(
            "SELECT tenant_id, kind, key_id, secret_hash, secret, created_at, scope FROM"
            f" {self._db.table('credentials')} WHERE {where} ORDER BY created_at, kind, key_id",
            params,
        )
        return [
            Credential(
                r[0], r[1], r[2], r[3], r[4], created_at=_aware(r[5]), scope=_stored_scope(r[6])
            ).with_scope()  # a vendor credential stored before scopes: its kind's default
            for r in rows
        ]

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        """A tenant's credentials, oldest first."""
        return self._credential_rows("tenant_id = {t:String}", {"t": tenant_id})

    def find_credentials(self, kind: str, key_id: str) -> list[Credential]:
        """Credentials of a kind with a key id, oldest first (kept `CACHE_SECONDS`; this
        process's own deletions drop them at once)."""
        kept = self._credentials.get((kind, key_id))
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return list(kept[1])
        generation = self._generation
        found = self._credential_rows(
            "kind = {k:String} AND key_id = {i:String}", {"k": kind, "i": key_id}
        )
        with self._kept:
            if generation == self._generation:
                if len(self._credentials) > _CREDENTIALS_KEPT:
                    self._credentials.clear()
                self._credentials[(kind, key_id)] = (time.monotonic(), found)
        return list(found)

    def delete_credential(self, credential: Credential) -> bool:
        """Delete the stored credential equal to `credential`; the lookups kept are dropped in
        the same step (a lookup racing it is not kept)."""
        c = credential
        params: dict[str, Any] = {"t": c.tenant_id, "k": c.kind, "i": c.key_id}
        where = "tenant_id = {t:String} AND kind = {k:String} AND key_id = {i:String}"
        for column, value in (("secret_hash", c.secret_hash), ("secret", c.secret)):
            if value is None:
                where += f" AND {column} IS NULL"
            else:
                where += f" AND {column} = {{{column}:String}}"
                params[column] = value
        table = self._db.table("credentials")
        with self._write_lock:
            found = self._db.query(f"SELECT count() FROM {table} WHERE {where}", params)
            self.forget()
            self._db.command(f"DELETE FROM {table} WHERE {where}", params)
            self.forget()
        return bool(found[0][0])

    # -- server state -----------------------------------------------------------------------------
    def _current(self, key: str) -> tuple[str | None, int]:
        """A key's value (None: absent or deleted) and the version of its newest row (0: never
        written), read from every row of the key: deletions included, merged or not."""
        rows = self._db.query(
            "SELECT argMax(value, (version, writer)), argMax(deleted, (version, writer)),"
            f" max(version) FROM {self._db.table('meta')} WHERE key = {{k:String}}"
            " GROUP BY key",
            {"k": key},
        )
        if not rows:
            return None, 0
        value, deleted, version = rows[0]
        return (None if deleted else str(value)), int(version)

    def get_meta(self, key: str) -> str | None:
        """A value of the server's own state, or None."""
        return self._current(key)[0]

    def put_meta(self, key: str, value: str | None) -> str | None:
        """Set (None: delete) a value; returns the replaced value. A swap: of two processes
        replacing one value at once, each gets back a different one (a one-use token is
        handed to one of them)."""
        with self._write_lock:
            for _ in range(_SWAP_TRIES):
                before, version = self._current(key)
                if self._swap(key, version, value):
                    return before
        raise StorageError(f"the server state {key!r} changed {_SWAP_TRIES} times while set")

    def compare_and_set(self, key: str, expected: str | None, value: str | None) -> bool:
        """Set `key` to `value` only if it holds `expected` (None: absent); atomic across
        threads and processes (`_swap`)."""
        with self._write_lock:
            current, version = self._current(key)
            if current != expected:
                return False
            return self._swap(key, version, value)

    def _swap(self, key: str, seen: int, value: str | None) -> bool:
        """Write `value` over the key's state of version `seen`, unless another writer did
        first; whether this one did.

        ClickHouse has no compare-and-set, but it keeps one block per insert token (each
        table's deduplication window): every writer that read the same state inserts under the
        same token, `cas`, so one row is stored, and the writer whose row it is won. A state a
        writer did not see has another token, so a stale writer cannot overwrite it. Exact while
        fewer than the window's 1000 blocks reach `meta` between two racing inserts."""
        cas = hashlib.sha256(f"{self._db.database}\0{key}\0{seen}".encode()).hexdigest()
        writer = self._token()
        row = pa.table(
            {
                "key": [key],
                "value": [value or ""],
                "version": pa.array([max(self._version(), seen + 1)], pa.uint64()),
                "deleted": pa.array([1 if value is None else 0], pa.uint8()),
                "cas": [cas],
                "writer": [writer],
            }
        )
        self._db.insert("meta", row, cas)
        stored = self._db.query(
            f"SELECT writer FROM {self._db.table('meta')} WHERE key = {{k:String}}"
            " AND cas = {c:String} ORDER BY version, writer LIMIT 1",
            {"k": key, "c": cas},
        )
        return bool(stored) and stored[0][0] == writer

    def delete_meta_before(self, prefix: str, cutoff: str) -> int:
        """Delete the values under `prefix` that sort before `cutoff`; how many.

        Each deletion is a row one version above the state it read: a value another writer
        set meanwhile has a newer version (from its clock) and stays."""
        with self._write_lock:
            rows = self._db.query(
                "SELECT key, newest FROM (SELECT key, argMax(value, (version, writer)) AS v,"
                " argMax(deleted, (version, writer)) AS gone, max(version) AS newest"
                f" FROM {self._db.table('meta')} WHERE startsWith(key, {{p:String}})"
                " GROUP BY key) WHERE NOT gone AND v < {c:String}",
                {"p": prefix, "c": cutoff},
            )
            if rows:
                table = pa.table(
                    {
                        "key": [r[0] for r in rows],
                        "value": [""] * len(rows),
                        "version": pa.array([int(r[1]) + 1 for r in rows], pa.uint64()),
                        "deleted": pa.array([1] * len(rows), pa.uint8()),
                        "cas": [""] * len(rows),
                        "writer": [""] * len(rows),
                    }
                )
                self._db.insert("meta", table, self._token())
        return len(rows)


def _scope_text(scope: Scope | None) -> str | None:
    return None if scope is None else scope.to_json()


def _stored_scope(text: str | None) -> Scope | None:
    if text is None:
        return None
    try:
        return Scope.from_json(text)
    except ScopeError as error:
        raise StorageError(f"a credential's stored scope is unusable: {error}") from None
