"""Records in as Arrow columns: vectorised checks, pydantic only for the records that fail them.

The row path (`rows.validate`: one `Conversation.model_validate` per record) is the reference.
This path accepts a record without it only when the vectorised checks are sure the model would
accept it and store the same values; every other record (wrong type, out of range, unknown field,
a transcript to derive facts from) goes through the row path, so its rejection reason and position
are exactly the row path's. Checks follow `records.Conversation` (`docs/data-model.md`).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.compute as pc

from ccstats.absent import refuse_if_absent
from ccstats.derive import TranscriptFacts
from ccstats.ingest.rows import (
    IngestResult,
    PayloadError,
    Rejection,
    Unparsable,
    known_tenants,
    validate,
)
from ccstats.records import ID_FIELDS, INT64_MAX, MAX_TIME, MIN_TIME, PRICE_PATTERN, Conversation
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    LogicalType,
    conversation_schema,
    conversations_to_arrow,
    empty_messages,
)
from ccstats.storage import Changes, Store

__all__ = [
    "arrow_rows",
    "check_columns",
    "ingest_conversations",
    "ingest_table",
    "items_to_table",
    "normalise_time",
]


# pyarrow tries `import dateutil.relativedelta` for every column it converts from Python values;
# without dateutil each try walks sys.path (58 tries, ~1 µs per record for a batch of JSON items).
refuse_if_absent("dateutil")

_FIELDS = Conversation.model_fields
_MODEL_KINDS: dict[str, LogicalType] = {
    n: k for n, k in CONVERSATION_COLUMNS.items() if n in _FIELDS and n != "messages"
}
_ID_FIELDS = frozenset(ID_FIELDS)
"""Fields whose integer values the model turns into text (`Conversation._ids_are_text`)."""
_INT_AS_TEXT = _ID_FIELDS | {n for n, k in _MODEL_KINDS.items() if k == "time"} | {"price"}
"""Fields where an int and its decimal text mean the same (ids, epoch ms, price)."""
_REQUIRED = frozenset(n for n, f in _FIELDS.items() if f.is_required())
_NOT_NULLABLE_DEFAULTS = {"direction": "inbound"}
"""Fields with a default that do not accept null: missing means the default, null is an error."""
_MIN_LENGTH_1 = frozenset({"id", "tenant_id"})
# `source`: 1 to 64 characters (`records.Conversation`); others out of range go to the row path.
_SOURCE_MAX = 64

# The accepted times (`records.RECORD_TIMES`) in epoch milliseconds; integer epoch ms convert
# exactly on both paths (`parse_time` adds them as a timedelta). A time outside goes to the row
# path, which rejects it with its reason.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_MS = (MIN_TIME - _EPOCH) // timedelta(milliseconds=1)
_END_MS = (MAX_TIME - _EPOCH) // timedelta(milliseconds=1)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
# ISO 8601 shapes whose parse by Arrow equals `datetime.fromisoformat` (years 1000-2999, valid
# hour/minute/second digits, an offset within a day); anything else is left to the row path.
_ISO = (
    r"^[12][0-9]{3}-[01][0-9]-[0-3][0-9][T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_EPOCH_TEXT = r"^-?[0-9]{1,13}$"
_INT_TEXT = r"^-?[0-9]{1,18}$"


def _enum_values(annotation: Any) -> tuple[str, ...] | None:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _enum_values(arg)
            if found is not None:
                return found
        return None
    return tuple(get_args(annotation)) if origin is Literal else None


_ENUMS = {n: v for n, f in _FIELDS.items() if (v := _enum_values(f.annotation)) is not None}


def _bounds(name: str) -> tuple[int | None, int | None]:
    low = high = None
    for item in _FIELDS[name].metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


_RANGES = {n: _bounds(n) for n, k in _MODEL_KINDS.items() if k == "int"}
_TARGET = conversation_schema()
_FACT_DEFAULTS = TranscriptFacts()


# -- column checks --------------------------------------------------------------------------------


@dataclass
class _Checked:
    """A column converted to its stored type; `bad` marks values the row path must judge."""

    values: pa.Array
    bad: pa.Array


@functools.lru_cache(maxsize=256, typed=True)
def _s(value: Any, kind: pa.DataType | None = None) -> pa.Scalar:
    # Built once: converting a Python value tries optional imports (dateutil) on every call.
    return pa.scalar(value, kind)


def _none(count: int) -> pa.Array:
    """A mask with no record marked."""
    return pa.nulls(count, pa.bool_()).fill_null(_s(False))


def _filled(count: int, value: Any, kind: pa.DataType) -> pa.Array:
    """A column of one value (or all null)."""
    column = pa.nulls(count, kind)
    return column if value is None else column.fill_null(_s(value, kind))


def _bad(column: pa.Array, ok: pa.Array | None) -> pa.Array:
    """Non-null values where `ok` is not true."""
    if ok is None:
        return _none(len(column))
    return pc.and_(pc.is_valid(column), pc.invert(pc.fill_null(ok, _s(False))))


def _keep(values: pa.Array, bad: pa.Array, target: pa.DataType) -> _Checked:
    return _Checked(pc.if_else(bad, _s(None, target), values), bad)


def _rejected(column: pa.Array, target: pa.DataType) -> _Checked:
    return _Checked(pa.nulls(len(column), target), pc.is_valid(column))


def _matches(column: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(column, pattern)


def _text(name: str, column: pa.Array) -> _Checked:
    kind = column.type
    if pa.types.is_integer(kind) and name in _ID_FIELDS:
        # `_ids_are_text` writes an int in decimal, as Arrow does.
        return _Checked(pc.cast(column, pa.string()), _none(len(column)))
    if pa.types.is_integer(kind) and name == "price":
        # `price`'s `str(value)`, then the same bounds as text (no negative, below 10**12).
        values = pc.cast(column, pa.string())
        return _keep(values, _bad(values, _matches(values, PRICE_PATTERN)), pa.string())
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return _rejected(column, pa.string())
    values = pc.cast(column, pa.string())
    ok: pa.Array | None = None
    if name in _ENUMS:
        ok = pc.is_in(values, value_set=pa.array(_ENUMS[name], pa.string()))
    elif name in _MIN_LENGTH_1:
        ok = pc.greater(pc.utf8_length(values), _s(0, pa.int32()))
    elif name == "source":
        length = pc.utf8_length(values)
        ok = pc.and_(
            pc.greater(length, _s(0, pa.int32())),
            pc.less_equal(length, _s(_SOURCE_MAX, pa.int32())),
        )
    elif name == "price":
        ok = _matches(values, PRICE_PATTERN)
    return _keep(values, _bad(values, ok), pa.string())


def _int(name: str, column: pa.Array) -> _Checked:
    kind = column.type
    if pa.types.is_floating(kind):
        # pydantic accepts a float with no fractional part as an int (3.0 -> 3).
        finite = pc.and_(pc.is_finite(column), pc.less(pc.abs(column), _s(2.0**62, column.type)))
        ok = pc.and_(finite, pc.equal(pc.floor(column), column))
        values = pc.cast(pc.if_else(ok, column, _s(None, column.type)), pa.int64())
    elif _is_text(kind):
        # pydantic reads decimal text as an int ("007" -> 7; CSV cells are all text).
        ok = pc.fill_null(_matches(column, _INT_TEXT), _s(False))
        values = pc.cast(pc.if_else(ok, column, _s(None, kind)), pa.int64())
    elif pa.types.is_integer(kind):
        ok = pc.less_equal(column, _s(2**63 - 1, pa.uint64())) if kind == pa.uint64() else None
        values = pc.cast(
            pc.if_else(ok, column, _s(None, kind)) if ok is not None else column, pa.int64()
        )
    else:
        return _rejected(column, pa.int64())
    low, high = _RANGES[name]
    for bound, compare in ((low, pc.greater_equal), (high, pc.less_equal)):
        if bound is not None:
            inside = compare(values, _s(bound, pa.int64()))
            ok = inside if ok is None else pc.and_(ok, inside)
    return _keep(values, _bad(column, ok), pa.int64())


_BOOL_TEXT = pa.array(["true", "false", "1", "0"])
"""Texts pydantic reads as booleans (it reads more: those take the row path)."""
_TRUE_TEXT = pa.array(["true", "1"])


def _bool(column: pa.Array) -> _Checked:
    if pa.types.is_boolean(column.type):
        return _Checked(column, _none(len(column)))
    if _is_text(column.type):
        ok = pc.is_in(column, value_set=_BOOL_TEXT)
        true = pc.is_in(column, value_set=_TRUE_TEXT)
        values = pc.if_else(pc.is_valid(column), true, _s(None, pa.bool_()))
        return _keep(values, _bad(column, ok), pa.bool_())
    return _rejected(column, pa.bool_())


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


_UTC_US = pa.timestamp("us", tz="UTC")
_NAIVE_US = pa.timestamp("us")


def _as_int64(column: pa.Array) -> pa.Array:
    """An integer column as int64, values beyond int64 (a uint64 of 2**64-1) null."""
    if column.type == pa.uint64():
        fits = pc.less_equal(column, _s(INT64_MAX, pa.uint64()))
        column = pc.if_else(fits, column, _s(None, pa.uint64()))
    return pc.cast(column, pa.int64())


def _epoch_ms(column: pa.Array) -> _Checked:
    ints = _as_int64(column)
    ok = pc.and_(
        pc.greater_equal(ints, _s(_MIN_MS, pa.int64())), pc.less(ints, _s(_END_MS, pa.int64()))
    )
    micros = pc.multiply(pc.if_else(ok, ints, _s(None, pa.int64())), _s(1000, pa.int64()))
    return _keep(pc.cast(micros, _NAIVE_US), _bad(column, ok), _NAIVE_US)


def timestamps_in_range(column: pa.Array) -> pa.Array:
    """Whether each value of a timestamp column is an accepted time (null stays null)."""
    raw = pc.cast(column, pa.int64())
    per_second = _PER_SECOND[column.type.unit]
    low, end = _MIN_MS * per_second // 1000, _END_MS * per_second // 1000
    return pc.and_(pc.greater_equal(raw, _s(low, pa.int64())), pc.less(raw, _s(end, pa.int64())))


def time_cells(column: pa.Array) -> tuple[pa.Array, dict[int, int]]:
    """A timestamp column as `normalise_time` gives it, times outside the accepted range null,
    and those times as {position: epoch milliseconds} (Python cannot hold year 10000 or -1)."""
    ok = timestamps_in_range(column)
    outside = pc.indices_nonzero(_bad(column, ok)).to_pylist()
    if not outside:
        return normalise_time(column), {}
    per_second = _PER_SECOND[column.type.unit]
    raw = pc.cast(column, pa.int64())
    millis = {i: raw[i].as_py() * 1000 // per_second for i in outside}
    return normalise_time(pc.if_else(ok, column, _s(None, column.type))), millis


def _time_text(column: pa.Array) -> _Checked:
    values = pc.cast(column, pa.string())
    epoch = pc.fill_null(_matches(values, _EPOCH_TEXT), _s(False))
    iso = pc.fill_null(_matches(values, _ISO), _s(False))
    from_epoch = _epoch_ms(pc.cast(pc.if_else(epoch, values, _s(None, pa.string())), pa.int64()))
    try:
        parsed = pc.cast(pc.if_else(iso, values, _s(None, pa.string())), _UTC_US)
        from_iso = pc.cast(parsed, _NAIVE_US)
    except pa.ArrowInvalid:  # e.g. 2024-02-30: leave the whole shape to the row path
        iso = pc.and_(iso, False)
        from_iso = pa.nulls(len(values), _NAIVE_US)
    iso = pc.and_(iso, _naive_in_range(from_iso))
    out = pc.if_else(epoch, from_epoch.values, from_iso)
    ok = pc.or_(pc.and_(epoch, pc.invert(from_epoch.bad)), iso)
    return _keep(out, _bad(values, ok), _NAIVE_US)


def _naive_in_range(column: pa.Array) -> pa.Array:
    """Whether each naive UTC microsecond time is an accepted time (null: false)."""
    inside = pc.and_(
        pc.greater_equal(column, _s(MIN_TIME.replace(tzinfo=None), _NAIVE_US)),
        pc.less(column, _s(MAX_TIME.replace(tzinfo=None), _NAIVE_US)),
    )
    return pc.fill_null(inside, _s(False))


def _time(column: pa.Array) -> _Checked:
    kind = column.type
    if pa.types.is_timestamp(kind):
        values, outside = time_cells(column)
        bad = _none(len(column))
        if outside:
            bad = pa.array([i in outside for i in range(len(column))], pa.bool_())
        return _Checked(values, bad)
    if pa.types.is_integer(kind):
        return _epoch_ms(column)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _time_text(column)
    return _rejected(column, _NAIVE_US)


def normalise_time(column: pa.Array) -> pa.Array:
    """A timestamp column as naive UTC microseconds (naive input is UTC; nanoseconds truncated)."""
    kind = column.type
    if kind.unit == "ns":
        # Python datetimes hold microseconds; the row path could not convert the rest at all.
        column = pc.cast(column, pa.timestamp("us", tz=kind.tz), safe=False)
    if kind.tz is not None:
        column = pc.cast(column, _UTC_US)
    return pc.cast(column, _NAIVE_US)


def _check(name: str, column: pa.Array) -> _Checked:
    kind = _MODEL_KINDS[name]
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_null(column.type):
        return _Checked(pa.nulls(len(column), _ARROW_OF[kind]), _none(len(column)))
    if kind == "text":
        return _text(name, column)
    if kind == "int":
        return _int(name, column)
    if kind == "bool":
        return _bool(column)
    return _time(column)


_ARROW_OF: dict[str, pa.DataType] = {
    "text": pa.string(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "time": _NAIVE_US,
}


def _messages_need_rows(column: pa.Array) -> pa.Array:
    """Records with a transcript: their facts are derived on the row path (`derive.py`)."""
    kind = column.type
    if pa.types.is_null(kind):
        return _none(len(column))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pc.fill_null(pc.greater(pc.list_value_length(column), _s(0, pa.int32())), _s(False))
    return pc.is_valid(column)


# -- the batch ------------------------------------------------------------------------------------


RowSource = Callable[[list[int]], list[Any]]
"""The original items at these positions of the batch, as the row path reads them."""

Upsert = Callable[[pa.Table, pa.Table], Changes]
"""Stores valid conversations and their messages, returning the change (`Store.upsert_conversations`)."""


def check_columns(schema: pa.Schema, source: str, ignore: Sequence[str] = ()) -> None:
    """Fail a whole file whose columns are not the model's (every record would be rejected)."""
    unknown = [n for n in schema.names if n not in _FIELDS and n not in ignore]
    if not unknown:
        return
    names = ", ".join(repr(n) for n in unknown)
    plural = "s" if len(unknown) > 1 else ""
    derived = [n for n in unknown if n in CONVERSATION_COLUMNS]
    if derived:
        # An export of `/v1/conversations` carries them; ccstats derives them again at ingest.
        raise PayloadError(
            f"{source}: column{plural} {names} {'are' if plural else 'is'} computed by ccstats"
            " (transcript facts, stored_at), not sent: drop them and import again"
        )
    raise PayloadError(
        f"{source}: unknown column{plural} {names}; a conversation has: {', '.join(_FIELDS)}"
    )


def ingest_table(
    store: Store,
    table: pa.Table,
    tenant_id: str | None = None,
    rows: RowSource | None = None,
    forced: pa.Array | None = None,
    dry_run: bool = False,
    upsert: Upsert | None = None,
) -> IngestResult:
    """Validate and upsert a batch of conversations given as columns (see the module docstring).

    `rows` gives the original items of records sent to the row path (default: the table's own
    rows as Python values, as `ingest.read_records` reads a Parquet file); `forced` marks records
    that must take the row path whatever their columns say. `dry_run`: validate only, store
    nothing (`accepted` counts what would be stored). `upsert` stores the valid records
    (default `store.upsert_conversations`; the service's `commits.GroupCommit`).
    """
    count = table.num_rows
    if count == 0:
        return IngestResult()
    columns = {name: _one_chunk(table.column(name)) for name in table.column_names}
    bad = forced if forced is not None else _none(count)
    values: dict[str, pa.Array] = {}
    for name in table.column_names:
        if name == "messages":
            bad = pc.or_(bad, _messages_need_rows(columns[name]))
        elif name not in _MODEL_KINDS:
            bad = pc.or_(bad, pc.is_valid(columns[name]))  # unknown field: the row path says so
        else:
            checked = _check(name, columns[name])
            values[name] = checked.values
            bad = pc.or_(bad, checked.bad)
    values = _fill_defaults(values, count, tenant_id)
    for name in _REQUIRED:
        bad = pc.or_(bad, pc.is_null(values[name]))
    return _store(store, values, bad, tenant_id, rows or _table_rows(table), dry_run, upsert)


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    # A batch read from a file is one chunk per column: use it as it is, without a copy.
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _fill_defaults(
    values: dict[str, pa.Array], count: int, tenant_id: str | None
) -> dict[str, pa.Array]:
    out = {}
    for name, kind in _MODEL_KINDS.items():
        column = values.get(name)
        if column is None:
            column = pa.nulls(count, _ARROW_OF[kind])
        if name == "tenant_id" and tenant_id is not None:
            column = pc.fill_null(
                column, _s(tenant_id, pa.string())
            )  # the key's tenant, as `_validate` fills it
        elif name in _NOT_NULLABLE_DEFAULTS:
            column = pc.fill_null(column, _s(_NOT_NULLABLE_DEFAULTS[name], pa.string()))
        out[name] = column
    return out


def _table_rows(table: pa.Table) -> RowSource:
    def rows(positions: list[int]) -> list[Any]:
        return arrow_rows(table.take(pa.array(positions, pa.int64())))

    return rows


def _store(
    store: Store,
    values: dict[str, pa.Array],
    bad: pa.Array,
    tenant_id: str | None,
    rows: RowSource,
    dry_run: bool = False,
    upsert: Upsert | None = None,
) -> IngestResult:
    known = known_tenants(store)
    batch = pa.table(values).append_column("_i", pa.array(range(len(bad)), pa.int64()))
    if pc.any(bad).as_py():  # a filter copies every column: 0.1 s per 200 000 rows
        batch = batch.filter(pc.invert(bad))
    owners = batch.column("tenant_id")
    wrong_tenant = (
        pc.not_equal(owners, _s(tenant_id, pa.string())) if tenant_id is not None else None
    )
    unknown = pc.invert(pc.is_in(owners, value_set=pa.array(sorted(known), pa.string())))
    refused = unknown if wrong_tenant is None else pc.or_(wrong_tenant, unknown)
    rejected: list[Rejection] = []
    if pc.any(refused).as_py():
        for row in batch.filter(refused).select(["_i", "id", "tenant_id"]).to_pylist():
            owner = row["tenant_id"]
            if tenant_id is not None and owner != tenant_id:
                reason = f"tenant_id {owner!r} is not this key's tenant"
            else:
                reason = f"unknown tenant {owner!r}; add it with `ccstats tenant add`"
            rejected.append(Rejection(row["_i"], row["id"], reason))
        batch = batch.filter(pc.invert(refused))
    positions = pc.indices_nonzero(bad).to_pylist()
    slow_valid, slow_rejected = validate(Conversation, rows(positions), tenant_id, known)
    rejected += [Rejection(positions[r.index], r.id, r.reason) for r in slow_rejected]
    rejected.sort(key=lambda r: r.index)
    slow = [(positions[i], record) for i, record in slow_valid]
    if dry_run:
        return IngestResult(batch.num_rows + len(slow), rejected)
    stored_at = datetime.now(UTC)
    conversations, messages = _last_of_each_key(batch, slow, stored_at)
    changes = (upsert or store.upsert_conversations)(conversations, messages)
    return IngestResult(batch.num_rows + len(slow), rejected, changes)


_FEW_KEYS = 256
"""Batches up to this size check their keys' uniqueness in Python."""


def _distinct(keys: pa.Table) -> bool:
    pairs = zip(keys.column("tenant_id").to_pylist(), keys.column("id").to_pylist(), strict=True)
    return len(set(pairs)) == int(keys.num_rows)


def _last_of_each_key(
    batch: pa.Table, slow: list[tuple[int, Conversation]], stored_at: datetime
) -> tuple[pa.Table, pa.Table]:
    """Both paths' records as one table; a key repeated in the batch keeps its last record."""
    slow_keys = pa.table(
        {
            "tenant_id": pa.array([r.tenant_id for _, r in slow], pa.string()),
            "id": pa.array([r.id for _, r in slow], pa.string()),
            "_i": pa.array([i for i, _ in slow], pa.int64()),
        }
    )
    keys = pa.concat_tables([batch.select(["tenant_id", "id", "_i"]), slow_keys])
    if keys.num_rows <= _FEW_KEYS and _distinct(keys):
        winners = keys  # a small batch, every key once: Arrow's group-by costs more (0.3 ms)
    else:
        winners = keys.group_by(["tenant_id", "id"], use_threads=False).aggregate([("_i", "max")])
    if winners.num_rows < keys.num_rows:
        last = winners.column("_i_max")
        batch = batch.filter(pc.is_in(batch.column("_i"), value_set=last))
        kept = set(last.to_pylist())
        slow = [(i, r) for i, r in slow if i in kept]
    fast = _with_empty_facts(batch.drop_columns(["_i"]), stored_at)
    if not slow:
        return fast, empty_messages()
    slow_table, messages = conversations_to_arrow([r for _, r in slow], stored_at)
    return pa.concat_tables([fast, slow_table]), messages


def _with_empty_facts(batch: pa.Table, stored_at: datetime) -> pa.Table:
    count = batch.num_rows
    stamp = stored_at.astimezone(UTC).replace(tzinfo=None)
    columns = []
    for field in _TARGET:
        if field.name in _MODEL_KINDS:
            columns.append(batch.column(field.name))
        elif field.name == "stored_at":
            columns.append(_filled(count, stamp, field.type))
        else:
            columns.append(_filled(count, getattr(_FACT_DEFAULTS, field.name), field.type))
    return pa.Table.from_arrays(columns, schema=_TARGET)


# -- JSON items -----------------------------------------------------------------------------------


def items_to_table(items: Sequence[Any]) -> tuple[pa.Table, pa.Array]:
    """Decoded JSON items as columns, and the items that must take the row path as they are.

    A value Arrow cannot hold in one column with its neighbours (an int among strings) is left
    null in the column and its item marked, as is any item that is not an object or that sends
    null for a field that has a default but is not nullable.
    """
    count = len(items)
    forced = [type(item) is not dict for item in items]
    dicts = [item if type(item) is dict else {} for item in items]
    try:
        table = pa.Table.from_struct_array(pa.array(dicts))
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        table = _by_column(dicts, forced)
    for name in table.column_names:
        if name not in _FIELDS:  # even `null` is an unknown field to the model
            for position, item in enumerate(dicts):
                forced[position] = forced[position] or name in item
        elif name in ("direction", "messages"):  # null is not the default here
            for position, item in enumerate(dicts):
                forced[position] = forced[position] or (name in item and item[name] is None)
    if table.num_columns == 0:
        table = pa.table({"id": pa.nulls(count, pa.string())})
    return table, pa.array(forced, pa.bool_())


def _by_column(dicts: list[dict[str, Any]], forced: list[bool]) -> pa.Table:
    names: dict[str, None] = {}
    for item in dicts:
        names.update(dict.fromkeys(item))
    columns = {}
    for name in names:
        values = [item.get(name) for item in dicts]
        try:
            columns[name] = pa.array(values)
            continue
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
        if name in _INT_AS_TEXT and {type(v) for v in values} <= {int, str, type(None)}:
            # An id, time or price the model reads the same as an int or as its decimal text.
            values = [str(v) if type(v) is int else v for v in values]
            columns[name] = pa.array(values, pa.string())
            continue
        first = next(type(v) for v in values if v is not None)
        for position, value in enumerate(values):
            if value is not None and type(value) is not first:
                forced[position] = True
                values[position] = None
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            for position, value in enumerate(values):
                forced[position] = forced[position] or value is not None
            columns[name] = pa.nulls(len(values))
    return pa.table(columns)


def ingest_conversations(
    store: Store,
    items: Sequence[Any],
    tenant_id: str | None = None,
    dry_run: bool = False,
    upsert: Upsert | None = None,
) -> IngestResult:
    """Validate and upsert decoded JSON conversations; `tenant_id` restricts the batch to one
    tenant; `dry_run` validates only; `upsert` as for `ingest_table`.

    Records are checked column by column; those the vectorised checks cannot vouch for are
    judged one by one as `ingest_rows` does, with the same reasons.

    Example:
        >>> from ccstats.storage import open_store
        >>> from ccstats.records import TenantSettings
        >>> store = open_store(); store.registry.put_tenant(TenantSettings(id="t1"))
        >>> r = ingest_conversations(store, [{"id": "a", "tenant_id": "t1", "channel": "chat",
        ...     "created_at": 0}, {"id": "b"}])
        >>> r.accepted, r.rejected[0].index
        (1, 1)
    """
    if not items:
        return IngestResult()
    table, forced = items_to_table(items)

    def rows(positions: list[int]) -> list[Any]:
        return [items[p] for p in positions]

    return ingest_table(store, table, tenant_id, rows, forced, dry_run, upsert)


def _aware(value: Any) -> Any:
    # Parquet timestamps without a zone are UTC instants by the format's convention.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _present(row: dict[str, Any]) -> dict[str, Any]:
    # A null cell is a missing field; an Arrow struct carries every field, set or not.
    out = {}
    for key, value in row.items():
        if value is None:
            continue
        if key == "messages" and isinstance(value, list):
            value = [_present(m) if isinstance(m, dict) else m for m in value]
        out[key] = _aware(value)
    return out


def arrow_rows(table: Any) -> list[Any]:
    """Rows of an Arrow table as the row path reads them: nulls left out, times aware UTC.

    A time outside the accepted range becomes its epoch milliseconds (which validation rejects,
    naming it); a row Python cannot hold at all is marked unreadable, to be rejected by position.
    """
    outside: dict[str, dict[int, int]] = {}
    for position, column in enumerate(table.columns):
        if pa.types.is_timestamp(column.type):
            fixed, millis = time_cells(column.combine_chunks())
            table = table.set_column(position, table.field(position).name, fixed)
            if millis:
                outside[table.field(position).name] = millis
    rows: list[Any] = [r if isinstance(r, Unparsable) else _present(r) for r in _python_rows(table)]
    for name, millis in outside.items():
        for index, value in millis.items():
            row = rows[index]
            if isinstance(row, dict):
                row[name] = value  # an epoch ms the row path rejects as out of range
    return rows


def _python_rows(table: Any) -> list[dict[str, Any] | Unparsable]:
    try:
        rows: list[dict[str, Any] | Unparsable] = table.to_pylist()
        return rows
    except (OverflowError, ValueError):  # e.g. a transcript time of year 10000: only its record
        pass
    out: list[dict[str, Any] | Unparsable] = []
    for index in range(table.num_rows):
        try:
            out.append(table.slice(index, 1).to_pylist()[0])
        except (OverflowError, ValueError) as error:
            out.append(Unparsable(f"a value cannot be read: {error}"))
    return out
