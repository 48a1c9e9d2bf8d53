"""HTTP ingest and the admin API: Bearer keys write only their own tenant; errors in our shape."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from tests.conftest import ADMIN_TOKEN, add_tenant, credential

from ccstats import app as app_module
from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.storage import DuckDBStore, Store

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def rec(cid: str, **fields: object) -> dict[str, object]:
    return {"id": cid, "channel": "chat", "created_at": "2024-05-01T10:00:00Z", **fields}


def token_headers(store: Store, tenant: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential(store, tenant, 'api')['token']}"}


def test_json_array_and_ndjson(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    headers = token_headers(store, "t1")
    answer = app_client.post(
        "/v1/conversations", json=[rec("a"), rec("b", channel=3)], headers=headers
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": 1,
        "rejected": [
            {"index": 1, "id": "b", "reason": "channel: Input should be 'voice' or 'chat'"}
        ],
    }
    body = b"\n".join(orjson.dumps(rec(c)) for c in ("a", "c")) + b"\nnot json\n"
    ndjson = {**headers, "content-type": "application/x-ndjson"}
    answer = app_client.post("/v1/conversations", content=body, headers=ndjson)
    assert answer.json()["accepted"] == 2
    assert answer.json()["rejected"][0]["index"] == 2
    query = {"metrics": ["conversations"], "from": "2024-05-01", "to": "2024-05-02"}
    assert (
        app_client.post("/v1/query", json=query, headers=headers).json()["rows"][0]["conversations"]
        == 2
    )


def test_a_key_never_writes_another_tenant(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    answer = app_client.post(
        "/v1/conversations", json=[rec("x", tenant_id="t2")], headers=token_headers(store, "t1")
    )
    assert answer.json()["accepted"] == 0
    assert "not this key's tenant" in answer.json()["rejected"][0]["reason"]
    query = {"metrics": ["conversations"], "from": "2024-05-01", "to": "2024-05-02"}
    t2 = app_client.post("/v1/query", json=query, headers=token_headers(store, "t2"))
    assert t2.json()["rows"][0]["conversations"] == 0


def test_auth_errors(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    missing = app_client.post("/v1/conversations", json=[rec("a")])
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    wrong = app_client.post(
        "/v1/conversations", json=[rec("a")], headers={"authorization": "Bearer ccs_x_y"}
    )
    assert wrong.status_code == 401
    assert (
        app_client.get("/v1/tenants", headers={"authorization": "Bearer nope"}).status_code == 401
    )


def test_malformed_json_is_a_400_in_our_shape(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    answer = app_client.post(
        "/v1/conversations",
        content=b"[{",
        headers={**token_headers(store, "t1"), "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_payload"


def test_agent_intervals(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    interval = {
        "agent_id": "a",
        "kind": "status",
        "status_id": "busy",
        "started_at": "2024-05-01T08:00:00Z",
        "ended_at": "2024-05-01T08:30:00Z",
    }
    answer = app_client.post(
        "/v1/agent-intervals",
        json=[interval, {"agent_id": "a"}],
        headers=token_headers(store, "t1"),
    )
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"][0]["index"] == 1


def test_admin_tenants_and_credentials(app_client: TestClient, store: Store) -> None:
    created = app_client.put(
        "/v1/tenants/acme", json={"name": "Acme", "timezone": "Europe/Berlin"}, headers=ADMIN
    )
    assert created.status_code == 200
    assert created.json()["timezone"] == "Europe/Berlin"
    updated = app_client.put(
        "/v1/tenants/acme",
        json={"agents": [{"id": "a1", "name": "Ann", "number": "8001"}]},
        headers=ADMIN,
    )
    assert updated.json()["timezone"] == "Europe/Berlin"
    assert updated.json()["agents"][0]["name"] == "Ann"
    bad = app_client.put("/v1/tenants/acme", json={"timezone": "Nowhere/Land"}, headers=ADMIN)
    assert bad.status_code == 400
    assert "unknown IANA time zone" in bad.json()["error"]["message"]
    for kind in ("api", "huawei", "7moor", "twin24", "aliyun"):
        shown = app_client.post(
            "/v1/tenants/acme/credentials", json={"kind": kind}, headers=ADMIN
        ).json()
        assert shown["kind"] == kind
    unknown = app_client.post("/v1/tenants/acme/credentials", json={"kind": "sms"}, headers=ADMIN)
    assert unknown.status_code == 400
    assert app_client.get("/v1/tenants/nobody", headers=ADMIN).status_code == 404


def test_admin_credentials_take_and_show_a_scope(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "acme")
    scope = {"sources": ["twin24", None], "directions": ["outbound"]}
    body = {"kind": "twin24", "key": "ops@acme.test", "scope": scope}
    shown = app_client.post("/v1/tenants/acme/credentials", json=body, headers=ADMIN).json()
    expected = {**scope, "access_codes": None, "channels": None}
    assert shown["scope"] == expected
    (found,) = store.registry.find_credentials("twin24", "ops@acme.test")
    assert found.scope is not None and found.scope.as_dict() == expected
    # Without a scope: the vendor's own source and records with no source.
    plain = app_client.post("/v1/tenants/acme/credentials", json={"kind": "7moor"}, headers=ADMIN)
    assert plain.json()["scope"] == {
        "sources": ["7moor", None],
        "access_codes": None,
        "channels": None,
        "directions": None,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"kind": "7moor", "scope": {"channels": ["sms"]}},
            "unknown channel 'sms' in the scope; use voice or chat",
        ),
        (
            {"kind": "aliyun", "scope": {"directions": ["in"]}},
            "unknown direction 'in' in the scope; use inbound, outbound or transfer",
        ),
        ({"kind": "huawei", "scope": {"sources": []}}, "scope sources: give at least one value"),
        ({"kind": "api", "scope": {}}, "an api credential has no scope"),
        ({"kind": "sms", "scope": {}}, "unknown credential kind 'sms'"),
        ({"kind": "7moor", "scope": {"source": ["7moor"]}}, "scope.source"),
        ({"kind": "7moor", "scope": {"channels": "chat"}}, "scope.channels"),
    ],
)
def test_admin_credentials_refuse_a_bad_scope(
    app_client: TestClient, store: Store, body: dict[str, Any], message: str
) -> None:
    add_tenant(store, "acme")
    answer = app_client.post("/v1/tenants/acme/credentials", json=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert message in error["message"], error


def test_admin_ingest_writes_any_existing_tenant(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    answer = app_client.post(
        "/v1/admin/conversations",
        json=[rec("a", tenant_id="t1"), rec("b", tenant_id="zz")],
        headers=ADMIN,
    )
    assert answer.json()["accepted"] == 1
    assert "unknown tenant 'zz'" in answer.json()["rejected"][0]["reason"]


def test_the_background_task_settles_what_ingest_deferred(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c1 (customer x) then c2 (x, the same day): the second POST leaves x pending; the server's
    background task settles it without any read (c1's next contact becomes c2's start)."""
    if not isinstance(store, DuckDBStore):
        pytest.skip("reads the DuckDB store's own tables")
    monkeypatch.setattr(app_module, "SETTLE_INTERVAL_S", 0.05)
    add_tenant(store, "t1")
    app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)
    with TestClient(app) as client:
        headers = token_headers(store, "t1")
        first = rec("c1", customer_id="x", ended_at="2024-05-01T10:05:00Z")
        assert client.post("/v1/conversations", json=[first], headers=headers).status_code == 200
        store.flush()
        later = rec("c2", customer_id="x", created_at="2024-05-01T12:00:00Z")
        assert client.post("/v1/conversations", json=[later], headers=headers).status_code == 200
        deadline = time.monotonic() + 10
        while store._fetch("SELECT * FROM pending_contacts") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store._fetch("SELECT * FROM pending_contacts") == []
        found = store._fetch("SELECT next_contact_at FROM conversations WHERE id = 'c1'")
        assert found == [(datetime(2024, 5, 1, 12, 0),)]


OUT_OF_RANGE = [
    {"created_at": "9999-12-31T23:59:59-01:00"},
    {"created_at": "0001-01-01T00:00:00+01:00"},
    {"created_at": 1e20},
    {"bot_turns": 9223372036854775808},
    {"messages": [{"sender": "bot", "text": "hi", "sent_at": 1e300}]},
]


@pytest.mark.parametrize("bad", OUT_OF_RANGE, ids=[str(b)[:40] for b in OUT_OF_RANGE])
def test_a_value_out_of_range_rejects_its_record_and_stores_the_rest(
    app_client: TestClient, store: Store, bad: dict[str, object]
) -> None:
    # Issue 15: each of these answered 500 and `ok-1` was lost.
    add_tenant(store, "t1")
    headers = token_headers(store, "t1")
    batch = [rec("ok-1", created_at="2026-11-20T10:00:00Z"), {**rec("bad-1"), **bad}]
    answer = app_client.post("/v1/conversations", json=batch, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["id"]) == (1, "bad-1")
    field = next(iter(bad))
    assert rejected["reason"].startswith(f"{field}")
    found = app_client.get("/v1/conversations/ok-1", headers=headers)
    assert found.status_code == 200


def test_an_interval_out_of_range_rejects_its_record(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    headers = token_headers(store, "t1")
    good = {"agent_id": "a", "kind": "login", "started_at": 0, "ended_at": 1000}
    bad = {"agent_id": "b", "kind": "login", "started_at": 1e300, "ended_at": 1e300}
    answer = app_client.post("/v1/agent-intervals", json=[good, bad], headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert answer.json()["rejected"][0]["index"] == 1
    assert (
        "started_at: time 1e+300 (epoch ms) is outside the accepted range"
        in (answer.json()["rejected"][0]["reason"])
    )


def test_the_rejection_example_of_docs_native_md(app_client: TestClient, store: Store) -> None:
    # docs/native.md, "Ingest": the answer for a record of year 9999, verbatim.
    add_tenant(store, "t1")
    batch = [
        {"id": "ok-1", "channel": "chat", "created_at": "2026-11-20T10:00:00Z"},
        {"id": "bad-1", "channel": "voice", "created_at": "9999-12-31T23:59:59-01:00"},
    ]
    answer = app_client.post("/v1/conversations", json=batch, headers=token_headers(store, "t1"))
    assert answer.json() == {
        "accepted": 1,
        "rejected": [
            {
                "index": 1,
                "id": "bad-1",
                "reason": "created_at: time '9999-12-31T23:59:59-01:00' is outside the accepted"
                " range (1970-01-01T00:00:00Z to 2200-12-31T23:59:59.999999Z)",
            }
        ],
    }


def test_concurrent_one_record_requests_are_each_stored_once(
    app_client: TestClient, store: Store
) -> None:
    """16 clients each POST 10 one-record requests at once (stored in shared transactions,
    `ingest.commits`); every request is answered 200 with its record accepted, and the store
    holds the 160 records once each. A client that resends its first record counts it once."""
    add_tenant(store, "t1")
    headers = token_headers(store, "t1")
    answers: list[int] = []

    def client(n: int) -> None:
        for i in range(10):
            answer = app_client.post("/v1/conversations", json=[rec(f"c{n}-{i}")], headers=headers)
            answers.append(answer.json()["accepted"] if answer.status_code == 200 else -1)
        app_client.post("/v1/conversations", json=[rec(f"c{n}-0")], headers=headers)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [1] * 160
    query = {"metrics": ["conversations"], "from": "2024-05-01", "to": "2024-05-02"}
    rows = app_client.post("/v1/query", json=query, headers=headers).json()["rows"]
    assert rows[0]["conversations"] == 160
