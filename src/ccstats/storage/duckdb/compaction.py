"""Keeping conversations sorted, one calendar month at a time (SQL and bookkeeping for
`DuckDBStore.compact`).

Rows arrive in arrival order; zone maps only skip row groups when a tenant's time range sits in
few of them. Compaction rewrites a UTC month of `created_at` at a time, sorted by tenant and
time, and appends it: the table becomes a run of months, each sorted by (tenant_id, created_at),
so a tenant's day or month still lies in one or two row groups.

Why a month per transaction, not the whole table in one (as before): at 10M conversations the
single rewrite took 96 s under the write lock (no ingest meanwhile), held the sorted copy of the
whole table in memory (6.7 GB RSS), and left the file at twice its data, because the old blocks
are only freed after the new ones are written (bench/NOTES.md, phase 5). A month is about a
tenth of that; a checkpoint every `CHECKPOINT_ROWS` rewritten rows frees the old blocks for the
next months; and only the months that received rows since their last rewrite need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CHECKPOINT_ROWS",
    "MONTH_PREFIX",
    "month_bounds",
    "month_counts",
    "month_key",
    "months_sql",
    "rewrite_sql",
]

CHECKPOINT_ROWS = 250_000
"""Rows rewritten between two checkpoints. A checkpoint frees the rewritten months' old blocks
for the next months (the file grows by about this much, not by the whole table); but each one
also closes the row group being filled, whose next rows then go to segments of their own, which
compress worse. Measured on the bench stores (file bytes per conversation after compacting the
whole store): a checkpoint after every month gave 485 B at 100k (months of 8 000 rows) and
152 B at 10M (months of 830 000); one every 1M rows gave 351 B at 100k but 181 B at 10M; this
value gave 349 B and 152 B."""

MONTH_PREFIX = "compaction:month:"
"""Meta keys `compaction:month:YYYY-MM`: rows written into that month since its last rewrite."""


def month_key(month: str) -> str:
    """The `engine_state` key that counts a month's unsorted rows."""
    return MONTH_PREFIX + month


def month_counts(created_at: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Rows per UTC month ('YYYY-MM') of a batch's `created_at` (nulls left out)."""
    present = pc.drop_null(created_at)
    if len(present) == 0:
        return {}
    months = pc.add(pc.multiply(pc.year(present), 100), pc.month(present))
    counted = pc.value_counts(months)
    return {
        f"{value // 100:04d}-{value % 100:02d}": count
        for value, count in zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
        )
    }


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's (naive UTC, as the table stores times)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def months_sql() -> str:
    """Every month the conversations table holds rows of ('YYYY-MM', oldest first) and its
    number of rows."""
    return (
        "SELECT strftime(created_at, '%Y-%m') AS month, count(*) FROM conversations"
        " WHERE created_at IS NOT NULL GROUP BY 1 ORDER BY 1"
    )


def rewrite_sql(
    month: str, columns: Sequence[str], rollups: Iterable[str]
) -> list[tuple[str, list[Any]]]:
    """Statements that rewrite one month sorted, in one transaction: the conversations created
    in it, and the rows of each rollup table whose slot falls in it (rollup slots are local
    times, so a slot near a month's edge may go with the neighbouring month; order only)."""
    start, end = month_bounds(month)
    cols = ", ".join(f'"{c}"' for c in columns)
    statements: list[tuple[str, list[Any]]] = [
        (
            "CREATE OR REPLACE TEMP TABLE _sorted AS SELECT * FROM conversations"
            " WHERE created_at >= ? AND created_at < ? ORDER BY tenant_id, created_at",
            [start, end],
        ),
        ("DELETE FROM conversations WHERE created_at >= ? AND created_at < ?", [start, end]),
        (f"INSERT INTO conversations ({cols}) SELECT {cols} FROM _sorted", []),
        ("DROP TABLE _sorted", []),
    ]
    for table in rollups:
        statements += [
            (
                f"CREATE OR REPLACE TEMP TABLE _rsorted AS SELECT * FROM {table}"
                " WHERE slot >= ? AND slot < ? ORDER BY 1, 2",
                [start, end],
            ),
            (f"DELETE FROM {table} WHERE slot >= ? AND slot < ?", [start, end]),
            (f"INSERT INTO {table} SELECT * FROM _rsorted", []),
            ("DROP TABLE _rsorted", []),
        ]
    return statements
