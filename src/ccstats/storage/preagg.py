"""Pre-aggregates of conversations per 15-minute UTC slot, kept exact on every upsert.

Every zone offset is a whole number of quarter hours, so every hour, day, week, month or year
bucket of any zone, and every local-midnight range, is a union of 15-minute UTC slots. The rollup
holds, per (tenant, slot, channel, access_code, direction), every catalogue measure that reads only
its own row (counts, sums, maxima: not the FCR measures, which look at other conversations, nor
`count_distinct`). An upsert recomputes, in its own transaction, the slots its old and new rows fall
in from the raw table, so the rollup always equals a fresh aggregation (maxima included).
`aggregate` answers from it when the request's measures, filters, group-by and range are covered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.metrics.definitions import Measure
from ccstats.storage import duckdb_sql as q
from ccstats.storage.base import AggregateRequest
from ccstats.timebuckets import local_midnight

__all__ = ["AGENT_ROLLUP", "ROLLUP", "ROLLUPS", "Rollup", "rollup_measures"]

_SLOT_MINUTES = 15


_TENANT_ZONE = (
    "coalesce((SELECT json_extract_string(z.settings, '$.timezone') FROM tenants z"
    " WHERE z.id = {tenant}), 'UTC')"
)


@dataclass(frozen=True)
class Rollup:
    """A pre-aggregate table: its dimensions and slot (15-minute UTC, or the tenant's local day)."""

    table: str
    dims: tuple[str, ...]
    slot_minutes: int = _SLOT_MINUTES
    local_day: bool = False
    """Slots are the tenant's local days (UTC instants of its midnights, in its settings' zone)."""

    @property
    def grid_us(self) -> int:
        """The slot width in microseconds (1 for local days: the bucket formulas hold for any
        instant, hence for local midnights)."""
        return 1 if self.local_day else self.slot_minutes * 60_000_000

    @property
    def touched(self) -> str:
        """The temp table of the (tenant, slot) pairs an upsert touches."""
        return f"_touched_{self.table}"

    def slot_sql(self, column: str, tenant: str = "tenant_id") -> str:
        """The slot of a time (time_bucket's origin, 2000-01-03, is on every 15-minute grid;
        local days through ICU's zone rules, which the tests check against `local_midnight`)."""
        if not self.local_day:
            return f"time_bucket(INTERVAL {self.slot_minutes} MINUTE, {column})"
        zone = _TENANT_ZONE.format(tenant=tenant)
        local = f"timezone({zone}, {column} AT TIME ZONE 'UTC')"
        return f"CAST(timezone({zone}, date_trunc('day', {local})) AS TIMESTAMP)"


ROLLUP = Rollup("conversation_rollup", ("channel", "access_code", "direction"))
"""Dimensions the bucketed reports filter and group on (Huawei, 7moor session, native)."""

AGENT_ROLLUP = Rollup(
    "agent_day_rollup",
    (
        "channel",
        "agent_id",
        "csat_option_id",
        "message_handled_by",
        "transfer_from_agent_id",
        "transfer_to_agent_id",
    ),
    local_day=True,
)
"""Per agent (and the 7moor link columns) per local day: the 7moor agent reports of whole days.
At 10M conversations it holds about 1M rows (a tenant-month of one agent: 30 rows per option)."""

ROLLUPS = (ROLLUP, AGENT_ROLLUP)


def _row_local(measure: Measure) -> bool:
    text = f"{measure.expr or ''} {measure.where or ''}".lower()
    return not any(word in text for word in ("select", "exists", "conversations", " over"))


def rollup_measures() -> tuple[Measure, ...]:
    """Catalogue measures a rollup can hold: count, sum, max that only read their own row."""
    from ccstats.metrics.catalog import CATALOG  # the catalogue imports nothing of storage

    return tuple(
        m
        for m in CATALOG.values()
        if isinstance(m, Measure) and m.kind in ("count", "sum", "max") and _row_local(m)
    )


def signature(rollup: Rollup, measures: Sequence[Measure]) -> str:
    """Changes when the rollup's shape or any measure's definition changes (then: rebuild)."""
    return hashlib.sha256(build_sql(rollup, measures).encode()).hexdigest()[:16]


def _column(measure: Measure) -> str:
    return f'"m_{measure.name}"'


def _partial(measure: Measure) -> str:
    """One slot's part of a measure: sums exact (`EXACT_SUM`) for floats, as the raw path adds."""
    where = f" FILTER (WHERE {measure.where})" if measure.where else ""
    if measure.kind == "count":
        return f"count(*){where}"
    if measure.kind == "max":
        return f"max({measure.expr}){where}"
    if q.is_float_sum(measure):
        return f"sum(CAST({measure.expr} AS {q.EXACT_SUM})){where}"
    # A slot's sum fits a BIGINT; sum() would make it a HUGEINT, 10x slower to scan (measured).
    return f"CAST(sum({measure.expr}){where} AS BIGINT)"


def _final(measure: Measure) -> str:
    """A measure over slots: counts and sums add, maxima take the max."""
    column = f"c.{_column(measure)}"
    if measure.kind == "count":
        return f"coalesce(sum({column}), 0)"  # count(*) of no rows is 0, a sum of none NULL
    if measure.kind == "max":
        return f"max({column})"
    if q.is_float_sum(measure):
        return f"CAST(sum({column}) AS DOUBLE)"
    return f"sum({column})"


def partial_select(rollup: Rollup, measures: Sequence[Measure]) -> str:
    """SELECT list of a rollup's rows from conversations `c` (GROUP BY ALL groups the keys)."""
    keys = ["c.tenant_id AS tenant_id", f"{rollup.slot_sql('c.created_at', 'c.tenant_id')} AS slot"]
    keys += [f"c.{q.quote(d)} AS {q.quote(d)}" for d in rollup.dims]
    parts = [f"{_partial(m)} AS {_column(m)}" for m in measures]
    return ", ".join([*keys, *parts])


def build_sql(rollup: Rollup, measures: Sequence[Measure], tenant_id: str | None = None) -> str:
    """(Re)create the rollup from the whole conversations table; with `tenant_id`, the INSERT
    of that tenant's rows (after its zone changed and its rows were deleted)."""
    if tenant_id is not None:
        return (
            f"INSERT INTO {rollup.table} SELECT {partial_select(rollup, measures)}"
            " FROM conversations c WHERE c.created_at IS NOT NULL AND c.tenant_id = ?"
            " GROUP BY ALL ORDER BY 1, 2"
        )
    return (
        f"CREATE OR REPLACE TABLE {rollup.table} AS SELECT {partial_select(rollup, measures)}"
        " FROM conversations c WHERE c.created_at IS NOT NULL GROUP BY ALL ORDER BY 1, 2"
    )


def touched_sql(rollup: Rollup, keys: str) -> str:
    """Temp table of the (tenant, slot) pairs an upsert's old rows and batch are in.

    Runs before the DELETE: the old rows (found by key) still exist.
    """
    return (
        f"CREATE OR REPLACE TEMP TABLE {rollup.touched} AS SELECT DISTINCT tenant_id, slot FROM ("
        f"SELECT t.tenant_id, {rollup.slot_sql('t.created_at', 't.tenant_id')} AS slot"
        f" FROM conversations t SEMI JOIN {keys} k ON t.tenant_id = k.tenant_id AND t.id = k.id"
        f" UNION ALL SELECT b.tenant_id, {rollup.slot_sql('b.created_at', 'b.tenant_id')}"
        " FROM _batch_c b) WHERE slot IS NOT NULL"
    )


def touched_by_contacts_sql(rollup: Rollup) -> str:
    """Add the slots of the rows whose next contact changes (`contacts._next`): their FCR
    measures move."""
    return (
        f"INSERT INTO {rollup.touched} SELECT DISTINCT n.tenant_id,"
        f" {rollup.slot_sql('n.created_at', 'n.tenant_id')} FROM _next n"
        " WHERE n.created_at IS NOT NULL"
    )


def refresh_sql(rollup: Rollup, measures: Sequence[Measure]) -> list[str]:
    """Recompute the touched slots from the raw table (after the upsert's DELETE and INSERT)."""
    touched = rollup.touched
    lo = f"(SELECT min(slot) FROM {touched})"
    width = "1 DAY + INTERVAL 1 HOUR" if rollup.local_day else f"{rollup.slot_minutes} MINUTE"
    hi = f"(SELECT max(slot) FROM {touched}) + INTERVAL {width}"  # past the last slot's end
    slot = rollup.slot_sql("c.created_at", "c.tenant_id")
    return [
        f"DELETE FROM {rollup.table} r USING {touched} k"
        " WHERE r.tenant_id = k.tenant_id AND r.slot = k.slot",
        f"INSERT INTO {rollup.table} SELECT {partial_select(rollup, measures)}"
        f" FROM conversations c SEMI JOIN {touched} k"
        f" ON c.tenant_id = k.tenant_id AND {slot} = k.slot"
        f" WHERE c.created_at >= {lo} AND c.created_at < {hi} GROUP BY ALL",
        f"DROP TABLE {touched}",
    ]


def covers(
    rollup: Rollup, held: dict[str, Measure], request: AggregateRequest, zone: ZoneInfo
) -> bool:
    """Whether the rollup answers a request exactly: its measures (same definitions), filters
    and group-by on its dimensions, `created_at`, and a range and buckets on its slots (`zone`:
    the tenant's, in which local-day slots are cut)."""
    if request.time_field != "created_at":
        return False
    if any(held.get(m.name) != m for m in request.measures):
        return False
    if any(c not in rollup.dims for c in (*request.group_by, *(f for f, _ in request.filters))):
        return False
    instants = (request.start, request.end, *(request.bucket_starts or ()))
    if rollup.local_day:
        return all(t == local_midnight(t.astimezone(zone).date(), zone) for t in instants)
    return all(q.epoch_us(t) % rollup.grid_us == 0 for t in instants)


def aggregate_sql(
    rollup: Rollup, request: AggregateRequest, arithmetic: bool = True
) -> tuple[str, list[Any]]:
    """The request's SELECT over the rollup (call only when `covers`)."""
    measures = [_final(m) for m in request.measures]
    return q.select_sql(request, rollup.table, "c.slot", measures, arithmetic, rollup.grid_us)
