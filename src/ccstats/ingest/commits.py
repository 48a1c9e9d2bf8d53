"""Group commit: batches handed in by concurrent requests stored in one transaction.

Every upsert pays a fixed cost whatever its size (the statements' planning, the WAL's sync at
COMMIT; bench/NOTES.md): 16 clients sending one record each would queue behind each other's
transactions. `GroupCommit.upsert` puts a batch in a queue; the first waiting thread leads: it
takes the batches queued at that moment, stores them as one upsert, records the change once,
and only then wakes their threads, which return. Nothing is acknowledged before the transaction
holding it has committed, so an answer of 200 still means stored; a batch alone (no other
waiting) goes straight through, as before.

A group never holds the same key twice (a later batch repeating a key of the group waits for
the next one), so a group stores what the same batches stored one by one, in the queue's order,
would. When a group's upsert fails, each of its batches is tried alone: one batch's failure is
its own.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import pyarrow as pa

from ccstats.storage import Changes

__all__ = ["GROUP_ROWS", "Batch", "GroupCommit", "Upsert", "take_group"]

GROUP_ROWS = 20_000
"""Rows a group takes at most (its first batch, whatever its size, always goes)."""

Upsert = Callable[[pa.Table, pa.Table], Changes]


class Batch(Protocol):
    """A batch waiting in a queue: its conversations and their keys."""

    conversations: pa.Table

    def keys(self) -> set[tuple[str, str]]:
        """The batch's (tenant_id, id) keys."""
        ...


B = TypeVar("B", bound=Batch)


def take_group(queue: deque[B], max_rows: int) -> list[B]:
    """The next group off the head of `queue`: batches in order while their rows fit in
    `max_rows` (the first always goes) and no key repeats, so that one upsert of the group
    stores what the batches stored one by one would."""
    group = [queue.popleft()]
    rows = group[0].conversations.num_rows
    keys: set[tuple[str, str]] | None = None
    while queue:
        following = queue[0]
        if rows + following.conversations.num_rows > max_rows:
            break
        if keys is None:
            keys = group[0].keys()
        theirs = following.keys()
        if not keys.isdisjoint(theirs):
            break
        keys |= theirs
        group.append(queue.popleft())
        rows += following.conversations.num_rows
    return group


@dataclass(eq=False)
class _Queued:
    """A batch waiting for its group's commit, then its outcome."""

    conversations: pa.Table
    messages: pa.Table
    done: bool = False
    changes: Changes = field(default_factory=Changes)
    error: BaseException | None = None

    def keys(self) -> set[tuple[str, str]]:
        """The batch's (tenant_id, id) keys."""
        tenants = self.conversations.column("tenant_id").to_pylist()
        return set(zip(tenants, self.conversations.column("id").to_pylist(), strict=True))


class GroupCommit:
    """Concurrent upserts of conversations, grouped into shared transactions."""

    def __init__(
        self,
        upsert: Upsert,
        committed: Callable[[Changes], None],
        max_rows: int = GROUP_ROWS,
    ) -> None:
        """`upsert` stores a batch in one transaction (`Store.upsert_conversations`);
        `committed` hears of each group's change once, before its batches are acknowledged."""
        self._upsert = upsert
        self._committed = committed
        self._max_rows = max_rows
        self._queue: deque[_Queued] = deque()
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._leading = False

    def upsert(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        """Store a batch with those queued beside it; returns the change of the group that held
        it once that group has committed and been recorded. Raises StorageError when the batch
        could not be stored (nothing of it is)."""
        mine = _Queued(conversations, messages)
        with self._turn:
            self._queue.append(mine)
            while self._leading and not mine.done:
                self._turn.wait()
            lead = not mine.done
            if lead:
                self._leading = True
        if lead:
            self._lead(mine)
        if mine.error is not None:
            raise mine.error
        return mine.changes

    def _lead(self, mine: _Queued) -> None:
        """Commit groups from the head of the queue until `mine` is done, then hand over to a
        waiting thread (each group's threads are woken as soon as it is done)."""
        try:
            while not mine.done:
                with self._lock:
                    group = take_group(self._queue, self._max_rows)
                self._store(group)
                with self._turn:
                    self._turn.notify_all()
        finally:
            with self._turn:
                if not mine.done and mine in self._queue:  # left by an unexpected failure
                    self._queue.remove(mine)
                self._leading = False
                self._turn.notify_all()

    def _store(self, group: list[_Queued]) -> None:
        """One upsert for the group (each batch alone if that fails), recorded, then done."""
        if len(group) > 1:
            try:
                changes = self._upsert(
                    pa.concat_tables([q.conversations for q in group]),
                    pa.concat_tables([q.messages for q in group]),
                )
            except Exception:  # each batch alone below: its failure is its own
                pass
            else:
                self._finish(group, changes)
                return
        for queued in group:
            try:
                self._finish([queued], self._upsert(queued.conversations, queued.messages))
            except BaseException as error:  # told to the batch's own thread, which raises it
                queued.error = error
                queued.done = True

    def _finish(self, group: list[_Queued], changes: Changes) -> None:
        try:
            self._committed(changes)
        finally:
            for queued in group:
                queued.changes = changes
                queued.done = True
