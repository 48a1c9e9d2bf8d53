"""Answers kept until a change touches their range: the change log, and caches of answers with the
wire formats built from them. Owned by the service (`service.Service`), one set per app.

Every upsert and flush returns the times it changed, per tenant (`storage.Changes`); the service
records them in its `ChangeLog`. A kept answer carries the generation it was computed at and is
served while no change since then touched a time in its range: ingest of today's calls leaves last
month's reports and pages kept, and an answer is never served after the data behind it changed.
A tenant's settings change counts as a change of everything. When several processes serve one
store (ClickHouse), the log also publishes its changes to the store and pulls the others'
(`storage.shared`), so a write by any process drops the kept answers of its range everywhere.

Each answer also keeps the wire formats built from it (`Entry.formatted`), so that a dialect
renames and formats a kept answer once, not on every request.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ccstats.storage import Changes, StorageError
from ccstats.storage.shared import SharedChanges

__all__ = ["PULL_EVERY_S", "AnswerCache", "ChangeLog", "Entry", "MiB", "sizeof"]

log = logging.getLogger(__name__)

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

_SPANS_KEPT = 256
"""Change spans kept per tenant: a kept answer older than that many changes is recomputed."""

# An open end of a range: any change counts.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


PULL_EVERY_S = 0.5
"""How often a kept answer's check pulls the other processes' changes (`ChangeLog.sync`): an
answer another process's write made stale is served at most this long after that write."""


class ChangeLog:
    """Per tenant, a generation bumped by every change and the time spans of the last changes.

    With one process per store (DuckDB holds its file) its own changes are all there is. An
    engine several processes open has a shared log (`storage.shared`): what this process
    records is published to it, and `sync` records what the others published.
    """

    def __init__(
        self, shared: SharedChanges | None = None, pull_every: float = PULL_EVERY_S
    ) -> None:
        """An empty log: every tenant at generation 0; `shared`: the store's shared change log,
        pulled at most every `pull_every` seconds (0: at every check)."""
        self._generations: dict[str, int] = {}
        self._spans: dict[str, deque[tuple[int, datetime | None, datetime | None]]] = {}
        self._lock = threading.Lock()
        self._shared = shared
        self.pull_every = pull_every
        self._next_pull = 0.0

    def record(self, changes: Changes) -> None:
        """Bump the generation of each changed tenant, keeping the span it changed, and
        publish the change to the other processes (if the store has a shared log)."""
        self._record(changes)
        if self._shared is None or not changes:
            return
        try:
            self._shared.publish(changes)
        except StorageError as error:  # the write itself is stored: do not fail it
            log.error("a change was not published to the other processes: %s", error)

    def sync(self) -> None:
        """Record what the other processes changed since the last pull (with a shared log, at
        most every `pull_every` seconds)."""
        if self._shared is None:
            return
        now = time.monotonic()
        with self._lock:
            if now < self._next_pull:
                return
            self._next_pull = now + self.pull_every
        for changes in self._shared.pull():
            self._record(changes)

    def _record(self, changes: Changes) -> None:
        with self._lock:
            for tenant_id, (lo, hi) in changes.spans.items():
                generation = self._generations.get(tenant_id, 0) + 1
                spans = self._spans.setdefault(tenant_id, deque(maxlen=_SPANS_KEPT))
                spans.append((generation, lo, hi))
                self._generations[tenant_id] = generation

    def generation(self, tenant_id: str) -> int:
        """A counter that changes whenever the tenant's data changes."""
        return self._generations.get(tenant_id, 0)

    def changed_since(
        self, tenant_id: str, generation: int, start: datetime | None, end: datetime | None
    ) -> bool:
        """Whether a change after `generation` touched a time of the tenant in [start, end]
        (None: open); changes older than the last `_SPANS_KEPT` count as touching it."""
        with self._lock:
            current = self._generations.get(tenant_id, 0)
            if current == generation:
                return False
            spans = list(self._spans.get(tenant_id, ()))
        if not spans or spans[0][0] > generation + 1:
            return True
        lo, hi = start or _EARLIEST, end or _LATEST
        return any(
            g > generation and (a is None or b is None or (a <= hi and b >= lo))
            for g, a, b in spans
        )


@dataclass
class Entry:
    """A kept answer: the generation it is valid at, the answer, and its built wire formats."""

    generation: int
    value: Any
    formatted: dict[Hashable, Any] = field(default_factory=dict)
    weight: int = 0
    key: Hashable = None


class AnswerCache:
    """Answers of one kind, least recently used first out, bounded in count and in bytes."""

    def __init__(
        self, log: ChangeLog, size: int, budget: int, weigh: Callable[[Any], int] = sizeof
    ) -> None:
        """Keep at most `size` answers weighing at most `budget` together by `weigh` (bytes by
        default: the key, the answer and its built formats; the newest answer stays, whatever
        it weighs), valid while `log` records no change of their span. Request values are
        bounded on the way in (`limits`), so no single key can be huge."""
        self.log = log
        self.size = size
        self.weigh = weigh
        self.budget = budget
        self.weight = 0
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def entry(
        self,
        key: Hashable,
        span: tuple[str, datetime | None, datetime | None],
        compute: Callable[[], Any],
    ) -> Entry:
        """The kept answer for `key`, computed again when missing or when a change touched
        `span` (tenant, start, end; None: open) since it was computed."""
        tenant_id, start, end = span
        self.log.sync()
        generation = self.log.generation(tenant_id)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and (
            hit.generation == generation
            or not self.log.changed_since(tenant_id, hit.generation, start, end)
        ):
            with self._lock:
                hit.generation = generation  # still valid at this generation
                if key not in self._entries:  # another thread evicted it meanwhile
                    self._entries[key] = hit
                    self.weight += hit.weight
                self._entries.move_to_end(key)
                self.hits += 1
            return hit
        value = compute()
        entry = Entry(generation, value, weight=self.weigh(key) + self.weigh(value), key=key)
        with self._lock:
            self.misses += 1
            replaced = self._entries.pop(key, None)
            self._entries[key] = entry
            self.weight += entry.weight - (replaced.weight if replaced else 0)
            self._evict()
        return entry

    def _evict(self) -> None:
        """Drop the oldest answers while over count or budget (under the lock)."""
        while len(self._entries) > self.size or (
            len(self._entries) > 1 and self.weight > self.budget
        ):
            self.weight -= self._entries.popitem(last=False)[1].weight

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
            if self._entries.get(entry.key) is entry:  # still kept: its weight counts
                self.weight += extra
                self._evict()
        return built

    def __len__(self) -> int:
        return len(self._entries)
