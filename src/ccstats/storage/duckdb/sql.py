"""SQL text for the DuckDB store: DDL from the schema, and aggregate/search statements.

Functions here only build (sql, params); `store.py` runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import AggregateRequest, Filters
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    INTERVAL_COLUMNS,
    MESSAGE_COLUMNS,
    STORE_COLUMNS,
    TIME_COLUMNS,
    LogicalType,
)
from ccstats.storage.requests import SearchRequest

__all__ = ["ddl", "aggregate_sql", "search_sql", "count_sql", "quote"]

_SQL_TYPES: dict[LogicalType, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "time": "TIMESTAMP",
    "float": "DOUBLE",
}


def literal(text: str) -> str:
    """A single-quoted SQL string literal (for the places parameters cannot go: DDL, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """A double-quoted identifier (column names come from the schema, never from users)."""
    if name not in CONVERSATION_COLUMNS and name != "bucket":
        raise ValueError(f"unknown column {name!r}")
    return f'"{name}"'


def _create(table: str, columns: dict[str, LogicalType]) -> str:
    body = ", ".join(f'"{name}" {_SQL_TYPES[kind]}' for name, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


ENGINE_KEY_PREFIXES = ("stale:", "rollup:", "compaction:", "contacts:")
"""Keys of `engine_state`; files written before it kept them in `meta` (`engine_state_sql`)."""


def engine_state_sql() -> list[str]:
    """Move the engine's keys out of `meta` into `engine_state` (idempotent)."""
    where = " OR ".join(f"key LIKE '{prefix}%'" for prefix in ENGINE_KEY_PREFIXES)
    return [
        f"INSERT OR REPLACE INTO engine_state SELECT key, value FROM meta WHERE {where}",
        f"DELETE FROM meta WHERE {where}",
    ]


def ddl() -> list[str]:
    """Statements that create every table (idempotent)."""
    return [
        "CREATE TABLE IF NOT EXISTS tenants (id VARCHAR PRIMARY KEY, settings VARCHAR NOT NULL)",
        "CREATE TABLE IF NOT EXISTS credentials (tenant_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,"
        " key_id VARCHAR NOT NULL, secret_hash VARCHAR, secret VARCHAR, created_at TIMESTAMP)",
        _create("conversations", {**CONVERSATION_COLUMNS, **STORE_COLUMNS}),
        _create("messages", MESSAGE_COLUMNS),
        _create("agent_intervals", INTERVAL_COLUMNS),
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        # The engine's own bookkeeping (rollup signatures, stale marks, unsorted months, the
        # next-contact fill), apart from the registry's `meta`.
        "CREATE TABLE IF NOT EXISTS engine_state (key VARCHAR PRIMARY KEY, value VARCHAR)",
        # Customers whose conversations' next contacts wait for `contacts.pending_sql`.
        "CREATE TABLE IF NOT EXISTS pending_contacts (tenant_id VARCHAR NOT NULL,"
        " customer_id VARCHAR NOT NULL)",
        # Rows of stale tenants whose next contact moved, with the one their rollup counted
        # (`preagg.record_moves_sql`).
        "CREATE TABLE IF NOT EXISTS contact_moves (rollup VARCHAR NOT NULL,"
        " tenant_id VARCHAR NOT NULL, id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,"
        " old TIMESTAMP)",
    ]


def added_columns_sql() -> list[str]:
    """Columns added since a store file was created (idempotent): every model column too, so a
    field added to `Conversation` (e.g. `source`, issue 20) reaches files written before it."""
    return [
        f'ALTER TABLE conversations ADD COLUMN IF NOT EXISTS "{name}" {_SQL_TYPES[kind]}'
        for name, kind in {**CONVERSATION_COLUMNS, **STORE_COLUMNS}.items()
    ]


_FLOAT_COLUMNS = frozenset(n for n, kind in CONVERSATION_COLUMNS.items() if kind == "float") | {
    "price"
}
"""Columns summed as `EXACT_SUM`: floats, and `price`, decimal text (`records.PRICE_PATTERN`:
at most 9 decimals, so the cast is exact)."""
EXACT_SUM = "DECIMAL(38,9)"
"""Float sums add values rounded to 9 decimals exactly: the answer does not depend on the order
DuckDB's threads add rows in, so a sum of per-bucket sums (pre-aggregates) equals the raw sum."""


def is_float_sum(measure: Measure) -> bool:
    """Whether a sum measure adds a float or decimal-text column (then summed as `EXACT_SUM`)."""
    return measure.kind == "sum" and bool(measure.columns & _FLOAT_COLUMNS)


def no_repeat_sql(hours: int) -> str:
    """This engine's `no_repeat_within`: the row's stored next contact (`contacts`) is none or
    later than `hours` after the row ended, so the measure reads only its own row."""
    return f"(next_contact_at IS NULL OR next_contact_at > ended_at + INTERVAL {int(hours)} HOUR)"


def condition_sql(measure: Measure) -> str | None:
    """The rows a measure counts or adds, as this engine's SQL (None: every row)."""
    if measure.kind != "no_repeat_within":
        return measure.where
    assert measure.within_hours is not None
    repeat = no_repeat_sql(measure.within_hours)
    return f"{measure.where} AND {repeat}" if measure.where else repeat


def filter_sql(measure: Measure) -> str:
    """` FILTER (WHERE ...)` of a measure's condition, or nothing."""
    condition = condition_sql(measure)
    return f" FILTER (WHERE {condition})" if condition else ""


def measure_sql(measure: Measure, alias: str = "c") -> str:
    """The aggregate of one measure over conversation rows (alias `c`)."""
    where = filter_sql(measure)
    if measure.kind in ("count", "no_repeat_within"):
        return f"count(*){where}"
    if measure.kind == "count_distinct":
        return f"count(DISTINCT {measure.expr}){where}"
    if measure.kind == "max":
        return f"max({measure.expr}){where}"
    if is_float_sum(measure):
        return f"CAST(sum(CAST({measure.expr} AS {EXACT_SUM})){where} AS DOUBLE)"
    return f"sum({measure.expr}){where}"


def filters_sql(filters: Filters, params: list[Any]) -> str:
    """`AND col IN (...)` clauses for equality filters (None matches NULL)."""
    clauses = []
    for column, values in filters:
        present = [v for v in values if v is not None]
        parts = []
        if present:
            parts.append(f"c.{quote(column)} IN ({', '.join('?' for _ in present)})")
            params.extend(present)
        if len(present) < len(values):
            parts.append(f"c.{quote(column)} IS NULL")
        clauses.append(f" AND ({' OR '.join(parts) or 'FALSE'})")
    return "".join(clauses)


_MINUTE_US = 60_000_000
_TRUNC_UNITS = ("month", "year")


def _uniform_step(starts: Sequence[int]) -> int | None:
    steps = {b - a for a, b in zip(starts, starts[1:], strict=False)}
    return steps.pop() if len(steps) == 1 else None


def _trunc_starts(unit: str, offset_us: int, first: int, end: int) -> list[int]:
    """Starts of `unit` (month/year) on a fixed offset from UTC, from `first` to before `end`."""
    out: list[int] = []
    local = _from_us(first + offset_us)
    if local != datetime(local.year, 1 if unit == "year" else local.month, 1):
        return out
    while (instant := _epoch_us(local.replace(tzinfo=UTC)) - offset_us) < end:
        out.append(instant)
        month = local.month + (1 if unit == "month" else 12)
        local = local.replace(year=local.year + (month - 1) // 12, month=(month - 1) % 12 + 1)
    return out


def bucket_sql(time_sql: str, request: AggregateRequest, grid_us: int = 1) -> str | None:
    """A bucket expression without the ASOF join, when it gives exactly the request's buckets.

    Equal steps (hours, half hours, and days or weeks of a zone whose offset does not change in
    the range): start + step * the whole steps since it, clamped to the last start (a range may
    end after a longer DST day). Months and years: `date_trunc` on the time moved by the first
    start's offset, when that reproduces every start (the offset is the same at each). Else None
    (the ASOF join). `grid_us`: rows' times are multiples of it (pre-aggregate slots).
    """
    assert request.bucket_starts is not None
    starts = [_epoch_us(b) for b in request.bucket_starts]
    if any(b % grid_us for b in starts):
        return None
    first, end = starts[0], _epoch_us(request.end)
    if first > _epoch_us(request.start):
        return None
    epoch = f"epoch_us({time_sql})"
    if len(starts) == 1:
        return f"make_timestamp(CAST({first} AS BIGINT))"
    if (step := _uniform_step(starts)) is not None:
        last = len(starts) - 1
        return f"make_timestamp({first} + least(({epoch} - {first}) // {step}, {last}) * {step})"
    # The first start is a local midnight: its UTC time of day gives the offset modulo a day
    # (UTC-10 and UTC+14 share it; the check below tells them apart).
    east = (-(first // _MINUTE_US)) % 1440
    for offset_min in (east, east - 1440):
        for unit in _TRUNC_UNITS:
            if _trunc_starts(unit, offset_min * _MINUTE_US, first, end) == starts:
                shift = f"INTERVAL ({offset_min}) MINUTE"
                return f"date_trunc('{unit}', {time_sql} + {shift}) - {shift}"
    return None


def aggregate_sql(request: AggregateRequest, arithmetic: bool = True) -> tuple[str, list[Any]]:
    """SELECT of a request's measures from the raw conversations.

    Buckets by arithmetic on the time (see `bucket_sql`) when exact and `arithmetic`, else by
    ASOF join against the given bucket starts.
    """
    measures = [measure_sql(m) for m in request.measures]
    tf = f"c.{quote(request.time_field)}"
    return select_sql(request, "conversations", tf, measures, arithmetic)


def select_sql(
    request: AggregateRequest,
    table: str,
    tf: str,
    measures: Sequence[str],
    arithmetic: bool = True,
    grid_us: int = 1,
) -> tuple[str, list[Any]]:
    """The aggregate SELECT over `table` (alias c) with time `tf` and measure expressions."""
    params: list[Any] = []
    select: list[str] = []
    source = f"{table} c"
    if request.bucket_starts is not None:
        expr = bucket_sql(tf, request, grid_us) if arithmetic else None
        if expr is not None:
            select.append(f"{expr} AS bucket")
        else:
            # Bucket starts travel as one string of epoch microseconds: binding a Python list
            # of datetimes costs ~1 s for a year of half hours, the string ~5 ms.
            source = (
                f"{table} c ASOF JOIN (SELECT"
                " make_timestamp(unnest(string_split(?, ','))::BIGINT)"
                f" AS bucket) b ON {tf} >= b.bucket"
            )
            params.append(",".join(str(_epoch_us(b)) for b in request.bucket_starts))
            select.append("b.bucket AS bucket")
    select += [f"c.{quote(g)} AS {quote(g)}" for g in request.group_by]
    select += [f'{sql} AS "{m.name}"' for sql, m in zip(measures, request.measures, strict=True)]
    where = f"c.tenant_id = ? AND {tf} >= ? AND {tf} < ?"
    params += [request.tenant_id, _naive(request.start), _naive(request.end)]
    where += filters_sql(request.filters, params)
    keys = len(select) - len(request.measures)
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(keys))}" if keys else ""
    order = f" ORDER BY {', '.join(str(i + 1) for i in range(keys))}" if keys else ""
    return f"SELECT {', '.join(select)} FROM {source} WHERE {where}{group}{order}", params


_SEPARATOR = "\x1f"


def text_list(values: Sequence[str]) -> tuple[str, Any]:
    """SQL and its parameter for a list of texts, as a table expression of one column.

    duckdb converts a Python list parameter element by element, trying `import pandas` for each
    (uncached when pandas is absent): ~0.15 s per 1000 values. One joined string is cheap.
    """
    if any(_SEPARATOR in v for v in values):
        return "unnest(?::VARCHAR[])", list(values)
    return "unnest(string_split(?, chr(31)))", _SEPARATOR.join(values)


def _epoch_us(instant: datetime) -> int:
    delta = instant.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_us(instant: datetime) -> int:
    """Microseconds since 1970 of an aware instant."""
    return _epoch_us(instant)


def _from_us(epoch_us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=epoch_us)


def _naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _after_clause(request: SearchRequest, params: list[Any]) -> str:
    """Keyset condition: rows strictly after the cursor in (sort..., id) order, NULLS LAST."""
    assert request.after is not None
    keys = [*request.sort, ("id", False)]
    ors = []
    for i, (column, descending) in enumerate(keys):
        value = _naive(request.after[i])
        ands = []
        for j in range(i):
            prev_col, prev = keys[j][0], _naive(request.after[j])
            if prev is None:
                ands.append(f"c.{quote(prev_col)} IS NULL")
            else:
                ands.append(f"c.{quote(prev_col)} = ?")
                params.append(prev)
        if value is None:
            continue  # nothing sorts after NULL within its group (NULLS LAST)
        op = "<" if descending else ">"
        ands.append(f"(c.{quote(column)} {op} ? OR c.{quote(column)} IS NULL)")
        params.append(value)
        ors.append("(" + " AND ".join(ands) + ")")
    return " AND (" + (" OR ".join(ors) or "FALSE") + ")"


def _search_where(request: SearchRequest, params: list[Any]) -> str:
    where = "c.tenant_id = ?"
    params.append(request.tenant_id)
    tf = quote(request.time_field)
    if request.start is not None:
        where += f" AND c.{tf} >= ?"
        params.append(_naive(request.start))
    if request.end is not None:
        where += f" AND c.{tf} {'<=' if request.end_inclusive else '<'} ?"
        params.append(_naive(request.end))
    condition = condition_sql(request.counted_by) if request.counted_by else None
    if condition:
        where += f" AND ({condition})"
    return where + filters_sql(request.filters, params)


def _order_sql(request: SearchRequest) -> str:
    order = [f"c.{quote(col)} {'DESC' if desc else 'ASC'} NULLS LAST" for col, desc in request.sort]
    return ", ".join([*order, "c.id ASC"])


def _select_sql(request: SearchRequest) -> str:
    return ", ".join(f"c.{quote(col)}" for col in request.columns or tuple(CONVERSATION_COLUMNS))


def search_sql(request: SearchRequest, select: str | None = None) -> tuple[str, list[Any]]:
    """SELECT of one page (or, with limit None, all rows) in sort order, id breaking ties."""
    params: list[Any] = []
    where = _search_where(request, params)
    if request.after is not None:
        where += _after_clause(request, params)
    select = select or _select_sql(request)
    sql = f"SELECT {select} FROM conversations c WHERE {where} ORDER BY {_order_sql(request)}"
    if request.limit is not None:
        sql += " LIMIT ?"
        params.append(request.limit)
    if request.offset and request.after is None:
        sql += " OFFSET ?"
        params.append(request.offset)
    return sql, params


def page_bound_columns(request: SearchRequest) -> tuple[str, ...]:
    """Time columns whose min/max over a page's rows narrow the fetch of those rows (zone maps)."""
    first = request.sort[0][0] if request.sort else None
    bounds = [request.time_field, *([first] if first in TIME_COLUMNS else [])]
    return tuple(dict.fromkeys(bounds))


def page_keys_sql(request: SearchRequest) -> tuple[str, list[Any]]:
    """Late materialization, step 1: `rowid` and the bound columns of one page's rows.

    A top-N over 86 columns makes DuckDB read every column of every row in range; sorting only
    the keys and fetching the page's rows afterwards (`page_rows_sql`) reads them for 1000 rows.
    """
    bounds = ", ".join(f"c.{quote(col)}" for col in page_bound_columns(request))
    return search_sql(request, select=f"c.rowid, {bounds}")


def page_rows_sql(
    request: SearchRequest, rowids: Sequence[int], bounds: Sequence[tuple[str, Any, Any]]
) -> tuple[str, list[Any]]:
    """Late materialization, step 2: the rowid and the requested columns of the given rows.

    Unordered: the caller puts them in step 1's order by rowid (sorting 1000 wide rows again
    cost DuckDB 2 ms of a 14 ms query). `bounds` (column, min, max) over those rows are redundant
    for the result but let the scan skip row groups by their zone maps; rowids are only valid in
    the snapshot of step 1.
    """
    params: list[Any] = [request.tenant_id]
    where = "c.tenant_id = ?"
    for column, low, high in bounds:
        where += f" AND c.{quote(column)} BETWEEN ? AND ?"
        params += [low, high]
    low, high = (min(rowids), max(rowids)) if rowids else (0, -1)
    if high - low + 1 == len(rowids):
        # Contiguous (a page of a compacted tenant's newest rows usually is): a range, which
        # DuckDB filters 1.4x faster than the IN list of 1000 rowids.
        where += f" AND c.rowid BETWEEN {int(low)} AND {int(high)}"
    else:
        where += f" AND c.rowid IN ({', '.join(str(int(r)) for r in rowids)})"
    return f"SELECT c.rowid, {_select_sql(request)} FROM conversations c WHERE {where}", params


def count_sql(request: SearchRequest) -> tuple[str, list[Any]]:
    """SELECT count(*) of every row a search matches (paging ignored)."""
    params: list[Any] = []
    return f"SELECT count(*) FROM conversations c WHERE {_search_where(request, params)}", params
