"""Failed authentications are limited per key and per client address in every dialect: a 429 in
the dialect's shape with `Retry-After` (`ccstats.ratelimit`); Twin24 logins cost the same
whether the email exists or not."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.clients import (
    ALIYUN_INSTANCE,
    ALIYUN_SECRET,
    BANK,
    HUAWEI_SECRET,
    NATIVE,
    TWIN24_EMAIL,
    TWIN24_PASSWORD,
    aliyun_query,
    assert_error_shape,
    moor_headers,
)
from tests.conftest import ADMIN_TOKEN

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.ratelimit import AuthLimits
from ccstats.storage import DuckDBStore, Store

LIMITS = AuthLimits(per_key=3, per_address=8, window_s=600)
SESSION = "/openapi/im-report/session/time"
SESSION_BODY = {"createTime": ["2026-11-01 00:00:00", "2026-11-02 00:00:00"]}


@pytest.fixture(scope="module")
def demo() -> Iterator[Store]:
    with DuckDBStore(":memory:") as store:
        create_demo(store, 20)
        yield store


@pytest.fixture
def client(demo: Store) -> Iterator[TestClient]:
    """A fresh app (a fresh limiter) over the demo tenants."""
    settings = Settings(db=":memory:", admin_token=ADMIN_TOKEN, auth_limits=LIMITS)
    with TestClient(create_app(settings, demo)) as test_client:
        yield test_client


Attempt = Callable[[TestClient, bool], Any]


def _twin24(client: TestClient, right: bool) -> Any:
    password = TWIN24_PASSWORD if right else "guess"
    return client.post("/api/v1/auth/login", json={"email": TWIN24_EMAIL, "password": password})


def _huawei(client: TestClient, right: bool) -> Any:
    secret = HUAWEI_SECRET if right else "guess"
    return client.post("/oifde/rest/api/gettoken", json={"appKey": BANK, "appSecret": secret})


def _sevenmoor(client: TestClient, right: bool) -> Any:
    headers = moor_headers() if right else {**moor_headers(), "m7-sign": "Zm9yZ2Vk"}
    return client.post(SESSION, json=SESSION_BODY, headers=headers)


def _aliyun(client: TestClient, right: bool) -> Any:
    secret = ALIYUN_SECRET if right else "guess"
    query = aliyun_query({"InstanceId": ALIYUN_INSTANCE}, secret=secret)
    return client.post("/?" + query)


def _native(client: TestClient, right: bool) -> Any:
    headers = NATIVE if right else {"authorization": "Bearer ccs_bank_guess"}
    return client.get("/v1/conversations?limit=1", headers=headers)


ATTEMPTS: list[tuple[str, Attempt, str, int]] = [
    ("twin24", _twin24, "twin24", 401),
    ("huawei", _huawei, "huawei", 401),
    ("7moor", _sevenmoor, "7moor", 401),
    ("aliyun", _aliyun, "aliyun", 400),
    ("native", _native, "native", 401),
]


@pytest.mark.parametrize(
    ("attempt", "dialect", "refused"), [a[1:] for a in ATTEMPTS], ids=[a[0] for a in ATTEMPTS]
)
def test_a_key_that_failed_too_often_is_refused_with_429(
    client: TestClient, attempt: Attempt, dialect: str, refused: int
) -> None:
    assert attempt(client, True).status_code == 200
    for _ in range(LIMITS.per_key):
        assert attempt(client, False).status_code == refused
    blocked = attempt(client, True)  # the right secret too: the key is blocked for a while
    assert blocked.status_code == 429, blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= LIMITS.window_s
    assert_error_shape(dialect, blocked)


def test_the_dialects_throttling_shapes(client: TestClient) -> None:
    for _ in range(LIMITS.per_key):
        _aliyun(client, False)
        _sevenmoor(client, False)
        _huawei(client, False)
    aliyun = _aliyun(client, True)
    assert aliyun.json()["Code"] == "Throttling.User"
    assert int(aliyun.headers["x-acs-retry-after"]) == 1000 * int(aliyun.headers["retry-after"])
    assert _sevenmoor(client, True).json()["message"] == "tooManyRequests"
    assert _huawei(client, True).json()["errorCode"] == 200800003


def test_an_address_that_failed_too_often_is_refused_on_every_dialect(client: TestClient) -> None:
    # Eight failures, each against a different email: no key reaches three, the address does.
    for i in range(LIMITS.per_address):
        login = client.post("/api/v1/auth/login", json={"email": f"x{i}@y", "password": "p"})
        assert login.status_code == 401
    assert _huawei(client, True).status_code == 429
    assert _native(client, True).status_code == 429
    with_body = client.post("/v1/query", json={}, headers=NATIVE)  # checked before the body
    assert with_body.status_code == 429
    assert_error_shape("native", with_body)


def test_twin24_login_costs_one_scrypt_whether_the_email_exists_or_not(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: a wrong password took ~40 ms (scrypt), an unknown email ~1 ms. The same work
    # is done for both now: one scrypt per attempt (counted, not timed).
    calls: list[int] = []
    scrypt = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    wrong = client.post("/api/v1/auth/login", json={"email": TWIN24_EMAIL, "password": "no"})
    assert (wrong.status_code, len(calls)) == (401, 1)
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@x", "password": "no"})
    assert (unknown.status_code, len(calls)) == (401, 2)
    assert unknown.json() == wrong.json()
