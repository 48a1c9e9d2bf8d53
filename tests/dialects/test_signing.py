"""The one replay guard of the signing dialects (`dialects.signing.NonceCache`): a nonce is taken
once, across threads, cache objects and restarts (the registry holds it), until it expires."""

from __future__ import annotations

import threading

from ccstats.dialects.signing import NonceCache
from ccstats.service import Service
from ccstats.storage import DuckDBStore, Store


def test_a_nonce_is_taken_once_across_threads(store: Store) -> None:
    cache = NonceCache(Service(store), "test")
    wins: list[bool] = []
    barrier = threading.Barrier(16)

    def use() -> None:
        barrier.wait()
        wins.append(cache.first_use("sig:123456", expires_at=1300.0, now=1000.0))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 15 + [True]


def test_a_nonce_is_refused_until_it_expires_then_taken_again(store: Store) -> None:
    cache = NonceCache(Service(store), "test")
    assert cache.first_use("n", expires_at=900.0, now=0.0)
    assert not cache.first_use("n", expires_at=1800.0, now=899.0)
    assert cache.first_use("other", expires_at=1800.0, now=899.0)
    assert cache.first_use("n", expires_at=1800.0, now=901.0)  # expired: taken anew
    assert not cache.first_use("n", expires_at=1800.0, now=902.0)


def test_namespaces_are_apart_and_nonces_outlive_the_cache(tmp_path: object) -> None:
    path = f"{tmp_path}/nonces.duckdb"
    with DuckDBStore(path) as store:
        assert NonceCache(Service(store), "7moor").first_use("n", expires_at=2e9, now=1e9)
        assert NonceCache(Service(store), "aliyun").first_use("n", expires_at=2e9, now=1e9)
    with DuckDBStore(path) as store:  # a restart
        assert not NonceCache(Service(store), "7moor").first_use("n", expires_at=2e9, now=1e9)


def test_expired_nonces_are_deleted(store: Store) -> None:
    cache = NonceCache(Service(store), "test")
    for i in range(5):
        cache.first_use(str(i), expires_at=10.0, now=0.0)
    cache = NonceCache(Service(store), "test")  # purges on its first use
    cache.first_use("new", expires_at=1000.0, now=100.0)
    assert store.registry.delete_meta_before("nonce:test:", "9999") == 1
