"""Credential and data lifecycle (issue 19, item 5) through the real app: credentials listed
without secrets and revoked at once (tokens issued for them too), keys rotated without downtime,
tenants deleted with their data, customers erased with exact reports, retention applied by
upkeep and said in answers, phone numbers and names masked per tenant."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import ADMIN_TOKEN, add_tenant, credential, load, service_of
from tests.dialects import test_huawei as huawei
from tests.dialects import test_sevenmoor as sevenmoor
from tests.dialects import test_twin24 as twin24

from ccstats.service import SearchRequest
from ccstats.storage import Store

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def conversations(client: TestClient, token: str, **params: Any) -> Any:
    base = {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "sort": "id"}
    return client.get("/v1/conversations", params={**base, **params}, headers=bearer(token))


def query(client: TestClient, token: str, *metrics: str) -> dict[str, Any]:
    body = {
        "metrics": list(metrics),
        "from": "2026-01-01T00:00:00Z",
        "to": "2027-01-01T00:00:00Z",
    }
    answer = client.post("/v1/query", json=body, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def call(cid: str, created: str, tenant: str = "t1", **fields: Any) -> dict[str, Any]:
    return {"id": cid, "tenant_id": tenant, "channel": "voice", "created_at": created, **fields}


# -- credentials ---------------------------------------------------------------------------------


def test_api_keys_rotate_without_downtime_and_a_revoked_one_is_refused_at_once(
    store: Store, app_client: TestClient
) -> None:
    add_tenant(store, "t1")
    old = credential(store, "t1", "api", "old")["token"]
    assert conversations(app_client, old).status_code == 200  # (its lookup is now kept)
    new = app_client.post("/v1/tenants/t1/credentials", json={"kind": "api"}, headers=ADMIN)
    new_token = new.json()["token"]
    # Both valid at once: clients move to the new key at their own pace.
    assert conversations(app_client, old).status_code == 200
    assert conversations(app_client, new_token).status_code == 200
    listed = app_client.get("/v1/tenants/t1/credentials", headers=ADMIN).json()["credentials"]
    assert [(c["kind"], c["key"]) for c in listed] == [("api", "old"), ("api", new_token[4:16])]
    assert all(set(c) == {"id", "tenant_id", "kind", "key", "created_at"} for c in listed)
    assert old not in str(listed) and new_token not in str(listed)  # never a secret
    revoked = app_client.delete("/v1/tenants/t1/credentials/old", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked"]["id"] == listed[0]["id"]
    refused = conversations(app_client, old)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert conversations(app_client, new_token).status_code == 200
    again = app_client.delete("/v1/tenants/t1/credentials/old", headers=ADMIN)
    assert again.status_code == 404 and "no credential 'old'" in again.json()["error"]["message"]
    unknown = app_client.get("/v1/tenants/nobody/credentials", headers=ADMIN)
    assert unknown.status_code == 404
    tenant_token = app_client.get("/v1/tenants/t1/credentials", headers=bearer(new_token))
    assert tenant_token.status_code == 403


def test_a_huawei_token_dies_with_the_app_secret_it_was_issued_for(
    store: Store, app_client: TestClient
) -> None:
    add_tenant(store, huawei.BANK, "Asia/Shanghai")
    first = credential(store, huawei.BANK, "huawei")
    second = credential(store, huawei.BANK, "huawei")  # rotation: a second appSecret
    token_one = huawei.get_token(app_client, first["appKey"], first["appSecret"])
    token_two = huawei.get_token(app_client, second["appKey"], second["appSecret"])
    huawei.report(app_client, token_one, 1_700_000_000_000)
    ambiguous = app_client.delete(
        f"/v1/tenants/{huawei.BANK}/credentials/{huawei.BANK}", headers=ADMIN
    )
    assert ambiguous.status_code == 400 and ambiguous.json()["error"]["code"] == "ambiguous"
    listed = app_client.get(f"/v1/tenants/{huawei.BANK}/credentials", headers=ADMIN).json()
    oldest = listed["credentials"][0]["id"]
    assert (
        app_client.delete(
            f"/v1/tenants/{huawei.BANK}/credentials/{oldest}", headers=ADMIN
        ).status_code
        == 200
    )
    body = {
        "tenantId": huawei.BANK,
        "accessCode": huawei.IVR,
        "timestamp": 1_700_000_000_000,
        "type": "hour",
    }
    refused = app_client.post(huawei.CALLS, json={**body, "authToken": token_one})
    huawei.assert_error(refused, 401, 900001)
    huawei.report(app_client, token_two, 1_700_000_000_000)  # the other secret's token lives
    retry = app_client.post(
        f"{huawei.API}/gettoken", json={"appKey": first["appKey"], "appSecret": first["appSecret"]}
    )
    assert retry.status_code == 401


def test_a_revoked_twin24_login_ends_its_tokens(store: Store, app_client: TestClient) -> None:
    add_tenant(store, "retail", timezone="Europe/Moscow")
    twin24.twin24_login(store, "retail", twin24.EMAIL, twin24.PASSWORD)
    tokens = twin24.login(app_client).json()
    headers = {"Authorization": f"Bearer {tokens['token']}"}
    assert app_client.get(twin24.CALLS, headers=headers).status_code == 200
    revoked = app_client.delete(f"/v1/tenants/retail/credentials/{twin24.EMAIL}", headers=ADMIN)
    assert revoked.status_code == 200
    refused = app_client.get(twin24.CALLS, headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (401, "Unauthorized.")
    refresh = app_client.get(
        "/api/v1/auth/refresh", params={"refreshToken": tokens["refreshToken"]}
    )
    assert refresh.status_code == 401
    # The same email with a new password is a new login: the old tokens stay refused.
    twin24.twin24_login(store, "retail", twin24.EMAIL, "new-password")
    assert app_client.get(twin24.CALLS, headers=headers).status_code == 401


# -- tenants and customers ----------------------------------------------------------------------


def test_deleting_a_tenant_deletes_its_data_and_credentials_and_nothing_else(
    store: Store, app_client: TestClient
) -> None:
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    token_one = credential(store, "t1", "api")["token"]
    token_two = credential(store, "t2", "api")["token"]
    messages = [{"sender": "customer", "text": "hi"}, {"sender": "agent", "text": "hello"}]
    load(
        store,
        [call("a", "2026-11-20T10:00:00Z", messages=messages), call("b", "2026-11-21T10:00:00Z")]
        + [call("a", "2026-11-20T10:00:00Z", tenant="t2")],
        [{"tenant_id": "t1", "agent_id": "x", "kind": "login",
          "started_at": "2026-11-20T09:00:00Z", "ended_at": "2026-11-20T17:00:00Z"}],
    )  # fmt: skip
    assert query(app_client, token_one, "conversations")["rows"] == [{"conversations": 2}]
    gone = app_client.delete("/v1/tenants/t1", headers=ADMIN)
    assert gone.json() == {
        "tenant_id": "t1",
        "conversations": 2,
        "messages": 2,
        "agent_intervals": 1,
        "credentials": 1,
    }
    assert conversations(app_client, token_one).status_code == 401
    assert app_client.get("/v1/tenants/t1", headers=ADMIN).status_code == 404
    assert [t["id"] for t in app_client.get("/v1/tenants", headers=ADMIN).json()["tenants"]] == [
        "t2"
    ]
    assert query(app_client, token_two, "conversations")["rows"] == [{"conversations": 1}]
    assert app_client.delete("/v1/tenants/t1", headers=ADMIN).status_code == 404
    # Created again, the tenant starts empty.
    add_tenant(store, "t1")
    fresh = credential(store, "t1", "api")["token"]
    assert query(app_client, fresh, "conversations")["rows"] == [{"conversations": 0}]


def test_erasing_a_customer_leaves_reports_exact(store: Store, app_client: TestClient) -> None:
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    token = credential(store, "t1", "api")["token"]
    other = credential(store, "t2", "api")["token"]

    def contact(cid: str, hour: int, customer: str, tenant: str = "t1") -> dict[str, Any]:
        start = datetime(2026, 11, 20, hour, tzinfo=UTC)
        return call(
            cid,
            start.isoformat(),
            tenant,
            customer_id=customer,
            ended_at=(start + timedelta(minutes=10)).isoformat(),
        )

    # Customer "x" calls at 08:00 and 12:00 (the first is not resolved within 24 h); "y" at
    # 09:00 and 10:00 (likewise). "x" of tenant t2 is another person.
    load(
        store,
        [contact("c1", 8, "x"), contact("c2", 12, "x"), contact("c3", 9, "y"), contact("c4", 10, "y")]
        + [contact("o1", 8, "x", "t2")],
    )  # fmt: skip
    before = query(app_client, token, "conversations", "resolved_within_24h")
    assert before["rows"] == [{"conversations": 4, "resolved_within_24h": 2}]  # c2, c4
    answer = app_client.delete("/v1/customers/x", headers=bearer(token))
    assert answer.json() == {
        "tenant_id": "t1",
        "customer_id": "x",
        "conversations": 2,
        "messages": 0,
        "agent_intervals": 0,
    }
    after = query(app_client, token, "conversations", "resolved_within_24h")
    assert after["rows"] == [{"conversations": 2, "resolved_within_24h": 1}]  # c4 only
    assert [r["id"] for r in conversations(app_client, token).json()["rows"]] == ["c3", "c4"]
    assert query(app_client, other, "conversations")["rows"] == [{"conversations": 1}]
    nobody = app_client.delete("/v1/customers/nobody", headers=bearer(token))
    assert nobody.json()["conversations"] == 0
    admin = app_client.delete("/v1/tenants/t2/customers/x", headers=ADMIN)
    assert admin.json()["conversations"] == 1
    assert app_client.delete("/v1/customers/x").status_code == 401


# -- retention ----------------------------------------------------------------------------------


def test_retention_deletes_old_records_in_upkeep_and_answers_say_so(
    store: Store, app_client: TestClient
) -> None:
    add_tenant(store, "t1", retention_days=30)
    add_tenant(store, "t2")
    token = credential(store, "t1", "api")["token"]
    now = datetime.now(UTC)
    old, recent = (now - timedelta(days=45)).isoformat(), (now - timedelta(days=2)).isoformat()
    load(
        store,
        [call("old", old), call("recent", recent), call("kept", old, tenant="t2")],
        [{"tenant_id": "t1", "agent_id": "x", "kind": "login", "started_at": old,
          "ended_at": (now - timedelta(days=44)).isoformat()}],
    )  # fmt: skip
    service = service_of(store)
    now_later = now + timedelta(seconds=1)
    assert service.apply_retention(now_later) == {
        "t1": {"conversations": 1, "messages": 0, "agent_intervals": 1}
    }
    load(store, [call("old", old)])  # sent again: the server's upkeep deletes it again
    service.maintain()
    assert service.apply_retention() == {}  # nothing left to delete
    page = conversations(app_client, token, **{"from": (now - timedelta(days=90)).isoformat(),
                                              "to": now.isoformat()})  # fmt: skip
    body = page.json()
    assert [r["id"] for r in body["rows"]] == ["recent"]
    since = datetime.fromisoformat(body["data_kept_since"])
    assert abs((now - timedelta(days=30) - since).total_seconds()) < 60
    assert query(app_client, token, "conversations")["data_kept_since"] is not None
    assert service.count(SearchRequest("t2")) == 1  # a tenant without retention keeps all


# -- masking ------------------------------------------------------------------------------------


def test_phone_numbers_and_names_are_masked_in_answers_and_exports_per_tenant(
    store: Store, app_client: TestClient
) -> None:
    add_tenant(store, "retail", timezone="Europe/Moscow", mask_phones=True, mask_names=True)
    add_tenant(store, "plain")
    twin24.twin24_login(store, "retail", twin24.EMAIL, twin24.PASSWORD)
    token = credential(store, "retail", "api")["token"]
    plain = credential(store, "plain", "api")["token"]
    person = {
        "customer_phone": "79161234567",
        "called_number": "13561512345",
        "customer_name": "Ann Lee",
    }
    load(
        store,
        [call("c1", "2026-11-20T10:00:00Z", "retail", **person),
         call("c1", "2026-11-20T10:00:00Z", "plain", **person)],
    )  # fmt: skip
    rows = conversations(app_client, token).json()["rows"]
    assert (rows[0]["customer_phone"], rows[0]["called_number"], rows[0]["customer_name"]) == (
        "791612****",
        "135615****",
        "A**",
    )
    # A filter still matches the stored number: the tenant finds its customer's calls.
    found = conversations(app_client, token, customer_phone="79161234567").json()["rows"]
    assert [r["id"] for r in found] == ["c1"]
    exported = conversations(
        app_client, token, format="csv", fields="id,customer_phone,customer_name"
    )
    assert list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")))) == [
        {"id": "c1", "customer_phone": "791612****", "customer_name": "A**"}
    ]
    # A vendor answer: Twin24's call search.
    items = twin24.search(app_client, twin24.bearer(app_client), **{
        "from": "2026-11-20", "to": "2026-11-21", "fields": "id,phone"})["items"]  # fmt: skip
    assert items == [{"id": "c1", "phone": "791612****"}]
    # Another tenant's answers are its own business.
    assert conversations(app_client, plain).json()["rows"][0]["customer_phone"] == "79161234567"
    refused = conversations(app_client, token, sort="customer_phone")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_sort"


def test_a_revoked_7moor_key_is_refused_at_once(store: Store, app_client: TestClient) -> None:
    add_tenant(store, sevenmoor.BANK, "Asia/Shanghai")
    credential_of = credential(store, sevenmoor.BANK, "7moor", sevenmoor.APPKEY)
    body = sevenmoor.day_body("2021-08-05")
    headers = sevenmoor.signed(sevenmoor.APPKEY, credential_of["secret"])
    assert sevenmoor.post(app_client, sevenmoor.SESSION, body, headers)["success"] is True
    path = f"/v1/tenants/{sevenmoor.BANK}/credentials/{sevenmoor.APPKEY}"
    assert app_client.delete(path, headers=ADMIN).status_code == 200
    headers = sevenmoor.signed(sevenmoor.APPKEY, credential_of["secret"])
    refused = sevenmoor.post(app_client, sevenmoor.SESSION, body, headers)
    assert (refused["code"], refused["message"]) == ("401", "appkeyNotFound")
