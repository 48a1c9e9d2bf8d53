"""The tables, in one place: column names and logical types, and records -> Arrow batches.

Conversation columns are the data-model fields (`records.Conversation`) plus the transcript facts
derived at ingest (`derive.FACT_COLUMNS`) and `stored_at`. Times are stored as UTC instants.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pyarrow as pa

from ccstats.derive import FACT_COLUMNS, TranscriptFacts, derive_facts
from ccstats.records import AgentInterval, Conversation

__all__ = [
    "CONVERSATION_COLUMNS",
    "STORE_COLUMNS",
    "MESSAGE_COLUMNS",
    "INTERVAL_COLUMNS",
    "TIME_COLUMNS",
    "conversations_to_arrow",
    "intervals_to_arrow",
    "column_type",
]

LogicalType = Literal["text", "int", "bool", "time", "float"]

_ARROW = {
    "text": pa.string(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "time": pa.timestamp("us"),
    "float": pa.float64(),
}


def _logical(annotation: Any) -> LogicalType:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _logical(inner[0])
    if origin is Literal or annotation is str:
        return "text"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if "datetime" in str(annotation):
        return "time"
    raise TypeError(f"no column type for {annotation!r}")


def _model_columns() -> dict[str, LogicalType]:
    return {
        name: _logical(field.annotation)
        for name, field in Conversation.model_fields.items()
        if name != "messages"
    }


def _fact_columns() -> dict[str, LogicalType]:
    hints = get_type_hints(TranscriptFacts)
    return {name: _logical(hints[name]) for name in FACT_COLUMNS}


CONVERSATION_COLUMNS: dict[str, LogicalType] = {
    **_model_columns(),
    **_fact_columns(),
    "stored_at": "time",
}
"""Every column of a conversation record as stored and returned, in table order."""

STORE_COLUMNS: dict[str, LogicalType] = {"next_contact_at": "time"}
"""Columns the store maintains itself after the record columns (`storage/duckdb/contacts.py`); never
part of a record, a search result or an export."""

MESSAGE_COLUMNS: dict[str, LogicalType] = {
    "tenant_id": "text",
    "conversation_id": "text",
    "seq": "int",
    "sender": "text",
    "agent_id": "text",
    "text": "text",
    "sent_at": "time",
    "bot_outcome": "text",
}

INTERVAL_COLUMNS: dict[str, LogicalType] = {
    "tenant_id": "text",
    "agent_id": "text",
    "kind": "text",
    "status_id": "text",
    "started_at": "time",
    "ended_at": "time",
    "stored_at": "time",
}

TIME_COLUMNS = tuple(name for name, kind in CONVERSATION_COLUMNS.items() if kind == "time")


def column_type(name: str) -> LogicalType | None:
    """The logical type of a conversation column, or None if there is no such column."""
    return CONVERSATION_COLUMNS.get(name)


def _arrow_schema(columns: dict[str, LogicalType]) -> pa.Schema:
    return pa.schema([(name, _ARROW[kind]) for name, kind in columns.items()])


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _cell(value: Any, kind: LogicalType) -> Any:
    return _naive_utc(value) if kind == "time" else value


_MODEL_COLUMNS = tuple(
    (n, k) for n, k in CONVERSATION_COLUMNS.items() if n in Conversation.model_fields
)
_EMPTY_FACTS = TranscriptFacts()


def _time_column(values: list[datetime | None]) -> pa.Array:
    # Aware datetimes: Arrow converts each to its UTC instant; the column is stored without zone.
    return pa.array(values, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))


def conversations_to_arrow(
    records: Sequence[Conversation], stored_at: datetime
) -> tuple[pa.Table, pa.Table]:
    """Conversations (with derived facts) and their messages as Arrow tables, column by column."""
    schema = _arrow_schema(CONVERSATION_COLUMNS)
    fields = [record.__dict__ for record in records]  # pydantic keeps field values here
    columns: dict[str, pa.Array] = {}
    for name, kind in _MODEL_COLUMNS:
        values = [f[name] for f in fields]
        columns[name] = _time_column(values) if kind == "time" else pa.array(values, _ARROW[kind])
    # Facts are derived only for conversations with a transcript; the rest get the empty facts.
    facts = [derive_facts(r) if r.messages else _EMPTY_FACTS for r in records]
    for name in FACT_COLUMNS:
        columns[name] = pa.array([getattr(f, name) for f in facts], schema.field(name).type)
    stamp = _naive_utc(stored_at)
    columns["stored_at"] = pa.array([stamp] * len(records), pa.timestamp("us"))
    messages: dict[str, list[Any]] = {name: [] for name in MESSAGE_COLUMNS}
    for record in records:
        if record.messages:
            _append_messages(messages, record)
    return (
        pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema),
        pa.Table.from_pydict(messages, schema=_arrow_schema(MESSAGE_COLUMNS)),
    )


def _append_messages(columns: dict[str, list[Any]], record: Conversation) -> None:
    for position, message in enumerate(record.messages):
        columns["tenant_id"].append(record.tenant_id)
        columns["conversation_id"].append(record.id)
        columns["seq"].append(message.seq if message.seq is not None else position)
        columns["sender"].append(message.sender)
        columns["agent_id"].append(message.agent_id)
        columns["text"].append(message.text)
        columns["sent_at"].append(_naive_utc(message.sent_at))
        columns["bot_outcome"].append(message.bot_outcome)


def intervals_to_arrow(records: Iterable[AgentInterval], stored_at: datetime) -> pa.Table:
    """Agent intervals as an Arrow table."""
    data: dict[str, list[Any]] = {name: [] for name in INTERVAL_COLUMNS}
    for record in records:
        for name, kind in INTERVAL_COLUMNS.items():
            value = stored_at if name == "stored_at" else getattr(record, name)
            data[name].append(_cell(value, kind))
    return pa.Table.from_pydict(data, schema=_arrow_schema(INTERVAL_COLUMNS))


@functools.cache
def empty_messages() -> pa.Table:
    """An empty messages table with the right schema (one shared table: Arrow tables are
    immutable; made once, it costs 0.3 ms a batch otherwise)."""
    return _arrow_schema(MESSAGE_COLUMNS).empty_table()


def conversation_schema() -> pa.Schema:
    """The Arrow schema of the conversations table."""
    return _arrow_schema(CONVERSATION_COLUMNS)
