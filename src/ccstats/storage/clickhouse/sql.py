"""SQL text for the ClickHouse store: measures over the sign ledger, filters, searches.

Functions here only build SQL and its typed server-side parameters (`Params`); `store.py` runs
them. Values are always bound (`{p0:String}`), never written into the text. The exactness rules
(design notes, section 5):
- counts are `sumIf(sign, where)` and sums `sumIf(sign * x, ...)`: a replaced row and its cancel
  row add to nothing, whatever the merges did;
- float sums add integer nanoseconds, rounded half away from zero as DuckDB's
  `CAST(x AS DECIMAL(38,9))` does, and are divided once in Python (`aggregate.fold`);
- measures are aliased `m<i>` (a measure named like a column must not shadow it);
- `aggregate_functions_null_for_empty`: a max over no rows is NULL, as in DuckDB, not 1970.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ccstats.metrics.definitions import Measure
from ccstats.metrics.plan import Filters
from ccstats.schema import CONVERSATION_COLUMNS
from ccstats.storage.clickhouse.ddl import TIME, type_of
from ccstats.storage.requests import SearchRequest

__all__ = [
    "AGGREGATE_SETTINGS",
    "Params",
    "column",
    "condition_sql",
    "filters_sql",
    "is_count",
    "measure_parts",
    "naive",
]

AGGREGATE_SETTINGS: dict[str, Any] = {"aggregate_functions_null_for_empty": 1}

NO_JIT = {"compile_expressions": 0, "compile_aggregate_expressions": 0}
"""For chDB: compiling a report's ~100 aggregate expressions took 0.3-0.4 s on the first report
of each table (then 0.03 s either way, measured at test sizes); a server keeps its default."""


@dataclass
class Params:
    """Server-side parameters of one statement, named p0, p1, ... in the order added."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any, type_: str) -> str:
        """The placeholder of a new parameter."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{type_}}}"

    def text(self, value: str) -> str:
        """A String parameter."""
        return self.add(value, "String")

    def texts(self, values: Sequence[str]) -> str:
        """An Array(String) parameter."""
        return self.add(list(values), "Array(String)")

    def time(self, value: datetime) -> str:
        """A time parameter (bound as naive UTC)."""
        return self.add(naive(value), TIME)


def naive(value: Any) -> Any:
    """An aware datetime as naive UTC (how the engine takes and gives times)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def column(name: str, alias: str = "c") -> str:
    """A conversation column (names come from the schema, never from users)."""
    if name not in CONVERSATION_COLUMNS:
        raise ValueError(f"unknown column {name!r}")
    return f"{alias}.`{name}`"


def _typed(name: str, value: Any) -> Any:
    kind = CONVERSATION_COLUMNS[name]
    if kind == "text":
        return str(value)
    if kind == "time":
        return naive(value)
    return value


def filters_sql(filters: Filters, params: Params) -> str:
    """`AND (col IN [...] OR col IS NULL)` clauses for equality filters (None matches NULL)."""
    clauses = []
    for name, values in filters:
        present = [_typed(name, v) for v in values if v is not None]
        parts = []
        if present:
            array = params.add(present, f"Array({type_of(CONVERSATION_COLUMNS[name])})")
            parts.append(f"{column(name)} IN {array}")
        if len(present) < len(values):
            parts.append(f"{column(name)} IS NULL")
        clauses.append(f" AND ({' OR '.join(parts) or 'false'})")
    return "".join(clauses)


_FLOAT_COLUMNS = frozenset(n for n, kind in CONVERSATION_COLUMNS.items() if kind == "float")
_DECIMAL_TEXT = frozenset({"price"})
"""Text columns of plain decimal numbers with at most 9 decimals (`records.PRICE_PATTERN`):
added exactly, as integer nanos."""


def is_float_sum(measure: Measure) -> bool:
    """Whether a sum measure adds a float or decimal-text column (then as integer nanos,
    divided once: a float answer, as DuckDB's `CAST(sum(DECIMAL(38,9)) AS DOUBLE)`)."""
    return measure.kind == "sum" and bool(measure.columns & (_FLOAT_COLUMNS | _DECIMAL_TEXT))


def _decimal_nanos(column: str) -> str:
    """A decimal-text column as exact integer nanos (`toDecimal128` parses the text exactly)."""
    return f"toInt128(toDecimal128(ifNull({column}, '0'), 9) * 1000000000)"


def is_count(measure: Measure) -> bool:
    """Whether a measure counts rows (a `count`, or a `no_repeat_within`: a count whose
    condition reads the row's stored next contact)."""
    return measure.kind in ("count", "no_repeat_within")


def no_repeat_sql(hours: int) -> str:
    """This engine's `no_repeat_within`: the row's stored next contact (`contacts`) is none or
    later than `hours` after the row ended, so the measure reads only its own row (a row
    without `ended_at` has no next contact)."""
    return f"(next_contact_at IS NULL OR next_contact_at > ended_at + INTERVAL {int(hours)} HOUR)"


def condition_sql(measure: Measure) -> str | None:
    """The rows a measure counts or adds, as this engine's SQL (None: every row)."""
    if measure.kind != "no_repeat_within":
        return measure.where
    assert measure.within_hours is not None
    repeat = no_repeat_sql(measure.within_hours)
    return f"({measure.where}) AND {repeat}" if measure.where else repeat


def nanos(expr: str) -> str:
    """A float as integer nanoseconds, rounded half away from zero: DuckDB's
    `CAST(x AS DECIMAL(38,9))` exactly (`toDecimal128(x, 9)` truncates: 1.005 -> 1.004999999)."""
    x = f"ifNull({expr}, 0)"
    return f"toInt128(sign({x}) * floor(abs({x} * 1e9) + 0.5))"


def needs_final(measures: Sequence[Measure]) -> bool:
    """Whether a measure reads row values a signed sum cannot give (max, distinct): then the
    ledger is read FINAL (cancelled rows collapsed away)."""
    return any(m.kind in ("max", "count_distinct") for m in measures)


def measure_parts(measure: Measure, index: int) -> list[str]:
    """The aggregate columns of one measure, aliased `m<index>` (and `n<index>`, the live rows
    a sum adds: none makes the sum NULL, as SQL's sum of no values is)."""
    condition = condition_sql(measure)
    where = f"({condition})" if condition else "true"
    name = f"m{index}"
    if is_count(measure):
        return [f"sumIf(sign, {where}) AS {name}"]
    if measure.kind == "max":
        return [f"maxIf({measure.expr}, {where}) AS {name}"]
    if measure.kind == "count_distinct":
        return [
            f"groupUniqArrayIf({measure.expr}, {where} AND ({measure.expr}) IS NOT NULL) AS {name}"
        ]
    present = f"{where} AND ({measure.expr}) IS NOT NULL"
    if measure.expr in _DECIMAL_TEXT:
        value = f"toInt128(sign) * {_decimal_nanos(measure.expr)}"
    elif is_float_sum(measure):
        value = f"toInt128(sign) * {nanos(measure.expr or '0')}"
    else:
        value = f"sign * ifNull({measure.expr}, 0)"
    return [f"sumIf({value}, {present}) AS {name}", f"sumIf(sign, {present}) AS n{index}"]


# -- searches -----------------------------------------------------------------------------------


def _search_where(request: SearchRequest, params: Params) -> str:
    where = f"c.tenant_id = {params.text(request.tenant_id)}"
    tf = column(request.time_field)
    if request.start is not None:
        where += f" AND {tf} >= {params.time(request.start)}"
    if request.end is not None:
        where += f" AND {tf} {'<=' if request.end_inclusive else '<'} {params.time(request.end)}"
    condition = condition_sql(request.counted_by) if request.counted_by else None
    if condition:
        where += f" AND ({condition})"
    return where + filters_sql(request.filters, params)


def _bind(name: str, value: Any, params: Params) -> str:
    return params.add(_typed(name, value), type_of(CONVERSATION_COLUMNS[name]))


def _after_clause(request: SearchRequest, params: Params) -> str:
    """Keyset condition: rows strictly after the cursor in (sort..., id) order, NULLS LAST."""
    assert request.after is not None
    keys = [*request.sort, ("id", False)]
    ors = []
    for i, (name, descending) in enumerate(keys):
        value = request.after[i]
        if value is None:
            continue  # nothing sorts after NULL within its group (NULLS LAST)
        ands = []
        for j in range(i):
            prev_name, prev = keys[j][0], request.after[j]
            if prev is None:
                ands.append(f"{column(prev_name)} IS NULL")
            else:
                ands.append(f"{column(prev_name)} = {_bind(prev_name, prev, params)}")
        op = "<" if descending else ">"
        ands.append(f"({column(name)} {op} {_bind(name, value, params)} OR {column(name)} IS NULL)")
        ors.append("(" + " AND ".join(ands) + ")")
    return " AND (" + (" OR ".join(ors) or "false") + ")"


def _order_sql(request: SearchRequest) -> str:
    order = [f"{column(n)} {'DESC' if desc else 'ASC'} NULLS LAST" for n, desc in request.sort]
    return ", ".join([*order, "c.`id` ASC"])


def search_sql(table: str, request: SearchRequest) -> tuple[str, dict[str, Any]]:
    """SELECT of one page (or, with limit None, every row) of the live rows, in sort order."""
    params = Params()
    where = _search_where(request, params)
    if request.after is not None:
        where += _after_clause(request, params)
    names = request.columns or tuple(CONVERSATION_COLUMNS)
    select = ", ".join(column(n) for n in names)
    # FINAL collapses each replaced row with its cancel row: what is left is the live rows.
    sql = f"SELECT {select} FROM {table} AS c FINAL WHERE {where} ORDER BY {_order_sql(request)}"
    if request.limit is not None:
        sql += f" LIMIT {int(request.limit)}"
        if request.offset and request.after is None:
            sql += f" OFFSET {int(request.offset)}"
    return sql, params.values


def count_sql(table: str, request: SearchRequest) -> tuple[str, dict[str, Any]]:
    """The number of live rows a search matches (a signed count: no FINAL)."""
    params = Params()
    where = _search_where(request, params)
    return f"SELECT sum(sign) FROM {table} AS c WHERE {where}", params.values
