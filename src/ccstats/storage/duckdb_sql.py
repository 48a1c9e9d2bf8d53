"""SQL text for the DuckDB store: DDL from the schema, and aggregate/search statements.

Functions here only build (sql, params); `duckdb_store.py` runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ccstats.metrics.definitions import Measure
from ccstats.storage.base import AggregateRequest, Filters, SearchRequest
from ccstats.storage.schema import (
    CONVERSATION_COLUMNS,
    INTERVAL_COLUMNS,
    MESSAGE_COLUMNS,
    LogicalType,
)

__all__ = ["ddl", "aggregate_sql", "search_sql", "count_sql", "quote"]

_SQL_TYPES: dict[LogicalType, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "time": "TIMESTAMP",
    "float": "DOUBLE",
}


def quote(name: str) -> str:
    """A double-quoted identifier (column names come from the schema, never from users)."""
    if name not in CONVERSATION_COLUMNS and name != "bucket":
        raise ValueError(f"unknown column {name!r}")
    return f'"{name}"'


def _create(table: str, columns: dict[str, LogicalType]) -> str:
    body = ", ".join(f'"{name}" {_SQL_TYPES[kind]}' for name, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


def ddl() -> list[str]:
    """Statements that create every table (idempotent)."""
    return [
        "CREATE TABLE IF NOT EXISTS tenants (id VARCHAR PRIMARY KEY, settings VARCHAR NOT NULL)",
        "CREATE TABLE IF NOT EXISTS credentials (tenant_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,"
        " key_id VARCHAR NOT NULL, secret_hash VARCHAR, secret VARCHAR, created_at TIMESTAMP)",
        _create("conversations", CONVERSATION_COLUMNS),
        _create("messages", MESSAGE_COLUMNS),
        _create("agent_intervals", INTERVAL_COLUMNS),
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    ]


def _measure_sql(measure: Measure) -> str:
    where = f" FILTER (WHERE {measure.where})" if measure.where else ""
    if measure.kind == "count":
        return f"count(*){where}"
    if measure.kind == "count_distinct":
        return f"count(DISTINCT {measure.expr}){where}"
    if measure.kind == "max":
        return f"max({measure.expr}){where}"
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


def aggregate_sql(request: AggregateRequest) -> tuple[str, list[Any]]:
    """SELECT of a request's measures; buckets by ASOF join against the given bucket starts."""
    tf = quote(request.time_field)
    params: list[Any] = []
    select: list[str] = []
    source = "conversations c"
    if request.bucket_starts is not None:
        # Bucket starts travel as one string of epoch microseconds: binding a Python list of
        # datetimes costs ~1 s for a year of half hours, the string ~5 ms.
        source = (
            "conversations c ASOF JOIN (SELECT make_timestamp(unnest(string_split(?, ','))::BIGINT)"
            f" AS bucket) b ON c.{tf} >= b.bucket"
        )
        params.append(",".join(str(_epoch_us(b)) for b in request.bucket_starts))
        select.append("b.bucket AS bucket")
    select += [f"c.{quote(g)} AS {quote(g)}" for g in request.group_by]
    select += [f'{_measure_sql(m)} AS "{m.name}"' for m in request.measures]
    where = f"c.tenant_id = ? AND c.{tf} >= ? AND c.{tf} < ?"
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
    return where + filters_sql(request.filters, params)


def search_sql(request: SearchRequest) -> tuple[str, list[Any]]:
    """SELECT of one page (or, with limit None, all rows) in sort order, id breaking ties."""
    params: list[Any] = []
    columns = request.columns or tuple(CONVERSATION_COLUMNS)
    select = ", ".join(f"c.{quote(col)}" for col in columns)
    where = _search_where(request, params)
    if request.after is not None:
        where += _after_clause(request, params)
    order = [f"c.{quote(col)} {'DESC' if desc else 'ASC'} NULLS LAST" for col, desc in request.sort]
    order.append("c.id ASC")
    sql = f"SELECT {select} FROM conversations c WHERE {where} ORDER BY {', '.join(order)}"
    if request.limit is not None:
        sql += " LIMIT ?"
        params.append(request.limit)
    if request.offset and request.after is None:
        sql += " OFFSET ?"
        params.append(request.offset)
    return sql, params


def count_sql(request: SearchRequest) -> tuple[str, list[Any]]:
    """SELECT count(*) of every row a search matches (paging ignored)."""
    params: list[Any] = []
    return f"SELECT count(*) FROM conversations c WHERE {_search_where(request, params)}", params
