"""Group commit (`ingest.commits`): batches queued while a transaction runs are stored together in
the next one, each acknowledged only once its group has committed and been recorded; a key
repeated across queued batches keeps the queue's order; a failing batch fails alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from tests.conftest import add_tenant
from tests.test_ingest import DAY, record

from ccstats.ingest.commits import GroupCommit
from ccstats.metrics.query import MetricQuery
from ccstats.records import Conversation
from ccstats.schema import conversations_to_arrow
from ccstats.service import Service
from ccstats.storage import Changes, SearchRequest, StorageError
from ccstats.storage.duckdb.store import DuckDBStore


def _batch(*records: dict[str, Any]) -> tuple[pa.Table, pa.Table]:
    """Records as the ingest path hands them to the store."""
    models = [Conversation.model_validate(r) for r in records]
    return conversations_to_arrow(models, datetime(2024, 5, 2, tzinfo=UTC))


class _Gate:
    """`Store.upsert_conversations`, the first call held until `release`; every call's row
    count noted, and a batch holding `poison` refused as a storage failure would be."""

    def __init__(self, store: DuckDBStore, poison: str | None = None) -> None:
        self.store, self.poison = store, poison
        self.calls: list[list[str]] = []
        self.entered, self.released = threading.Event(), threading.Event()

    def __call__(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        ids = sorted(conversations.column("id").to_pylist())
        self.calls.append(ids)
        if len(self.calls) == 1:
            self.entered.set()
            assert self.released.wait(30)
        if self.poison in ids:
            raise StorageError("nothing was stored: refused")
        return self.store.upsert_conversations(conversations, messages)


def _run(commits: GroupCommit, batches: list[tuple[pa.Table, pa.Table]]) -> list[Any]:
    """Each batch upserted from its own thread; the first holds the gate until the others are
    queued behind it. Returns each thread's Changes or exception."""
    outcomes: list[Any] = [None] * len(batches)

    def send(i: int) -> None:
        try:
            outcomes[i] = commits.upsert(*batches[i])
        except StorageError as error:
            outcomes[i] = error

    first = threading.Thread(target=send, args=(0,))
    first.start()
    gate: _Gate = commits._upsert  # type: ignore[assignment]
    assert gate.entered.wait(30)
    others = [threading.Thread(target=send, args=(i,)) for i in range(1, len(batches))]
    for queued, thread in enumerate(others, start=1):
        thread.start()  # one at a time: the queue's order is the batches' order
        _wait_until(lambda queued=queued: len(commits._queue) == queued)  # type: ignore[misc]
    gate.released.set()
    for thread in (first, *others):
        thread.join(30)
    return outcomes


def _wait_until(done: Callable[[], bool]) -> None:
    event = threading.Event()
    for _ in range(3000):
        if done():
            return
        event.wait(0.01)
    raise AssertionError("the threads never queued")


def _count(store: DuckDBStore) -> int:
    return (
        Service(store)
        .run_query(MetricQuery("t1", ("conversations",), *DAY))
        .rows[0]["conversations"]
    )


def test_batches_queued_meanwhile_share_the_next_transaction() -> None:
    store = DuckDBStore()
    add_tenant(store, "t1")
    gate = _Gate(store)
    recorded: list[Changes] = []
    commits = GroupCommit(gate, recorded.append)
    batches = [_batch(record(f"c{i}")) for i in range(6)]
    outcomes = _run(commits, batches)
    # c0 alone (it was alone when it came), then the five queued behind it in one upsert.
    assert gate.calls == [["c0"], ["c1", "c2", "c3", "c4", "c5"]]
    assert len(recorded) == 2  # each group's change recorded once
    assert all(isinstance(o, Changes) and "t1" in o.spans for o in outcomes)
    assert _count(store) == 6


def test_a_key_repeated_in_the_queue_keeps_the_order_of_the_queue() -> None:
    """c1 is queued twice (bot turns 1, then 9): the group stops before the second, which is
    stored by the next group, so c1 ends with 9 bot turns, as one by one."""
    store = DuckDBStore()
    add_tenant(store, "t1")
    gate = _Gate(store)
    commits = GroupCommit(gate, lambda changes: None)
    batches = [
        _batch(record("c0")),
        _batch(record("c1", bot_turns=1), record("c2")),
        _batch(record("c3")),
        _batch(record("c1", bot_turns=9)),
    ]
    _run(commits, batches)
    assert gate.calls == [["c0"], ["c1", "c2", "c3"], ["c1"]]
    page = store.search(SearchRequest("t1", *DAY, columns=("id", "bot_turns")))
    assert sorted(page.values) == [("c0", None), ("c1", 9), ("c2", None), ("c3", None)]


def test_a_failing_batch_fails_alone() -> None:
    store = DuckDBStore()
    add_tenant(store, "t1")
    gate = _Gate(store, poison="bad")
    commits = GroupCommit(gate, lambda changes: None)
    batches = [
        _batch(record("c0")),
        _batch(record("c1")),
        _batch(record("bad")),
        _batch(record("c3")),
    ]
    outcomes = _run(commits, batches)
    assert isinstance(outcomes[2], StorageError)
    assert [isinstance(o, Changes) for o in outcomes] == [True, True, False, True]
    # The group failed whole, then each of its batches was tried alone.
    assert gate.calls == [["c0"], ["bad", "c1", "c3"], ["c1"], ["bad"], ["c3"]]
    assert _count(store) == 3


def test_a_batch_is_acknowledged_after_its_group_is_committed_and_recorded() -> None:
    """What the thread sees on return: the rows readable by another cursor, the change in the
    service's log."""
    store = DuckDBStore()
    add_tenant(store, "t1")
    service = Service(store)
    generation = service.changes.generation("t1")
    result = service.ingest_conversations([record("c1"), record("c2")], "t1")
    assert result.accepted == 2
    assert service.changes.generation("t1") == generation + 1  # recorded once
    assert _count(store) == 2


@pytest.mark.parametrize("senders", [16])
def test_concurrent_ingest_through_the_service_stores_every_record_once(senders: int) -> None:
    """16 threads, each sending 20 one-record batches (some ids sent by two threads): every id
    stored once, counted once."""
    store = DuckDBStore()
    add_tenant(store, "t1")
    service = Service(store)
    errors: list[BaseException] = []

    def send(thread: int) -> None:
        try:
            for n in range(20):
                shared = n % 5 == 0  # ids s0, s5, s10, s15 sent by every thread
                cid = f"s{n}" if shared else f"t{thread}-{n}"
                result = service.ingest_conversations([record(cid)], "t1")
                assert result.accepted == 1
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    pool = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)
    assert not errors
    assert _count(store) == senders * 16 + 4
