"""HTTP clients for every dialect as their real clients call them: logins, tokens, signatures.

Secrets are the ones `bench.run` creates with `ccstats.auth.create_credential` on the bench store.
Signing follows `spec/dialects.md` (7moor HMAC headers) and `spec/vendor-protocols-research.md`
(Alibaba ACS3-HMAC-SHA256, checked against its test vector in `acs3_signature`'s docstring).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson

__all__ = ["Secrets", "Clients", "acs3_signature", "sevenmoor_headers"]


@dataclass
class Secrets:
    """The credentials of the bench tenants, as `create_credential` returned them."""

    api: dict[str, str] = field(default_factory=dict)
    """tenant id -> native API token."""
    huawei: tuple[str, str] = ("", "")
    sevenmoor: tuple[str, str] = ("", "")
    twin24: tuple[str, str] = ("", "")
    aliyun: tuple[str, str] = ("", "")


def sevenmoor_headers(appkey: str, secret: str) -> dict[str, str]:
    """`m7-*` headers: base64(HMAC-SHA256(secret, appkey + timestamp + nonce)), a fresh nonce."""
    timestamp = str(int(time.time() * 1000))
    nonce = secrets.token_hex(8)
    digest = hmac.new(secret.encode(), (appkey + timestamp + nonce).encode(), hashlib.sha256)
    return {
        "m7-appkey": appkey,
        "m7-timestamp": timestamp,
        "m7-nonce": nonce,
        "m7-sign": base64.b64encode(digest.digest()).decode(),
        "content-type": "application/json",
    }


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")


def acs3_signature(
    method: str, query: dict[str, str], headers: dict[str, str], body: bytes, secret: str
) -> tuple[str, str]:
    """(SignedHeaders, Signature) of an ACS3-HMAC-SHA256 request over every header given.

    Research test vector: the captured HotlineSessionQuery request signed with `testSecret` gives
    `1bb9599109f7c8185e2168541b4f59c2b0157a9015f1bc374539e201fbfdb89b`.
    """
    canonical_query = "&".join(f"{k}={_rfc3986(query[k])}" for k in sorted(query))
    names = sorted(h.lower() for h in headers)
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    signed = ";".join(names)
    request = "\n".join(
        [
            method,
            "/",
            canonical_query,
            canonical_headers,
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(request.encode()).hexdigest()
    return signed, hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class Clients:
    """One keep-alive httpx client and the per-dialect tokens, fetched once and reused."""

    def __init__(self, base_url: str, creds: Secrets, timeout: float = 120) -> None:
        self.base = base_url
        self.creds = creds
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self._huawei_token: str | None = None
        self._twin24_token: str | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # -- native --------------------------------------------------------------------------------
    def native(self, method: str, path: str, tenant: str, **kwargs: Any) -> httpx.Response:
        """A native /v1 call with the tenant's API token."""
        headers = {"authorization": f"Bearer {self.creds.api[tenant]}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    # -- huawei --------------------------------------------------------------------------------
    def huawei_token(self) -> str:
        """An OIFDE authToken (gettoken once)."""
        if self._huawei_token is None:
            key, secret = self.creds.huawei
            answer = self.http.post(
                "/oifde/rest/api/gettoken", json={"appKey": key, "appSecret": secret}
            )
            answer.raise_for_status()
            self._huawei_token = answer.json()["authToken"]
        return self._huawei_token

    def huawei(self, report: str, body: dict[str, Any]) -> httpx.Response:
        """POST an OIFDE report with the token."""
        payload = orjson.dumps({**body, "authToken": self.huawei_token()})
        return self.http.post(
            f"/oifde/rest/api/{report}",
            content=payload,
            headers={"content-type": "application/json"},
        )

    # -- 7moor ---------------------------------------------------------------------------------
    def sevenmoor(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST a 7moor IM report with fresh signature headers."""
        appkey, secret = self.creds.sevenmoor
        return self.http.post(
            f"/openapi/im-report/{path}",
            content=orjson.dumps(body),
            headers=sevenmoor_headers(appkey, secret),
        )

    # -- twin24 --------------------------------------------------------------------------------
    def twin24_token(self) -> str:
        """A Twin24 JWT (login once)."""
        if self._twin24_token is None:
            email, password = self.creds.twin24
            answer = self.http.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
            answer.raise_for_status()
            self._twin24_token = answer.json()["token"]
        return self._twin24_token

    def twin24(self, params: dict[str, Any]) -> httpx.Response:
        """GET the Twin24 call search."""
        headers = {"authorization": f"Bearer {self.twin24_token()}"}
        return self.http.get("/api/v1/search/cis/calls", params=params, headers=headers)

    # -- alibaba -------------------------------------------------------------------------------
    def aliyun(self, action: str, query: dict[str, str]) -> httpx.Response:
        """POST / with the query signed as the official SDK signs it (ACS3-HMAC-SHA256)."""
        key_id, secret = self.creds.aliyun
        host = self.base.split("://", 1)[1]
        headers = {
            "host": host,
            "x-acs-version": "2019-10-15",
            "x-acs-action": action,
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": secrets.token_hex(16),
            "accept": "application/json",
            "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
        }
        signed, signature = acs3_signature("POST", query, headers, b"", secret)
        headers["authorization"] = (
            f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed},Signature={signature}"
        )
        target = "/?" + "&".join(f"{k}={_rfc3986(v)}" for k, v in sorted(query.items()))
        return self.http.post(target, headers=headers, content=b"")
