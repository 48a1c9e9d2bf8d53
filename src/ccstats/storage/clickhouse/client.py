"""Where a ClickHouse store lives and how it is reached: `--db` URLs, clients, errors.

- `chdb:///absolute/dir` runs ClickHouse in this process (chDB): tests and one-machine trials.
  chDB holds one data directory per process; clients on that directory share one engine.
- `clickhouse://user:password@host:8123/database` reaches a server over HTTP,
  `clickhouses://...` over HTTPS (port 8443 by default).

Both go through clickhouse-connect, so the SQL and the Arrow paths are the same code. Session
state differs between the two (per client handle in chDB, none over HTTP without sessions), so
the store uses no `SET` and no temporary tables: every setting rides on its statement.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

from ccstats.storage.base import StorageError, StoreLockedError

__all__ = ["Connection", "Target", "parse_url", "redact"]

SCHEMES = ("chdb", "clickhouse", "clickhouses")
"""URL schemes of the ClickHouse engine."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
DEFAULT_DATABASE = "ccstats"


@dataclass(frozen=True)
class Target:
    """A parsed `--db` URL: an embedded directory (`path`) or a server (`host`...)."""

    database: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    secure: bool = False
    cluster: str | None = None

    @property
    def embedded(self) -> bool:
        """Whether this is chDB in the process (else a server over HTTP(S))."""
        return self.path is not None


def _name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise StorageError(f"the {what} name {value!r} must be letters, digits and _")
    return value


def parse_url(url: str) -> Target:
    """Read a `chdb://`, `clickhouse://` or `clickhouses://` URL (see the module docstring).

    `?database=NAME` picks the database of a chDB directory (default `ccstats`); `?cluster=NAME`
    names the cluster of a server (`ON CLUSTER` DDL).

    Example:
        >>> parse_url("clickhouses://app:s%40crt@ch1/stats").port
        8443
        >>> parse_url("chdb:///var/lib/ccstats").database
        'ccstats'
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"database", "cluster"}
    if unknown:
        raise StorageError(f"unknown option(s) in the ClickHouse URL: {', '.join(sorted(unknown))}")
    cluster = _name(query["cluster"], "cluster") if "cluster" in query else None
    if parts.scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/"):
            raise StorageError(
                "a chDB URL names an absolute directory with three slashes: chdb:///absolute/dir"
            )
        database = _name(query.get("database", DEFAULT_DATABASE), "database")
        return Target(database, path=parts.path, cluster=cluster)
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise StorageError(f"not a ClickHouse URL: {redact(url)}")
    if not parts.hostname:
        raise StorageError("a ClickHouse URL names its server: clickhouse://user:pw@host:8123/db")
    secure = parts.scheme == "clickhouses"
    path = parts.path.strip("/")
    database = _name(query.get("database", path or DEFAULT_DATABASE), "database")
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError:
        raise StorageError("the port of the ClickHouse URL is not a number") from None
    return Target(
        database,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        secure=secure,
        cluster=cluster,
    )


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _error(error: Exception) -> StorageError:
    """A StorageError with the server's message (the code, not the text, tells errors apart)."""
    code = getattr(error, "code", None)
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return StorageError(f"ClickHouse error {code}: {message}" if code else message)


def _new_client(t: Target) -> Any:
    import clickhouse_connect

    try:
        if t.embedded:
            return clickhouse_connect.get_client(interface="chdb", path=t.path)
        # Without a session id one client is safe for every thread (with the per-client
        # session it generates, concurrent queries fail: "concurrent queries within the same
        # session").
        return clickhouse_connect.get_client(
            host=t.host,
            port=t.port,
            username=t.username or "default",
            password=t.password or "",
            secure=t.secure,
            autogenerate_session_id=False,
        )
    except ImportError as error:
        raise StorageError(f"cannot reach ClickHouse: {error}") from None
    except Exception as error:  # every client error: the URL's password never in it
        if t.embedded and "initializing EmbeddedServer" in str(error):
            # chDB's only sign that another process holds the directory (no error code).
            raise StoreLockedError(f"{t.path} is in use by another process") from None
        raise _error(error) from None


class _Pool:
    """The clients of one place, shared by every connection to it in this process.

    chDB serializes the calls of one client, so each thread gets its own (they share the one
    engine); a server client without sessions serves every thread. A client costs 0.2-0.5 s to
    make (its handshake queries), so stores opened one after another reuse them.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.users = 0
        self._local = threading.local()
        self._clients: list[Any] = []
        self._shared: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        if not self.target.embedded:
            with self._lock:
                if self._shared is None:
                    self._shared = _new_client(self.target)
                    self._clients.append(self._shared)
                return self._shared
        found = getattr(self._local, "client", None)
        if found is None:
            found = _new_client(self.target)
            self._local.client = found
            with self._lock:
                self._clients.append(found)
        return found

    def close(self) -> None:
        with self._lock:
            clients, self._clients, self._shared = self._clients, [], None
        self._local = threading.local()
        for client in clients:
            try:
                client.close()
            except Exception:  # closing is best effort: the engine may be gone
                pass


_POOLS: dict[tuple[Any, ...], _Pool] = {}
_POOLS_LOCK = threading.Lock()


def _place(t: Target) -> tuple[Any, ...]:
    return (t.path, t.host, t.port, t.username, t.password, t.secure)


class Connection:
    """A store's way to its database: database-qualified names, and every call mapped to
    StorageError. Connections to one place share their clients (`_Pool`)."""

    def __init__(self, target: Target) -> None:
        """Connect (the first client is made at once, so a wrong URL fails here)."""
        try:
            import clickhouse_connect  # noqa: F401  (optional dependency)
        except ImportError:
            raise StorageError(
                "the ClickHouse engine needs clickhouse-connect: pip install 'ccstats[clickhouse]'"
                + (" and chdb" if target.embedded else "")
            ) from None
        self.target = target
        self.database = target.database
        with _POOLS_LOCK:
            self._pool: _Pool | None = _POOLS.setdefault(_place(target), _Pool(target))
            self._pool.users += 1
        try:
            self.client()
        except StorageError:
            self.close()
            raise

    @property
    def open(self) -> bool:
        """Whether the connection is still open (not closed)."""
        return self._pool is not None

    def client(self) -> Any:
        """This thread's client."""
        if self._pool is None:
            raise StorageError("the store is closed")
        return self._pool.client()

    def table(self, name: str) -> str:
        """A table's database-qualified name."""
        return f"`{self.database}`.`{name}`"

    def query(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows of a SELECT (times as naive UTC datetimes)."""
        try:
            result = self.client().query(sql, parameters=dict(params or {}), settings=settings)
            return [tuple(row) for row in result.result_rows]
        except Exception as error:
            raise _error(error) from error

    def query_arrow(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> pa.Table:
        """The rows of a SELECT as one Arrow table."""
        try:
            table: pa.Table = self.client().query_arrow(
                sql, parameters=dict(params or {}), settings=settings, use_strings=True
            )
            return table
        except Exception as error:
            raise _error(error) from error

    def stream(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The rows of a SELECT as Arrow batches, read as they come.

        In chDB an open stream holds its client until read to the end, and a streamed response
        is read from any of the server's threads: the stream gets a client of its own."""
        client = _new_client(self.target) if self.target.embedded else self.client()
        try:
            with client.query_arrow_stream(
                sql, parameters=dict(params or {}), settings=settings, use_strings=True
            ) as stream:
                for block in stream:
                    yield from (block.to_batches() if isinstance(block, pa.Table) else [block])
        except StorageError:
            raise
        except Exception as error:
            raise _error(error) from error
        finally:
            if self.target.embedded:
                client.close()

    def command(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Run a statement without rows (DDL)."""
        try:
            self.client().command(sql, parameters=dict(params or {}), settings=settings)
        except Exception as error:
            raise _error(error) from error

    def insert(self, table: str, rows: pa.Table, token: str) -> None:
        """Insert an Arrow table as one block; `token` makes a resent block count once (each
        table's `non_replicated_deduplication_window`, or the Replicated default)."""
        if rows.num_rows == 0:
            return
        settings: dict[str, Any] = {"insert_deduplication_token": token, "insert_deduplicate": 1}
        if self.target.cluster:
            # Into a Distributed table: written to the shards before the INSERT returns, so
            # the next read (the writer's own lookups) sees it.
            settings["distributed_foreground_insert"] = 1
        try:
            self.client().insert_arrow(self.table(table), rows.combine_chunks(), settings=settings)
        except Exception as error:
            raise _error(error) from error

    def close(self) -> None:
        """Let go of the clients (closed with the last connection to their place)."""
        with _POOLS_LOCK:
            pool, self._pool = self._pool, None
            if pool is None:
                return
            pool.users -= 1
            if pool.users > 0:
                return
            del _POOLS[_place(self.target)]
        pool.close()
