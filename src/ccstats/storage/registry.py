"""Tenants, credentials and the server's own small state (signing secrets, one-use tokens,
nonces): transactional whatever engine holds the facts, with an atomic compare-and-set so that
one-use things stay one-use across requests, processes and restarts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from ccstats.records import TenantSettings

__all__ = ["Credential", "Registry"]


@dataclass(frozen=True)
class Credential:
    """A way in for one tenant: `kind` (api, huawei, 7moor, twin24, aliyun) and a key id.

    `secret_hash` holds secrets that only need checking (tokens, passwords); `secret` holds HMAC
    secrets needed to verify signatures, as given.
    """

    tenant_id: str
    kind: str
    key_id: str
    secret_hash: str | None = None
    secret: str | None = None
    created_at: datetime | None = None

    @property
    def id(self) -> str:
        """A short name of this credential among the tenant's (`ccstats credentials list`):
        derived from what is stored, so every engine names it alike; two credentials of one key
        (Huawei appSecrets of one appKey) have different ones. Reveals nothing of the secret."""
        material = "\0".join(
            (self.tenant_id, self.kind, self.key_id, self.secret_hash or "", self.secret or "")
        )
        return self.kind + "-" + hashlib.sha256(material.encode()).hexdigest()[:10]


class Registry:
    """The registry interface; one implementation per engine (DuckDB keeps it in its file)."""

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings | None:
        """Create or replace a tenant's settings; returns the settings it replaced."""
        raise NotImplementedError

    def get_tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None (a shared object: do not change it)."""
        raise NotImplementedError

    def list_tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        raise NotImplementedError

    def add_credential(self, credential: Credential, unique: bool = False) -> None:
        """Store a credential; with `unique`, raise `KeyTaken` (storing nothing) when a
        credential of its kind has the same key id, ignoring case and surrounding spaces."""
        raise NotImplementedError

    def find_credentials(self, kind: str, key_id: str) -> list[Credential]:
        """Credentials of a kind with a key id, oldest first (several may share a key id).
        A credential deleted by any means is never found again (no stale cache)."""
        raise NotImplementedError

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        """A tenant's credentials, oldest first."""
        raise NotImplementedError

    def delete_credential(self, credential: Credential) -> bool:
        """Delete the stored credential equal to `credential` (tenant, kind, key id and secret):
        from the next lookup on, it lets no one in. Whether there was one."""
        raise NotImplementedError

    def delete_tenant(self, tenant_id: str) -> bool:
        """Delete a tenant's settings and every credential of it; whether it existed. (Its
        records are the `Store`'s: `Store.erase`.)"""
        raise NotImplementedError

    def get_meta(self, key: str) -> str | None:
        """A value of the server's own state, or None."""
        raise NotImplementedError

    def put_meta(self, key: str, value: str | None) -> str | None:
        """Set a value (None deletes it) atomically; returns the value it replaced."""
        raise NotImplementedError

    def compare_and_set(self, key: str, expected: str | None, value: str | None) -> bool:
        """Set `key` to `value` (None: delete) only if it now holds `expected` (None: absent),
        atomically; whether it did. `compare_and_set(k, None, v)` takes a one-use name once."""
        raise NotImplementedError

    def delete_meta_before(self, prefix: str, cutoff: str) -> int:
        """Delete the values under `prefix` whose value sorts before `cutoff` (expiry times
        written as ISO text); how many. Keeps nonce and token tables bounded."""
        raise NotImplementedError
