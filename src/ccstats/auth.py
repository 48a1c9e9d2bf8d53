"""Credentials of every kind (`docs/dialects.md`): creation, hashing, lookup.

Secrets that only need checking (API tokens, Huawei appSecrets, Twin24 passwords) are stored hashed;
HMAC secrets (7moor, Alibaba) are needed to verify signatures and are stored as given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from ccstats.limits import MAX_TEXT
from ccstats.storage import Credential, KeyTaken, Registry

__all__ = [
    "KINDS",
    "create_credential",
    "hash_secret",
    "verify_secret",
    "tenant_for_api_token",
    "check_secret",
    "match_credential",
    "still_valid",
    "describe_credential",
    "CredentialError",
    "UNIQUE_KEYS",
]

KINDS = ("api", "huawei", "7moor", "twin24", "aliyun")
UNIQUE_KEYS = frozenset({"7moor", "twin24", "aliyun"})
"""Kinds whose key id names one tenant (an API token's key id and a Huawei appKey may repeat:
the secret tells them apart)."""


class CredentialError(ValueError):
    """A credential cannot be created (unknown kind or tenant)."""


def hash_secret(secret: str, slow: bool = False) -> str:
    """A stored hash: scrypt with a salt for passwords (`slow`), sha256 for random tokens."""
    if slow:
        salt = secrets.token_hex(16)
        digest = hashlib.scrypt(secret.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
        return f"scrypt${salt}${digest}"
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether `secret` matches a stored hash (constant-time comparison)."""
    if not stored:
        return False
    scheme, _, rest = stored.partition("$")
    if scheme == "scrypt":
        salt, _, digest = rest.partition("$")
        candidate = hashlib.scrypt(secret.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
        return hmac.compare_digest(candidate, digest)
    if scheme == "sha256":
        return hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), rest)
    return False


_DUMMY_HASH = (
    "scrypt$368b4664c4b50f523bdae57a219fd98f$aa4272776230325bfc0429283a24b2ac690392bec5204f3ef28c"
    "f70a71c500d2fe37fbdf1ed5af80fea1b858066e13975373469cbc242ab3ea583222cf566bf7"
)
"""The scrypt hash of a random password nobody kept: checked for unknown keys, at a real cost."""


def check_secret(
    registry: Registry, kind: str, key_id: str, secret: str
) -> tuple[bool, str | None]:
    """(key known, tenant id if the secret matches) for hashed-secret kinds."""
    known, credential = match_credential(registry, kind, key_id, secret)
    return known, credential.tenant_id if credential is not None else None


def match_credential(
    registry: Registry, kind: str, key_id: str, secret: str
) -> tuple[bool, Credential | None]:
    """(key known, the credential whose hashed secret matches): tokens issued for it can be
    refused once it is revoked (`still_valid`).

    An unknown key of a kind with slow hashes (Twin24 passwords) is checked against a dummy hash
    of the same cost, so that the answer's time does not tell which keys exist.
    """
    found = registry.find_credentials(kind, key_id)
    for credential in found:
        if verify_secret(secret, credential.secret_hash):
            return True, credential
    if not found and kind in _SLOW_KINDS:
        verify_secret(secret, _DUMMY_HASH)
    return bool(found), None


_SLOW_KINDS = frozenset({"twin24"})
"""Kinds whose secrets are passwords, stored with scrypt (`hash_secret(slow=True)`)."""


def still_valid(registry: Registry, kind: str, key_id: str, tenant_id: str, cid: str) -> bool:
    """Whether the credential `cid` (`Credential.id`) that a token was issued for is still
    stored: a token outlives no revocation."""
    return any(
        c.tenant_id == tenant_id and c.id == cid for c in registry.find_credentials(kind, key_id)
    )


def describe_credential(credential: Credential) -> dict[str, Any]:
    """A credential as `ccstats credentials list` shows it: id, kind, key, creation time; never
    its secret or hash."""
    created = credential.created_at
    return {
        "id": credential.id,
        "tenant_id": credential.tenant_id,
        "kind": credential.kind,
        "key": credential.key_id,
        "created_at": created.isoformat() if created is not None else None,
    }


def _api(tenant_id: str, key: str | None, secret: str | None) -> tuple[Credential, dict[str, Any]]:
    key_id = key or secrets.token_hex(6)
    token = f"ccs_{key_id}_{secret or secrets.token_urlsafe(24)}"
    return Credential(tenant_id, "api", key_id, secret_hash=hash_secret(token)), {"token": token}


def _huawei(
    tenant_id: str, key: str | None, secret: str | None
) -> tuple[Credential, dict[str, Any]]:
    # dialects.md: appKey is the tenant id.
    app_secret = secret or secrets.token_urlsafe(24)
    cred = Credential(tenant_id, "huawei", tenant_id, secret_hash=hash_secret(app_secret))
    return cred, {"appKey": tenant_id, "appSecret": app_secret}


def _sevenmoor(
    tenant_id: str, key: str | None, secret: str | None
) -> tuple[Credential, dict[str, Any]]:
    appkey = key or str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
    secret = secret or secrets.token_urlsafe(22)
    return Credential(tenant_id, "7moor", appkey, secret=secret), {
        "appkey": appkey,
        "secret": secret,
    }


def _twin24(
    tenant_id: str, key: str | None, secret: str | None
) -> tuple[Credential, dict[str, Any]]:
    email = key or f"{tenant_id}-{secrets.token_hex(3)}@ccstats.local"
    password = secret or secrets.token_urlsafe(18)
    cred = Credential(
        tenant_id, "twin24", email.lower(), secret_hash=hash_secret(password, slow=True)
    )
    return cred, {"email": email.lower(), "password": password}


def _aliyun(
    tenant_id: str, key: str | None, secret: str | None
) -> tuple[Credential, dict[str, Any]]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    key_id = key or "LTAI" + "".join(secrets.choice(alphabet) for _ in range(20))
    secret = secret or "".join(secrets.choice(alphabet) for _ in range(30))
    cred = Credential(tenant_id, "aliyun", key_id, secret=secret)
    return cred, {"accessKeyId": key_id, "accessKeySecret": secret}


_MAKERS = {
    "api": _api,
    "huawei": _huawei,
    "7moor": _sevenmoor,
    "twin24": _twin24,
    "aliyun": _aliyun,
}


def create_credential(
    registry: Registry,
    tenant_id: str,
    kind: str,
    key: str | None = None,
    secret: str | None = None,
) -> dict[str, Any]:
    """Create and store a credential; returns what a client needs (`{"kind": ..., ...}`).

    `key` chooses the key id where a kind has one (7moor appkey, Twin24 email, Alibaba key id);
    `secret` chooses the secret (the demo uses fixed ones so that README examples work verbatim).
    """
    if kind not in _MAKERS:
        raise CredentialError(f"unknown credential kind {kind!r}; use one of {', '.join(KINDS)}")
    if registry.get_tenant(tenant_id) is None:
        raise CredentialError(
            f"unknown tenant {tenant_id!r}; add it first with `ccstats tenant add`"
        )
    if key is not None:
        key = key.strip()
        if not key:
            raise CredentialError("the key must not be blank")
        if len(key) > MAX_TEXT:
            raise CredentialError(f"the key must be at most {MAX_TEXT} characters")
    credential, shown = _MAKERS[kind](tenant_id, key, secret)
    try:
        # A key that names one tenant (7moor appkey, Twin24 email, Alibaba AccessKeyId) is unique
        # whatever its case: a Twin24 email is looked up lower-cased, so "DEMO@x" beside "demo@x"
        # would be a second password for one login.
        registry.add_credential(credential, unique=kind in UNIQUE_KEYS)
    except KeyTaken:
        raise CredentialError(
            f"{kind} key {credential.key_id!r} already exists (keys are compared ignoring case"
            " and surrounding spaces)"
        ) from None
    return {"kind": kind, "tenant_id": tenant_id, **shown}


def tenant_for_api_token(registry: Registry, token: str) -> str | None:
    """The tenant of a native API token (`ccs_<key id>_<secret>`), or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "ccs":
        return None
    known, tenant = check_secret(registry, "api", parts[1], token)
    return tenant
