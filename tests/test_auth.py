"""Credentials (`ccstats.auth`): keys that name one tenant are unique whatever their case and
surrounding spaces (issue 15: a second tenant could take a Twin24 email in other case)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ADMIN_TOKEN, add_tenant

from ccstats.auth import CredentialError, create_credential
from ccstats.storage import Store

KEYS = {"twin24": "Demo@Twin24.local", "7moor": "AppKey2000", "aliyun": "LTAIdemoKey0000"}


@pytest.mark.parametrize("kind", sorted(KEYS))
@pytest.mark.parametrize(
    "change", [str.upper, str.lower, lambda k: f"  {k}\t", lambda k: f"\n{k.swapcase()} "]
)
def test_a_key_in_other_case_or_with_spaces_is_refused(
    store: Store, kind: str, change: object
) -> None:
    add_tenant(store, "first")
    add_tenant(store, "second")
    create_credential(store.registry, "first", kind, KEYS[kind])
    variant = change(KEYS[kind])  # type: ignore[operator]
    with pytest.raises(CredentialError, match="already exists .*ignoring case"):
        create_credential(store.registry, "second", kind, variant)
    assert [c.tenant_id for c in store.registry.find_credentials(kind, variant.strip())] in (
        [],
        ["first"],
    )


def test_keys_are_stored_without_surrounding_spaces(store: Store) -> None:
    add_tenant(store, "t")
    shown = create_credential(store.registry, "t", "7moor", "  2000104 ")
    assert shown["appkey"] == "2000104"
    assert [c.tenant_id for c in store.registry.find_credentials("7moor", "2000104")] == ["t"]
    with pytest.raises(CredentialError, match="must not be blank"):
        create_credential(store.registry, "t", "aliyun", "   ")
    with pytest.raises(CredentialError, match="at most 256 characters"):
        create_credential(store.registry, "t", "aliyun", "k" * 257)


def test_api_tokens_and_huawei_secrets_may_share_a_key(store: Store) -> None:
    # An API token's key id and a Huawei appKey (the tenant id) repeat: the secret decides.
    add_tenant(store, "t")
    create_credential(store.registry, "t", "api", "ops")
    create_credential(store.registry, "t", "api", "OPS")
    create_credential(store.registry, "t", "huawei")
    create_credential(store.registry, "t", "huawei")
    assert len(store.registry.find_credentials("huawei", "t")) == 2


def test_the_admin_api_refuses_a_twin24_email_in_other_case(
    app_client: TestClient, store: Store
) -> None:
    # The reproducer of issue 15, item 7.
    add_tenant(store, "twin24-demo")
    add_tenant(store, "acme-us")
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    first = app_client.post(
        "/v1/tenants/twin24-demo/credentials",
        json={"kind": "twin24", "key": "demo@twin24.local"},
        headers=admin,
    )
    assert first.status_code == 200
    second = app_client.post(
        "/v1/tenants/acme-us/credentials",
        json={"kind": "twin24", "key": " DEMO@twin24.local"},
        headers=admin,
    )
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "invalid_credential"
    assert "twin24 key 'demo@twin24.local' already exists" in second.json()["error"]["message"]
    assert [
        c.tenant_id for c in store.registry.find_credentials("twin24", "demo@twin24.local")
    ] == ["twin24-demo"]
