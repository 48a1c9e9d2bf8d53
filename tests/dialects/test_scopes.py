"""Credential scopes on every vendor path (issue 20, item 1): each endpoint of each dialect answers
over its credential's scope only.

For every endpoint, three records that the request selects differ only in their `source`: the
credential's own vendor, none, and another platform's. A new credential has the default scope
(its vendor's source and none), so every answer counts or lists 2 records: the other platform's
record is never counted, never listed, never exported. A second table gives credentials narrower
scopes (access codes, channels, directions) and derives the answers the same way.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from tests.clients import ALIYUN_KEY, ALIYUN_SECRET, aliyun_query, moor_headers
from tests.conftest import add_tenant, load

from ccstats.auth import create_credential
from ccstats.scope import Scope
from ccstats.storage import Store

TENANT = "t-scopes"
INSTANCE = "ccc-scopes"
DAY = "2024-05-01"
AT = f"{DAY}T10:00:00Z"
MOOR_KEY, MOOR_SECRET = "7000001", "moor-scopes-secret"
TWIN24_EMAIL, TWIN24_PASSWORD = "scopes@twin24.local", "twin24-scopes-password"
HUAWEI_SECRET = "huawei-scopes-secret"
OTHER = {"huawei": "7moor", "7moor": "huawei", "twin24": "huawei", "aliyun": "huawei"}
"""Another platform's source for each vendor's endpoints."""


# -- callers: each takes the client and returns what the answer counts or lists --------------------


def _huawei_token(client: TestClient) -> str:
    answer = client.post(
        "/oifde/rest/api/gettoken", json={"appKey": TENANT, "appSecret": HUAWEI_SECRET}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["authToken"]
    return token


def _huawei(path: str, field: str, code: str = "AC") -> Callable[[TestClient], int]:
    def ask(client: TestClient) -> int:
        body = {
            "tenantId": TENANT,
            "accessCode": code,
            "type": "hour",
            "timestamp": 1714564800000,  # 2024-05-01T12:00:00Z: the hour report of that date
            "authToken": _huawei_token(client),
        }
        answer = client.post(f"/oifde/rest/api/{path}", json=body)
        assert answer.status_code == 200, answer.text
        return sum(int(row[field]) for row in answer.json())

    return ask


def _moor(path: str, extra: dict[str, Any] | None = None) -> Callable[[TestClient], int]:
    def ask(client: TestClient) -> int:
        body = {
            "createTime": [f"{DAY} 00:00:00", "2024-05-02 00:00:00"],
            "dimension": "day",
            **(extra or {}),
        }
        headers = moor_headers(MOOR_KEY, MOOR_SECRET)
        answer = client.post(f"/openapi/im-report/{path}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        rows = answer.json()["data"]["list"]
        if path == "session/time":
            return sum(row["initCount"] for row in rows)
        return sum(row["initCount"] for row in rows if row["agentId"] == "a1")

    return ask


def _twin24_headers(client: TestClient) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/login", json={"email": TWIN24_EMAIL, "password": TWIN24_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


def _twin24_page(client: TestClient) -> int:
    params = {"from": f"{DAY}T00:00:00Z", "to": "2024-05-02T00:00:00Z", "fields": "id,messages"}
    answer = client.get(
        "/api/v1/search/cis/calls?" + urlencode(params), headers=_twin24_headers(client)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # Listed and counted alike, each with its own transcript.
    assert len(body["items"]) == body["count"]
    assert all(item["messages"][0]["text"] == item["id"] for item in body["items"])
    return int(body["count"])


def _twin24_file(client: TestClient) -> int:
    params = {"from": f"{DAY}T00:00:00Z", "fields": "id,messagesAsString", "output": "CSV"}
    answer = client.get(
        "/api/v1/search/cis/calls?" + urlencode(params), headers=_twin24_headers(client)
    )
    assert answer.status_code == 200, answer.text
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))[1:]
    assert len(rows) == int(answer.headers["X-Total-Count"])
    return len(rows)


def _aliyun(client: TestClient) -> int:
    query = aliyun_query({"InstanceId": INSTANCE, "PageSize": "100"})
    answer = client.post(f"/?{query}")
    assert answer.status_code == 200, answer.text
    data = answer.json()["Data"]
    assert len(data["CallDetailRecord"]) == data["TotalCount"]
    return int(data["TotalCount"])


# -- the records each endpoint selects ------------------------------------------------------------


def _voice(**fields: Any) -> dict[str, Any]:
    return {"channel": "voice", **fields}


def _chat(**fields: Any) -> dict[str, Any]:
    return {"channel": "chat", **fields}


@dataclass(frozen=True)
class Endpoint:
    """A vendor path, the fields of a record it selects, and how to read its count."""

    kind: str
    fields: dict[str, Any]
    ask: Callable[[TestClient], int]


_BOT_REPLY = [{"sender": "bot", "text": "...", "bot_outcome": "answered"}]
ENDPOINTS = {
    "huawei call statistics": Endpoint(
        "huawei", _voice(access_code="AC"), _huawei("queryCallStatisticsReport", "callCount")
    ),
    "huawei chatbot": Endpoint(
        "huawei",
        _chat(access_code="AC", messages=_BOT_REPLY),
        _huawei("queryChatbotReport", "consultCount"),
    ),
    "7moor session": Endpoint("7moor", _chat(access_code="X1"), _moor("session/time")),
    "7moor workload": Endpoint("7moor", _chat(agent_id="a1"), _moor("agent/workload")),
    "7moor quality": Endpoint("7moor", _chat(agent_id="a1"), _moor("agent/quality")),
    "twin24 page": Endpoint("twin24", _voice(), _twin24_page),
    "twin24 file": Endpoint("twin24", _voice(), _twin24_file),
    "aliyun hotline": Endpoint("aliyun", _voice(instance_id=INSTANCE), _aliyun),
}


def _records(kind: str, fields: dict[str, Any], sources: list[str | None]) -> list[dict[str, Any]]:
    records = []
    for n, source in enumerate(sources):
        ident = f"{kind}-{source or 'none'}-{n}"
        record = {"id": ident, "tenant_id": TENANT, "source": source, "created_at": AT, **fields}
        record.setdefault("messages", [{"sender": "customer", "text": ident}])
        records.append(record)
    return records


def _tenant(store: Store, scopes: dict[str, Scope | None]) -> None:
    """The tenant and one credential of each vendor, with the scope given (None: default)."""
    add_tenant(store, TENANT, instances=[INSTANCE])
    keys = {
        "huawei": (None, HUAWEI_SECRET),
        "7moor": (MOOR_KEY, MOOR_SECRET),
        "twin24": (TWIN24_EMAIL, TWIN24_PASSWORD),
        "aliyun": (ALIYUN_KEY, ALIYUN_SECRET),
    }
    for kind, (key, secret) in keys.items():
        create_credential(store.registry, TENANT, kind, key, secret, scopes.get(kind))


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_another_platforms_record_is_left_out_and_an_unlabelled_one_kept(
    store: Store, app_client: TestClient, endpoint: Endpoint
) -> None:
    _tenant(store, {})
    own, other = endpoint.kind, OTHER[endpoint.kind]
    load(store, _records(endpoint.kind, endpoint.fields, [own, None, other]))
    assert endpoint.ask(app_client) == 2  # own + none; `other` is outside the default scope


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_a_credential_scoped_to_the_other_platform_sees_only_it(
    store: Store, app_client: TestClient, endpoint: Endpoint
) -> None:
    other = OTHER[endpoint.kind]
    _tenant(store, {endpoint.kind: Scope(sources=(other,))})
    load(store, _records(endpoint.kind, endpoint.fields, [endpoint.kind, None, other, other]))
    assert endpoint.ask(app_client) == 2  # the two `other` records only


# -- narrower scopes: access codes, channels, directions -------------------------------------------


@dataclass(frozen=True)
class Narrow:
    """A scope, the records (their differing fields) and the count the endpoint must give."""

    kind: str
    scope: Scope
    base: dict[str, Any]
    variants: list[dict[str, Any]]
    ask: Callable[[TestClient], int]
    expected: int


NARROW = {
    # 7moor session/time without accessIds: only the scope's access code X1 (1 of 3).
    "7moor access codes": Narrow(
        "7moor",
        Scope(sources=("7moor", None), access_codes=("X1",)),
        _chat(source="7moor"),
        [{"access_code": "X1"}, {"access_code": "X2"}, {"access_code": None}],
        _moor("session/time"),
        1,
    ),
    # ...and asking for an access code outside the scope gives nothing.
    "7moor access ids outside the scope": Narrow(
        "7moor",
        Scope(sources=("7moor", None), access_codes=("X1",)),
        _chat(source="7moor"),
        [{"access_code": "X1"}, {"access_code": "X2"}],
        _moor("session/time", {"accessIds": ["X2"]}),
        0,
    ),
    # Huawei: a report of an access code outside the scope has no rows.
    "huawei access codes": Narrow(
        "huawei",
        Scope(sources=("huawei",), access_codes=("OTHER",)),
        _voice(source="huawei", access_code="AC"),
        [{}, {}],
        _huawei("queryCallStatisticsReport", "callCount"),
        0,
    ),
    # Twin24 login for outbound campaigns only: 2 of the 3 calls.
    "twin24 directions": Narrow(
        "twin24",
        Scope(sources=("twin24",), directions=("outbound",)),
        _voice(source="twin24"),
        [{"direction": "outbound"}, {"direction": "outbound"}, {"direction": "inbound"}],
        _twin24_page,
        2,
    ),
    # A Twin24 login scoped to chats sees none of the voice calls the path lists.
    "twin24 channels": Narrow(
        "twin24",
        Scope(sources=("twin24", None), channels=("chat",)),
        _voice(),
        [{"source": "twin24"}, {"source": None}],
        _twin24_file,
        0,
    ),
    # Alibaba: inbound and transfer, not outbound (2 of 3).
    "aliyun directions": Narrow(
        "aliyun",
        Scope(sources=("aliyun",), directions=("inbound", "transfer")),
        _voice(source="aliyun", instance_id=INSTANCE),
        [{"direction": "inbound"}, {"direction": "transfer"}, {"direction": "outbound"}],
        _aliyun,
        2,
    ),
}


@pytest.mark.parametrize("case", NARROW.values(), ids=NARROW.keys())
def test_a_narrower_scope_restricts_the_answer(
    store: Store, app_client: TestClient, case: Narrow
) -> None:
    _tenant(store, {case.kind: case.scope})
    records = [
        {
            "id": f"r{n}",
            "tenant_id": TENANT,
            "created_at": AT,
            "agent_id": "a1",
            "messages": [{"sender": "customer", "text": f"r{n}"}],
            **case.base,
            **variant,
        }
        for n, variant in enumerate(case.variants)
    ]
    load(store, records)
    assert case.ask(app_client) == case.expected


def test_an_alibaba_instance_seen_only_outside_the_scope_is_not_the_callers(
    store: Store, app_client: TestClient
) -> None:
    # The instance is not in the tenant's settings and only a Huawei record names it: for the
    # Alibaba key (default scope) it is not an instance of the caller's (seed 004: 403).
    add_tenant(store, TENANT)
    create_credential(store.registry, TENANT, "aliyun", ALIYUN_KEY, ALIYUN_SECRET)
    load(store, _records("aliyun", _voice(instance_id="ccc-huawei-only"), ["huawei"]))
    answer = app_client.post("/?" + aliyun_query({"InstanceId": "ccc-huawei-only"}))
    assert answer.status_code == 403, answer.text
    assert answer.json()["Code"] == "Forbidden.NoPermission"


def test_a_huawei_token_issued_before_scopes_has_the_default_scope(
    store: Store, app_client: TestClient
) -> None:
    # Before scopes a token was kept as "<expiry>|<tenant>" under "huawei-token:<sha256>"; such a
    # token keeps working after the upgrade, with the default Huawei scope its credential got.
    _tenant(store, {})
    load(store, _records("huawei", _voice(access_code="AC"), ["huawei", None, "7moor"]))
    token = "a-token-issued-before-scopes-0123456789abcdef"
    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="microseconds")
    key = "huawei-token:" + hashlib.sha256(token.encode()).hexdigest()
    store.registry.put_meta(key, f"{expiry}|{TENANT}")
    body = {
        "tenantId": TENANT,
        "accessCode": "AC",
        "type": "hour",
        "timestamp": 1714564800000,
        "authToken": token,
    }
    answer = app_client.post("/oifde/rest/api/queryCallStatisticsReport", json=body)
    assert answer.status_code == 200, answer.text
    assert sum(row["callCount"] for row in answer.json()) == 2  # huawei + none, not 7moor
