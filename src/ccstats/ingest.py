"""Records in: payloads and files parsed, validated one record at a time, stored in Arrow batches.

A rejected record is reported with its position and the reason; the rest of the batch is stored.
A batch is atomic in the store: a storage failure stores none of it (`StorageError`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from ccstats.records import AgentInterval, Conversation, describe_validation_error
from ccstats.storage import Store
from ccstats.storage.schema import conversations_to_arrow, intervals_to_arrow

__all__ = [
    "IngestResult",
    "PayloadError",
    "Rejection",
    "ingest_conversations",
    "ingest_rows",
    "arrow_rows",
    "ingest_intervals",
    "parse_payload",
    "read_records",
    "IMPORT_CHUNK",
    "FILE_FORMATS",
]

FILE_FORMATS = ("json", "ndjson", "csv", "parquet")


class PayloadError(ValueError):
    """The payload as a whole cannot be read (malformed JSON, wrong format)."""


@dataclass(frozen=True)
class Rejection:
    """A record that was not stored: its position in the batch, its id if it had one, and why."""

    index: int
    id: str | None
    reason: str


@dataclass
class IngestResult:
    """How many records were stored and which were rejected."""

    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The `/v1` ingest answer: `{"accepted", "rejected": [{"index", "id", "reason"}]}`."""
        return {
            "accepted": self.accepted,
            "rejected": [{"index": r.index, "id": r.id, "reason": r.reason} for r in self.rejected],
        }

    def merge(self, other: IngestResult, offset: int = 0) -> None:
        """Add another batch's result whose indexes start at `offset`."""
        self.accepted += other.accepted
        self.rejected += [Rejection(r.index + offset, r.id, r.reason) for r in other.rejected]


def parse_payload(body: bytes, content_type: str = "application/json") -> list[Any]:
    """A JSON array (or one object) or NDJSON body as a list of items."""
    text = body.strip()
    if not text:
        return []
    ndjson = "ndjson" in content_type or "jsonlines" in content_type
    if not ndjson:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            if text.startswith(b"{") and b"\n" in text:
                ndjson = True  # NDJSON sent as application/json
            else:
                raise PayloadError(f"malformed JSON: {error}") from None
        else:
            return value if isinstance(value, list) else [value]
    return list(_ndjson_items(text.splitlines()))


@dataclass(frozen=True)
class _Unparsable:
    reason: str


def _validate(
    model: type[BaseModel], items: Sequence[Any], tenant_id: str | None, tenants: set[str] | None
) -> tuple[list[tuple[int, Any]], list[Rejection]]:
    valid: list[tuple[int, Any]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, dict) else None
        rid = str(raw_id) if raw_id is not None else None
        if isinstance(item, _Unparsable):
            rejected.append(Rejection(index, None, item.reason))
            continue
        if not isinstance(item, dict):
            rejected.append(
                Rejection(index, None, f"expected a JSON object, got {type(item).__name__}")
            )
            continue
        if tenant_id is not None and item.get("tenant_id") is None:
            item = {**item, "tenant_id": tenant_id}
        try:
            record = model.model_validate(item)
        except ValidationError as error:
            rejected.append(Rejection(index, rid, describe_validation_error(error)))
            continue
        owner = record.tenant_id  # type: ignore[attr-defined]
        if tenant_id is not None and owner != tenant_id:
            rejected.append(Rejection(index, rid, f"tenant_id {owner!r} is not this key's tenant"))
        elif tenants is not None and owner not in tenants:
            rejected.append(
                Rejection(index, rid, f"unknown tenant {owner!r}; add it with `ccstats tenant add`")
            )
        else:
            valid.append((index, record))
    return valid, rejected


def _known_tenants(store: Store) -> set[str]:
    return {t.id for t in store.list_tenants()}


def ingest_conversations(
    store: Store, items: Sequence[Any], tenant_id: str | None = None
) -> IngestResult:
    """Validate and upsert conversations; `tenant_id` restricts the batch to one tenant.

    Records are checked column by column (`ingest_arrow`); those the vectorised checks cannot
    vouch for are judged one by one as `ingest_rows` does, with the same reasons.

    Example:
        >>> from ccstats.storage import open_store
        >>> from ccstats.records import TenantSettings
        >>> store = open_store(); store.put_tenant(TenantSettings(id="t1"))
        >>> r = ingest_conversations(store, [{"id": "a", "tenant_id": "t1", "channel": "chat",
        ...     "created_at": 0}, {"id": "b"}])
        >>> r.accepted, r.rejected[0].index
        (1, 1)
    """
    from ccstats.ingest_arrow import ingest_items

    return ingest_items(store, items, tenant_id)


def ingest_rows(store: Store, items: Sequence[Any], tenant_id: str | None = None) -> IngestResult:
    """The reference path: one pydantic validation per record (what `ingest_conversations` equals)."""
    valid, rejected = _validate(Conversation, items, tenant_id, _known_tenants(store))
    latest: dict[tuple[str, str], Conversation] = {}
    for _, record in valid:
        latest[(record.tenant_id, record.id)] = record  # a key repeated in a batch: the last wins
    conversations, messages = conversations_to_arrow(list(latest.values()), datetime.now(UTC))
    store.upsert_conversations(conversations, messages)
    return IngestResult(len(valid), rejected)


def ingest_intervals(
    store: Store, items: Sequence[Any], tenant_id: str | None = None
) -> IngestResult:
    """Validate and upsert agent intervals."""
    valid, rejected = _validate(AgentInterval, items, tenant_id, _known_tenants(store))
    store.upsert_intervals(intervals_to_arrow([r for _, r in valid], datetime.now(UTC)))
    return IngestResult(len(valid), rejected)


# -- files -------------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """The file format from its extension (.json, .ndjson/.jsonl, .csv, .parquet)."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"jsonl": "ndjson", "pq": "parquet"}.get(suffix, suffix)
    if fmt not in FILE_FORMATS:
        raise PayloadError(
            f"{path.name}: unknown format {suffix!r}; use one of {', '.join(FILE_FORMATS)}"
        )
    return fmt


def _csv_row(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        if key == "messages":
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value  # validation reports it with the row's position
        else:
            out[key] = value
    return out


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
    import pyarrow as pa

    from ccstats.ingest_arrow import time_cells

    outside: dict[str, dict[int, int]] = {}
    for position, column in enumerate(table.columns):
        if pa.types.is_timestamp(column.type):
            fixed, millis = time_cells(column.combine_chunks())
            table = table.set_column(position, table.field(position).name, fixed)
            if millis:
                outside[table.field(position).name] = millis
    rows: list[Any] = [
        r if isinstance(r, _Unparsable) else _present(r) for r in _python_rows(table)
    ]
    for name, millis in outside.items():
        for index, value in millis.items():
            row = rows[index]
            if isinstance(row, dict):
                row[name] = value  # an epoch ms the row path rejects as out of range
    return rows


def _python_rows(table: Any) -> list[dict[str, Any] | _Unparsable]:
    try:
        rows: list[dict[str, Any] | _Unparsable] = table.to_pylist()
        return rows
    except (OverflowError, ValueError):  # e.g. a transcript time of year 10000: only its record
        pass
    out: list[dict[str, Any] | _Unparsable] = []
    for index in range(table.num_rows):
        try:
            out.append(table.slice(index, 1).to_pylist()[0])
        except (OverflowError, ValueError) as error:
            out.append(_Unparsable(f"a value cannot be read: {error}"))
    return out


IMPORT_CHUNK = 50_000
"""Records per upsert of a file imported into a store in process. Each upsert scans the
tenant's keys: at 10M conversations, chunks of 50 000 NDJSON records imported at 33k/s, of
10 000 at 18k/s (bench/NOTES.md, measured when each upsert also scanned its customers)."""


def read_records(path: Path, chunk_size: int = 10_000) -> Iterator[list[Any]]:
    """Items of a JSON, NDJSON, CSV or Parquet file, in chunks (positions continue across chunks).

    NDJSON, CSV and Parquet are read a chunk at a time, whatever the file's size; a JSON
    array is parsed whole.
    """
    fmt = detect_format(path)
    try:
        if fmt == "parquet":
            yield from _read_parquet(path, chunk_size)
        elif fmt == "csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                yield from _chunks((_csv_row(r) for r in csv.DictReader(handle)), chunk_size)
        elif fmt == "ndjson":
            with path.open("rb") as handle:
                yield from _chunks(_ndjson_items(handle), chunk_size)
        else:
            data = path.read_bytes()
            items = parse_payload(
                data, "application/x-ndjson" if fmt == "ndjson" else "application/json"
            )
            yield from _chunks(iter(items), chunk_size)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise PayloadError(f"{path.name}: cannot read as {fmt}: {error}") from None


def _ndjson_items(lines: Iterable[bytes]) -> Iterator[Any]:
    """One item per non-blank line; a line that is not JSON is rejected by its number."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as error:
                yield _Unparsable(f"line {number} is not JSON: {error}")


def _read_parquet(path: Path, chunk_size: int) -> Iterator[list[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise PayloadError(f"{path.name}: not a Parquet file: {error}") from None
    for batch in parquet.iter_batches(batch_size=chunk_size):
        yield arrow_rows(pa.Table.from_batches([batch]))


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
