"""The registry's server state across processes: compare-and-set and swaps stay one-use when the
writers share no lock.

chDB lets one process open a directory, so two processes cannot share a database here. Two
registries on one database that do not share the in-process write lock stand in for them:
every exclusion then comes from ClickHouse (one block per insert token), as between processes
on one server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

import pytest
from tests.chdb_stores import chdb_store, drop_opened

from ccstats.dialects.signing import NonceCache
from ccstats.service import Service
from ccstats.storage.clickhouse import ClickHouseRegistry, ClickHouseStore
from ccstats.storage.clickhouse.client import Connection
from ccstats.storage.clickhouse.store import _CLOCK, _token

RACERS = 8


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    yield chdb_store()
    drop_opened()


def _lockless(store: ClickHouseStore, count: int) -> list[ClickHouseRegistry]:
    """Registries on the store's database, each with a lock of its own (a process each)."""
    return [
        ClickHouseRegistry(Connection(store.target), threading.RLock(), _CLOCK, _token)
        for _ in range(count)
    ]


def _race(action: Callable[[int], None]) -> None:
    """`action(n)` for each racer, all released at once."""
    gate = threading.Barrier(RACERS)

    def run(n: int) -> None:
        gate.wait()
        action(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_name_is_taken_once_by_writers_without_a_shared_lock(store: ClickHouseStore) -> None:
    registries = _lockless(store, RACERS)
    for round_ in range(5):
        wins: list[int] = []

        def take(n: int, key: str = f"nonce:{round_}", wins: list[int] = wins) -> None:
            if registries[n].compare_and_set(key, None, f"taken by {n}"):
                wins.append(n)

        _race(take)
        assert len(wins) == 1
        assert store.registry.get_meta(f"nonce:{round_}") == f"taken by {wins[0]}"


def test_a_one_use_token_is_handed_to_one_writer(store: ClickHouseStore) -> None:
    """Twin24's refresh: `put_meta(key, None)` hands back the stored record to one caller."""
    registries = _lockless(store, RACERS)
    for round_ in range(5):
        key = f"twin24.refresh.{round_}"
        store.registry.put_meta(key, "the record")
        got: list[str | None] = []

        def use(n: int, key: str = key, got: list[str | None] = got) -> None:
            got.append(registries[n].put_meta(key, None))

        _race(use)
        assert got.count("the record") == 1 and got.count(None) == RACERS - 1
        assert store.registry.get_meta(key) is None


def test_a_signed_request_is_answered_once_by_two_processes(store: ClickHouseStore) -> None:
    """The 7moor and Alibaba nonce cache on two registries: a replayed nonce is refused by the
    other one, and an expired name can be taken again."""
    one, two = _lockless(store, 2)
    caches = [NonceCache(cast(Service, SimpleNamespace(registry=r)), "7moor") for r in (one, two)]
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()
    taken: list[bool] = []
    _race(lambda n: taken.append(caches[n % 2].first_use("n1", now + 300, now)))
    assert taken.count(True) == 1
    later = now + 600  # expired: a new request may use it, once
    assert caches[1].first_use("n1", later + 300, later)
    assert not caches[0].first_use("n1", later + 300, later)


def test_a_purge_keeps_a_value_set_after_it_read(store: ClickHouseStore) -> None:
    registry = store.registry
    registry.put_meta("nonce:a", "2024-01-01")
    registry.put_meta("nonce:b", "2024-01-01")
    assert registry.delete_meta_before("nonce:", "2024-06-01") == 2
    assert registry.get_meta("nonce:a") is None
    # A name taken again after its deletion is held, and a later purge of older values keeps it.
    assert registry.compare_and_set("nonce:a", None, "2024-09-01")
    assert registry.delete_meta_before("nonce:", "2024-06-01") == 0
    assert registry.get_meta("nonce:a") == "2024-09-01"
