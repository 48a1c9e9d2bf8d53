"""The Huawei OIFDE dialect over the real app and a real DuckDB store (seeds 000 and 001).

Expected numbers are worked out by hand from `spec/reports.md`; epoch milliseconds are written from
local wall-clock times with `ms()`, which only uses the standard library.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from tests.conftest import add_tenant, credential, load

from ccstats.dialects import huawei
from ccstats.metrics import get_metric
from ccstats.storage import Store

GOLDEN = Path(__file__).parent / "golden" / "huawei"
API = "/oifde/rest/api"
CALLS = f"{API}/queryCallStatisticsReport"
CHATBOT = f"{API}/queryChatbotReport"
BANK = "202104237142"
IVR = "943370855474270208"
BOT = "950964151029600256"
NO_TOKEN_MSG = "No token information exists or the token has expired."


def ms(local_iso: str) -> int:
    """Epoch milliseconds of an ISO 8601 time with offset."""
    return int(datetime.fromisoformat(local_iso).timestamp() * 1000)


def conv(
    cid: str, created_at: str, code: str = IVR, tenant: str = BANK, **fields: Any
) -> dict[str, Any]:
    """A conversation record."""
    return {
        "id": cid,
        "tenant_id": tenant,
        "channel": fields.pop("channel", "voice"),
        "access_code": code,
        "created_at": created_at,
        **fields,
    }


def bot_messages(*outcomes: str) -> list[dict[str, Any]]:
    """A transcript of bot replies with the given outcomes."""
    return [{"sender": "bot", "text": "...", "bot_outcome": o} for o in outcomes]


def get_token(client: TestClient, app_key: str, app_secret: str) -> str:
    """A fresh authToken."""
    answer = client.post(f"{API}/gettoken", json={"appKey": app_key, "appSecret": app_secret})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["authToken"]
    return token


@pytest.fixture
def bank(store: Store, app_client: TestClient) -> str:
    """Tenant 202104237142 in Asia/Shanghai with a Huawei credential; returns a valid token."""
    add_tenant(store, BANK, "Asia/Shanghai")
    cred = credential(store, BANK, "huawei")
    return get_token(app_client, cred["appKey"], cred["appSecret"])


def report(
    client: TestClient,
    token: str,
    timestamp: int | str,
    type_: str = "hour",
    code: str = IVR,
    path: str = CALLS,
    tenant: str = BANK,
) -> Any:
    """POST a report request and return the JSON answer (asserting 200)."""
    body = {"tenantId": tenant, "accessCode": code, "timestamp": timestamp, "type": type_}
    answer = client.post(path, json={**body, "authToken": token})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    return answer.json()


def assert_error(answer: Any, status: int, code: int, message: str | None = None) -> None:
    """A Huawei error: the status, and exactly `{"errorCode", "errorMsg"}`."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, dict) and set(body) == {"errorCode", "errorMsg"}, body
    assert body["errorCode"] == code, body
    assert isinstance(body["errorMsg"], str) and body["errorMsg"]
    if message is not None:
        assert body["errorMsg"] == message


# --- golden: the seeds' sample responses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "path"),
    [("seed_000_call_statistics.json", CALLS), ("seed_001_chatbot.json", CHATBOT)],
)
def test_seed_sample_is_reproduced(
    store: Store, app_client: TestClient, fixture: str, path: str
) -> None:
    case = json.loads((GOLDEN / fixture).read_text())
    add_tenant(store, case["tenant"]["id"], case["tenant"]["timezone"])
    cred = credential(store, case["tenant"]["id"], "huawei")
    load(store, case["records"])
    token = get_token(app_client, cred["appKey"], cred["appSecret"])

    answer = app_client.post(path, json={**case["request"], "authToken": token})

    assert answer.status_code == 200, answer.text
    got, expected = answer.json(), case["response"]
    # Every field exactly, dbRecordTime too: the seed's sample has it equal to recordTime.
    assert got == expected
    assert [list(r) for r in got] == [list(r) for r in expected]  # the seed's field order too


def test_seed_000_record_by_day(store: Store, app_client: TestClient, bank: str) -> None:
    case = json.loads((GOLDEN / "seed_000_call_statistics.json").read_text())
    load(store, case["records"])

    rows = report(app_client, bank, 1628784000000, "day")

    # 30 local dates 2021-07-15 .. 2021-08-13: the day before (08-12) and the seed's call (08-13);
    # 08-14 is outside. A day's recordTime is its local midnight.
    assert [(r["recordTime"], r["callCount"], r["type"]) for r in rows] == [
        (ms("2021-08-12T00:00:00+08:00"), 1, "day"),
        (1628784000000, 1, "day"),
    ]
    # dbRecordTime is the bucket's recordTime (seed 000's sample), by day too.
    assert [r["dbRecordTime"] for r in rows] == [ms("2021-08-12T00:00:00+08:00"), 1628784000000]
    assert rows[1]["exitConsultingCount"] == 1 and rows[0]["exitNoConsultCount"] == 1


# --- windows --------------------------------------------------------------------------------------


def _edge_records() -> list[dict[str, Any]]:
    return [
        conv("prev-last", "2021-08-12T23:59:59+08:00"),
        conv("first", "2021-08-13T00:00:00+08:00"),
        conv("last", "2021-08-13T23:59:59.999+08:00"),
        conv("next-first", "2021-08-14T00:00:00+08:00"),
    ]


@pytest.mark.parametrize(
    "timestamp",
    [
        ms("2021-08-13T00:00:00+08:00"),
        ms("2021-08-13T13:14:15+08:00"),
        ms("2021-08-13T23:59:59.999+08:00"),
        str(ms("2021-08-13T06:00:00+08:00")),  # a string of digits is read as the number
    ],
)
def test_hour_covers_the_local_date_of_any_instant_in_it(
    store: Store, app_client: TestClient, bank: str, timestamp: int | str
) -> None:
    load(store, _edge_records())

    rows = report(app_client, bank, timestamp)

    assert [(r["recordTime"], r["callCount"]) for r in rows] == [
        (ms("2021-08-13T00:00:00+08:00"), 1),
        (ms("2021-08-13T23:00:00+08:00"), 1),
    ]


def test_hour_one_millisecond_before_local_midnight_is_the_previous_date(
    store: Store, app_client: TestClient, bank: str
) -> None:
    load(store, _edge_records())

    rows = report(app_client, bank, ms("2021-08-13T00:00:00+08:00") - 1)

    assert [(r["recordTime"], r["callCount"]) for r in rows] == [
        (ms("2021-08-12T23:00:00+08:00"), 1)
    ]


def test_hour_buckets_are_every_local_hour_ascending(
    store: Store, app_client: TestClient, bank: str
) -> None:
    load(
        store,
        [
            conv("c", "2021-08-13T17:59:59+08:00"),
            conv("a", "2021-08-13T09:00:00+08:00"),
            conv("b", "2021-08-13T09:59:00+08:00"),
            conv("d", "2021-08-13T18:00:00+08:00"),
        ],
    )

    rows = report(app_client, bank, ms("2021-08-13T00:00:00+08:00"))

    assert [(r["recordTime"], r["callCount"]) for r in rows] == [
        (ms("2021-08-13T09:00:00+08:00"), 2),
        (ms("2021-08-13T17:00:00+08:00"), 1),
        (ms("2021-08-13T18:00:00+08:00"), 1),
    ]


def test_day_covers_30_local_dates_ending_with_the_query_date(
    store: Store, app_client: TestClient, bank: str
) -> None:
    # 2021-08-13 minus 29 days is 2021-07-15: the first date in the window.
    load(
        store,
        [
            conv("before-window", "2021-07-14T23:59:59+08:00"),
            conv("window-first", "2021-07-15T00:00:00+08:00"),
            conv("mid-1", "2021-07-31T08:00:00+08:00"),
            conv("mid-2", "2021-07-31T21:00:00+08:00"),
            conv("window-last", "2021-08-13T23:59:59+08:00"),
            conv("after-window", "2021-08-14T00:00:00+08:00"),
        ],
    )

    for timestamp in (ms("2021-08-13T00:00:00+08:00"), ms("2021-08-13T23:59:59+08:00")):
        rows = report(app_client, bank, timestamp, "day")
        assert [(r["recordTime"], r["callCount"]) for r in rows] == [
            (ms("2021-07-15T00:00:00+08:00"), 1),
            (ms("2021-07-31T00:00:00+08:00"), 2),
            (ms("2021-08-13T00:00:00+08:00"), 1),
        ]


def test_hour_buckets_on_a_dst_day_are_instants(store: Store, app_client: TestClient) -> None:
    # America/New_York falls back on 2021-11-07: 01:30 happens twice, an hour apart (25-hour day).
    add_tenant(store, "acme-us", "America/New_York")
    cred = credential(store, "acme-us", "huawei")
    token = get_token(app_client, cred["appKey"], cred["appSecret"])
    load(
        store,
        [
            conv("edt", "2021-11-07T01:30:00-04:00", tenant="acme-us"),
            conv("est", "2021-11-07T01:30:00-05:00", tenant="acme-us"),
            conv("late", "2021-11-07T23:30:00-05:00", tenant="acme-us"),
        ],
    )

    rows = report(app_client, token, ms("2021-11-07T12:00:00-05:00"), tenant="acme-us")
    days = report(app_client, token, ms("2021-11-07T12:00:00-05:00"), "day", tenant="acme-us")

    assert [r["recordTime"] for r in rows] == [
        ms("2021-11-07T01:00:00-04:00"),
        ms("2021-11-07T01:00:00-05:00"),
        ms("2021-11-07T23:00:00-05:00"),
    ]
    assert [(r["recordTime"], r["callCount"]) for r in days] == [
        (ms("2021-11-07T00:00:00-04:00"), 3)
    ]


def test_no_conversation_gives_an_empty_array(app_client: TestClient, bank: str) -> None:
    assert report(app_client, bank, 1628784000000) == []
    assert report(app_client, bank, 1628784000000, "day", path=CHATBOT) == []


# --- the numbers ----------------------------------------------------------------------------------


def test_call_statistics_categories(store: Store, app_client: TestClient, bank: str) -> None:
    at = "2021-08-13T10:{:02d}:00+08:00"
    load(
        store,
        [
            conv("t1", at.format(1), bot_turns=1),  # exit, no consult
            conv("t2", at.format(2), bot_turns=2),  # to staff, no consult
            conv("t3", at.format(3), bot_turns=3, ended_in_bot=False),  # to staff, no consult
            conv("t4", at.format(4), bot_turns=4, bot_api_requests=3, bot_api_successes=2),
            conv(
                "t5",
                at.format(5),
                bot_turns=5,
                ended_in_bot=True,
                bot_api_requests=5,
                bot_api_successes=4,
            ),
            conv("t2e", at.format(6), bot_turns=2, ended_in_bot=True),  # consulting only
            conv("none", at.format(7)),  # no bot turns at all: counted as a call only
        ],
    )

    [row] = report(app_client, bank, 1628784000000)

    assert row == {
        "recordTime": ms("2021-08-13T10:00:00+08:00"),
        "tenantId": BANK,
        "accessCode": IVR,
        "callCount": 7,
        "exitNoConsultCount": 1,
        "callStaffNoConsultCount": 2,
        "callStaffConsultCount": 1,
        "exitConsultingCount": 2,
        "interactCount": 1 + 2 + 3 + 4 + 5 + 2,
        "autonomyRate": "0.4000",  # 2 / (2 + 1 + 2)
        "averageInteractPerCall": "2.43",  # 17 / 7 = 2.428...
        "dbRecordTime": ms("2021-08-13T10:00:00+08:00"),  # the bucket's recordTime (seed 000)
        "type": "hour",
        "interfaceRequestCount": 8,
        "interfaceSuccessCount": 6,
        "interfaceSuccessRate": "0.7500",
    }


def test_rates_round_half_up(store: Store, app_client: TestClient, bank: str) -> None:
    records = [
        # autonomy 1/32 = 0.03125 -> "0.0313" (half-even would give "0.0312")
        conv(f"a{i}", "2021-08-13T08:00:00+08:00", code="A", bot_turns=2, ended_in_bot=(i == 0))
        for i in range(32)
    ]
    # average 9 turns / 8 calls = 1.125 -> "1.13"; interface 1/32 -> "0.0313"
    records += [conv(f"b{i}", "2021-08-13T08:00:00+08:00", code="B", bot_turns=1) for i in range(7)]
    records.append(
        conv(
            "b7",
            "2021-08-13T08:00:00+08:00",
            code="B",
            bot_turns=2,
            bot_api_requests=32,
            bot_api_successes=1,
        )
    )
    # chatbot: 1 of 32 replies answered, 5 of 32 ratings positive (0.15625 -> "0.1563")
    records += [
        conv(
            f"c{i}",
            "2021-08-13T08:00:00+08:00",
            code="C",
            channel="chat",
            messages=bot_messages("answered" if i == 0 else "unknown"),
            bot_feedback="positive" if i < 5 else "negative",
        )
        for i in range(32)
    ]
    # 2 of 3 -> 0.66666... -> "0.6667" (rounded, not truncated)
    records.append(
        conv(
            "d0",
            "2021-08-13T08:00:00+08:00",
            code="D",
            channel="chat",
            messages=bot_messages("answered", "answered", "unknown"),
        )
    )
    load(store, records)
    day = 1628784000000

    [a] = report(app_client, bank, day, code="A")
    [b] = report(app_client, bank, day, code="B")
    [c] = report(app_client, bank, day, code="C", path=CHATBOT)
    [d] = report(app_client, bank, day, code="D", path=CHATBOT)

    assert (a["autonomyRate"], a["averageInteractPerCall"]) == ("0.0313", "2.00")
    assert (b["averageInteractPerCall"], b["interfaceSuccessRate"]) == ("1.13", "0.0313")
    assert b["autonomyRate"] == "0.0000"  # one bot usage, not ended in the bot
    assert (c["consultCount"], c["responseSuccessCount"], c["unknowCount"]) == (32, 1, 31)
    assert (c["responseRate"], c["positiveFeedbackRate"]) == ("0.0313", "0.1563")
    assert (c["feedbackCount"], c["positiveFeedbackCount"]) == (32, 5)
    assert d["responseRate"] == "0.6667"


def test_every_zero_denominator_rate_is_minus_one(
    store: Store, app_client: TestClient, bank: str
) -> None:
    # One call with a single bot turn: no bot usage, no interface calls, no bot reply, no feedback.
    load(store, [conv("x", "2021-08-13T08:00:00+08:00", bot_turns=1, channel="chat")])

    [calls] = report(app_client, bank, 1628784000000)
    [chat] = report(app_client, bank, 1628784000000, path=CHATBOT)

    assert (calls["autonomyRate"], calls["interfaceSuccessRate"]) == ("-1.0000", "-1.0000")
    assert calls["averageInteractPerCall"] == "1.00"
    assert (chat["consultCount"], chat["feedbackCount"]) == (0, 0)
    assert (chat["responseRate"], chat["positiveFeedbackRate"]) == ("-1.0000", "-1.0000")


def test_every_field_names_a_catalogue_metric() -> None:
    for field in (*huawei.CALL_STATISTICS_FIELDS, *huawei.CHATBOT_FIELDS):
        assert get_metric(field.metric).name == field.metric


# --- tokens and auth ------------------------------------------------------------------------------


def test_gettoken_answers_the_documented_shape(store: Store, app_client: TestClient) -> None:
    add_tenant(store, BANK, "Asia/Shanghai")
    cred = credential(store, BANK, "huawei")

    answer = app_client.post(
        f"{API}/gettoken", json={"appKey": cred["appKey"], "appSecret": cred["appSecret"]}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert list(body) == ["errorCode", "errorMsg", "authToken", "expireTime"]
    assert (body["errorCode"], body["errorMsg"], body["expireTime"]) == (0, "", 3600)
    assert isinstance(body["authToken"], str) and len(body["authToken"]) >= 32


def test_several_tokens_are_valid_at_once(store: Store, app_client: TestClient) -> None:
    add_tenant(store, BANK, "Asia/Shanghai")
    cred = credential(store, BANK, "huawei")
    load(store, [conv("x", "2021-08-13T08:00:00+08:00")])

    tokens = [get_token(app_client, cred["appKey"], cred["appSecret"]) for _ in range(3)]

    assert len(set(tokens)) == 3
    for token in tokens:
        assert report(app_client, token, 1628784000000)[0]["callCount"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"appKey": "999999999999", "appSecret": "whatever"}, 401, 200800001),
        ({"appKey": BANK, "appSecret": "wrong-secret"}, 401, 200800002),
        ({"appSecret": "x"}, 400, 10000003),
        ({"appKey": BANK}, 400, 10000003),
        ({"appKey": "", "appSecret": "x"}, 400, 10000003),
        ({"appKey": BANK, "appSecret": None}, 400, 10000003),
        ({"appKey": BANK, "appSecret": ["x"]}, 400, 10000002),
    ],
)
def test_gettoken_errors(
    store: Store, app_client: TestClient, body: dict[str, Any], status: int, code: int
) -> None:
    add_tenant(store, BANK, "Asia/Shanghai")
    credential(store, BANK, "huawei")

    assert_error(app_client.post(f"{API}/gettoken", json=body), status, code)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
@pytest.mark.parametrize("path", ["/gettoken", "/queryCallStatisticsReport", "/queryChatbotReport"])
def test_a_body_that_is_not_a_json_object_is_a_bad_value(
    app_client: TestClient, raw: bytes, path: str
) -> None:
    answer = app_client.post(API + path, content=raw, headers={"content-type": "application/json"})

    assert_error(answer, 400, 10000002)


@pytest.mark.parametrize("path", [CALLS, CHATBOT])
@pytest.mark.parametrize("token", [None, "", "not-a-token-" + "x" * 40, 12345])
def test_missing_or_unknown_token(app_client: TestClient, bank: str, path: str, token: Any) -> None:
    body: dict[str, Any] = {
        "tenantId": BANK,
        "accessCode": IVR,
        "timestamp": 1628784000000,
        "type": "hour",
    }
    if token is not None:
        body["authToken"] = token

    assert_error(app_client.post(path, json=body), 401, 900001, NO_TOKEN_MSG)


def test_a_token_expires_after_3600_seconds(store: Store, app_client: TestClient) -> None:
    now = [1_000_000.0]
    app_client.app.state.huawei_tokens = huawei.TokenStore(store.registry, clock=lambda: now[0])  # type: ignore[attr-defined]
    add_tenant(store, BANK, "Asia/Shanghai")
    cred = credential(store, BANK, "huawei")
    token = get_token(app_client, cred["appKey"], cred["appSecret"])
    body = {
        "tenantId": BANK,
        "accessCode": IVR,
        "timestamp": 1628784000000,
        "type": "hour",
        "authToken": token,
    }

    now[0] += 3599.9
    assert app_client.post(CALLS, json=body).status_code == 200
    now[0] += 0.1
    assert_error(app_client.post(CALLS, json=body), 401, 900001, NO_TOKEN_MSG)
    # a new token still works after the old one expired
    fresh = get_token(app_client, cred["appKey"], cred["appSecret"])
    assert app_client.post(CALLS, json={**body, "authToken": fresh}).status_code == 200


def test_a_token_of_one_tenant_is_refused_for_another(
    store: Store, app_client: TestClient, bank: str
) -> None:
    add_tenant(store, "other", "Asia/Shanghai")
    other = credential(store, "other", "huawei")
    other_token = get_token(app_client, other["appKey"], other["appSecret"])
    load(
        store,
        [
            conv("bank-call", "2021-08-13T08:00:00+08:00"),
            conv("other-call", "2021-08-13T09:00:00+08:00", tenant="other"),
        ],
    )
    body = {"tenantId": BANK, "accessCode": IVR, "timestamp": 1628784000000, "type": "hour"}

    for path in (CALLS, CHATBOT):
        assert_error(app_client.post(path, json={**body, "authToken": other_token}), 403, 900002)
    # Each token reads its own tenant's conversations only, even on the same access code.
    mine = report(app_client, bank, 1628784000000)
    theirs = report(app_client, other_token, 1628784000000, tenant="other")
    assert [(r["recordTime"], r["tenantId"]) for r in mine] == [
        (ms("2021-08-13T08:00:00+08:00"), BANK)
    ]
    assert [(r["recordTime"], r["tenantId"]) for r in theirs] == [
        (ms("2021-08-13T09:00:00+08:00"), "other")
    ]


def test_one_tenants_secret_does_not_open_another(store: Store, app_client: TestClient) -> None:
    add_tenant(store, BANK, "Asia/Shanghai")
    add_tenant(store, "other", "Asia/Shanghai")
    credential(store, BANK, "huawei")
    other = credential(store, "other", "huawei")

    answer = app_client.post(
        f"{API}/gettoken", json={"appKey": BANK, "appSecret": other["appSecret"]}
    )

    assert_error(answer, 401, 200800002)


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["tenantId", "accessCode", "timestamp", "type"])
@pytest.mark.parametrize("path", [CALLS, CHATBOT])
def test_a_missing_field_is_10000003(
    app_client: TestClient, bank: str, missing: str, path: str
) -> None:
    body = {
        "tenantId": BANK,
        "accessCode": IVR,
        "timestamp": 1628784000000,
        "type": "hour",
        "authToken": bank,
    }
    del body[missing]

    assert_error(app_client.post(path, json=body), 400, 10000003)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "week"),
        ("type", "HOUR"),
        ("type", 1),
        ("timestamp", "yesterday"),
        ("timestamp", "9" * 5000),
        ("timestamp", "\u0661\u0662"),
        ("timestamp", 1628784000000.5),
        ("timestamp", True),
        ("timestamp", [1628784000000]),
        ("timestamp", 10**20),
        ("timestamp", -(10**17)),
        ("accessCode", {"code": IVR}),
    ],
)
def test_a_bad_value_is_10000002(app_client: TestClient, bank: str, field: str, value: Any) -> None:
    body = {
        "tenantId": BANK,
        "accessCode": IVR,
        "timestamp": 1628784000000,
        "type": "hour",
        "authToken": bank,
    }

    assert_error(app_client.post(CALLS, json={**body, field: value}), 400, 10000002)


def test_the_token_is_checked_before_the_parameters(app_client: TestClient, bank: str) -> None:
    answer = app_client.post(CALLS, json={"type": "week", "authToken": "nope"})

    assert_error(answer, 401, 900001, NO_TOKEN_MSG)


# --- framework-level errors on /oifde/ ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"{API}/queryNothing", 404),
        ("POST", "/oifde/elsewhere", 404),
        ("GET", f"{API}/gettoken", 405),
        ("GET", CALLS, 405),
        ("PUT", CHATBOT, 405),
    ],
)
def test_unknown_paths_and_methods_answer_in_huawei_shape(
    app_client: TestClient, method: str, path: str, status: int
) -> None:
    answer = app_client.request(method, path, json={})

    assert_error(answer, status, 10000002)
    assert "detail" not in answer.text


def test_a_server_fault_is_10000001_in_huawei_shape() -> None:
    # The app's crash handler hands every unhandled error on /oifde/ to render_error.
    request = Request({"type": "http", "method": "POST", "path": CALLS, "headers": []})

    answer = huawei.render_error(request, 500, "internal error")

    assert answer.status_code == 500
    assert json.loads(bytes(answer.body)) == {"errorCode": 10000001, "errorMsg": "internal error"}


def test_tokens_outlive_a_restart_and_expired_ones_are_deleted(store: Store) -> None:
    now = [0.0]
    first = huawei.TokenStore(store.registry, ttl=10, clock=lambda: now[0])
    early = first.issue("t")
    now[0] = 5.0
    late = first.issue("t")
    # Another process, or the same server after a restart: the same registry.
    restarted = huawei.TokenStore(store.registry, ttl=10, clock=lambda: now[0])
    assert (restarted.tenant_of(early), restarted.tenant_of(late)) == ("t", "t")
    assert restarted.tenant_of("not-a-token") is None
    now[0] = 10.0
    assert (restarted.tenant_of(early), restarted.tenant_of(late)) == (None, "t")
    now[0] = 100.0
    restarted.issue("t")  # purges what expired
    assert store.registry.delete_meta_before("huawei-token:", "9999") == 1  # only the new one


# --- a trailing slash (issue 20) ------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["/", "//"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CALLS, {"tenantId": BANK, "accessCode": IVR, "timestamp": 1628784000000, "type": "hour"}),
        (CHATBOT, {"tenantId": BANK, "accessCode": IVR, "timestamp": 1628784000000, "type": "day"}),
        (CALLS, {"tenantId": BANK, "accessCode": IVR, "type": "week"}),  # 400 10000002
        (f"{API}/gettoken", {"appKey": BANK, "appSecret": "wrong"}),  # 401 200800002
        (f"{API}/queryNothing", {}),  # 404 in Huawei's shape
    ],
)
def test_a_trailing_slash_answers_as_without_it(
    store: Store,
    app_client: TestClient,
    bank: str,
    path: str,
    body: dict[str, Any],
    slash: str,
) -> None:
    load(store, [conv("t1", "2021-08-13T10:01:00+08:00", bot_turns=2, ended_in_bot=True)])
    if path != f"{API}/gettoken":
        body = {**body, "authToken": bank}
    plain = app_client.post(path, json=body, follow_redirects=False)
    slashed = app_client.post(path + slash, json=body, follow_redirects=False)
    assert (slashed.status_code, slashed.json()) == (plain.status_code, plain.json())
    assert plain.status_code in (200, 400, 401, 404)
    assert slashed.headers["content-type"] == "application/json;charset=UTF-8"
