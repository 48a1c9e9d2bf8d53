"""Records in: payloads and files parsed, validated one record at a time, stored in Arrow batches.

A rejected record is reported with its position and the reason; the rest of the batch is stored.
A batch is atomic in the store: a storage failure stores none of it (`StorageError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from ccstats.records import AgentInterval, Conversation, describe_validation_error
from ccstats.schema import conversations_to_arrow, intervals_to_arrow
from ccstats.storage import Changes, Store

__all__ = [
    "IngestResult",
    "PayloadError",
    "Rejection",
    "Unparsable",
    "ingest_intervals",
    "ingest_rows",
    "known_tenants",
    "ndjson_items",
    "ndjson_numbered",
    "parse_payload",
    "validate",
]


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
    changes: Changes = field(default_factory=Changes)
    """The times the stored records changed, per tenant (for kept answers: `service`)."""

    def as_dict(self) -> dict[str, Any]:
        """The `/v1` ingest answer: `{"accepted", "rejected": [{"index", "id", "reason"}]}`."""
        return {
            "accepted": self.accepted,
            "rejected": [{"index": r.index, "id": r.id, "reason": r.reason} for r in self.rejected],
        }

    def merge(self, other: IngestResult, offset: int = 0) -> None:
        """Add another batch's result whose indexes start at `offset`."""
        self.accepted += other.accepted
        self.changes = self.changes.merge(other.changes)
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
    return list(ndjson_items(text.splitlines()))


@dataclass(frozen=True)
class Unparsable:
    """An item that could not be decoded (a bad NDJSON line): rejected with `reason`."""

    reason: str


def validate(
    model: type[BaseModel], items: Sequence[Any], tenant_id: str | None, tenants: set[str] | None
) -> tuple[list[tuple[int, Any]], list[Rejection]]:
    """Each item validated as `model` (the reference path): the valid ones with their positions,
    and a rejection for each of the others."""
    valid: list[tuple[int, Any]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, dict) else None
        rid = str(raw_id) if raw_id is not None else None
        if isinstance(item, Unparsable):
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


def known_tenants(store: Store) -> set[str]:
    """The ids of every tenant (records of other tenants are rejected)."""
    return {t.id for t in store.registry.list_tenants()}


def ingest_rows(store: Store, items: Sequence[Any], tenant_id: str | None = None) -> IngestResult:
    """The reference path: one pydantic validation per record (what `ingest_conversations` equals)."""
    valid, rejected = validate(Conversation, items, tenant_id, known_tenants(store))
    latest: dict[tuple[str, str], Conversation] = {}
    for _, record in valid:
        latest[(record.tenant_id, record.id)] = record  # a key repeated in a batch: the last wins
    conversations, messages = conversations_to_arrow(list(latest.values()), datetime.now(UTC))
    changes = store.upsert_conversations(conversations, messages)
    return IngestResult(len(valid), rejected, changes)


def ingest_intervals(
    store: Store, items: Sequence[Any], tenant_id: str | None = None, dry_run: bool = False
) -> IngestResult:
    """Validate and upsert agent intervals (`dry_run`: validate only, store nothing)."""
    valid, rejected = validate(AgentInterval, items, tenant_id, known_tenants(store))
    if dry_run:
        return IngestResult(len(valid), rejected)
    changes = store.upsert_intervals(intervals_to_arrow([r for _, r in valid], datetime.now(UTC)))
    return IngestResult(len(valid), rejected, changes)


def ndjson_items(lines: Iterable[bytes]) -> Iterator[Any]:
    """One item per non-blank line; a line that is not JSON is rejected by its number."""
    for _, item in ndjson_numbered(lines):
        yield item


def ndjson_numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number from 1, item) per non-blank line; a line that is not JSON is an
    `Unparsable` saying "line N is not JSON"."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as error:
                yield number, Unparsable(f"line {number} is not JSON: {error}")
