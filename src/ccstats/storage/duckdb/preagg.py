"""Pre-aggregates of conversations per 15-minute UTC slot, kept exact on every upsert.

Every zone offset is a whole number of quarter hours, so every hour, day, week, month or year
bucket of any zone, and every local-midnight range, is a union of 15-minute UTC slots. The rollup
holds, per (tenant, slot, channel, access_code, direction, source), every catalogue measure that reads only
its own row (counts, sums, maxima: not the FCR measures, which look at other conversations, nor
`count_distinct`). An upsert that replaces stored rows recomputes, in its own transaction, the slots
its old and new rows fall in from the raw table; one whose keys are all new adds its own aggregates
to its slots (`merge_sql`). Either way the rollup always equals a fresh aggregation (maxima
included).
`aggregate` answers from it when the request's measures, filters, group-by and range are covered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest
from ccstats.schema import CONVERSATION_COLUMNS, STORE_COLUMNS
from ccstats.storage.duckdb import sql as q
from ccstats.timebuckets import local_midnight

__all__ = [
    "AGENT_ROLLUP",
    "ROLLUP",
    "ROLLUPS",
    "Rollup",
    "fill_sql",
    "merge_sql",
    "rollup_measures",
]

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

    def slot_sql(self, column: str, tenant: str = "tenant_id", zone: str | None = None) -> str:
        """The slot of a time (time_bucket's origin, 2000-01-03, is on every 15-minute grid;
        local days through ICU's zone rules, which the tests check against `local_midnight`).

        `zone`: the tenant's zone when known. ICU with a constant zone is 12x faster than with
        one looked up per row (0.25 vs 3 us a row, measured), so whole-table work passes it.
        """
        if not self.local_day:
            return f"time_bucket(INTERVAL {self.slot_minutes} MINUTE, {column})"
        tz = _TENANT_ZONE.format(tenant=tenant) if zone is None else q.literal(zone)
        local = f"timezone({tz}, ({column}) AT TIME ZONE 'UTC')"
        return f"CAST(timezone({tz}, date_trunc('day', {local})) AS TIMESTAMP)"


ROLLUP = Rollup("conversation_rollup", ("channel", "access_code", "direction", "source"))
"""Dimensions the bucketed reports filter and group on (Huawei, 7moor session, native; `source`
so a vendor credential's scope stays on the pre-aggregate path)."""

AGENT_ROLLUP = Rollup(
    "agent_day_rollup",
    (
        "channel",
        "agent_id",
        "csat_option_id",
        "message_handled_by",
        "transfer_from_agent_id",
        "transfer_to_agent_id",
        "left_message",
        "source",
    ),
    local_day=True,
)
"""Per agent (and the 7moor link columns, and `left_message`, which sets an agent's received
sessions apart) per local day: the 7moor agent reports of whole days. `source`: a 7moor
credential's scope narrows them by source (without it, a scoped report read the raw table: 107
against 12 ms at 10M, bench/NOTES.md).
At 10M conversations it holds about 1M rows (a tenant-month of one agent: 30 rows per option)."""

ROLLUPS = (ROLLUP, AGENT_ROLLUP)


def _holds(measure: Measure) -> bool:
    """Whether a rollup can hold a measure: a count, sum or max that reads only its own row, or
    a `no_repeat_within`, which reads only its row's stored next contact here (`contacts`)."""
    if measure.kind == "no_repeat_within":
        return True
    return measure.kind in ("count", "sum", "max") and measure.reads_only_its_row


def rollup_measures() -> tuple[Measure, ...]:
    """Catalogue measures a rollup can hold (`_holds`)."""
    from ccstats.metrics.catalog import CATALOG  # the catalogue imports nothing of storage

    return tuple(m for m in CATALOG.values() if isinstance(m, Measure) and _holds(m))


def signature(rollup: Rollup, measures: Sequence[Measure]) -> str:
    """Changes when the rollup's shape or any measure's definition changes (then: rebuild)."""
    return hashlib.sha256(build_sql(rollup, measures).encode()).hexdigest()[:16]


def _column(measure: Measure) -> str:
    return f'"m_{measure.name}"'


def _partial(measure: Measure) -> str:
    """One slot's part of a measure: sums exact (`EXACT_SUM`) for floats, as the raw path adds."""
    where = q.filter_sql(measure)
    if measure.kind in ("count", "no_repeat_within"):
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
    if measure.kind in ("count", "no_repeat_within"):
        return f"coalesce(sum({column}), 0)"  # count(*) of no rows is 0, a sum of none NULL
    if measure.kind == "max":
        return f"max({column})"
    if q.is_float_sum(measure):
        return f"CAST(sum({column}) AS DOUBLE)"
    return f"sum({column})"


def partial_select(rollup: Rollup, measures: Sequence[Measure], slot: str | None = None) -> str:
    """SELECT list of a rollup's rows from conversations `c` (GROUP BY ALL groups the keys);
    `slot`: the rows' slot as an expression when known otherwise (a join)."""
    slot = slot or rollup.slot_sql("c.created_at", "c.tenant_id")
    keys = ["c.tenant_id AS tenant_id", f"{slot} AS slot"]
    keys += [f"c.{q.quote(d)} AS {q.quote(d)}" for d in rollup.dims]
    parts = [f"{_partial(m)} AS {_column(m)}" for m in measures]
    return ", ".join([*keys, *parts])


def build_sql(rollup: Rollup, measures: Sequence[Measure]) -> str:
    """(Re)create the rollup from the whole conversations table (local days: empty, then
    `fill_sql` per tenant)."""
    where = "c.created_at IS NOT NULL" + (" AND false" if rollup.local_day else "")
    return (
        f"CREATE OR REPLACE TABLE {rollup.table} AS SELECT {partial_select(rollup, measures)}"
        f" FROM conversations c WHERE {where} GROUP BY ALL ORDER BY 1, 2"
    )


def fill_sql(
    rollup: Rollup, measures: Sequence[Measure], zones: dict[str, str]
) -> list[tuple[str, list[Any]]]:
    """INSERTs of a rollup's rows: one per tenant with its zone (`zones`: tenant -> zone), then
    one for the tenants without settings (local days: cut in UTC, as `slot_sql` does)."""
    statements = []
    for tenant_id, zone in sorted(zones.items()):
        select = partial_select(rollup, measures, rollup.slot_sql("c.created_at", zone=zone))
        statements.append(
            (
                f"INSERT INTO {rollup.table} SELECT {select} FROM conversations c"
                " WHERE c.created_at IS NOT NULL AND c.tenant_id = ? GROUP BY ALL ORDER BY 2",
                [tenant_id],
            )
        )
    select = partial_select(rollup, measures, rollup.slot_sql("c.created_at", zone="UTC"))
    others = "SELECT id FROM tenants"
    statements.append(
        (
            f"INSERT INTO {rollup.table} SELECT {select} FROM conversations c WHERE"
            f" c.created_at IS NOT NULL AND c.tenant_id NOT IN ({others}) GROUP BY ALL ORDER BY 1, 2",
            [],
        )
    )
    return statements


def touched_sql(rollup: Rollup, keys: str, zones: dict[str, str]) -> str:
    """Temp table of the (tenant, slot) pairs an upsert's old rows and batch are in (`zones`:
    the batch's tenants; one tenant's zone is a constant, `slot_sql`).

    Runs before the DELETE: the old rows (found by key) still exist.
    """
    zone = next(iter(zones.values())) if len(zones) == 1 else None
    return (
        f"CREATE OR REPLACE TEMP TABLE {rollup.touched} AS SELECT DISTINCT tenant_id, slot FROM ("
        f"SELECT t.tenant_id, {rollup.slot_sql('t.created_at', 't.tenant_id', zone)} AS slot"
        f" FROM conversations t SEMI JOIN {keys} k ON t.tenant_id = k.tenant_id AND t.id = k.id"
        f" UNION ALL SELECT b.tenant_id, {rollup.slot_sql('b.created_at', 'b.tenant_id', zone)}"
        " FROM _batch_c b) WHERE slot IS NOT NULL"
    )


def _added(measure: Measure) -> str:
    """A rollup cell plus the same measure's part of new rows (`r` the cell, `a` the part), equal
    to the part of the slot's old and new rows together: counts add; sums add, NULL (no value)
    being the identity, as a sum of no values is NULL; maxima take the greater (DuckDB's
    `greatest` skips NULL)."""
    column = _column(measure)
    old, new = f"r.{column}", f"a.{column}"
    if measure.kind in ("count", "no_repeat_within"):
        return f"{old} + {new}"
    if measure.kind == "max":
        return f"greatest({old}, {new})"
    return (
        f"CASE WHEN {old} IS NULL THEN {new} WHEN {new} IS NULL THEN {old} ELSE {old} + {new} END"
    )


def merge_sql(
    rollup: Rollup, measures: Sequence[Measure], zones: dict[str, str], batch: str = "_batch_c"
) -> str:
    """Add the parts of the new rows `batch` (none of whose keys is stored) to the rollup:
    a batch that replaces nothing only adds to its slots, so their cells move by the batch's own
    aggregates, read from the batch alone (recomputing the slots re-read every row of them from
    the raw table: 60% of a small batch's time at 1M, bench/NOTES.md). `zones`: the batch's
    tenants (one tenant's zone cuts local days as a constant, `slot_sql`).

    Exact as the recomputation is: the new rows carry no next contact yet (NULL, as stored until
    `flush`), and a slot's cells stay one row per key, which the MERGE matches or inserts."""
    zone = next(iter(zones.values())) if len(zones) == 1 else None
    slot = rollup.slot_sql("c.created_at", "c.tenant_id", zone)
    select = partial_select(rollup, measures, slot)
    rows = f"(SELECT *, CAST(NULL AS TIMESTAMP) AS next_contact_at FROM {batch})"
    keys = ["tenant_id", "slot", *(q.quote(d) for d in rollup.dims)]
    match = " AND ".join(
        ["r.tenant_id = a.tenant_id", "r.slot = a.slot"]
        + [f"r.{d} IS NOT DISTINCT FROM a.{d}" for d in keys[2:]]
    )
    sets = ", ".join(f"{_column(m)} = {_added(m)}" for m in measures)
    columns = [*keys, *(_column(m) for m in measures)]
    values = ", ".join(f"a.{c}" for c in columns)
    return (
        f"MERGE INTO {rollup.table} r USING (SELECT {select} FROM {rows} c"
        " WHERE c.created_at IS NOT NULL GROUP BY ALL) a"
        f" ON {match} WHEN MATCHED THEN UPDATE SET {sets}"
        f" WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values})"
    )


def follows_contacts(measure: Measure) -> bool:
    """Whether a measure reads the stored next contact (`no_repeat_within`, the FCR measures)."""
    return measure.kind == "no_repeat_within"


def _slot_of_row(rollup: Rollup, zones: dict[str, str]) -> str:
    zone = next(iter(zones.values())) if len(zones) == 1 else None
    return rollup.slot_sql("c.created_at", "c.tenant_id", zone)


def _delta_keys(rollup: Rollup, zones: dict[str, str]) -> str:
    keys = ["c.tenant_id AS tenant_id", f"{_slot_of_row(rollup, zones)} AS slot"]
    return ", ".join([*keys, *(f"c.{q.quote(d)} AS {q.quote(d)}" for d in rollup.dims)])


def contact_delta_columns(rollups: Sequence[Rollup], measures: Sequence[Measure]) -> list[str]:
    """The stored columns `contact_delta_sql` reads from `contacts._next`: the rollups' keys and
    every conversation column the FCR measures name."""
    follows = [m for m in measures if follows_contacts(m)]
    if not follows:
        return []
    words = {"next_contact_at"}.union(*(m.columns for m in follows))
    used = [c for c in (*CONVERSATION_COLUMNS, *STORE_COLUMNS) if c in words]
    return list(dict.fromkeys(["created_at", *(d for r in rollups for d in r.dims), *used]))


def contact_delta_sql(
    rollup: Rollup,
    measures: Sequence[Measure],
    zones: dict[str, str],
    sign: int,
    touched: bool = False,
) -> list[str]:
    """The FCR contributions of `zones`' rows whose next contact changes (`contacts._next`),
    counted negative before the next-contact UPDATE (`sign` -1, creating the delta table) and
    positive after it (+1); with `touched`, outside the slots `rollup.touched` (being rebuilt).

    A new conversation moves its customer's previous one's next contact, on any earlier day, so
    recomputing those rows' slots would re-aggregate most of the tenant's history on every batch
    (a 5 000-call day at 10M: 2.2 s). Counts add, so their change is applied as a difference.
    """
    follows = [m for m in measures if follows_contacts(m)]
    if not follows:
        return []
    delta = f"_delta_{rollup.table}"
    parts = ", ".join(f"CAST({sign} * {_partial(m)} AS BIGINT) AS {_column(m)}" for m in follows)
    # The rows as stored (`_next` keeps their columns): before the UPDATE with the old next
    # contact, after it with the new one.
    rows = "_next" if sign < 0 else "(SELECT * REPLACE (next AS next_contact_at) FROM _next)"
    # Only `zones`' tenants: a stale tenant's differences wait in `contact_moves`.
    tenants = ", ".join(q.literal(t) for t in sorted(zones))
    outside = (
        f" AND NOT EXISTS (SELECT 1 FROM {rollup.touched} k WHERE k.tenant_id = c.tenant_id"
        f" AND k.slot = {_slot_of_row(rollup, zones)})"
        if touched
        else ""
    )
    select = (
        f"SELECT {_delta_keys(rollup, zones)}, {parts} FROM {rows} c"
        f" WHERE c.created_at IS NOT NULL AND c.tenant_id IN ({tenants}){outside} GROUP BY ALL"
    )
    if sign < 0:
        return [f"CREATE OR REPLACE TEMP TABLE {delta} AS {select}"]
    return [f"INSERT INTO {delta} {select}"]


def apply_delta_sql(rollup: Rollup, measures: Sequence[Measure]) -> list[str]:
    """Add the FCR differences to the rollup rows (which exist: their conversations do)."""
    follows = [m for m in measures if follows_contacts(m)]
    if not follows:
        return []
    delta = f"_delta_{rollup.table}"
    dims = [q.quote(d) for d in rollup.dims]
    sums = ", ".join(f"CAST(sum({_column(m)}) AS BIGINT) AS {_column(m)}" for m in follows)
    sets = ", ".join(f"{_column(m)} = r.{_column(m)} + d.{_column(m)}" for m in follows)
    match = " AND ".join(
        ["r.tenant_id = d.tenant_id", "r.slot = d.slot"]
        + [f"r.{d} IS NOT DISTINCT FROM d.{d}" for d in dims]
    )
    keys = ", ".join(["tenant_id", "slot", *dims])
    return [
        f"UPDATE {rollup.table} r SET {sets} FROM (SELECT {keys}, {sums} FROM {delta}"
        f" GROUP BY ALL) d WHERE {match}",
        f"DROP TABLE {delta}",
    ]


def refresh_sql(
    rollup: Rollup, measures: Sequence[Measure], zones: dict[str, str]
) -> list[tuple[str, list[Any]]]:
    """Recompute the touched slots from the raw table (after the upsert's DELETE and INSERT).

    `zones`: the upsert's tenants and their zones. The scan is limited to those tenants (their
    rows are contiguous once compacted) and, per tenant, to its touched time range; local days
    are cut with the tenant's zone as a constant (`slot_sql`).
    """
    touched = rollup.touched
    statements: list[tuple[str, list[Any]]] = [
        (
            f"DELETE FROM {rollup.table} r USING {touched} k"
            " WHERE r.tenant_id = k.tenant_id AND r.slot = k.slot",
            [],
        )
    ]
    width = "2 DAY" if rollup.local_day else f"{rollup.slot_minutes} MINUTE"
    for tenant_id, zone in sorted(zones.items()):
        slot = rollup.slot_sql("c.created_at", zone=zone)
        own = f"(SELECT {{}}(slot) FROM {touched} WHERE tenant_id = ?)"
        select = partial_select(rollup, measures, slot)
        statements.append(
            (
                f"INSERT INTO {rollup.table} SELECT {select} FROM conversations c"
                f" SEMI JOIN {touched} k ON c.tenant_id = k.tenant_id AND {slot} = k.slot"
                f" WHERE c.tenant_id = ? AND c.created_at >= {own.format('min')}"
                f" AND c.created_at < {own.format('max')} + INTERVAL {width} GROUP BY ALL",
                [tenant_id, tenant_id, tenant_id],
            )
        )
    statements.append((f"DROP TABLE {touched}", []))
    return statements


_SPAN_TIME = "'%Y-%m-%d %H:%M:%S.%f'"


def stale_span_sql() -> str:
    """Mark a tenant's rollup stale (params: the `engine_state` key, the tenant, the key again), keeping
    in the mark the `created_at` span of what the upsert changed (`contacts._span`) joined with
    the span already marked: `lo|hi`. A mark without a span (`1`, older files) stays whole."""
    old = "TRY_CAST(split_part(m.value, '|', {}) AS TIMESTAMP)"
    return (
        "INSERT OR REPLACE INTO engine_state SELECT ?, CASE WHEN m.key IS NOT NULL"
        " AND m.value NOT LIKE '%|%' THEN m.value"
        f" ELSE strftime(least(s.lo, {old.format(1)}), {_SPAN_TIME}) || '|'"
        f" || strftime(greatest(s.hi, {old.format(2)}), {_SPAN_TIME}) END"
        " FROM (SELECT min(created_at) AS lo, max(created_at) AS hi FROM _span"
        " WHERE tenant_id = ?) s LEFT JOIN engine_state m ON m.key = ?"
    )


def record_moves_sql() -> str:
    """Keep in `contact_moves` the rows of `contacts._next` of a stale (rollup, tenant), with the
    next contact the rollup counted them with (params: the rollup table, the tenant, the table).

    A row's first move since the tenant went stale holds that value; later moves of the same
    row keep it. Marking their `created_at` stale instead would rebuild most of the tenant's
    history after a 30-day import, as a customer's previous conversation is on any earlier day
    (5.3 s against 0.7 s at 10M, bench/NOTES.md).
    """
    return (
        "INSERT INTO contact_moves SELECT ?, n.tenant_id, n.id, n.created_at, n.old FROM _next n"
        " WHERE n.tenant_id = ? AND n.created_at IS NOT NULL AND NOT EXISTS (SELECT 1"
        " FROM contact_moves m WHERE m.rollup = ? AND m.tenant_id = n.tenant_id AND m.id = n.id"
        " AND m.created_at = n.created_at)"
    )


def moves_sql(
    rollup: Rollup, measures: Sequence[Measure], tenant_id: str, zone: str, columns: Sequence[str]
) -> list[tuple[str, list[Any]]]:
    """The FCR differences of a stale tenant's moved rows (`record_moves_sql`) outside the slots
    being rebuilt (`rollup.touched`), as `contact_delta_sql` reads them from `_next`: each row
    as stored, counted with the old next contact and then with its own. A row replaced since
    is left out: its old and new `created_at` are in the stale span, rebuilt whole. `columns`:
    `contact_delta_columns`. Then, after the rebuild, `apply_moves_sql`."""
    own = ", ".join(f"c.{q.quote(c)}" for c in columns if c != "next_contact_at")
    rows = (
        f"CREATE OR REPLACE TEMP TABLE _next AS SELECT c.tenant_id, {own},"
        " m.old AS next_contact_at, c.next_contact_at AS next FROM conversations c"
        " JOIN contact_moves m ON m.tenant_id = c.tenant_id AND m.id = c.id"
        " AND m.created_at = c.created_at WHERE c.tenant_id = ? AND m.rollup = ?"
    )
    zones = {tenant_id: zone}
    deltas = [
        sql
        for sign in (-1, 1)
        for sql in contact_delta_sql(rollup, measures, zones, sign, touched=True)
    ]
    if not deltas:
        return []
    return [(rows, [tenant_id, rollup.table]), *((sql, []) for sql in deltas)]


def apply_moves_sql(rollup: Rollup, measures: Sequence[Measure]) -> list[tuple[str, list[Any]]]:
    """Add the differences `moves_sql` found, and drop its `_next`."""
    return [(sql, []) for sql in [*apply_delta_sql(rollup, measures), "DROP TABLE _next"]]


def clear_moves_sql(rollup: Rollup, tenant_id: str | None = None) -> tuple[str, list[Any]]:
    """Forget the moves of a rollup (of one tenant): it has been rebuilt from the raw table."""
    if tenant_id is None:
        return "DELETE FROM contact_moves WHERE rollup = ?", [rollup.table]
    return "DELETE FROM contact_moves WHERE rollup = ? AND tenant_id = ?", [rollup.table, tenant_id]


def range_refresh_sql(
    rollup: Rollup,
    measures: Sequence[Measure],
    tenant_id: str,
    zone: str,
    lo: datetime,
    hi: datetime,
) -> list[tuple[str, list[Any]]]:
    """Recompute a tenant's slots from the slot of `lo` to the slot of `hi` (`created_at`, naive
    UTC): what bulk batches left stale (`stale_span_sql`). The slots are those the rollup holds
    in that range and those of the conversations created in it, each recomputed whole
    (`refresh_sql`); a 30-day import into a year of data rebuilds a month, not the year."""
    first, last = (rollup.slot_sql("CAST(? AS TIMESTAMP)", zone=zone) for _ in range(2))
    slot = rollup.slot_sql("c.created_at", zone=zone)
    touched = (
        f"CREATE OR REPLACE TEMP TABLE {rollup.touched} AS SELECT DISTINCT tenant_id, slot FROM ("
        f"SELECT tenant_id, slot FROM {rollup.table} WHERE tenant_id = ?"
        f" AND slot >= {first} AND slot <= {last}"
        f" UNION ALL SELECT c.tenant_id, {slot} AS slot FROM conversations c"
        " WHERE c.tenant_id = ? AND c.created_at >= ? AND c.created_at <= ?)"
    )
    return [
        (touched, [tenant_id, lo, hi, tenant_id, lo, hi]),
        *refresh_sql(rollup, measures, {tenant_id: zone}),
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
