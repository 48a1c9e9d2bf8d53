"""The 15-minute rollup: a materialized view of signed partial sums per (tenant, 15-minute UTC
slot, channel, access_code, direction, source), which reports read instead of the ledger when it
answers them exactly (`covers`).

Every zone offset is a whole number of quarter hours, so every bucket start and every range
edge on that grid is a union of slots. The view sums the same signed parts the raw path sums
(`sql.measure_parts`), from the same insert blocks, so it never differs from the ledger: a
cancel row subtracts what its row added, in whatever merge state (the design measured 0 of 240
reports wrong under retries and corrections, against 233 for an unsigned view). Its target has
its own deduplication window: a resent block counts once there too. The FCR counts are held as
well: a next-contact rewrite is a cancel and a state row like any other.

The view's shape follows the catalogue: its signature is kept in `meta`, and a store that finds
another one drops the rollup and rebuilds it from the ledger (under the write lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.storage.clickhouse import sql as q
from ccstats.storage.clickhouse.aggregate import Plan, epoch_us, grid_of

__all__ = ["DIMS", "SLOT_US", "Rollup", "held_measures", "holds"]

SLOT_US = 15 * 60 * 1_000_000
DIMS = ("channel", "access_code", "direction", "source")
"""What the bucketed reports filter and group on (Huawei, 7moor sessions, native; `source` so a
vendor credential's scope stays on the rollup)."""

TABLE, VIEW = "conversation_rollup", "conversation_rollup_mv"
SIGNATURE_KEY = "clickhouse:rollup_signature"


def holds(measure: Measure) -> bool:
    """Whether the rollup can hold a measure: a count or sum that reads only its own row, or a
    `no_repeat_within`, which here reads only its row's stored next contact (the ledger
    rewrites a row whose next contact changed, as a cancel and a state row)."""
    if measure.kind == "no_repeat_within":
        return True
    return measure.kind in ("count", "sum") and measure.reads_only_its_row


def held_measures() -> tuple[Measure, ...]:
    """The catalogue's measures the rollup holds (`holds`)."""
    from ccstats.metrics.catalog import CATALOG  # the catalogue imports nothing of storage

    return tuple(m for m in CATALOG.values() if isinstance(m, Measure) and holds(m))


def _slot(expr: str) -> str:
    """The 15-minute slot (epoch microseconds) of a time, floored (also before 1970)."""
    us = f"toUnixTimestamp64Micro({expr})"
    return f"({us} - ((({us} % {SLOT_US}) + {SLOT_US}) % {SLOT_US}))"


@dataclass(frozen=True)
class Rollup:
    """The rollup of a database (`db`: its quoted name) for the held measures."""

    db: str
    measures: tuple[Measure, ...]

    @property
    def table(self) -> str:
        """The rollup table's qualified name."""
        return f"{self.db}.`{TABLE}`"

    def _columns(self) -> list[tuple[str, str, str]]:
        """(column, type, aggregate over conversations) of every part, in order."""
        out = [("_live", "Int64", "sum(sign)")]
        for i, measure in enumerate(self.measures):
            parts = q.measure_parts(measure, i)
            if q.is_count(measure):
                out.append((f"m_{measure.name}", "Int64", parts[0].rsplit(" AS ", 1)[0]))
            else:
                kind = "Int128" if q.is_float_sum(measure) else "Int64"
                out.append((f"m_{measure.name}", kind, parts[0].rsplit(" AS ", 1)[0]))
                out.append((f"n_{measure.name}", "Int64", parts[1].rsplit(" AS ", 1)[0]))
        return out

    def _select(self, source: str) -> str:
        keys = ["tenant_id", f"{_slot('created_at')} AS slot", *(f"`{d}`" for d in DIMS)]
        parts = [f"{agg} AS `{name}`" for name, _, agg in self._columns()]
        return (
            f"SELECT {', '.join([*keys, *parts])} FROM {source}"
            f" GROUP BY tenant_id, slot, {', '.join(f'`{d}`' for d in DIMS)}"
        )

    def create(self) -> list[str]:
        """The table, then the view from the ledger (idempotent)."""
        sums = ", ".join(f"`{name}` {kind}" for name, kind, _ in self._columns())
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (tenant_id LowCardinality(String),"
            " slot Int64, channel LowCardinality(String), access_code Nullable(String),"
            " direction LowCardinality(String), source Nullable(String),"
            f" {sums}) ENGINE = SummingMergeTree"
            f" ORDER BY (tenant_id, slot, {', '.join(DIMS)})"
            " SETTINGS allow_nullable_key = 1, non_replicated_deduplication_window = 1000",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self.db}.`{VIEW}` TO {self.table}"
            f" AS {self._select(f'{self.db}.`conversations`')}",
        ]

    def drop(self) -> list[str]:
        """Drop the view, then the table."""
        return [f"DROP VIEW IF EXISTS {self.db}.`{VIEW}`", f"DROP TABLE IF EXISTS {self.table}"]

    def backfill(self) -> str:
        """Fill the table from the ledger as it is (run before the view exists)."""
        return f"INSERT INTO {self.table} {self._select(f'{self.db}.`conversations`')}"

    def signature(self) -> str:
        """Changes when the rollup's shape or a held measure's definition changes."""
        text = "\n".join(self.create())
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def covers(self, request: AggregateRequest) -> bool:
        """Whether the rollup answers the request exactly: held measures only, dimensions only,
        `created_at` ranges and buckets on the 15-minute grid."""
        held = {m.name: m for m in self.measures}
        if request.time_field != "created_at":
            return False
        if any(held.get(m.name) != m for m in request.measures):
            return False
        if any(g not in DIMS for g in request.group_by):
            return False
        if any(column not in DIMS for column, _ in request.filters):
            return False
        edges = [request.start, request.end, *(request.bucket_starts or ())]
        return all(epoch_us(t) % SLOT_US == 0 for t in edges)

    def plan(self, request: AggregateRequest) -> Plan:
        """The SELECT of a covered request's partial sums per slot and group (laid out as
        `aggregate.plan`'s, for `aggregate.fold`)."""
        params = q.Params()
        lo, hi = (
            params.add(epoch_us(request.start), "Int64"),
            params.add(epoch_us(request.end), "Int64"),
        )
        where = (
            f"c.tenant_id = {params.text(request.tenant_id)} AND c.slot >= {lo} AND c.slot < {hi}"
        )
        keys: list[str] = []
        starts_us: tuple[int, ...] | None = None
        grid = 0
        if request.bucket_starts is not None:
            starts_us = tuple(epoch_us(b) for b in request.bucket_starts)
            grid = grid_of(starts_us)
            first = params.add(starts_us[0], "Int64")
            where += f" AND c.slot >= {first}"
            slot = (
                f"intDiv(c.slot - {first}, {params.add(grid, 'Int64')})" if grid else "toInt64(0)"
            )
            keys.append(f"{slot} AS _slot")
        keys += [f"{q.column(g)} AS `g_{g}`" for g in request.group_by]
        where += q.filters_sql(request.filters, params)
        parts = ["sum(c._live)"]
        for measure in request.measures:
            parts.append(f"sum(c.`m_{measure.name}`)")
            if measure.kind == "sum":
                parts.append(f"sum(c.`n_{measure.name}`)")
        sql = f"SELECT {', '.join([*keys, *parts])} FROM {self.table} AS c WHERE {where}"
        if keys:  # slots without a live row add nothing (as `aggregate.plan`)
            sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
            sql += " HAVING sum(c._live) > 0"
        return Plan(sql, params.values, request.measures, starts_us, grid, len(request.group_by))
