"""Answers kept until ingest touches their range: metric results, detail-search pages, agent
interval totals, and whole reports made of them (`kept`).

Every upsert bumps the tenant's store generation and records the times it changed
(`Store.changed_since`). A kept answer carries the generation it was computed at and is served
while no change since then touched a time in its range: ingest of today's calls leaves last
month's reports and pages kept, and an answer is never served after the data behind it changed.
A tenant's settings change (its zone) counts as a change of everything.

Each answer also keeps the wire formats built from it (`Entry.formatted`), so that a dialect
renames and formats a kept answer once, not on every request.

Kept answers are bounded by count and by bytes: an entry weighs its key (the request's own values)
plus its answer plus every format built from it (`sizeof`), and the oldest answers leave while a
store's answers of one kind weigh more than the cache's budget.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from ccstats.storage import IntervalTotal, SearchPage, SearchRequest, Store

__all__ = [
    "Entry",
    "AnswerCache",
    "interval_totals",
    "kept",
    "search",
    "search_formatted",
    "sizeof",
    "MiB",
]

MiB = 1024 * 1024
_SAMPLE = 64
"""Items of a large container measured one by one; the rest are taken to weigh the same."""
_ATOMS = (str, bytes, int, float, bool, type(None), datetime)


def sizeof(value: Any) -> int:
    """Approximate bytes held by `value` and everything it contains (containers and dataclasses
    walked; of a container over 64 items, the first 64 measured and the rest extrapolated).

    Example:
        >>> sizeof("x" * 1000) > 1000, sizeof(["x" * 1000] * 10) > 10_000
        (True, True)
    """
    size = sys.getsizeof(value)
    if isinstance(value, _ATOMS):
        return size
    if isinstance(value, dict):
        children: Sequence[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = value if isinstance(value, list | tuple) else list(value)
    elif dataclasses.is_dataclass(value):
        children = list(getattr(value, "__dict__", {}).values()) or [
            getattr(value, f.name) for f in dataclasses.fields(value)
        ]
    else:
        return size
    if len(children) <= _SAMPLE:
        return size + sum(sizeof(child) for child in children)
    measured = sum(sizeof(child) for child in children[:_SAMPLE])
    return size + measured * len(children) // _SAMPLE


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
    owner: Any = None  # a weak reference to the store the entry is kept for
    key: Any = None


class AnswerCache:
    """Answers of one kind, per store, least recently used first out."""

    def __init__(
        self, size: int, weigh: Callable[[Any], int] = sizeof, budget: int = 64 * MiB
    ) -> None:
        """Keep at most `size` answers per store, weighing at most `budget` together by `weigh`
        (bytes by default: the key, the answer and its built formats; the newest answer stays,
        whatever it weighs)."""
        self.size = size
        self.weigh = weigh
        self.budget = budget
        self._stores: WeakKeyDictionary[Store, OrderedDict[Hashable, Entry]] = WeakKeyDictionary()
        self._weights: WeakKeyDictionary[Store, int] = WeakKeyDictionary()
        self._lock = threading.Lock()

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
                hit.generation = generation  # still valid at this generation
                if key not in entries:  # another thread evicted it meanwhile
                    entries[key] = hit
                    self._weights[store] = self._weights.get(store, 0) + hit.weight
                entries.move_to_end(key)
            return hit
        value = compute()
        weight = self.weigh(key) + self.weigh(value)
        entry = Entry(generation, value, weight=weight, owner=weakref.ref(store), key=key)
        with self._lock:
            replaced = entries.pop(key, None)
            entries[key] = entry
            total = self._weights.get(store, 0) + entry.weight
            total -= replaced.weight if replaced else 0
            self._weights[store] = self._evict(entries, total)
        return entry

    def usage(self, store: Store) -> tuple[int, int]:
        """(answers kept, bytes they weigh) for a store."""
        with self._lock:
            return len(self._stores.get(store, ())), self._weights.get(store, 0)

    def _evict(self, entries: OrderedDict[Hashable, Entry], total: int) -> int:
        """Drop the oldest answers while over count or budget; the new total weight."""
        while len(entries) > self.size or (len(entries) > 1 and total > self.budget):
            total -= entries.popitem(last=False)[1].weight
        return total

    def formatted(self, entry: Entry, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, kept with the answer under `key` (the format and its other inputs); what
        it weighs counts toward the entry's weight."""
        with self._lock:
            if key in entry.formatted:
                return cast(T, entry.formatted[key])
        built = build()
        extra = self.weigh(key) + self.weigh(built)
        with self._lock:
            if key in entry.formatted:  # another thread built it meanwhile
                return cast(T, entry.formatted[key])
            entry.formatted[key] = built
            entry.weight += extra
            store: Store | None = entry.owner() if entry.owner is not None else None
            entries = self._stores.get(store) if store is not None else None
            if store is not None and entries is not None and entries.get(entry.key) is entry:
                self._weights[store] = self._evict(entries, self._weights.get(store, 0) + extra)
        return built


PAGES = AnswerCache(256, budget=256 * MiB)
"""Detail-search pages and the formats built from them, at most 256 MiB per store (a native page
of 1000 rows of all 86 columns weighs about 8 MiB, its JSON rows as much again)."""


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


INTERVALS = AnswerCache(256, budget=16 * MiB)
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


REPORTS = AnswerCache(256, budget=32 * MiB)
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
