"""The versions of a DuckDB store file's schema, and the migrations between them.

A file records its version in the registry's `meta` (`schema:version`: it versions every table). Opening a file for writing brings it
to `SCHEMA_VERSION`, one migration per transaction (a crash leaves it at the last version it
reached), each logged with what it changed; a new file is created at `SCHEMA_VERSION`. Files from
before versions were recorded are version 0: every migration runs, and each does only what the
file lacks. A file of a newer version than this code is refused (`StorageError`), never written.

To change the schema: add a `Migration` with the next version, and raise `SCHEMA_VERSION`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from ccstats.storage.base import StorageError
from ccstats.storage.duckdb import compaction, contacts
from ccstats.storage.duckdb import sql as q

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "VERSION_KEY", "migrate", "stored_version"]

log = logging.getLogger(__name__)

VERSION_KEY = "schema:version"

_LEGACY_UNSORTED = "compaction:unsorted_rows"
"""Before month-by-month compaction, one count for the whole table."""

_FILLED_CONTACTS = "contacts:next_contact_at"
"""Set by stores of version 0 once they had filled `next_contact_at` (in `engine_state` after
migration 2)."""


@dataclass(frozen=True)
class Migration:
    """One step: the version it brings a file to, what it changes, and the change itself (run
    in a transaction of its own, with the version)."""

    version: int
    description: str
    run: Callable[[duckdb.DuckDBPyConnection], None]


def _stored_columns(con: duckdb.DuckDBPyConnection) -> None:
    for statement in q.added_columns_sql():
        con.execute(statement)


def _engine_state(con: duckdb.DuckDBPyConnection) -> None:
    for statement in q.engine_state_sql():
        con.execute(statement)


def _unsorted_by_month(con: duckdb.DuckDBPyConnection) -> None:
    """A file from before month-by-month compaction has one count of unsorted rows: when it is
    not zero, every month is due for a rewrite."""
    found = con.execute(
        "SELECT value FROM engine_state WHERE key = ?", [_LEGACY_UNSORTED]
    ).fetchall()
    if not found:
        return
    if int(found[0][0]) > 0:
        con.execute(
            "INSERT OR REPLACE INTO engine_state SELECT ? || strftime(created_at, '%Y-%m'),"
            " count(*)::VARCHAR FROM conversations WHERE created_at IS NOT NULL GROUP BY 1",
            [compaction.month_key("")],
        )
    con.execute("DELETE FROM engine_state WHERE key = ?", [_LEGACY_UNSORTED])


def _next_contacts(con: duckdb.DuckDBPyConnection) -> None:
    if con.execute("SELECT 1 FROM engine_state WHERE key = ?", [_FILLED_CONTACTS]).fetchall():
        # The version says it from now on.
        con.execute("DELETE FROM engine_state WHERE key = ?", [_FILLED_CONTACTS])
        return
    for statement in (contacts.all_customers_sql(), contacts.changed_sql()):
        con.execute(statement)
    con.execute(contacts.update_sql())
    for statement in contacts.cleanup_sql():
        con.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "conversations: the columns of newer record models (source) and those stored beside "
        "each record (stored_at, transcript facts, next_contact_at)",
        _stored_columns,
    ),
    Migration(
        2,
        "engine_state: the engine's bookkeeping (rollup signatures, stale marks, unsorted "
        "months, the next-contact fill) moved out of the registry's meta",
        _engine_state,
    ),
    Migration(3, "compaction: unsorted rows counted per month", _unsorted_by_month),
    Migration(4, "next contacts: next_contact_at filled for every conversation", _next_contacts),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The version this code writes and reads."""


def stored_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version a file records (0: none recorded, or no `meta` table yet)."""
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" not in tables:
        return 0
    found = con.execute("SELECT value FROM meta WHERE key = ?", [VERSION_KEY]).fetchall()
    return int(found[0][0]) if found else 0


def refuse_newer(version: int, path: str) -> None:
    """StorageError for a file written by a newer ccstats (its schema is unknown here)."""
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} has store schema {version}, newer than this ccstats reads "
            f"({SCHEMA_VERSION}): upgrade ccstats"
        )


def migrate(con: duckdb.DuckDBPyConnection, path: str, created: bool) -> int:
    """Bring an open file (its tables created, `sql.ddl`) to `SCHEMA_VERSION`; a file just
    `created` starts there. Returns the version the file had."""
    if created:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [VERSION_KEY, str(SCHEMA_VERSION)])
        log.info("created store %s at schema %d", path, SCHEMA_VERSION)
        return SCHEMA_VERSION
    before = stored_version(con)
    refuse_newer(before, path)
    for migration in MIGRATIONS:
        if migration.version <= before:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration.run(con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", [VERSION_KEY, str(migration.version)]
            )
            con.execute("COMMIT")
        except duckdb.Error as error:
            con.execute("ROLLBACK")
            raise StorageError(
                f"{path}: migration to schema {migration.version} failed, the file stays at "
                f"{migration.version - 1}: {error}"
            ) from error
        log.info(
            "store %s: schema %d -> %d: %s",
            path,
            migration.version - 1,
            migration.version,
            migration.description,
        )
    return before
