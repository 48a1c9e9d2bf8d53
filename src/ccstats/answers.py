"""Answers kept until ingest touches their range: metric results and detail-search pages.

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
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from ccstats.storage import SearchPage, SearchRequest, Store

__all__ = ["Entry", "AnswerCache", "search", "search_formatted"]

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


class AnswerCache:
    """Answers of one kind, per store, least recently used first out."""

    def __init__(self, size: int) -> None:
        """Keep at most `size` answers per store."""
        self.size = size
        self._stores: WeakKeyDictionary[Store, OrderedDict[Hashable, Entry]] = WeakKeyDictionary()
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
                entries[key] = hit  # (back) in, if another thread evicted it meanwhile
                entries.move_to_end(key)
            return hit
        entry = Entry(generation, compute())
        with self._lock:
            entries[key] = entry
            if len(entries) > self.size:
                entries.popitem(last=False)
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


PAGES = AnswerCache(64)
"""Detail-search pages: fewer than metric answers, a page of 1000 rows is megabytes."""


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
