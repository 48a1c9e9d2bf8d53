"""The change log shared by the processes on one ClickHouse database (`storage.shared`).

Each store object publishes what it changed as rows of `change_log`: its writer name (the name
of its writer leases), a sequence number of its own, and per tenant the span changed. A pull
reads the rows of every other writer past the last sequence number seen of it, logged since
this log was opened (a process keeps no answer from before it started). A writer publishes its
rows in sequence order, one insert at a time, so a row seen means every earlier one of that
writer is seen too. `change_log` keeps a day (TTL). A change of a tenant's every time (its
settings changed) also makes the registry read tenants afresh, so an answer recomputed after
it uses the new settings, not those kept for up to `registry.CACHE_SECONDS`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from ccstats.storage.clickhouse.client import Connection
from ccstats.storage.clickhouse.ddl import TIME
from ccstats.storage.requests import Changes

__all__ = ["ClickHouseChangeLog"]


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class ClickHouseChangeLog:
    """`SharedChanges` over the `change_log` table of a store's database."""

    def __init__(
        self, connection: Connection, writer: str, on_settings: Callable[[], None] | None = None
    ) -> None:
        """Publish as `writer`; pull what others log from now on (the server's clock);
        `on_settings` is called when a pull holds a change of a tenant's every time (its
        settings changed: the registry forgets the tenants it keeps)."""
        self._db = connection
        self._on_settings = on_settings
        self.writer = writer
        self._seq = 0
        self._seen: dict[str, int] = {}
        """Per other writer, the last sequence number pulled."""
        self._publish = threading.Lock()
        self._pull = threading.Lock()
        self._since = connection.query("SELECT now64(6)")[0][0]

    def publish(self, changes: Changes) -> None:
        """Log what this writer changed (one row per tenant, under one sequence number)."""
        if not changes:
            return
        tenants = list(changes.spans)
        with self._publish:  # in sequence order: a reader that saw n has seen n - 1
            self._seq += 1
            rows = pa.table(
                {
                    "writer": [self.writer] * len(tenants),
                    "seq": pa.array([self._seq] * len(tenants), pa.uint64()),
                    "tenant_id": tenants,
                    "lo": pa.array(
                        [_naive(changes.spans[t][0]) for t in tenants], pa.timestamp("us")
                    ),
                    "hi": pa.array(
                        [_naive(changes.spans[t][1]) for t in tenants], pa.timestamp("us")
                    ),
                }
            )
            self._db.insert("change_log", rows, uuid.uuid4().hex)

    def pull(self) -> list[Changes]:
        """What the other writers logged since the last pull, one `Changes` per publish."""
        with self._pull:
            writers = list(self._seen)
            rows = self._db.query(
                f"SELECT writer, seq, tenant_id, lo, hi FROM {self._db.table('change_log')}"
                " WHERE writer != {me:String} AND logged >= {since:" + TIME + "}"
                " AND seq > transform(writer, {ws:Array(String)}, {ss:Array(UInt64)},"
                " toUInt64(0)) ORDER BY writer, seq",
                {
                    "me": self.writer,
                    "since": self._since,
                    "ws": writers,
                    "ss": [self._seen[w] for w in writers],
                },
            )
            grouped: dict[tuple[str, int], list[tuple[str, datetime | None, datetime | None]]] = {}
            for writer, seq, tenant, lo, hi in rows:
                grouped.setdefault((writer, int(seq)), []).append((tenant, lo, hi))
                self._seen[writer] = max(self._seen.get(writer, 0), int(seq))
        pulled = [Changes.of_rows(list(spans)) for spans in grouped.values()]
        whole = any(span == (None, None) for c in pulled for span in c.spans.values())
        if whole and self._on_settings is not None:
            self._on_settings()
        return pulled
