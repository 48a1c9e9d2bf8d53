"""Malformed requests on every vendor path and the native API: each is a 4xx in the caller's
dialect shape (never a 500, never a traceback). Table-driven: non-JSON bodies, wrong types, huge
and negative numbers, out-of-range dates, unicode, oversized values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.clients import (
    ALIYUN_INSTANCE,
    BANK,
    NATIVE,
    aliyun_query,
    assert_error_shape,
    dialect_of,
    huawei_token,
    moor_headers,
    twin24_headers,
)
from tests.conftest import ADMIN_TOKEN

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.storage import DuckDBStore

HUAWEI = "/oifde/rest/api/"
MOOR = "/openapi/im-report/"
CALLS = "/api/v1/search/cis/calls"
BIG = 10**30
LONG = "я" * 257  # one character over the limit of an id or value (`ccstats.limits.MAX_TEXT`)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with DuckDBStore(":memory:") as store:
        create_demo(store, 100)
        app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)
        with TestClient(app) as test_client:
            yield test_client


def _report(**change: Any) -> dict[str, Any]:
    body = {"type": "hour", "tenantId": BANK, "accessCode": "1", "timestamp": 1795104000000}
    return {**body, "authToken": "TOKEN", **change}


def _query(**change: Any) -> dict[str, Any]:
    return {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-02", **change}


def _range(start: str, end: str) -> dict[str, Any]:
    return {"createTime": [start, end]}


# (id, method, path, body (dict/list: JSON; bytes: as is), auth, expected status)
Case = tuple[str, str, str, Any, str | None, int]
CASES: list[Case] = [
    # native /v1/query
    ("query not json", "POST", "/v1/query", b"{", "native", 400),
    ("query an array", "POST", "/v1/query", [1, 2], "native", 400),
    ("query metrics a number", "POST", "/v1/query", _query(metrics=5), "native", 400),
    ("query from 10**30", "POST", "/v1/query", _query(**{"from": BIG}), "native", 400),
    ("query from year 1", "POST", "/v1/query", _query(**{"from": "0001-01-01"}), "native", 400),
    (
        "query to year 9999",
        "POST",
        "/v1/query",
        _query(to="9999-12-31T23:59:59-05:00"),
        "native",
        400,
    ),
    ("query from -1e30", "POST", "/v1/query", _query(**{"from": -BIG}), "native", 400),
    ("query from a float", "POST", "/v1/query", _query(**{"from": 1.5e300}), "native", 400),
    (
        "query filter list of list",
        "POST",
        "/v1/query",
        _query(filters={"channel": [["voice"]]}),
        "native",
        400,
    ),
    (
        "query filter dict",
        "POST",
        "/v1/query",
        _query(filters={"channel": {"a": 1}}),
        "native",
        400,
    ),
    (
        "query int filter text",
        "POST",
        "/v1/query",
        _query(filters={"bot_turns": "abc"}),
        "native",
        400,
    ),
    (
        "query int filter huge",
        "POST",
        "/v1/query",
        _query(filters={"bot_turns": BIG}),
        "native",
        400,
    ),
    ("query bool filter int", "POST", "/v1/query", _query(filters={"queued": 7}), "native", 400),
    ("query unknown filter", "POST", "/v1/query", _query(filters={"колонка": "x"}), "native", 400),
    ("query filters a list", "POST", "/v1/query", _query(filters=["channel"]), "native", 400),
    ("query unicode metric", "POST", "/v1/query", _query(metrics=["метрика"]), "native", 400),
    ("query granularity", "POST", "/v1/query", _query(granularity="fortnight"), "native", 400),
    ("query no token", "POST", "/v1/query", _query(), None, 401),
    ("admin token not ascii", "GET", "/v1/tenants", None, "latin-1", 401),
    ("query token not ascii", "POST", "/v1/query", _query(), "latin-1", 401),
    # native detail search
    ("search from year 1", "GET", "/v1/conversations?from=0001-01-01", None, "native", 400),
    (
        "search to year 9999",
        "GET",
        "/v1/conversations?to=9999-12-31T23:59:59-05:00",
        None,
        "native",
        400,
    ),
    ("search from 10**30", "GET", f"/v1/conversations?from={BIG}", None, "native", 400),
    ("search limit -1", "GET", "/v1/conversations?limit=-1", None, "native", 400),
    ("search limit huge", "GET", f"/v1/conversations?limit={BIG}", None, "native", 400),
    ("search int filter", "GET", "/v1/conversations?bot_turns=abc", None, "native", 400),
    ("search int filter huge", "GET", f"/v1/conversations?bot_turns={BIG}", None, "native", 400),
    ("search cursor junk", "GET", "/v1/conversations?cursor=%F0%9F%98%80", None, "native", 400),
    ("search unicode param", "GET", "/v1/conversations?%D0%BF=1", None, "native", 400),
    ("one conversation unicode", "GET", "/v1/conversations/%F0%9F%98%80", None, "native", 404),
    # native ingest: a body that is not JSON at all is refused whole
    ("ingest not json", "POST", "/v1/conversations", b"\xff\xfe{", "native", 400),
    ("intervals not json", "POST", "/v1/agent-intervals", b"[{]", "native", 400),
    # Huawei
    ("gettoken not json", "POST", HUAWEI + "gettoken", b"<xml/>", None, 400),
    (
        "gettoken key a list",
        "POST",
        HUAWEI + "gettoken",
        {"appKey": [1], "appSecret": "x"},
        None,
        400,
    ),
    ("report not json", "POST", HUAWEI + "queryCallStatisticsReport", b"{", None, 400),
    (
        "report timestamp 10**30",
        "POST",
        HUAWEI + "queryCallStatisticsReport",
        _report(timestamp=BIG),
        "huawei",
        400,
    ),
    (
        "report timestamp year 1",
        "POST",
        HUAWEI + "queryChatbotReport",
        _report(timestamp=-62135596800000),
        "huawei",
        400,
    ),
    (
        "report timestamp text",
        "POST",
        HUAWEI + "queryChatbotReport",
        _report(timestamp="soon"),
        "huawei",
        400,
    ),
    ("report type", "POST", HUAWEI + "queryChatbotReport", _report(type="week"), "huawei", 400),
    (
        "report access code dict",
        "POST",
        HUAWEI + "queryChatbotReport",
        _report(accessCode={"a": 1}),
        "huawei",
        400,
    ),
    (
        "report bad token",
        "POST",
        HUAWEI + "queryChatbotReport",
        _report(authToken="нет"),
        None,
        401,
    ),
    # 7moor: every report path, year 9999 and year 1
    *(
        (f"7moor {path} year {label}", "POST", MOOR + path, _range(*times), "7moor", 400)
        for path in ("session/time", "agent/workload", "agent/quality")
        for label, times in (
            ("9999", ("9999-12-31 00:00:00", "9999-12-31 23:00:00")),
            ("1", ("0001-01-01 00:00:00", "0001-01-01 10:00:00")),
        )
    ),
    ("7moor not json", "POST", MOOR + "session/time", b"{{", "7moor", 400),
    ("7moor times numbers", "POST", MOOR + "session/time", {"createTime": [1, 2]}, "7moor", 400),
    (
        "7moor dimension",
        "POST",
        MOOR + "session/time",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "dimension": "week"},
        "7moor",
        400,
    ),
    (
        "7moor access ids ints",
        "POST",
        MOOR + "session/time",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "accessIds": [1]},
        "7moor",
        400,
    ),
    (
        "7moor agents a text",
        "POST",
        MOOR + "agent/workload",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "agentList": "a"},
        "7moor",
        400,
    ),
    (
        "7moor unsigned",
        "POST",
        MOOR + "agent/quality",
        _range("2026-11-01 00:00:00", "2026-11-02 00:00:00"),
        None,
        401,
    ),
    # Twin24
    *(
        (f"twin24 {query}", "GET", f"{CALLS}?{query}", None, "twin24", 422)
        for query in (
            "from=0001-01-01",
            "from=0001-01-01T00:00:00",
            "to=9999-12-31T23:59:59-05:00",
            "from=99999999999999999999999",
            "createdAt=0001-01-01",
            "duration=abc",
            f"duration={BIG}",
            "limit=-1",
            f"limit={BIG}",
            "offset=-5",
            "output=PDF",
            # Any status and unknown parameters are accepted (issue 20: tests/dialects/test_twin24).
        )
    ),
    ("twin24 login not json", "POST", "/api/v1/auth/login", b"email=a", None, 422),
    (
        "twin24 login email list",
        "POST",
        "/api/v1/auth/login",
        {"email": ["a"], "password": "p"},
        None,
        422,
    ),
    (
        "twin24 login ttl huge",
        "POST",
        "/api/v1/auth/login",
        {"email": "a@b", "password": "p", "ttl": BIG},
        None,
        422,
    ),
    ("twin24 refresh missing", "GET", "/api/v1/auth/refresh", None, None, 422),
    ("twin24 no token", "GET", CALLS, None, None, 401),
    # Alibaba: signed requests with bad parameters
    *(
        (f"aliyun {name}", "POST", "/", {"InstanceId": ALIYUN_INSTANCE, **params}, "aliyun", 400)
        for name, params in (
            ("page size -1", {"PageSize": "-1"}),
            ("page no huge", {"PageNo": str(BIG)}),
            ("start 10**30", {"QueryStartTime": str(BIG)}),
            ("start year 1", {"QueryStartTime": "-62135596800000"}),
            ("group id text", {"GroupId": "abc"}),
            ("call type 9", {"CallType": "9"}),
            ("list index", {"AcidList.x": "1"}),
        )
    ),
    ("aliyun unknown instance", "POST", "/", {"InstanceId": "实例"}, "aliyun", 403),
    # oversized values (issue 15: each distinct 10 MB value was kept with its answer)
    (
        "query 1001 metrics",
        "POST",
        "/v1/query",
        _query(metrics=["conversations"] * 1001),
        "native",
        400,
    ),
    ("query 9 group fields", "POST", "/v1/query", _query(group_by=["agent_id"] * 9), "native", 400),
    (
        "query 33 filters",
        "POST",
        "/v1/query",
        _query(filters={f"f{i}": 1 for i in range(33)}),
        "native",
        400,
    ),
    (
        "query 1001 filter values",
        "POST",
        "/v1/query",
        _query(filters={"agent_id": ["a"] * 1001}),
        "native",
        400,
    ),
    (
        "query long filter value",
        "POST",
        "/v1/query",
        _query(filters={"agent_id": LONG}),
        "native",
        400,
    ),
    ("query long metric", "POST", "/v1/query", _query(metrics=[LONG]), "native", 400),
    (
        "query hours of 230 years",
        "POST",
        "/v1/query",
        _query(**{"from": "1970-01-02", "to": "2200-01-01"}, granularity="hour"),
        "native",
        400,
    ),
    ("search long filter value", "GET", f"/v1/conversations?agent_id={LONG}", None, "native", 400),
    (
        "search 1001 filter values",
        "GET",
        "/v1/conversations?" + "&".join(["agent_id=a"] * 1001),
        None,
        "native",
        400,
    ),
    ("search long cursor", "GET", f"/v1/conversations?cursor={'c' * 5000}", None, "native", 400),
    ("one conversation long id", "GET", f"/v1/conversations/{LONG}", None, "native", 400),
    (
        "report long access code",
        "POST",
        HUAWEI + "queryCallStatisticsReport",
        _report(accessCode=LONG),
        "huawei",
        400,
    ),
    (
        "report 2 MB access code",
        "POST",
        HUAWEI + "queryCallStatisticsReport",
        _report(accessCode="x" * 2_000_000),
        "huawei",
        413,
    ),
    (
        "7moor 1001 access ids",
        "POST",
        MOOR + "session/time",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "accessIds": ["a"] * 1001},
        "7moor",
        400,
    ),
    (
        "7moor long agent",
        "POST",
        MOOR + "agent/quality",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "agentList": [LONG]},
        "7moor",
        400,
    ),
    (
        "7moor 2 MB body",
        "POST",
        MOOR + "agent/workload",
        {**_range("2026-11-01 00:00:00", "2026-11-02 00:00:00"), "agentList": ["a" * 200] * 10_000},
        "7moor",
        413,
    ),
    ("twin24 long filter", "GET", f"{CALLS}?botId={LONG}", None, "twin24", 422),
    (
        "twin24 1001 filter values",
        "GET",
        CALLS + "?" + "&".join(["botId=b"] * 1001),
        None,
        "twin24",
        422,
    ),
    (
        "twin24 long login email",
        "POST",
        "/api/v1/auth/login",
        {"email": LONG + "@x", "password": "p"},
        None,
        422,
    ),
    (
        "aliyun long value",
        "POST",
        "/",
        {"InstanceId": ALIYUN_INSTANCE, "ServicerName": LONG},
        "aliyun",
        400,
    ),
    (
        "aliyun 1001 list values",
        "POST",
        "/",
        {"InstanceId": ALIYUN_INSTANCE, **{f"AcidList.{i}": "a" for i in range(1, 1002)}},
        "aliyun",
        400,
    ),
    ("aliyun no instance", "POST", "/", {}, "aliyun", 400),
    ("aliyun unsigned", "POST", "/?Action=HotlineSessionQuery&Version=2019-10-15", None, None, 400),
]


def _send(client: TestClient, method: str, path: str, body: Any, auth: str | None) -> Any:
    headers: dict[str, Any] = {}
    if auth == "latin-1":  # a header byte outside ASCII arrives as a latin-1 character
        headers = {"authorization": "Bearer é".encode("latin-1")}
    elif auth == "native":
        headers = dict(NATIVE)
    elif auth == "7moor":
        headers = moor_headers()
    elif auth == "twin24":
        headers = twin24_headers(client)
    elif auth == "huawei":
        body = {**body, "authToken": huawei_token(client)}
    elif auth == "aliyun":
        path, body = "/?" + aliyun_query(body, method), None
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers=headers)
    if body is None:
        return client.request(method, path, headers=headers)
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "body", "auth", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_requests_are_4xx_in_the_dialects_shape(
    client: TestClient, method: str, path: str, body: Any, auth: str | None, status: int
) -> None:
    response = _send(client, method, path, body, auth)
    assert response.status_code == status, response.text
    assert_error_shape(dialect_of(path), response)
