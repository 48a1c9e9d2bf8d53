"""Answers kept until ingest touches their range: metric results, detail-search pages, agent
interval totals, and whole reports made of them (`kept`).

Every upsert bumps the tenant's store generation and records the times it changed
(`Store.changed_since`). A kept answer carries the generation it was computed at and is served
while no change since then touched a time in its range: ingest of today's calls leaves last
month's reports and pages kept, and an answer is never served after the data behind it changed.
A tenant's settings change (its zone) counts as a change of everything.

Each answer also keeps the wire formats built from it (`Entry.formatted`), so that a dialect
renames and formats a kept answer once, not on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from ccstats.storage import IntervalTotal, SearchPage, SearchRequest, Store

__all__ = ["Entry", "AnswerCache", "interval_totals", "kept", "search", "search_formatted"]

T = TypeVar("T")

# An open end of a search range: any change counts.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass
class Entry:
    """A kept answer: the generation it is valid at, the answer, and its built wire formats."""

    generation: int
    value: Any
    formatted: dict[Hashable, Any] = field(default_factory=dict)
    weight: int = 0


class AnswerCache:
    """Answers of one kind, per store, least recently used first out."""

    def __init__(
        self, size: int, weigh: Callable[[Any], int] | None = None, budget: int = 0
    ) -> None:
        """Keep at most `size` answers per store and, with `weigh`, answers weighing at most
        `budget` together (the newest answer stays, whatever it weighs)."""
        self.size = size
        self.weigh = weigh
        self.budget = budget
        self._stores: WeakKeyDictionary[Store, OrderedDict[Hashable, Entry]] = WeakKeyDictionary()
        self._weights: WeakKeyDictionary[Store, int] = WeakKeyDictionary()
        self._counts: WeakKeyDictionary[Store, list[int]] = WeakKeyDictionary()
        """Per store: [answers served kept, answers computed] (the server's metrics)."""
        self._lock = threading.Lock()

    def counts(self, store: Store) -> tuple[int, int]:
        """How many answers for `store` were served kept (hits) and computed (misses)."""
        with self._lock:
            hits, misses = self._counts.get(store, (0, 0))
        return hits, misses

    def entry(
        self,
        store: Store,
        key: Hashable,
        span: tuple[str, datetime | None, datetime | None],
        compute: Callable[[], Any],
    ) -> Entry:
        """The kept answer for `key`, computed again when missing or when a change touched
        `span` (tenant, start, end; None: open) since it was computed."""
        tenant_id, start, end = span
        generation = store.generation(tenant_id)
        with self._lock:
            entries = self._stores.setdefault(store, OrderedDict())
            hit = entries.get(key)
        if hit is not None and (
            hit.generation == generation
            or not store.changed_since(
                tenant_id, hit.generation, start or _EARLIEST, end or _LATEST
            )
        ):
            with self._lock:
                self._counts.setdefault(store, [0, 0])[0] += 1
                hit.generation = generation  # still valid at this generation
                if key not in entries:  # another thread evicted it meanwhile
                    entries[key] = hit
                    self._weights[store] = self._weights.get(store, 0) + hit.weight
                entries.move_to_end(key)
            return hit
        value = compute()
        entry = Entry(generation, value, weight=self.weigh(value) if self.weigh else 0)
        with self._lock:
            self._counts.setdefault(store, [0, 0])[1] += 1
            replaced = entries.pop(key, None)
            entries[key] = entry
            weight = self._weights.get(store, 0) + entry.weight
            weight -= replaced.weight if replaced else 0
            while len(entries) > self.size or (len(entries) > 1 and weight > self.budget):
                weight -= entries.popitem(last=False)[1].weight
            self._weights[store] = weight
        return entry

    def formatted(self, entry: Entry, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, kept with the answer under `key` (the format and its other inputs)."""
        with self._lock:
            if key in entry.formatted:
                return cast(T, entry.formatted[key])
        built = build()
        with self._lock:
            entry.formatted[key] = built
        return built


def _cells(page: SearchPage) -> int:
    # Kept twice over: the engine's rows and the wire format built from them.
    return 2 * len(page.values) * len(page.columns)


PAGES = AnswerCache(256, weigh=_cells, budget=4_000_000)
"""Detail-search pages, by weight: 4M values (a few hundred MB of Python objects at most; a
native page of 1000 rows of all 86 columns weighs 172 000)."""


def _page_entry(store: Store, request: SearchRequest, count: bool) -> Entry:
    span = (request.tenant_id, request.start, request.end)
    return PAGES.entry(store, (request, count), span, lambda: store.search(request, count))


def search(store: Store, request: SearchRequest, count: bool = False) -> SearchPage:
    """`store.search`, kept while no change touched the request's range (of its time field:
    changes are recorded with every time of the rows they touch). Not to be changed."""
    page: SearchPage = _page_entry(store, request, count).value
    return page


def search_formatted(
    store: Store,
    request: SearchRequest,
    count: bool,
    key: Hashable,
    build: Callable[[SearchPage], T],
) -> tuple[SearchPage, T]:
    """The page of `search` and `build(page)`, kept with it: `key` names the format and every
    input of `build` besides the page. Callers must not change what they get."""
    entry = _page_entry(store, request, count)
    return entry.value, PAGES.formatted(entry, key, lambda: build(entry.value))


INTERVALS = AnswerCache(256)
"""Agent interval totals (the 7moor workload and quality reports)."""


def interval_totals(
    store: Store,
    tenant_id: str,
    start: datetime,
    end: datetime,
    agent_ids: Sequence[str] | None = None,
) -> tuple[IntervalTotal, ...]:
    """`store.interval_totals`, kept while no interval upsert touched [start, end)."""
    agents = None if agent_ids is None else tuple(agent_ids)
    key = (tenant_id, start, end, agents)
    entry = INTERVALS.entry(
        store,
        key,
        (tenant_id, start, end),
        lambda: tuple(store.interval_totals(tenant_id, start, end, agents)),
    )
    totals: tuple[IntervalTotal, ...] = entry.value
    return totals


REPORTS = AnswerCache(256)
"""Whole reports made of several kept answers of one range (the 7moor agent reports)."""


def kept(
    store: Store,
    key: Hashable,
    span: tuple[str, datetime | None, datetime | None],
    compute: Callable[[], T],
) -> T:
    """`compute()`, kept while no change touched `span` (tenant, start, end).

    Only for answers that read nothing but the tenant's settings (a change of which counts as a
    change of everything) and its conversations and agent intervals in `span`. `key` is taken
    per tenant (the span's): one tenant's answer is never another's. Callers must not change
    what they get."""
    value: T = REPORTS.entry(store, (span[0], key), span, compute).value
    return value
