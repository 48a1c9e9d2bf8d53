"""Copy one store into another (`ccstats migrate`), e.g. a DuckDB file into ClickHouse, and check
that both give the same answers.

What is copied: tenants, credentials, conversations with their messages (with their own
`stored_at`) and agent intervals, through the `Store` interface only, so any engine can be either
side. Conversations go one tenant and one UTC month at a time; a month copied is marked in the
target's registry (`migrate:<tenant>:<YYYY-MM>`), so an interrupted migration resumes with the
first month not done (copying a month again is harmless: upserts replace by key). Server state
(signing secrets, nonces, refresh tokens) is not copied: clients of token-issuing dialects log
in again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from ccstats.metrics import CATALOG
from ccstats.metrics.query import MetricQuery
from ccstats.records import TenantSettings
from ccstats.schema import MESSAGE_COLUMNS, conversation_schema
from ccstats.service import Service
from ccstats.storage import SearchRequest, Store

__all__ = ["Copied", "migrate", "month_key", "months_of", "verify"]

BATCH = 5_000
"""Conversations per upsert: a day of a busy tenant."""

VERIFIED_DAYS = 90
"""`verify` compares every metric by day over the last this many days of each tenant's data."""

_MESSAGE_SCHEMA = pa.schema(
    [
        (n, pa.timestamp("us") if k == "time" else pa.int64() if k == "int" else pa.string())
        for n, k in MESSAGE_COLUMNS.items()
    ]
)

Advance = Callable[[str, int], None]
"""Progress: (what, how many done)."""


@dataclass
class Copied:
    """What a migration copied (months already done before are counted in `skipped`)."""

    tenants: int = 0
    credentials: int = 0
    conversations: int = 0
    intervals: int = 0
    months: int = 0
    skipped: int = 0


def _edge(store: Store, tenant_id: str, descending: bool) -> datetime | None:
    page = store.search(
        SearchRequest(
            tenant_id, sort=(("created_at", descending),), limit=1, columns=("created_at",)
        )
    )
    return page.rows[0]["created_at"] if page.values else None


def months_of(store: Store, tenant_id: str) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) of every UTC month from the tenant's first conversation to its last."""
    first, last = _edge(store, tenant_id, False), _edge(store, tenant_id, True)
    if first is None or last is None:
        return
    month = datetime(first.year, first.month, 1, tzinfo=UTC)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        yield month, following
        month = following


def _messages(store: Store, tenant_id: str, ids: list[str]) -> pa.Table:
    """The transcripts of some conversations as the messages table an upsert takes."""
    columns: dict[str, list[Any]] = {name: [] for name in MESSAGE_COLUMNS}
    for conversation_id, messages in store.messages_for(tenant_id, ids).items():
        for message in messages:
            row = {**message, "tenant_id": tenant_id, "conversation_id": conversation_id}
            sent = row.get("sent_at")
            row["sent_at"] = sent.astimezone(UTC).replace(tzinfo=None) if sent else None
            for name in MESSAGE_COLUMNS:
                columns[name].append(row.get(name))
    return pa.table(columns, schema=_MESSAGE_SCHEMA)


def _copy_registry(source: Store, target: Store, copied: Copied) -> list[TenantSettings]:
    tenants = source.registry.list_tenants()
    service = Service(target)
    for tenant in tenants:
        if target.registry.get_tenant(tenant.id) != tenant:
            service.put_tenant(tenant)
        copied.tenants += 1
    have = {
        (c.tenant_id, c.kind, c.key_id, c.secret_hash, c.secret)
        for tenant in tenants
        for c in target.registry.list_credentials(tenant.id)
    }
    for credential in (c for t in tenants for c in source.registry.list_credentials(t.id)):
        c = credential
        if (c.tenant_id, c.kind, c.key_id, c.secret_hash, c.secret) not in have:
            target.registry.add_credential(credential)
            copied.credentials += 1
    return tenants


def month_key(tenant_id: str, start: datetime) -> str:
    """The registry key marking a tenant's month as copied."""
    return f"migrate:{tenant_id}:{start:%Y-%m}"


def migrate(source: Store, target: Store, advance: Advance | None = None) -> Copied:
    """Copy `source` into `target` (see the module docstring); what was copied."""
    tick = advance or (lambda what, n: None)
    copied = Copied()
    for tenant in _copy_registry(source, target, copied):
        for start, end in months_of(source, tenant.id):
            key = month_key(tenant.id, start)
            if target.registry.get_meta(key) == "copied":
                copied.skipped += 1
                tick(f"{tenant.id} {start:%Y-%m}", 0)
                continue
            request = SearchRequest(
                tenant.id, start, end, sort=(("created_at", False),), limit=None
            )
            for batch in source.iter_search(request, BATCH):
                table = pa.Table.from_batches([batch]).cast(conversation_schema())
                messages = _messages(source, tenant.id, table["id"].to_pylist())
                target.upsert_conversations(table, messages)
                copied.conversations += table.num_rows
                tick(f"{tenant.id} {start:%Y-%m}", table.num_rows)
            target.registry.put_meta(key, "copied")
            copied.months += 1
        for batch in source.iter_intervals(tenant.id):
            target.upsert_intervals(pa.Table.from_batches([batch]))
            copied.intervals += batch.num_rows
    target.flush()
    return copied


def _stamped_pages(service: Service, request: SearchRequest, pages: int) -> list[Any]:
    out: list[Any] = []
    for _ in range(pages):
        page = service.search(request)
        out.append(page.values)
        if not page.values:
            break
        last = page.rows[-1]
        request = replace(request, after=(last["created_at"], last["id"]))
    return out


def verify(source: Store, target: Store) -> list[str]:
    """Differences between the two stores' answers, one line each (none: the same).

    Per tenant: conversations per month over all its data; every catalogue metric by day in its
    zone over its last `VERIFIED_DAYS` days; the first three detail pages (100 rows, newest
    first, every column); agent time per day of that range."""
    one, two = Service(source), Service(target)
    differences: list[str] = []
    metrics = tuple(sorted(CATALOG))
    for tenant in source.registry.list_tenants():
        first, last = _edge(source, tenant.id, False), _edge(source, tenant.id, True)
        if first is None or last is None:
            continue
        end = last + timedelta(days=1)
        queries = [
            MetricQuery(tenant.id, ("conversations",), first, end, tenant.timezone, "month"),
            MetricQuery(
                tenant.id, metrics, end - timedelta(days=VERIFIED_DAYS), end, tenant.timezone, "day"
            ),
        ]
        for query in queries:
            a, b = one.run_query(query).rows, two.run_query(query).rows
            for row_a, row_b in zip(a, b, strict=False):
                for name in row_a:
                    if row_a[name] != row_b.get(name):
                        differences.append(
                            f"{tenant.id} {row_a.get('bucket')}: {name} {row_a[name]} != {row_b.get(name)}"
                        )
            if len(a) != len(b):
                differences.append(f"{tenant.id}: {len(a)} != {len(b)} rows of {query.granularity}")
        page = SearchRequest(tenant.id, sort=(("created_at", True),), limit=100)
        if _stamped_pages(one, page, 3) != _stamped_pages(two, page, 3):
            differences.append(f"{tenant.id}: the first detail pages differ")
        lo = end - timedelta(days=VERIFIED_DAYS)
        if one.interval_totals(tenant.id, lo, end) != two.interval_totals(tenant.id, lo, end):
            differences.append(f"{tenant.id}: agent time differs")
    return differences
