"""Alibaba AICCS `HotlineSessionQuery` (seed 004), driven by the official SDK over a real socket.

The app is served by uvicorn on a loopback port; `alibabacloud-aiccs20191015` signs and sends the
requests (ACS3-HMAC-SHA256, and the legacy HMAC-SHA1 with `signature_algorithm='v2'`). A few negative
cases that the SDK cannot produce (tampered queries, unsigned headers) are raw httpx requests signed by
the SDK's own signer (`Utils.get_authorization`), so the server is never checked against itself.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from alibabacloud_aiccs20191015 import models
from alibabacloud_aiccs20191015.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_openapi.utils_models import Config

from ccstats.app import create_app
from ccstats.auth import create_credential
from ccstats.config import Settings
from ccstats.dialects.aliyun import canonical_request_v3, signature_v3
from ccstats.ingest import ingest_conversations
from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore, Store

BANK, OTHER = "202104237142", "other-tenant"
KEY, SECRET = "LTAItest0000000000000000", "testAccessKeySecret0000000000"
OTHER_KEY, OTHER_SECRET = "LTAIother000000000000000", "otherSecret"
GOLDEN_INSTANCE = "ccc_xp_pre-cn-abc"
FILTER_INSTANCE = "ccc_filters"
SETTINGS_ONLY_INSTANCE = "ccc_settings_only"  # in BANK's `instances`, no conversations
SHARED_INSTANCE = "ccc_shared"  # both tenants have conversations on it
BIG_INSTANCE = "ccc_big"  # 1001 calls: pages past 100
SECONDS_INSTANCE = "ccc_seconds"  # calls around the seed's example QueryStartTime/QueryEndTime

# Seed 004, 正常返回示例: the sample record, verbatim.
SEED_RECORD: dict[str, Any] = {
    "CallResult": "normal",
    "TrunkCall": "1861111****",
    "ServicerName": "刘测试",
    "OutQueueTime": "2020-10-02 22:32:59",
    "CallContinueTime": 37,
    "CreateTime": "2020-10-02 22:32:55",
    "PickUpTime": "2020-10-02 22:33:09",
    "RingContinueTime": 10,
    "CalledNumber": "135615*****",
    "ServicerId": "555555",
    "HangUpTime": "2020-10-02 22:33:46",
    "EvaluationLevel": 4,
    "PassiveTransferId": "12",
    "ActiveTransferId": "12",
    "HangUpRole": "2",
    "PassiveTransferIdType": "1",
    "MemberName": "匿名会员",
    "EvaluationScore": 4,
    "Acid": "7719786",
    "RingStartTime": "2020-10-02 22:32:59",
    "CallType": 1,
    "GroupName": "自动化技能组",
    "GroupId": 123456,
    "RingEndTime": "2020-10-02 22:33:09",
    "InQueueTime": "2020-10-02 22:32:55",
    "CallingNumber": "0571773",
    "MemberId": "7856876",
    "QueueUpContinueTime": 4,
    "Id": "acc1c58dab4a4dd280e3813c66",
}


def _golden_conversation() -> dict[str, Any]:
    """The record that, by reports.md's mapping, is the seed's sample (Asia/Shanghai = UTC+8)."""
    return {
        "id": "acc1c58dab4a4dd280e3813c66",
        "tenant_id": BANK,
        "channel": "voice",
        "direction": "outbound",  # CallType 1
        "instance_id": GOLDEN_INSTANCE,
        "acid": "7719786",
        "end_reason": "normal",
        "trunk_number": "1861111****",
        "agent_id": "555555",
        "agent_name": "刘测试",
        "queue_id": 123456,  # a long on the wire, text in the store
        "queue_name": "自动化技能组",
        "customer_id": "7856876",
        "customer_name": "匿名会员",
        "calling_number": "0571773",
        "called_number": "135615*****",
        "created_at": "2020-10-02T22:32:55+08:00",
        "queued_at": "2020-10-02T22:32:55+08:00",
        "dequeued_at": "2020-10-02T22:32:59+08:00",
        "ring_started_at": "2020-10-02T22:32:59+08:00",
        "ring_ended_at": "2020-10-02T22:33:09+08:00",
        "answered_at": "2020-10-02T22:33:09+08:00",
        "ended_at": "2020-10-02T22:33:46+08:00",
        "duration_s": 37,
        "ring_duration_s": 10,
        "queue_duration_s": 4,
        "csat_level": 4,
        "csat_score": 4,
        "ended_by": "customer",  # HangUpRole "2"
        "transfer_from_agent_id": "12",
        "transfer_to_agent_id": "12",
        "transfer_target_type": "agent",  # PassiveTransferIdType "1"
    }


def _older_calls() -> list[dict[str, Any]]:
    """25 older calls on the golden instance: with the sample, TotalCount 26 as in the seed."""
    start = datetime(2020, 10, 2, 14, 0, tzinfo=UTC)
    return [
        {
            "id": f"older-{i:02d}",
            "tenant_id": BANK,
            "channel": "voice",
            "instance_id": GOLDEN_INSTANCE,
            "created_at": (start - timedelta(minutes=i)).isoformat(),
        }
        for i in range(25)
    ]


def _call(cid: str, local_time: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "tenant_id": BANK,
        "channel": "voice",
        "instance_id": FILTER_INSTANCE,
        "created_at": f"2024-03-01T{local_time}+08:00",
        **fields,
    }


def _filter_calls() -> list[dict[str, Any]]:
    """Five calls and one chat with hand-picked fields, one hour apart (F5 newest)."""
    sales = {"queue_id": "100", "queue_name": "Sales"}
    support = {"queue_id": "200", "queue_name": "Support"}
    liu = {"agent_id": "S1", "agent_name": "刘 测试*"}  # a space and `*`: RFC 3986 re-encoding
    wang = {"agent_id": "S2", "agent_name": "Wang"}
    ann = {"customer_id": "M1", "customer_name": "Ann"}
    bob = {"customer_id": "M2", "customer_name": "Bob"}
    return [
        _call("F1", "10:00:00", direction="outbound", acid="A1", calling_number="0571001",
              called_number="1350001", end_reason="normal", **sales, **liu, **ann),
        _call("F2", "11:00:00", direction="inbound", acid="A2", calling_number="1350002",
              called_number="0571001", end_reason="userHangup", **support, **wang, **bob),
        _call("F3", "12:00:00", direction="transfer", acid="A3", calling_number="1350003",
              called_number="0571001", end_reason="normal", **support, **liu, **ann),
        _call("F4", "13:00:00", acid="A4", queue_id="q-text", queue_name="Text queue",
              customer_id="M3", agent_id="S3", end_reason="touchInQueue"),
        _call("F5", "14:00:00", acid="A5", end_reason="normal", **sales, **wang, **bob),
        {**_call("CHAT", "12:30:00", acid="A1"), "channel": "chat"},  # not a hotline call
    ]  # fmt: skip


def _big_calls() -> list[dict[str, Any]]:
    """1001 calls a second apart, `big-0000` the oldest."""
    start = datetime(2024, 2, 1, tzinfo=UTC)
    return [
        {
            "id": f"big-{i:04d}",
            "tenant_id": BANK,
            "channel": "voice",
            "instance_id": BIG_INSTANCE,
            "created_at": (start + timedelta(seconds=i)).isoformat(),
        }
        for i in range(1001)
    ]


# Seed 004's example values: QueryStartTime 1614828721 (2021-03-04 03:32:01Z) and QueryEndTime
# 1614829721 (03:48:41Z), seconds although its table says milliseconds.
SEED_START_S, SEED_END_S = 1614828721, 1614829721


def _seconds_calls() -> list[dict[str, Any]]:
    """Calls just outside and inside the seed's example range."""
    times = {
        "E0": "2021-03-04T03:32:00.999Z",  # before the start
        "E1": "2021-03-04T03:32:01.000Z",  # at the start
        "E2": "2021-03-04T03:48:41.000Z",  # at the end
        "E3": "2021-03-04T03:48:41.500Z",  # within the end's second
        "E4": "2021-03-04T03:48:42.000Z",  # after it
    }
    return [
        {
            "id": cid,
            "tenant_id": BANK,
            "channel": "voice",
            "instance_id": SECONDS_INSTANCE,
            "created_at": at,
        }
        for cid, at in times.items()
    ]


def _walled_calls() -> list[dict[str, Any]]:
    """Conversations of the other tenant, one on an instance id both tenants use."""
    base = {"channel": "voice", "created_at": "2024-03-01T00:00:00Z"}
    return [
        {**base, "id": "O1", "tenant_id": OTHER, "instance_id": "ccc_other"},
        {**base, "id": "O2", "tenant_id": OTHER, "instance_id": SHARED_INSTANCE},
        {**base, "id": "B1", "tenant_id": BANK, "instance_id": SHARED_INSTANCE},
    ]


def _fill(store: Store) -> None:
    store.registry.put_tenant(
        TenantSettings(id=BANK, timezone="Asia/Shanghai", instances=[SETTINGS_ONLY_INSTANCE])
    )
    store.registry.put_tenant(TenantSettings(id=OTHER, timezone="UTC"))
    create_credential(store.registry, BANK, "aliyun", KEY, SECRET)
    create_credential(store.registry, OTHER, "aliyun", OTHER_KEY, OTHER_SECRET)
    records = [
        _golden_conversation(),
        *_older_calls(),
        *_filter_calls(),
        *_walled_calls(),
        *_big_calls(),
        *_seconds_calls(),
    ]
    result = ingest_conversations(store, records)
    assert not result.rejected, result.rejected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """The real app over a filled DuckDB store, served by uvicorn on a loopback port."""
    with DuckDBStore(":memory:") as store:
        _fill(store)
        app = create_app(Settings(db=":memory:"), store)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield server.config.port
        server.should_exit = True
        thread.join(timeout=10)


def sdk(port: int, key: str = KEY, secret: str = SECRET, v2: bool = False) -> Client:
    """The official client pointed at ccstats."""
    config = Config(
        access_key_id=key,
        access_key_secret=secret,
        endpoint=f"127.0.0.1:{port}",
        protocol="http",
        signature_algorithm="v2" if v2 else None,
    )
    return Client(config)


def query(port: int, v2: bool = False, **fields: Any) -> models.HotlineSessionQueryResponseBody:
    """HotlineSessionQuery through the SDK (InstanceId defaults to the filter instance)."""
    fields.setdefault("instance_id", FILTER_INSTANCE)
    response = sdk(port, v2=v2).hotline_session_query(models.HotlineSessionQueryRequest(**fields))
    assert response.status_code == 200
    return response.body


def ids(body: models.HotlineSessionQueryResponseBody) -> list[str]:
    """The record ids of a response, in order."""
    return [record.id for record in body.data.call_detail_record]


def client_error(port: int, key: str = KEY, secret: str = SECRET, **fields: Any) -> ClientException:
    """The ClientException the SDK raises for a request."""
    client = sdk(port, key, secret)
    with pytest.raises(ClientException) as caught:
        client.hotline_session_query(models.HotlineSessionQueryRequest(**fields))
    return caught.value


# -- golden -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("v2", [False, True], ids=["acs3-hmac-sha256", "v2-hmac-sha1"])
def test_seed_sample_record_comes_back_field_for_field(port: int, v2: bool) -> None:
    body = query(port, v2=v2, instance_id=GOLDEN_INSTANCE, page_no=1, page_size=10)
    assert (body.code, body.success, body.message) == ("Success", True, "Success")
    assert body.request_id
    assert (body.data.page_number, body.data.page_size, body.data.total_count) == (1, 10, 26)
    assert len(body.data.call_detail_record) == 10
    assert body.data.call_detail_record[0].to_map() == SEED_RECORD


def test_wire_json_types_match_the_seed(port: int) -> None:
    response = signed_post(port, {"InstanceId": GOLDEN_INSTANCE, "PageSize": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.json()
    assert set(body) == {"RequestId", "Success", "Code", "Message", "Data"}
    assert body["Data"]["CallDetailRecord"] == [SEED_RECORD]
    assert list(body["Data"]["CallDetailRecord"][0]) == list(SEED_RECORD)  # the seed's key order


def test_absent_values_are_null(port: int) -> None:
    response = signed_post(port, {"InstanceId": FILTER_INSTANCE, "Id": "F4"})
    (record,) = response.json()["Data"]["CallDetailRecord"]
    assert record["CallType"] == 2  # direction defaults to inbound
    assert record["GroupId"] is None  # "q-text" is not a long
    assert record["GroupName"] == "Text queue"
    assert record["CreateTime"] == "2024-03-01 13:00:00"
    for name in ("HangUpRole", "PassiveTransferId", "PassiveTransferIdType", "PickUpTime",
                 "CallContinueTime", "EvaluationScore", "CallingNumber"):  # fmt: skip
        assert record[name] is None, name


# -- filters and paging -----------------------------------------------------------------------------

ALL = ["F5", "F4", "F3", "F2", "F1"]


def _ms(local: str) -> int:
    return int(datetime.fromisoformat(f"2024-03-01T{local}+08:00").timestamp() * 1000)


FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ALL),
    ({"id": "F4"}, ["F4"]),
    ({"acid": "A2"}, ["F2"]),
    ({"acid_list": ["A1", "A3"]}, ["F3", "F1"]),
    ({"acid": "A1", "acid_list": ["A1", "A3"]}, ["F1"]),
    ({"acid": "A2", "acid_list": ["A1", "A3"]}, []),
    ({"call_type": 1}, ["F1"]),
    ({"call_type": 3}, ["F3"]),
    ({"call_type_list": [2, 3]}, ["F5", "F4", "F3", "F2"]),
    ({"calling_number": "1350002"}, ["F2"]),
    ({"calling_number_list": ["0571001", "1350003"]}, ["F3", "F1"]),
    ({"called_number": "0571001"}, ["F3", "F2"]),
    ({"called_number_list": ["1350001"]}, ["F1"]),
    ({"group_id": 100}, ["F5", "F1"]),
    ({"group_id_list": [200, 999]}, ["F3", "F2"]),
    ({"group_name": "Support"}, ["F3", "F2"]),
    ({"member_id": "M1"}, ["F3", "F1"]),
    ({"member_id_list": ["M2", "M3"]}, ["F5", "F4", "F2"]),
    ({"member_name": "Bob"}, ["F5", "F2"]),
    ({"servicer_id": "S1"}, ["F3", "F1"]),
    ({"servicer_id_list": ["S2"]}, ["F5", "F2"]),
    ({"servicer_name": "刘 测试*"}, ["F3", "F1"]),
    ({"call_result": "normal"}, ["F5", "F3", "F1"]),
    ({"call_result_list": ["userHangup", "touchInQueue"]}, ["F4", "F2"]),
    ({"query_start_time": _ms("11:00:00"), "query_end_time": _ms("13:00:00")}, ["F4", "F3", "F2"]),
    ({"query_start_time": _ms("13:00:01")}, ["F5"]),
    ({"query_end_time": _ms("10:59:59")}, ["F1"]),
    ({"member_id": "M1", "call_type": 3}, ["F3"]),
    ({"group_id": 200, "servicer_name": "Wang"}, ["F2"]),
    ({"params": '{"a":1}', "request_id": "EE338D98"}, ALL),  # accepted, no effect
]


@pytest.mark.parametrize(("fields", "expected"), FILTER_CASES)
def test_filters(port: int, fields: dict[str, Any], expected: list[str]) -> None:
    body = query(port, **fields)
    assert ids(body) == expected
    assert body.data.total_count == len(expected)


def test_filters_with_the_legacy_signature(port: int) -> None:
    body = query(port, v2=True, servicer_name="刘 测试*", call_type_list=[1, 3])
    assert ids(body) == ["F3", "F1"]


def test_paging_newest_first(port: int) -> None:
    pages = [
        query(port, instance_id=GOLDEN_INSTANCE, page_no=n, page_size=10) for n in (1, 2, 3, 4)
    ]
    assert [len(p.data.call_detail_record) for p in pages] == [10, 10, 6, 0]
    assert {p.data.total_count for p in pages} == {26}
    assert [p.data.page_number for p in pages] == [1, 2, 3, 4]
    every = [cid for p in pages for cid in ids(p)]
    expected = ["acc1c58dab4a4dd280e3813c66"] + [f"older-{i:02d}" for i in range(25)]
    assert every == expected  # created 14:00, 13:59, ... UTC: newest first, no overlap


def test_default_page_is_20(port: int) -> None:
    body = query(port, instance_id=GOLDEN_INSTANCE)
    assert (body.data.page_number, body.data.page_size) == (1, 20)
    assert len(body.data.call_detail_record) == 20


def test_page_size_1000_is_the_maximum(port: int) -> None:
    # Seed 004 sets no maximum ("取值大于 0"); ours is 1000, and the error names it.
    first = query(port, instance_id=BIG_INSTANCE, page_size=1000)
    assert (first.data.total_count, first.data.page_size) == (1001, 1000)
    assert ids(first)[:2] == ["big-1000", "big-0999"] and ids(first)[-1] == "big-0001"
    second = query(port, instance_id=BIG_INSTANCE, page_size=1000, page_no=2)
    assert ids(second) == ["big-0000"]
    assert len(ids(query(port, instance_id=BIG_INSTANCE, page_size=101))) == 101
    error = client_error(port, instance_id=BIG_INSTANCE, page_size=1001)
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    assert "PageSize" in error.message and "1000" in error.message


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # milliseconds, as the seed's table says: [start, end] to the millisecond
        (SEED_START_S * 1000, SEED_END_S * 1000, ["E2", "E1"]),
        # seconds, as the seed's example values are: the end's whole second is in
        (SEED_START_S, SEED_END_S, ["E3", "E2", "E1"]),
        (SEED_START_S, None, ["E4", "E3", "E2", "E1"]),
        (None, SEED_END_S, ["E3", "E2", "E1", "E0"]),
        (SEED_START_S * 1000, SEED_END_S, ["E3", "E2", "E1"]),
        (SEED_START_S + 1, SEED_END_S - 1, []),
    ],
)
def test_query_times_in_milliseconds_or_seconds(
    port: int, start: int | None, end: int | None, expected: list[str]
) -> None:
    body = query(port, instance_id=SECONDS_INSTANCE, query_start_time=start, query_end_time=end)
    assert ids(body) == expected and body.data.total_count == len(expected)


@pytest.mark.parametrize(
    "fields",
    [
        {"page_no": 0},
        {"page_size": 0},
        {"call_type": 4},
        {"call_type_list": [1, 9]},
        {"query_start_time": _ms("12:00:00"), "query_end_time": _ms("11:00:00")},
    ],
)
def test_bad_values_are_invalid_parameter(port: int, fields: dict[str, Any]) -> None:
    error = client_error(port, instance_id=FILTER_INSTANCE, **fields)
    assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_bad_integers_are_invalid_parameter(port: int) -> None:
    for params in ({"GroupId": "12a"}, {"PageNo": "x"}, {"QueryStartTime": "2024-03-01"}):
        response = signed_post(port, {"InstanceId": FILTER_INSTANCE, **params})
        assert response.status_code == 400, params
        assert response.json()["Code"] == "InvalidParameter"


def test_list_as_json_array(port: int) -> None:
    response = signed_post(port, {"InstanceId": FILTER_INSTANCE, "AcidList": '["A1", "A3"]'})
    assert [r["Id"] for r in response.json()["Data"]["CallDetailRecord"]] == ["F3", "F1"]


# -- instances and tenant walls ---------------------------------------------------------------------


def test_missing_instance_id(port: int) -> None:
    error = client_error(port)
    assert (error.status_code, error.code) == (400, "MissingInstanceId")
    assert "InstanceId is mandatory for this action." in error.message


def test_instance_of_another_tenant_is_forbidden(port: int) -> None:
    error = client_error(port, OTHER_KEY, OTHER_SECRET, instance_id=GOLDEN_INSTANCE)
    assert (error.status_code, error.code) == (403, "Forbidden.NoPermission")
    error = client_error(port, instance_id="ccc_other")
    assert (error.status_code, error.code) == (403, "Forbidden.NoPermission")


def test_shared_instance_id_shows_only_own_calls(port: int) -> None:
    assert ids(query(port, instance_id=SHARED_INSTANCE)) == ["B1"]
    other = sdk(port, OTHER_KEY, OTHER_SECRET)
    request = models.HotlineSessionQueryRequest(instance_id=SHARED_INSTANCE)
    assert ids(other.hotline_session_query(request).body) == ["O2"]


def test_instance_from_tenant_settings_answers_empty(port: int) -> None:
    body = query(port, instance_id=SETTINGS_ONLY_INSTANCE)
    assert (body.success, body.data.total_count, ids(body)) == (True, 0, [])


# -- authentication ---------------------------------------------------------------------------------


def test_wrong_secret(port: int) -> None:
    error = client_error(port, secret="not-the-secret", instance_id=FILTER_INSTANCE)
    assert (error.status_code, error.code) == (400, "SignatureDoesNotMatch")


def test_wrong_secret_v2(port: int) -> None:
    client = sdk(port, secret="not-the-secret", v2=True)
    with pytest.raises(ClientException) as caught:
        client.hotline_session_query(models.HotlineSessionQueryRequest(instance_id=FILTER_INSTANCE))
    assert caught.value.code == "SignatureDoesNotMatch"


def test_unknown_key(port: int) -> None:
    error = client_error(port, key="LTAInobody", instance_id=FILTER_INSTANCE)
    assert (error.status_code, error.code) == (404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("v2", [False, True], ids=["acs3", "v2"])
def test_reused_nonce(port: int, v2: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    nonce = hashlib.md5(f"fixed-{v2}".encode()).hexdigest()
    monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: nonce))
    client = sdk(port, v2=v2)
    request = models.HotlineSessionQueryRequest(instance_id=FILTER_INSTANCE)
    assert client.hotline_session_query(request).body.success
    with pytest.raises(ClientException) as caught:
        client.hotline_session_query(request)
    assert (caught.value.status_code, caught.value.code) == (400, "SignatureNonceUsed")


@pytest.mark.parametrize("v2", [False, True], ids=["acs3", "v2"])
@pytest.mark.parametrize("skew_minutes", [-16, 16])
def test_stale_date(
    port: int, v2: bool, skew_minutes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp = (datetime.now(UTC) + timedelta(minutes=skew_minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: stamp))
    with pytest.raises(ClientException) as caught:
        sdk(port, v2=v2).hotline_session_query(
            models.HotlineSessionQueryRequest(instance_id=FILTER_INSTANCE)
        )
    assert (caught.value.status_code, caught.value.code) == (400, "InvalidTimeStamp.Expired")


def test_small_skew_is_accepted(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = (datetime.now(UTC) - timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: stamp))
    assert query(port).success


# -- raw requests, signed by the SDK's own signer ---------------------------------------------------


def sign(
    port: int,
    params: dict[str, str],
    method: str = "POST",
    extra_headers: dict[str, str] | None = None,
    secret: str = SECRET,
    drop: str = "",
) -> dict[str, str]:
    """Headers of a V3 request as the SDK builds them, signed by `Utils.get_authorization`."""
    empty = hashlib.sha256(b"").hexdigest()
    headers = {
        "host": f"127.0.0.1:{port}",
        "x-acs-version": "2019-10-15",
        "x-acs-action": "HotlineSessionQuery",
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": Utils.get_nonce(),
        "accept": "application/json",
        "x-acs-content-sha256": empty,
        **(extra_headers or {}),
    }
    headers.pop(drop, None)
    request = SimpleNamespace(method=method, pathname="/", query=params, headers=headers)
    headers["Authorization"] = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", empty, KEY, secret
    )
    return headers


def signed_post(port: int, params: dict[str, str]) -> httpx.Response:
    """A correctly signed V3 request with these query parameters."""
    return httpx.post(f"http://127.0.0.1:{port}/?{urlencode(params)}", headers=sign(port, params))


def _assert_pop_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == code
    assert body["Recommend"] == ""


def test_get_is_accepted(port: int) -> None:
    params = {"InstanceId": FILTER_INSTANCE, "Acid": "A2"}
    response = httpx.get(
        f"http://127.0.0.1:{port}/?{urlencode(params)}", headers=sign(port, params, "GET")
    )
    assert [r["Id"] for r in response.json()["Data"]["CallDetailRecord"]] == ["F2"]


def test_tampered_query(port: int) -> None:
    params = {"InstanceId": FILTER_INSTANCE, "Acid": "A2"}
    headers = sign(port, params)
    url = f"http://127.0.0.1:{port}/?{urlencode({**params, 'Acid': 'A3'})}"
    _assert_pop_error(httpx.post(url, headers=headers), 400, "SignatureDoesNotMatch")


def test_unsigned_acs_header_is_refused(port: int) -> None:
    params = {"InstanceId": FILTER_INSTANCE}
    headers = sign(port, params)
    headers["x-acs-extra"] = "sneaked in"
    url = f"http://127.0.0.1:{port}/?{urlencode(params)}"
    _assert_pop_error(httpx.post(url, headers=headers), 400, "IncompleteSignature")


@pytest.mark.parametrize("header", ["x-acs-date", "x-acs-signature-nonce"])
def test_signed_but_absent_header(port: int, header: str) -> None:
    params = {"InstanceId": FILTER_INSTANCE}
    headers = sign(port, params)
    del headers[header]  # listed in SignedHeaders, not sent
    url = f"http://127.0.0.1:{port}/?{urlencode(params)}"
    _assert_pop_error(httpx.post(url, headers=headers), 400, "IncompleteSignature")


@pytest.mark.parametrize("header", ["x-acs-date", "x-acs-signature-nonce"])
def test_date_and_nonce_are_required(port: int, header: str) -> None:
    params = {"InstanceId": FILTER_INSTANCE}
    headers = sign(port, params, drop=header)
    url = f"http://127.0.0.1:{port}/?{urlencode(params)}"
    _assert_pop_error(httpx.post(url, headers=headers), 400, "IncompleteSignature")


def test_body_hash_is_checked(port: int) -> None:
    params = {"InstanceId": FILTER_INSTANCE}
    url = f"http://127.0.0.1:{port}/?{urlencode(params)}"
    response = httpx.post(url, headers=sign(port, params), content=b"extra body")
    _assert_pop_error(response, 400, "SignatureDoesNotMatch")


def test_unsigned_request(port: int) -> None:
    url = f"http://127.0.0.1:{port}/?Action=HotlineSessionQuery&Version=2019-10-15&InstanceId=x"
    _assert_pop_error(httpx.post(url), 400, "IncompleteSignature")


def test_unknown_action(port: int) -> None:
    params = {"InstanceId": FILTER_INSTANCE}
    headers = sign(port, params, extra_headers={"x-acs-action": "DeleteEverything"})
    response = httpx.post(f"http://127.0.0.1:{port}/?{urlencode(params)}", headers=headers)
    _assert_pop_error(response, 404, "InvalidApi.NotFound")


def test_wrong_method_in_pop_shape(port: int) -> None:
    response = httpx.put(f"http://127.0.0.1:{port}/?Action=HotlineSessionQuery")
    _assert_pop_error(response, 405, "UnsupportedHTTPMethod")


def test_post_without_action(port: int) -> None:
    _assert_pop_error(httpx.post(f"http://127.0.0.1:{port}/"), 400, "MissingAction")


def test_get_without_action_is_the_dashboard(port: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


# -- units ------------------------------------------------------------------------------------------


def test_captured_sdk_request_vector() -> None:
    """vendor-protocols-research.md, section 4, "Captured request": the signature reproduces."""
    from urllib.parse import parse_qsl

    wire_query = (
        "AcidList.1=7719786&AcidList.2=7719787&CallTypeList.1=1&CallTypeList.2=2"
        "&GroupIdList.1=123456&InstanceId=ccc_xp_pre-cn-abc&PageNo=1&PageSize=10"
        "&Params=%7B%22a%22%3A1%7D&QueryEndTime=1614829721000&QueryStartTime=1614828721000"
        "&ServicerName=%E5%88%98+%E6%B5%8B%E8%AF%95%2A"
    )
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    headers = {
        "accept": ["application/json"],
        "host": ["127.0.0.1:18080"],
        "user-agent": ["AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"],
        "x-acs-action": ["HotlineSessionQuery"],
        "x-acs-content-sha256": [empty],
        "x-acs-credentials-provider": ["static_ak"],
        "x-acs-date": ["2026-11-21T04:51:55Z"],
        "x-acs-signature-nonce": ["a1c6a66a200f9bdd4ea0aeb71ec8dea0"],
        "x-acs-version": ["2019-10-15"],
    }
    canonical = canonical_request_v3(
        "POST", "/", parse_qsl(wire_query, keep_blank_values=True), headers, list(headers), empty
    )
    assert "ServicerName=%E5%88%98%20%E6%B5%8B%E8%AF%95%2A" in canonical  # `+` signed as %20
    expected_hash = "68dbe257796814eacb2ac332c4358913526dfd20ff1b20c646d5b6cf0fa59caa"
    assert hashlib.sha256(canonical.encode()).hexdigest() == expected_hash
    assert signature_v3("testSecret", canonical) == (
        "1bb9599109f7c8185e2168541b4f59c2b0157a9015f1bc374539e201fbfdb89b"
    )
