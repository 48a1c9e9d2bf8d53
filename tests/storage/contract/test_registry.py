"""The registry contract (`storage.registry.Registry`), on every engine: tenants, credentials and
server state, with a compare-and-set that keeps one-use things one-use across threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from tests.storage.contract.conftest import ENGINES, make_store

from ccstats.records import TenantSettings
from ccstats.storage import Credential, Store


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest) -> Store:
    return make_store(request.param)


def test_tenants_are_created_replaced_and_listed(store: Store) -> None:
    registry = store.registry
    assert registry.get_tenant("t1") is None and registry.list_tenants() == []
    assert registry.put_tenant(TenantSettings(id="t2")) is None
    assert registry.put_tenant(TenantSettings(id="t1", timezone="Asia/Tokyo")) is None
    replaced = registry.put_tenant(TenantSettings(id="t1", timezone="UTC", name="One"))
    assert replaced is not None and replaced.timezone == "Asia/Tokyo"
    assert [t.id for t in registry.list_tenants()] == ["t1", "t2"]
    found = registry.get_tenant("t1")
    assert found is not None and (found.name, found.timezone) == ("One", "UTC")


def test_credentials_are_found_by_kind_and_key_oldest_first(store: Store) -> None:
    registry = store.registry
    old = datetime(2024, 1, 1, tzinfo=UTC)
    new = datetime(2024, 6, 1, tzinfo=UTC)
    registry.add_credential(Credential("t2", "huawei", "k", secret_hash="h2", created_at=new))
    registry.add_credential(Credential("t1", "huawei", "k", secret_hash="h1", created_at=old))
    registry.add_credential(Credential("t1", "7moor", "k", secret="s"))
    found = registry.find_credentials("huawei", "k")
    assert [(c.tenant_id, c.secret_hash, c.created_at) for c in found] == [
        ("t1", "h1", old),
        ("t2", "h2", new),
    ]
    assert [c.secret for c in registry.find_credentials("7moor", "k")] == ["s"]
    assert registry.find_credentials("aliyun", "k") == []


def test_meta_values_swap_atomically(store: Store) -> None:
    registry = store.registry
    assert registry.get_meta("k") is None
    assert registry.put_meta("k", "1") is None
    assert registry.put_meta("k", "2") == "1"
    assert registry.put_meta("k", None) == "2"
    assert registry.get_meta("k") is None


def test_compare_and_set_takes_a_name_once_across_threads(store: Store) -> None:
    registry = store.registry
    wins: list[int] = []

    def take(n: int) -> None:
        if registry.compare_and_set("nonce:abc", None, f"taken by {n}"):
            wins.append(n)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert registry.get_meta("nonce:abc") == f"taken by {wins[0]}"
    assert not registry.compare_and_set("nonce:abc", "someone else", "x")
    assert registry.compare_and_set("nonce:abc", f"taken by {wins[0]}", None)
    assert registry.get_meta("nonce:abc") is None


def test_expired_values_are_deleted_by_prefix(store: Store) -> None:
    registry = store.registry
    registry.put_meta("nonce:a", "2024-01-01T00:00:00")
    registry.put_meta("nonce:b", "2024-12-01T00:00:00")
    registry.put_meta("nonce_x", "2020-01-01T00:00:00")  # "_" is no wildcard
    registry.put_meta("token:c", "2020-01-01T00:00:00")
    assert registry.delete_meta_before("nonce:", "2024-06-01T00:00:00") == 1
    assert registry.get_meta("nonce:a") is None
    assert registry.get_meta("nonce:b") is not None
    assert registry.get_meta("nonce_x") is not None and registry.get_meta("token:c") is not None


def test_credentials_are_listed_per_tenant_and_deleted_one_by_one(store: Store) -> None:
    registry = store.registry
    old = datetime(2024, 1, 1, tzinfo=UTC)
    first = Credential("t1", "huawei", "t1", secret_hash="sha256$one", created_at=old)
    second = Credential("t1", "huawei", "t1", secret_hash="sha256$two")
    other = Credential("t2", "api", "k2", secret_hash="sha256$x")
    for credential in (second, first, other):
        registry.add_credential(credential)
    listed = registry.list_credentials("t1")
    assert [c.secret_hash for c in listed] == ["sha256$one", "sha256$two"]  # oldest first
    assert first.id != second.id and first.id.startswith("huawei-")
    assert [c.id for c in listed] == [first.id, second.id]  # the same from what is stored
    assert len(registry.find_credentials("huawei", "t1")) == 2  # (now kept by the engine)
    assert registry.delete_credential(first)
    # Refused from the next lookup on, whatever the engine kept: the other key stays valid.
    assert [c.secret_hash for c in registry.find_credentials("huawei", "t1")] == ["sha256$two"]
    assert not registry.delete_credential(first)
    assert [c.tenant_id for c in registry.find_credentials("api", "k2")] == ["t2"]


def test_deleting_a_tenant_deletes_its_credentials_only(store: Store) -> None:
    registry = store.registry
    for tenant in ("t1", "t2"):
        registry.put_tenant(TenantSettings(id=tenant))
        registry.add_credential(Credential(tenant, "api", f"k-{tenant}", secret_hash="h"))
    assert registry.find_credentials("api", "k-t1")  # kept by the engine
    assert registry.delete_tenant("t1")
    assert registry.get_tenant("t1") is None and [t.id for t in registry.list_tenants()] == ["t2"]
    assert registry.find_credentials("api", "k-t1") == [] and registry.list_credentials("t1") == []
    assert len(registry.find_credentials("api", "k-t2")) == 1
    assert not registry.delete_tenant("t1")


def test_a_lookup_racing_a_revocation_never_keeps_the_revoked_credential(store: Store) -> None:
    registry = store.registry
    stop = threading.Event()

    def look() -> None:
        while not stop.is_set():
            registry.find_credentials("7moor", "app")

    readers = [threading.Thread(target=look) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n in range(30):
            credential = Credential("t1", "7moor", "app", secret=f"s{n}")
            registry.add_credential(credential)
            assert registry.delete_credential(credential)
            assert registry.find_credentials("7moor", "app") == []
    finally:
        stop.set()
        for reader in readers:
            reader.join()
