"""The one door from the API and the dialects to the store: ingest, metric queries, searches and
agent interval totals, each answer kept until a change touches its range (`answers`).

The service owns the change log and the caches (one `Service` per app, on `app.state.service`).
It records the `Changes` of every upsert and flush, and flushes a tenant's deferred work
(`Store.flush`) before it serves that tenant an answer that depends on it (FCR measures, whole
kept reports): reads never write behind its back, and other reads never wait for it.
Conversations of concurrent ingest requests are stored in shared transactions (`commits`).

A vendor credential sees only its scope (`ccstats.scope`, issue 20): a dialect authenticates,
then asks everything of `service.within(credential.scope)`, a view of the same service whose
every metric query, search, count, export and kept report is narrowed to the scope.
The narrowing happens here, where every read enters (`_narrowed_query`, `_narrowed_search`),
so that no endpoint of a dialect can forget it.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from ccstats import ingest
from ccstats.answers import AnswerCache, ChangeLog, Entry, MiB
from ccstats.auth import describe_credential
from ccstats.ingest import IngestResult
from ccstats.ingest.commits import GroupCommit
from ccstats.ingest.journal import Journal
from ccstats.masking import Masker, mask_batch, mask_rows, maskers
from ccstats.metrics.query import (
    MetricQuery,
    MetricResult,
    compile_query,
    reads_next_contacts,
    result_of,
    too_many_rows,
)
from ccstats.records import TenantSettings
from ccstats.scope import Scope
from ccstats.storage import (
    Changes,
    Credential,
    IntervalTotal,
    Registry,
    ResultTooLarge,
    SearchPage,
    SearchRequest,
    StorageError,
    Store,
)

__all__ = [
    "Ambiguous",
    "Credential",
    "Link",
    "NotFound",
    "Registry",
    "SearchPage",
    "SearchRequest",
    "Service",
    "StorageError",
]
"""The request and page types of searches, the registry's interface (and its credentials) and
the engine's error are the service's too: the API and the dialects import them from here, never from `storage`."""

T = TypeVar("T")

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """No such tenant or credential: the message says which."""


class Ambiguous(ValueError):
    """A reference that names several things: the message lists them."""


_Span = tuple[str, datetime | None, datetime | None]


@dataclass(frozen=True)
class Link:
    """How a conversation is attributed to an agent: the column that names the agent, and the
    filters that select the conversations attributed that way (7moor's agent reports: received
    sessions by `agent_id` but not left messages, transfers out by `transfer_from_agent_id`...)."""

    column: str
    filters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


Attributed = dict[str, dict[Any, dict[str, Any]]]
"""link name -> agent id -> metric values."""


BUDGETS = {"metrics": 64 * MiB, "pages": 256 * MiB, "intervals": 16 * MiB, "reports": 32 * MiB}
"""Bytes of kept answers per kind, their keys and built wire formats included (`answers.sizeof`):
a native page of 1000 rows of all 86 columns weighs about 8 MiB, its JSON rows as much again."""


class Service:
    """The store behind its answer caches: what the API and the dialects call."""

    def __init__(
        self,
        store: Store,
        budgets: Mapping[str, int] = BUDGETS,
        journal: Path | None = None,
    ) -> None:
        """Serve `store`, keeping answers of at most `budgets[kind]` bytes per kind."""
        self.store = store
        self.registry: Registry = store.registry
        self.changes = ChangeLog(store.shared_changes)
        self.metric_answers = AnswerCache(self.changes, 1024, budgets["metrics"])
        self.pages = AnswerCache(self.changes, 256, budgets["pages"])
        self.intervals = AnswerCache(self.changes, 256, budgets["intervals"])
        self.reports = AnswerCache(self.changes, 256, budgets["reports"])
        self.scope: Scope | None = None
        """What every answer of this service is restricted to (None: the whole tenant)."""
        self.commits = GroupCommit(store.upsert_conversations, self.changes.record)
        """Concurrent ingest requests stored in shared transactions, each change recorded once."""
        self.journal = (
            Journal(journal, store.upsert_conversations, self.changes.record, settle=self.flush)
            if journal
            else None
        )
        """With a directory: conversations batches acknowledged once durable in it, stored by a
        background thread (`ingest.journal`); None: once stored."""

    def within(self, scope: Scope | None) -> Service:
        """A view of this service (same store, change log and kept answers) whose every answer
        is restricted to `scope`: metric queries, searches, counts, exports and kept reports
        (None: this service as it is). A dialect asks everything of the view of the credential
        it authenticated.

        Agent intervals (`interval_totals`) have no source, channel or access code: they are
        not narrowed. Transcripts (`messages_for`) are read by the ids of the view's searches.
        """
        if scope is None or scope == self.scope:
            return self
        view = copy.copy(self)
        view.scope = scope
        return view

    def _narrowed_query(self, query: MetricQuery) -> MetricQuery:
        if self.scope is None:
            return query
        return replace(query, filters=self.scope.narrow(query.filters))

    def _narrowed_search(self, request: SearchRequest) -> SearchRequest:
        if self.scope is None:
            return request
        return replace(request, filters=self.scope.narrow_pairs(request.filters))

    # -- tenants --------------------------------------------------------------------------------
    def tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None (a shared object: do not change it)."""
        return self.registry.get_tenant(tenant_id)

    def put_tenant(self, tenant: TenantSettings) -> None:
        """Create or replace a tenant's settings; a new zone recuts what the store keeps by
        local day. Every kept answer of the tenant is then stale (names, options, zone)."""
        before = self.registry.put_tenant(tenant)
        if (before.timezone if before is not None else "UTC") != tenant.timezone:
            self.changes.record(self.store.retime(tenant.id, tenant.timezone))
        self.changes.record(Changes.everything(tenant.id))

    def changed_everything(self, tenant_id: str) -> None:
        """Drop every kept answer of a tenant: its data changed behind the service's back (the
        demo writes to the store directly)."""
        self.changes.record(Changes.everything(tenant_id))

    # -- ingest ---------------------------------------------------------------------------------
    def _recorded(self, result: IngestResult) -> IngestResult:
        self.changes.record(result.changes)
        return result

    def ingest_conversations(
        self, items: Sequence[Any], tenant_id: str | None = None, dry_run: bool = False
    ) -> IngestResult:
        """Validate and store conversations (`ingest.ingest_conversations`), in a transaction
        shared with the batches other threads store meanwhile (`commits`), recorded once it has
        committed; with a journal, returns once they are durable in it and stored soon after
        (`ingest.journal`). `dry_run`: validate only."""
        upsert = self.journal.append if self.journal is not None else self.commits.upsert
        return ingest.ingest_conversations(self.store, items, tenant_id, dry_run, upsert)

    def ingest_table(
        self, table: pa.Table, tenant_id: str | None = None, dry_run: bool = False
    ) -> IngestResult:
        """Validate and store conversations given as Arrow columns (`ingest.ingest_table`),
        as `ingest_conversations` does, but never through the journal (a bulk batch gains
        nothing from it): the journal's batches are stored first, so the order holds."""
        self.drain()
        upsert = self.commits.upsert
        return ingest.ingest_table(self.store, table, tenant_id, dry_run=dry_run, upsert=upsert)

    def ingest_intervals(
        self, items: Sequence[Any], tenant_id: str | None = None, dry_run: bool = False
    ) -> IngestResult:
        """Validate and store agent intervals (`ingest.ingest_intervals`)."""
        found = ingest.ingest_intervals(self.store, items, tenant_id, dry_run=dry_run)
        return self._recorded(found)

    def drain(self) -> None:
        """Return once every conversations batch acknowledged so far is stored (no journal:
        at once). Raises StorageError when the journal's store keeps failing."""
        if self.journal is not None:
            self.journal.drain()

    def close(self) -> None:
        """Store what the journal holds and stop its thread (the app's shutdown)."""
        if self.journal is not None:
            self.journal.close()

    def flush(self, tenant_ids: Sequence[str] | None = None) -> None:
        """Finish the store's deferred work (None: of every tenant), recording what it changed."""
        self.changes.record(self.store.flush(tenant_ids))

    def _fresh(self, tenant_id: str) -> None:
        """Settle the tenant's deferred work before a read that depends on it: FCR measures
        (`reads_next_contacts`) and whole kept reports. Other reads never wait for it (nor for
        the write lock an ingest holds meanwhile): deferred work changes no other answer
        (`Store.flush`).

        With a journal, reads never settle: answers already lag the acknowledged batches, and
        the journal's thread settles after each round it stores; an FCR read would otherwise
        wait behind that thread's transactions for as long as ingest goes on."""
        if self.journal is None and self.store.pending(tenant_id):
            self.flush([tenant_id])

    def _fresh_for_search(self, request: SearchRequest) -> None:
        """Settle before a search only when it depends on next contacts: the rows of an FCR
        measure (`counted_by` a `no_repeat_within`). A page's columns hold none."""
        measure = request.counted_by
        if measure is not None and measure.kind == "no_repeat_within":
            self._fresh(request.tenant_id)

    def maintain(self) -> None:
        """Background upkeep: flush every tenant's deferred work, delete what tenants keep no
        longer (`apply_retention`), then the store's upkeep."""
        self.flush()
        self.apply_retention()
        self.store.maintain()

    # -- lifecycle: credentials, tenants, erasure, retention ---------------------------------------
    def credentials(self, tenant_id: str) -> list[dict[str, Any]]:
        """A tenant's credentials (`auth.describe_credential`: never a secret), oldest first."""
        self._known(tenant_id)
        return [describe_credential(c) for c in self.registry.list_credentials(tenant_id)]

    def revoke_credential(self, tenant_id: str, reference: str) -> dict[str, Any]:
        """Delete one credential of a tenant, named by its id (`credentials`) or by its key
        when only one credential has it; refused from the next request on, with the tokens
        issued for it (Huawei, Twin24). Raises NotFound or Ambiguous."""
        self._known(tenant_id)
        stored = self.registry.list_credentials(tenant_id)
        found = [c for c in stored if c.id == reference] or [
            c for c in stored if c.key_id == reference
        ]
        if not found:
            raise NotFound(
                f"tenant {tenant_id!r} has no credential {reference!r} "
                f"(`ccstats credentials list {tenant_id}` shows them)"
            )
        if len(found) > 1:
            ids = ", ".join(c.id for c in found)
            raise Ambiguous(
                f"{len(found)} credentials of {tenant_id!r} have the key {reference!r}: name one "
                f"by its id ({ids})"
            )
        self.registry.delete_credential(found[0])
        return describe_credential(found[0])

    def delete_tenant(self, tenant_id: str) -> dict[str, Any]:
        """Delete a tenant: its records, then its settings and credentials (its tokens die with
        them), then records a request let in meanwhile. Counts what went. Raises NotFound."""
        self._known(tenant_id)
        credentials = len(self.registry.list_credentials(tenant_id))
        self.drain()  # an acknowledged batch stored after the erasure would bring it back
        erased = self.store.erase(tenant_id)
        self.registry.delete_tenant(tenant_id)
        late = self.store.erase(tenant_id)
        self.changes.record(Changes.everything(tenant_id))
        counts = {k: v + late.counts()[k] for k, v in erased.counts().items()}
        return {"tenant_id": tenant_id, **counts, "credentials": credentials}

    def erase_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        """Delete every conversation of one customer of a tenant, with its messages and what
        was derived from it (pre-aggregates, next contacts): a data-protection erasure. Counts
        what went (0 for an unknown customer). Raises NotFound for an unknown tenant."""
        self._known(tenant_id)
        self.drain()
        erased = self.store.erase(tenant_id, customer_id=customer_id)
        self.changes.record(erased.changes)
        return {"tenant_id": tenant_id, "customer_id": customer_id, **erased.counts()}

    def kept_since(self, tenant: TenantSettings, now: datetime | None = None) -> datetime | None:
        """The oldest time a tenant with `retention_days` keeps (older records are deleted by
        upkeep); None without retention."""
        if tenant.retention_days is None:
            return None
        moment = (now or datetime.now(UTC)).replace(microsecond=0)
        return moment - timedelta(days=tenant.retention_days)

    def apply_retention(self, now: datetime | None = None) -> dict[str, dict[str, int]]:
        """Delete what each tenant with `retention_days` keeps no longer (`Store.erase` with
        `before`); per tenant, the counts of what went (tenants with nothing to delete left
        out). Part of `maintain`."""
        done: dict[str, dict[str, int]] = {}
        for tenant in self.registry.list_tenants():
            cutoff = self.kept_since(tenant, now)
            if cutoff is None:
                continue
            erased = self.store.erase(tenant.id, before=cutoff)
            self.changes.record(erased.changes)
            if any(erased.counts().values()):
                done[tenant.id] = erased.counts()
                log.info(
                    "retention of %s (%d days): deleted %s created before %s",
                    tenant.id,
                    tenant.retention_days,
                    erased.counts(),
                    cutoff.isoformat(),
                )
        return done

    def _known(self, tenant_id: str) -> TenantSettings:
        tenant = self.registry.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"unknown tenant {tenant_id!r}")
        return tenant

    def _masks(self, tenant_id: str) -> dict[str, Masker]:
        tenant = self.registry.get_tenant(tenant_id)
        return maskers(tenant.mask_phones, tenant.mask_names) if tenant is not None else {}

    def _masked(self, tenant_id: str, page: SearchPage) -> SearchPage:
        masks = self._masks(tenant_id)
        if not masks:
            return page
        return SearchPage(page.columns, mask_rows(page.columns, page.values, masks), page.total)

    # -- operations -------------------------------------------------------------------------------
    def store_info(self) -> dict[str, Any]:
        """The engine, the schema version of the store and the one this code writes."""
        return {
            "engine": self.store.ENGINE,
            "schema_version": self.store.schema_version(),
            "code_schema_version": self.store.SCHEMA_VERSION,
        }

    def backup(self, destination: str) -> dict[str, Any]:
        """A consistent copy of the store at `destination` while it serves (`Store.backup`):
        where, how many bytes (for a file), how long it took, its schema version."""
        started = time.perf_counter()
        self.drain()  # a backup holds every acknowledged batch
        self.store.backup(destination)
        target = Path(destination)
        return {
            "destination": destination,
            "bytes": target.stat().st_size if target.is_file() else None,
            "seconds": round(time.perf_counter() - started, 3),
            "schema_version": self.store.schema_version(),
        }

    # -- metric queries ---------------------------------------------------------------------------
    def compute_query(self, query: MetricQuery) -> MetricResult:
        """Run a query on the store: sums and counts there, ratios with their parts here.

        Example:
            >>> from datetime import datetime, UTC
            >>> from ccstats.storage import open_store
            >>> q = MetricQuery("t1", ("conversations",), datetime(2024, 1, 1, tzinfo=UTC),
            ...                 datetime(2024, 1, 2, tzinfo=UTC))
            >>> Service(open_store()).run_query(q).rows
            [{'conversations': 0}]
        """
        query = self._narrowed_query(query)
        if reads_next_contacts(query):
            self._fresh(query.tenant_id)
        request, metrics = compile_query(query)
        try:
            table = self.store.aggregate(request)
        except ResultTooLarge:
            raise too_many_rows() from None
        return result_of(query, request, metrics, table)

    def attribute(
        self,
        base: MetricQuery,
        metrics_by_link: Mapping[str, Sequence[str]],
        links: Mapping[str, Link],
        agents: tuple[str, ...] = (),
    ) -> Attributed:
        """Metric values per agent, for each link one query of its metrics grouped by the
        link's column (`base` gives the tenant, range and filters; `agents`: only these)."""
        out: Attributed = {}
        for name, metrics in metrics_by_link.items():
            link = links[name]
            filters = {**base.filters, **link.filters, **({link.column: agents} if agents else {})}
            query = replace(
                base,
                metrics=tuple(dict.fromkeys(metrics)),
                group_by=(link.column,),
                filters=filters,
            )
            rows = self.run_query(query).rows
            out[name] = {row[link.column]: row for row in rows if row[link.column] is not None}
        return out

    def agents_linked(self, base: MetricQuery, columns: Sequence[str]) -> set[str]:
        """Agents named in any of `columns` by a conversation of `base`, from one query grouped
        by all of them (a query per column cost 3-4 ms each at 10M)."""
        if not columns:
            return set()
        query = replace(base, metrics=("conversations",), group_by=tuple(columns))
        rows = self.run_query(query).rows
        return {row[c] for row in rows for c in columns if row[c] is not None}

    def explain(self, query: MetricQuery) -> str:
        """The SQL a query runs, without running it."""
        return self.store.explain(compile_query(self._narrowed_query(query))[0])

    def _metric_entry(self, query: MetricQuery) -> Entry:
        query = self._narrowed_query(query)
        if reads_next_contacts(query):
            self._fresh(query.tenant_id)
        span = (query.tenant_id, query.start, query.end)
        return self.metric_answers.entry(query.key(), span, lambda: self.compute_query(query))

    def run_query(self, query: MetricQuery) -> MetricResult:
        """Run a query, answering from the kept answers while the tenant's data in its range is
        unchanged: ingest of today's calls leaves last month's reports kept, and an answer is
        never served after the data behind it changed."""
        return self._metric_entry(query).value.copy()  # type: ignore[no-any-return]

    def run_formatted(
        self, query: MetricQuery, key: Hashable, build: Callable[[MetricResult], T]
    ) -> T:
        """`build(run_query(query))`, kept with the answer and served again while the answer
        is: a wire format builds its rows once per answer, not once per request (on a kept
        answer, formatting was 60% of a Huawei report's server time). `key` names the format
        and every input of `build` other than the result; callers must not change what they
        get."""
        entry = self._metric_entry(query)
        return self.metric_answers.formatted(entry, key, lambda: build(entry.value.copy()))

    # -- searches ---------------------------------------------------------------------------------
    def _page_entry(self, request: SearchRequest, count: bool) -> Entry:
        request = self._narrowed_search(request)
        self._fresh_for_search(request)
        span = (request.tenant_id, request.start, request.end)
        return self.pages.entry(
            (request, count),
            span,
            lambda: self._masked(request.tenant_id, self.store.search(request, count)),
        )

    def search(self, request: SearchRequest, count: bool = False) -> SearchPage:
        """`Store.search`, kept while no change touched the request's range (of its time field:
        changes are recorded with every time of the rows they touch), with the tenant's masked
        columns masked (`masking`: a change of settings is a change of everything). Not to be
        changed."""
        page: SearchPage = self._page_entry(request, count).value
        return page

    def search_formatted(
        self, request: SearchRequest, count: bool, key: Hashable, build: Callable[[SearchPage], T]
    ) -> tuple[SearchPage, T]:
        """The page of `search` and `build(page)`, kept with it: `key` names the format and
        every input of `build` besides the page. Callers must not change what they get."""
        entry = self._page_entry(request, count)
        return entry.value, self.pages.formatted(entry, key, lambda: build(entry.value))

    def count(self, request: SearchRequest) -> int:
        """How many conversations a search matches."""
        return self.search(replace(request, limit=0, offset=0, after=None), count=True).total or 0

    def iter_search(
        self, request: SearchRequest, batch_size: int = 5000
    ) -> Iterator[pa.RecordBatch]:
        """Every row of a search, in Arrow batches (`Store.iter_search`), never kept; the
        tenant's masked columns masked (`masking`)."""
        request = self._narrowed_search(request)
        self._fresh_for_search(request)
        masks = self._masks(request.tenant_id)
        batches = self.store.iter_search(request, batch_size)
        if not masks:
            return batches
        return (mask_batch(batch, masks) for batch in batches)

    def owns_instance(self, tenant_id: str, instance_id: str) -> bool:
        """Whether any of the tenant's conversations carries this (Alibaba) instance id."""
        found = SearchRequest(tenant_id, filters=(("instance_id", (instance_id,)),), limit=1)
        return bool(self.search(found).values)

    def messages_for(
        self, tenant_id: str, conversation_ids: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Transcripts of some conversations, each ordered by seq. Read by id, never narrowed:
        a dialect asks for the transcripts of the conversations its own searches through the
        same view returned (checking the ids against the scope again cost a query per 1000 ids,
        as much as reading the transcripts: 20-25 ms at 60k conversations)."""
        return self.store.messages_for(tenant_id, conversation_ids)

    def data_as_of(self, tenant_id: str) -> datetime | None:
        """When the tenant's newest record was stored (None if it has none)."""
        return self.store.data_as_of(tenant_id)

    # -- agent intervals and whole reports ----------------------------------------------------------
    def interval_totals(
        self,
        tenant_id: str,
        start: datetime,
        end: datetime,
        agent_ids: Sequence[str] | None = None,
    ) -> tuple[IntervalTotal, ...]:
        """`Store.interval_totals`, kept while no interval upsert touched [start, end)."""
        agents = None if agent_ids is None else tuple(agent_ids)
        entry = self.intervals.entry(
            (tenant_id, start, end, agents),
            (tenant_id, start, end),
            lambda: tuple(self.store.interval_totals(tenant_id, start, end, agents)),
        )
        totals: tuple[IntervalTotal, ...] = entry.value
        return totals

    def kept(self, key: Hashable, span: _Span, compute: Callable[[], T]) -> T:
        """`compute()`, kept while no change touched `span` (tenant, start, end).

        Only for answers that read nothing but the tenant's settings (a change of which counts
        as a change of everything) and its conversations and agent intervals in `span`. `key` is
        taken per tenant (the span's) and scope: one tenant's answer is never another's, nor one
        scope's another's. Callers must not change what they get."""
        self._fresh(span[0])
        # A scoped view's reports are its own: the scope is part of the key.
        value: T = self.reports.entry((span[0], self.scope, key), span, compute).value
        return value
