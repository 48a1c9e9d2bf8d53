"""Twin24 dialect (seed 003): login/refresh, the call search, its filters, paging and file exports.

Every expected value is worked out from `spec/dialects.md`, `spec/reports.md` and seed 003; the
golden cases rebuild the seed's sample items from records and compare them field for field.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from tests.conftest import add_tenant, load

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.dialects import twin24
from ccstats.storage import Store

EMAIL, PASSWORD = "ops@retail.example", "s3cret-pass"
CALLS = "/api/v1/search/cis/calls"

# -- seed 003's sample response, verbatim ----------------------------------------------------------
TASK_ID = "71c30c27-4211-4e96-8ce7-fbb459aee6fe"
TASK_NAME = "29.6.2022 тестирование метода создания задания на обзвон"
BOT_ID = "c837b555-5d79-4c9a-940d-84814a0d6fb9"
GREETING = "Ало! Здравствуйте, меня хорошо слышно?"
PITCH = (
    "Отлично! Меня зовут Иван. Я менеджер по работе с клиентами компании Тест. "
    "Я не отниму много вашего времени. Вам удобно сейчас разговаривать?"
)
RECORDS = "https://minio.twin24.ai/twin-cabinet-prod/public/records//1758/2022/06/29/"
SEED_RESPONSE: dict[str, Any] = {
    "count": 2,
    "items": [
        {
            "timezone": 3,
            "additional": "",
            "startedAt": "2022-06-29T08:44:26.000000Z",
            "transferredToOperator": False,
            "dialogId": "9e0b5349-9cb5-44a9-b5f4-bbec60ceff01",
            "duration": 18,
            "createdAt": "2022-06-29T05:44:14.000000Z",
            "price": "1.79",
            "dialogResults": "Приветствие",
            "id": "99c5b0fe-fa95-40e8-8a47-f90774c336cd",
            "botId": BOT_ID,
            "recordPath": RECORDS + "99c5b0fe-fa95-40e8-8a47-f90774c336cd.mp3",
            "updatedAt": "2022-06-29T08:45:01.000000Z",
            "botName": "Скрипт_тест",
            "externalId": None,
            "responder": "Human",
            "isFinished": True,
            "nps": None,
            "shortNumber": None,
            "phone": "79999999999",
            "regionId": 5026,
            "taskName": TASK_NAME,
            "taskId": TASK_ID,
            "linkToLog": "/ab37a460-9cdd-491b-9e91-a888fed03194/general.log",
            "status": "ANSWERED",
            "messages": [
                {"text": GREETING, "author": "robot", "created_at": "2022-06-29T08:44:39Z"},
                {"text": "угу", "author": "user", "created_at": "2022-06-29T08:44:46Z"},
                {"text": PITCH, "author": "robot", "created_at": "2022-06-29T08:44:46Z"},
            ],
            "messagesAsString": f"Робот: {GREETING}\nЧеловек: угу\nРобот: {PITCH}",
        },
        {
            "timezone": 3,
            "additional": "",
            "startedAt": "2022-06-29T07:15:50.000000Z",
            "transferredToOperator": False,
            "dialogId": "35541af1-ed44-447a-9312-0377462247fd",
            "duration": 5,
            "createdAt": "2022-06-29T04:10:31.000000Z",
            "price": "0.40",
            "dialogResults": "Начало диалога",
            "id": "819206ed-2391-4e8d-b8c3-8ec6ebf08f20",
            "botId": BOT_ID,
            "recordPath": RECORDS + "819206ed-2391-4e8d-b8c3-8ec6ebf08f20.mp3",
            "updatedAt": "2022-06-29T07:16:13.000000Z",
            "botName": "Скрипт_тест",
            "externalId": None,
            "responder": "AnsweringMachine",
            "isFinished": False,
            "nps": None,
            "shortNumber": None,
            "phone": "79999999999",
            "regionId": 5026,
            "taskName": TASK_NAME,
            "taskId": TASK_ID,
            "linkToLog": "/ed7168f7-0e1b-41dc-bab3-8f6047a9146b/general.log",
            "status": "ANSWERED",
            "messages": [
                {"text": GREETING, "author": "robot", "created_at": "2022-06-29T07:16:04Z"}
            ],
            "messagesAsString": f"Робот: {GREETING}",
        },
    ],
}


def seed_records(tenant_id: str = "retail") -> list[dict[str, Any]]:
    """Records that, by reports.md's Twin24 mapping, are the seed's two sample calls."""
    common = {
        "tenant_id": tenant_id,
        "channel": "voice",
        "direction": "outbound",
        "customer_utc_offset": 3,
        "extra": "",
        "transferred_to_agent": False,
        "bot_id": BOT_ID,
        "bot_name": "Скрипт_тест",
        "customer_phone": "79999999999",
        "region_id": 5026,
        "campaign_id": TASK_ID,
        "campaign_name": TASK_NAME,
    }
    first = {
        **common,
        "id": "99c5b0fe-fa95-40e8-8a47-f90774c336cd",
        "dialog_id": "9e0b5349-9cb5-44a9-b5f4-bbec60ceff01",
        # createdAt and startedAt of the seed differ by 3 h: the record was created before dialing.
        "created_at": "2022-06-29T08:44:14+03:00",
        "started_at": "2022-06-29T08:44:26Z",
        "updated_at": "2022-06-29T08:45:01Z",
        "duration_s": 18,
        "price": "1.79",
        "dialog_result": "Приветствие",
        "recording_url": RECORDS + "99c5b0fe-fa95-40e8-8a47-f90774c336cd.mp3",
        "answered_by": "human",
        "is_final_attempt": True,
        "log_url": "/ab37a460-9cdd-491b-9e91-a888fed03194/general.log",
        "dial_status": "ANSWER",  # the seed's filter name; shown as ANSWERED
        "messages": [
            {"sender": "bot", "text": GREETING, "sent_at": "2022-06-29T08:44:39Z"},
            {"sender": "customer", "text": "угу", "sent_at": "2022-06-29T08:44:46Z"},
            {"sender": "bot", "text": PITCH, "sent_at": "2022-06-29T08:44:46Z"},
        ],
    }
    second = {
        **common,
        "id": "819206ed-2391-4e8d-b8c3-8ec6ebf08f20",
        "dialog_id": "35541af1-ed44-447a-9312-0377462247fd",
        "created_at": "2022-06-29T04:10:31Z",
        "started_at": "2022-06-29T07:15:50Z",
        "updated_at": "2022-06-29T07:16:13Z",
        "duration_s": 5,
        "price": "0.40",
        "dialog_result": "Начало диалога",
        "recording_url": RECORDS + "819206ed-2391-4e8d-b8c3-8ec6ebf08f20.mp3",
        "answered_by": "machine",
        "is_final_attempt": False,
        "log_url": "/ed7168f7-0e1b-41dc-bab3-8f6047a9146b/general.log",
        "dial_status": "ANSWERED",
        "messages": [{"sender": "bot", "text": GREETING, "sent_at": "2022-06-29T07:16:04Z"}],
    }
    return [first, second]


# -- helpers ------------------------------------------------------------------------------------------


def login(client: TestClient, email: str = EMAIL, password: str = PASSWORD, **extra: Any) -> Any:
    """POST the login body; returns the response."""
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def bearer(client: TestClient, email: str = EMAIL, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers of a fresh login."""
    response = login(client, email, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def retail(store: Store) -> Store:
    """Tenant `retail` (Europe/Moscow) with a Twin24 login and the seed's two calls."""
    add_tenant(store, "retail", timezone="Europe/Moscow")
    twin24_login(store, "retail", EMAIL, PASSWORD)
    load(store, seed_records())
    return store


def twin24_login(store: Store, tenant_id: str, email: str, password: str) -> None:
    """A Twin24 credential with a chosen password."""
    from ccstats.auth import create_credential

    create_credential(store.registry, tenant_id, "twin24", email, password)


@pytest.fixture
def client(retail: Store, app_client: TestClient) -> TestClient:
    """The app over the `retail` store."""
    return app_client


def call(n: int, **fields: Any) -> dict[str, Any]:
    """A minimal voice call of tenant `retail` created `n` minutes after 2024-03-01T00:00Z."""
    created = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=n)
    record = {
        "id": f"call-{n:03d}",
        "tenant_id": "retail",
        "channel": "voice",
        "direction": "outbound",
        "created_at": created.isoformat(),
    }
    return record | fields


def search(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    """GET the call search; asserts 200 and returns the JSON body."""
    response = client.get(CALLS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: dict[str, Any]) -> list[str]:
    """The ids of a search answer's items."""
    return [i["id"] for i in body["items"]]


# -- golden: the seed's sample items ----------------------------------------------------------------


def test_seed_sample_reproduced_with_the_seed_fields(client: TestClient) -> None:
    fields = ",".join(SEED_RESPONSE["items"][0])
    body = search(client, bearer(client), fields=fields)
    assert body == SEED_RESPONSE
    assert [list(i) for i in body["items"]] == [list(i) for i in SEED_RESPONSE["items"]]


def test_default_fields_are_all_fields_and_contain_the_seed_items(client: TestClient) -> None:
    body = search(client, bearer(client))
    assert body["count"] == 2
    for got, want in zip(body["items"], SEED_RESPONSE["items"], strict=True):
        assert set(got) == set(want) | {"botDuration", "operatorDuration"}
        assert {k: got[k] for k in want} == want
        assert got["botDuration"] is None and got["operatorDuration"] is None


def test_fields_select_and_order_the_item_keys(client: TestClient) -> None:
    body = search(client, bearer(client), fields="status, id,duration,status")
    assert body["items"] == [
        {"status": "ANSWERED", "id": "99c5b0fe-fa95-40e8-8a47-f90774c336cd", "duration": 18},
        {"status": "ANSWERED", "id": "819206ed-2391-4e8d-b8c3-8ec6ebf08f20", "duration": 5},
    ]
    assert list(body["items"][0]) == ["status", "id", "duration"]


def test_durations_operator_author_and_system_lines(client: TestClient, retail: Store) -> None:
    load(
        retail,
        [
            call(
                1,
                bot_duration_s=40,
                agent_duration_s=75,
                transferred_to_agent=True,
                messages=[
                    {"sender": "bot", "text": "Соединяю", "sent_at": "2024-03-01T00:01:05.9Z"},
                    {"sender": "system", "text": "transfer", "sent_at": "2024-03-01T00:01:06Z"},
                    {"sender": "agent", "text": "Слушаю", "sent_at": "2024-03-01T00:01:09Z"},
                ],
            )
        ],
    )
    body = search(
        client,
        bearer(client),
        id="call-001",
        fields="botDuration,operatorDuration,transferredToOperator,messages,messagesAsString",
    )
    assert body["items"] == [
        {
            "botDuration": 40,
            "operatorDuration": 75,
            "transferredToOperator": True,
            "messages": [
                {"text": "Соединяю", "author": "robot", "created_at": "2024-03-01T00:01:05Z"},
                {"text": "Слушаю", "author": "operator", "created_at": "2024-03-01T00:01:09Z"},
            ],
            "messagesAsString": "Робот: Соединяю\nОператор: Слушаю",
        }
    ]


# -- login, refresh, tokens ------------------------------------------------------------------------


def _claims(store: Store, token: str) -> dict[str, Any]:
    secret = store.registry.get_meta("twin24.jwt_secret")
    assert secret is not None
    return jwt.decode(token, secret, algorithms=["HS256"])


def test_login_issues_a_jwt_with_the_chosen_lifetime(client: TestClient, retail: Store) -> None:
    default = login(client)
    assert default.status_code == 200
    assert set(default.json()) == {"token", "refreshToken"}
    claims = _claims(retail, default.json()["token"])
    assert claims["sub"] == EMAIL and claims["tenant"] == "retail"
    assert claims["exp"] - claims["iat"] == 604_800  # one week by default
    chosen = _claims(retail, login(client, ttl=3600).json()["token"])
    assert chosen["exp"] - chosen["iat"] == 3600
    longest = login(client, ttl=30 * 86_400)
    assert longest.status_code == 200
    assert default.cookies.get("token") == default.json()["token"]


def test_login_email_is_case_insensitive(client: TestClient) -> None:
    assert login(client, email="OPS@Retail.Example").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"email": EMAIL, "password": "wrong"}, 401, "Invalid credentials."),
        ({"email": "nobody@x.example", "password": PASSWORD}, 401, "Invalid credentials."),
    ],
)
def test_bad_login_is_401(client: TestClient, body: Any, status: int, error: str) -> None:
    response = client.post("/api/v1/auth/login", json=body)
    assert (response.status_code, response.json()) == (status, {"error": error, "details": None})


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"email": EMAIL, "password": PASSWORD, "ttl": 30 * 86_400 + 1}, "ttl"),
        ({"email": EMAIL, "password": PASSWORD, "ttl": 0}, "ttl"),
        ({"email": EMAIL, "password": PASSWORD, "ttl": "week"}, "ttl"),
        ({"password": PASSWORD}, "email"),
        ({"email": EMAIL}, "password"),
        ([EMAIL, PASSWORD], "body"),
    ],
)
def test_bad_login_body_is_422_naming_the_parameter(
    client: TestClient, body: Any, parameter: str
) -> None:
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 422
    assert response.json()["details"]["parameter"] == parameter
    assert response.json()["error"].startswith(f"{parameter}: ")


def test_non_json_login_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/login", content=b"email=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json()["details"] == {"parameter": "body"}


def test_expired_token_is_401_token_is_expired(client: TestClient, retail: Store) -> None:
    bearer(client)  # the first login creates the signing secret
    secret = retail.registry.get_meta("twin24.jwt_secret")
    assert secret is not None
    past = datetime.now(UTC) - timedelta(seconds=5)
    token = jwt.encode({"sub": EMAIL, "tenant": "retail", "exp": past}, secret, algorithm="HS256")
    response = client.get(CALLS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"error": "Token is expired.", "details": None}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Basic b3BzOnB3",
        # right claims, wrong key: a forged token for any tenant is refused
        "Bearer "
        + jwt.encode(
            {"sub": EMAIL, "tenant": "retail", "exp": 4102444800}, "a-guessed-secret-" * 4
        ),
    ],
)
def test_missing_or_invalid_token_is_401_unauthorized(
    client: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(CALLS, headers=headers)
    assert (response.status_code, response.json()) == (
        401,
        {"error": "Unauthorized.", "details": None},
    )


def test_refresh_rotates_the_tokens(client: TestClient, retail: Store) -> None:
    first = login(client).json()
    response = client.get(
        "/api/v1/auth/refresh", params={"refreshToken": first["refreshToken"], "ttl": 600}
    )
    assert response.status_code == 200
    renewed = response.json()
    assert renewed["refreshToken"] != first["refreshToken"]
    claims = _claims(retail, renewed["token"])
    assert (claims["sub"], claims["tenant"], claims["exp"] - claims["iat"]) == (
        EMAIL,
        "retail",
        600,
    )
    assert search(client, {"Authorization": f"Bearer {renewed['token']}"})["count"] == 2
    # a refresh token is good for one refresh
    again = client.get("/api/v1/auth/refresh", params={"refreshToken": first["refreshToken"]})
    assert (again.status_code, again.json()["error"]) == (401, "Unauthorized.")


def test_refresh_errors(client: TestClient, retail: Store) -> None:
    refresh_token = login(client).json()["refreshToken"]
    missing = client.get("/api/v1/auth/refresh")
    assert (missing.status_code, missing.json()["details"]) == (422, {"parameter": "refreshToken"})
    too_long = client.get(
        "/api/v1/auth/refresh", params={"refreshToken": refresh_token, "ttl": 2_592_001}
    )
    assert (too_long.status_code, too_long.json()["details"]["parameter"]) == (422, "ttl")
    unknown = client.get("/api/v1/auth/refresh", params={"refreshToken": "made-up"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "Unauthorized.")


def test_expired_refresh_token_is_refused(client: TestClient, retail: Store) -> None:
    refresh_token = login(client).json()["refreshToken"]
    key = twin24._refresh_key(refresh_token)
    retail.registry.put_meta(key, f'{{"sub": "{EMAIL}", "tenant": "retail", "exp": 1000}}')
    response = client.get("/api/v1/auth/refresh", params={"refreshToken": refresh_token})
    assert (response.status_code, response.json()["error"]) == (401, "Unauthorized.")


def test_tokens_survive_a_restart(client: TestClient, retail: Store) -> None:
    headers = bearer(client)
    refresh_token = login(client).json()["refreshToken"]
    restarted = TestClient(create_app(Settings(db=":memory:"), retail))
    assert search(restarted, headers)["count"] == 2
    assert (
        restarted.get("/api/v1/auth/refresh", params={"refreshToken": refresh_token}).status_code
        == 200
    )


# -- tenant walls and the voice-only scope -----------------------------------------------------------


def test_a_token_reads_only_its_own_tenants_voice_calls(client: TestClient, retail: Store) -> None:
    add_tenant(retail, "other", timezone="UTC")
    twin24_login(retail, "other", "other@x.example", "other-pass")
    load(retail, [call(1, tenant_id="other", id="theirs", customer_phone="79999999999")])
    load(retail, [call(2, channel="chat", id="a-chat")])
    mine = bearer(client)
    assert sorted(ids(search(client, mine, limit=1000))) == sorted(
        ["99c5b0fe-fa95-40e8-8a47-f90774c336cd", "819206ed-2391-4e8d-b8c3-8ec6ebf08f20"]
    )
    assert search(client, mine, id="theirs") == {"count": 0, "items": []}
    assert search(client, mine, id="a-chat") == {"count": 0, "items": []}
    theirs = bearer(client, "other@x.example", "other-pass")
    assert search(client, theirs, phone="79999999999") == {
        "count": 1,
        "items": [search(client, theirs, id="theirs")["items"][0]],
    }
    assert ids(search(client, theirs)) == ["theirs"]


# -- filters -------------------------------------------------------------------------------------------


@pytest.fixture
def varied(client: TestClient, retail: Store) -> dict[str, str]:
    """Five more calls of `retail` with distinct values per filterable field; returns headers."""
    load(
        retail,
        [
            call(1, dial_status="ANSWER", customer_phone="700", campaign_id="t1", answered_by="human",
                 is_final_attempt=True, duration_s=10, region_id=77, customer_utc_offset=3,
                 bot_name="A", price="1.10", dialog_result="ok", nps="9"),
            call(2, dial_status="ANSWERED", customer_phone="701", campaign_id="t1",
                 answered_by="machine", is_final_attempt=False, duration_s=20, region_id=78,
                 customer_utc_offset=5, bot_name="B", price="0.40"),
            call(3, dial_status="BUSY", customer_phone="700", campaign_id="t2", duration_s=10,
                 region_id=77, bot_name="A", external_id="crm-3", short_number="105"),
            call(4, dial_status="NOANSWER", customer_phone="702", campaign_id="t2",
                 transferred_to_agent=True, duration_s=0, extra="vip"),
            call(5, dial_status="FZ230", customer_phone="700", campaign_id="t3",
                 started_at="2024-03-02T10:00:00Z", updated_at="2024-03-02T10:05:00Z"),
        ],
    )  # fmt: skip
    return bearer(client)


@pytest.fixture
def more_varied(client: TestClient, retail: Store, varied: dict[str, str]) -> dict[str, str]:
    """`varied`, plus a call in a status of the new telephony and two campaign names, one with a
    comma; returns headers."""
    load(
        retail,
        [
            call(6, dial_status="VOICEMAIL", campaign_name="Sale, autumn"),
            call(7, campaign_name="Sale"),
        ],
    )
    return varied


SEED_IDS = ["99c5b0fe-fa95-40e8-8a47-f90774c336cd", "819206ed-2391-4e8d-b8c3-8ec6ebf08f20"]
NEW = ["call-007", "call-006"]  # `more_varied`: the newest calls
ALL_CALLS = [*NEW, "call-005", "call-004", "call-003", "call-002", "call-001", *SEED_IDS]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # ANSWER and ANSWERED are one status, whichever the records store
        ({"status": "ANSWER"}, ["call-002", "call-001", *SEED_IDS]),
        ({"status": "ANSWERED"}, ["call-002", "call-001", *SEED_IDS]),
        ({"status": "answer"}, ["call-002", "call-001", *SEED_IDS]),
        ({"status": "BUSY"}, ["call-003"]),
        ({"status": "FZ230"}, ["call-005"]),
        ({"status": "CANCEL"}, []),
        ({"phone": "700"}, ["call-005", "call-003", "call-001"]),
        ({"taskId": "t2"}, ["call-004", "call-003"]),
        ({"id": "call-004"}, ["call-004"]),
        ({"responder": "Human"}, ["call-001", SEED_IDS[0]]),
        ({"responder": "AnsweringMachine"}, ["call-002", SEED_IDS[1]]),
        ({"isFinished": "true"}, ["call-001", SEED_IDS[0]]),
        # a missing bool is false (reports.md), so false matches calls that never said
        (
            {"isFinished": "false"},
            [*NEW, "call-005", "call-004", "call-003", "call-002", SEED_IDS[1]],
        ),
        ({"transferredToOperator": "true"}, ["call-004"]),
        ({"duration": "10"}, ["call-003", "call-001"]),
        ({"regionId": "78"}, ["call-002"]),
        ({"timezone": "5"}, ["call-002"]),
        ({"botName": "A"}, ["call-003", "call-001"]),
        ({"price": "0.40"}, ["call-002", SEED_IDS[1]]),
        ({"dialogResults": "ok"}, ["call-001"]),
        ({"nps": "9"}, ["call-001"]),
        ({"externalId": "crm-3"}, ["call-003"]),
        ({"additional": "vip"}, ["call-004"]),
        ({"shortNumber": "105"}, ["call-003"]),
        ({"createdAt": "2024-03-01T03:02:00+03:00"}, ["call-002"]),
        ({"startedAt": "2024-03-02T10:00:00Z"}, ["call-005"]),
        ({"dialogId": "9e0b5349-9cb5-44a9-b5f4-bbec60ceff01"}, [SEED_IDS[0]]),
        ({"taskName": TASK_NAME}, SEED_IDS),
        ({"linkToLog": "/ed7168f7-0e1b-41dc-bab3-8f6047a9146b/general.log"}, [SEED_IDS[1]]),
        ({"recordPath": RECORDS + "99c5b0fe-fa95-40e8-8a47-f90774c336cd.mp3"}, [SEED_IDS[0]]),
        ({"botId": BOT_ID}, SEED_IDS),
        ({"operatorDuration": "0"}, []),
        # filters on different fields all apply
        ({"phone": "700", "taskId": "t2"}, ["call-003"]),
        ({"phone": "700", "status": "ANSWER"}, ["call-001"]),
        # an empty value filters nothing
        ({"phone": "", "taskId": "t3"}, ["call-005"]),
        ({"status": ","}, ALL_CALLS),
        # comma-separated values match any of them (issue 20)
        ({"status": "NOANSWER,BUSY"}, ["call-004", "call-003"]),
        ({"status": "BUSY, answer"}, ["call-003", "call-002", "call-001", *SEED_IDS]),
        ({"status": "BUSY,"}, ["call-003"]),
        ({"phone": "701,702"}, ["call-004", "call-002"]),
        ({"taskId": "t1,t3"}, ["call-005", "call-002", "call-001"]),
        ({"regionId": "77,78"}, ["call-003", "call-002", "call-001"]),
        ({"duration": "0,20"}, ["call-004", "call-002"]),
        ({"responder": "Human,AnsweringMachine"}, ["call-002", "call-001", *SEED_IDS]),
        ({"isFinished": "true,false"}, ALL_CALLS),
        ({"createdAt": "2024-03-01T00:01:00Z,2024-03-01T00:03:00Z"}, ["call-003", "call-001"]),
        ({"id": "call-004,call-001"}, ["call-004", "call-001"]),
        ({"price": "0.40,1.10"}, ["call-002", "call-001", SEED_IDS[1]]),
        # free text is taken whole: a name may hold a comma
        ({"taskName": "Sale, autumn"}, ["call-006"]),
        ({"taskName": "Sale"}, ["call-007"]),
        ({"botName": "A,B"}, []),
        # a status outside seed 003's list ("statuses for the old telephony") is a status too
        ({"status": "VOICEMAIL"}, ["call-006"]),
        ({"status": "voicemail,FZ230"}, ["call-006", "call-005"]),
        ({"status": "ANSWR"}, []),
        # `timezone` is the customer's phone's time zone (seed 003's field), a filter like the rest
        ({"timezone": "3"}, ["call-001", *SEED_IDS]),
    ],
)
def test_each_filter(
    client: TestClient, more_varied: dict[str, str], params: dict[str, str], expected: list[str]
) -> None:
    body = search(client, more_varied, **params)
    assert ids(body) == expected
    assert body["count"] == len(expected)


def test_a_repeated_filter_matches_any_of_its_values(
    client: TestClient, varied: dict[str, str]
) -> None:
    body = client.get(f"{CALLS}?status=BUSY&status=NOANSWER", headers=varied).json()
    assert ids(body) == ["call-004", "call-003"]


@pytest.mark.parametrize(
    ("query", "expected", "header"),
    [
        # Twin24 clients send parameters ccstats does not know: ignored, named in a header
        ("withoutCount=true&status=BUSY", ["call-003"], "withoutCount"),
        ("colour=red&withoutCount=1&colour=blue", ALL_CALLS[2:], "colour, withoutCount"),
        ("%D1%86%D0%B2%D0%B5%D1%82=red&phone=702", ["call-004"], "%D1%86%D0%B2%D0%B5%D1%82"),
        ("status=BUSY", ["call-003"], None),
    ],
)
def test_unknown_parameters_are_ignored_and_named_in_a_header(
    client: TestClient, varied: dict[str, str], query: str, expected: list[str], header: str | None
) -> None:
    response = client.get(f"{CALLS}?{query}&fields=id", headers=varied)
    assert response.status_code == 200, response.text
    assert ids(response.json()) == expected
    assert response.headers.get("x-ignored-parameters") == header
    exported = client.get(f"{CALLS}?{query}&fields=id&output=CSV", headers=varied)
    assert _csv_rows(exported.content) == [["id"], *([i] for i in expected)]
    assert exported.headers.get("x-ignored-parameters") == header


def test_the_ignored_parameters_header_is_bounded() -> None:
    names = [f"p{i}" for i in range(60)]
    header = twin24.ignored_header(names)
    assert header == ", ".join(names[:50]) + ", ... (10 more)"


@pytest.mark.parametrize(
    ("query", "parameter", "allowed"),
    [
        ("responder=Robot", "responder", "AnsweringMachine"),
        ("duration=long", "duration", None),
        ("duration=10,long", "duration", None),
        ("responder=Human,Robot", "responder", "AnsweringMachine"),
        ("isFinished=maybe", "isFinished", "true"),
        ("createdAt=yesterday", "createdAt", None),
        ("messages=hello", "messages", None),
        ("messagesAsString=hello", "messagesAsString", None),
        ("fields=id,colour", "fields", "messagesAsString"),
        ("sort=messages", "sort", "createdAt"),
        ("sort=-colour", "sort", "createdAt"),
        ("limit=1001", "limit", None),
        ("limit=0", "limit", None),
        ("limit=ten", "limit", None),
        ("offset=-1", "offset", None),
        ("page=-1", "page", None),
        ("from=2024-13-01", "from", None),
        ("to=soon", "to", None),
        ("from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z", "to", None),
        ("filterPeriodBy=endedAt", "filterPeriodBy", "updatedAt"),
        ("output=PDF", "output", "EXCEL"),
        ("output=csv&archive=yes", "archive", "true"),
    ],
)
def test_bad_parameter_is_422_naming_it(
    client: TestClient, query: str, parameter: str, allowed: str | None
) -> None:
    response = client.get(f"{CALLS}?{query}", headers=bearer(client))
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "details"}
    assert body["details"]["parameter"] == parameter
    assert body["error"].startswith(f"{parameter}: ")
    if allowed:
        assert allowed in body["details"]["allowed"] and allowed in body["error"]


# -- period ------------------------------------------------------------------------------------------


def test_from_to_is_half_open_on_created_at_by_default(
    client: TestClient, varied: dict[str, str]
) -> None:
    # call-001 is created 00:01Z, call-004 at 00:04Z: [00:01, 00:04) holds 001, 002, 003
    body = search(
        client, varied, **{"from": "2024-03-01T03:01:00+03:00", "to": "2024-03-01T00:04:00Z"}
    )
    assert ids(body) == ["call-003", "call-002", "call-001"]
    only_from = search(client, varied, **{"from": "2024-03-01T00:04:00Z"})
    assert ids(only_from) == ["call-005", "call-004"]
    only_to = search(client, varied, to="2024-03-01T00:00:00Z")
    assert ids(only_to) == SEED_IDS


def test_an_unencoded_plus_in_the_offset_is_understood(
    client: TestClient, varied: dict[str, str]
) -> None:
    # seed 003 asks clients to URL-encode `+`; a raw one arrives as a space
    response = client.get(
        f"{CALLS}?from=2024-03-01T03:04:00+03:00&to=2024-03-01T03:05:00+03:00", headers=varied
    )
    assert ids(response.json()) == ["call-004"]


def test_a_time_without_offset_is_tenant_local(client: TestClient, varied: dict[str, str]) -> None:
    # retail is Europe/Moscow (UTC+3): 03:02 local is 00:02Z
    body = search(client, varied, **{"from": "2024-03-01T03:02:00", "to": "2024-03-01T03:03:00"})
    assert ids(body) == ["call-002"]
    whole_day = search(client, varied, **{"from": "2024-03-01", "to": "2024-03-02"})
    assert whole_day["count"] == 5


@pytest.mark.parametrize(
    ("by", "expected"),
    [("startedAt", ["call-005"]), ("updatedAt", ["call-005"]), ("createdAt", [])],
)
def test_filter_period_by(
    client: TestClient, varied: dict[str, str], by: str, expected: list[str]
) -> None:
    params = {"from": "2024-03-02T00:00:00Z", "to": "2024-03-03T00:00:00Z", "filterPeriodBy": by}
    assert ids(search(client, varied, **params)) == expected


# -- sort and paging ----------------------------------------------------------------------------------


def test_sort_by_several_fields(client: TestClient, varied: dict[str, str]) -> None:
    # duration descending (nulls last: 005 has none), then phone ascending, then id
    body = search(client, varied, sort="-duration,phone", fields="id,duration,phone")
    assert ids(body) == [
        "call-002",  # 20
        SEED_IDS[0],  # 18
        "call-001",  # 10, phone 700
        "call-003",  # 10, phone 700 (id breaks the tie)
        SEED_IDS[1],  # 5
        "call-004",  # 0
        "call-005",  # no duration
    ]
    ascending = search(client, varied, sort="createdAt")
    assert ids(ascending) == [SEED_IDS[1], SEED_IDS[0], *[f"call-00{i}" for i in range(1, 6)]]


@pytest.fixture
def many(client: TestClient, retail: Store) -> dict[str, str]:
    """53 calls of `retail` in 8 groups sharing a creation time; returns headers."""
    base = datetime(2024, 5, 1, tzinfo=UTC)
    load(
        retail,
        [
            {
                "id": f"m-{i:02d}",
                "tenant_id": "retail",
                "channel": "voice",
                "created_at": (base + timedelta(minutes=i % 8)).isoformat(),
                "duration_s": i % 3,
            }
            for i in range(53)
        ],
    )
    return bearer(client)


def _expected_order() -> list[str]:
    # -createdAt, id ascending within a creation time; the seed's calls are older than all
    ordered = sorted(range(53), key=lambda i: (-(i % 8), f"m-{i:02d}"))
    return [f"m-{i:02d}" for i in ordered] + SEED_IDS


@pytest.mark.parametrize("how", ["offset", "page", "offset+page"])
def test_paging_never_repeats_or_skips(client: TestClient, many: dict[str, str], how: str) -> None:
    seen: list[str] = []
    for n in range(12):
        if how == "offset":
            params = {"limit": 5, "offset": 5 * n}
        elif how == "page":
            params = {"limit": 5, "page": n}
        else:  # the first row is offset + page * limit
            params = {"limit": 5, "offset": 3, "page": n}
        body = search(client, many, fields="id", **params)
        assert body["count"] == 55
        seen += ids(body)
        if len(body["items"]) < 5:
            break
    expected = _expected_order()
    assert seen == (expected[3:] if how == "offset+page" else expected)


def test_default_limit_is_100(client: TestClient, retail: Store) -> None:
    load(retail, [call(i) for i in range(150)])
    body = search(client, bearer(client), fields="id")
    assert (body["count"], len(body["items"])) == (152, 100)
    assert len(search(client, bearer(client), fields="id", limit=1000)["items"]) == 152


def test_the_50000_window(
    client: TestClient, many: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert twin24.WINDOW == 50_000
    monkeypatch.setattr(twin24, "WINDOW", 20)  # the same rule on a window of 20 of the 55 calls
    expected = _expected_order()
    within = client.get(CALLS, params={"limit": 10, "offset": 10, "fields": "id"}, headers=many)
    assert ids(within.json()) == expected[10:20]
    assert "x-truncated-at" not in within.headers
    # Seed 003: at most the window can be read. A page reaching past it stops there; a page
    # starting at or past it is empty; `count` stays the true number of matches.
    for params, items in (
        ({"limit": 10, "offset": 11}, expected[11:20]),
        ({"limit": 10, "page": 2}, []),
        ({"offset": 20}, []),
        ({"offset": 60}, []),
    ):
        response = client.get(CALLS, params={**params, "fields": "id"}, headers=many)
        assert response.status_code == 200, response.text
        assert (ids(response.json()), response.json()["count"]) == (items, 55)
        assert response.headers["x-truncated-at"] == "20"
    # a narrower period (minutes 5, 6, 7: 3 x 6 calls) fits the window: its last page is served
    # although offset + limit reaches past 20, since no row past position 20 exists
    narrow = {"from": "2024-05-01T00:05:00Z", "limit": 10, "offset": 10, "fields": "id"}
    response = client.get(CALLS, params=narrow, headers=many)
    assert (response.json()["count"], len(response.json()["items"])) == (18, 8)
    assert "x-truncated-at" not in response.headers


@pytest.mark.parametrize("limit", [10, 7, 100])
def test_paging_as_the_seed_describes_ends_at_the_window(
    client: TestClient, many: dict[str, str], monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Seed 003's loop: repeat with the offset moved by what came back until fewer than `limit`
    come back. With the window at 20 of 55 calls it reads the first 20 and stops."""
    monkeypatch.setattr(twin24, "WINDOW", 20)
    seen: list[str] = []
    for _ in range(10):
        body = search(client, many, fields="id", limit=limit, offset=len(seen))
        assert body["count"] == 55
        seen += ids(body)
        if len(body["items"]) < limit:
            break
    assert seen == _expected_order()[:20]


# -- exports ----------------------------------------------------------------------------------------


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_csv_export_holds_the_whole_result(client: TestClient, varied: dict[str, str]) -> None:
    params = {
        "output": "CSV",
        "fields": "id,status,duration,isFinished,createdAt,messages",
        "limit": 1,
    }
    response = client.get(CALLS, params=params, headers=varied)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="calls.csv"'
    assert response.headers["content-type"].startswith("text/csv")
    rows = _csv_rows(response.content)
    assert rows[0] == ["id", "status", "duration", "isFinished", "createdAt", "messages"]
    assert len(rows) == 1 + 7  # every match, whatever the page size
    assert rows[1] == ["call-005", "FZ230", "", "false", "2024-03-01T00:05:00.000000Z", ""]
    first_seed = rows[6]
    assert first_seed == [
        SEED_IDS[0],
        "ANSWERED",
        "18",
        "true",
        "2022-06-29T05:44:14.000000Z",
        SEED_RESPONSE["items"][0]["messagesAsString"],  # `messages` as messagesAsString
    ]


def test_csv_export_with_filters_sort_and_filename(
    client: TestClient, varied: dict[str, str]
) -> None:
    params = {
        "output": "csv",
        "phone": "700",
        "sort": "createdAt",
        "fields": "id",
        "filename": "june",
    }
    response = client.get(CALLS, params=params, headers=varied)
    assert response.headers["content-disposition"] == 'attachment; filename="june.csv"'
    assert _csv_rows(response.content) == [["id"], ["call-001"], ["call-003"], ["call-005"]]


def test_non_ascii_file_name(client: TestClient, varied: dict[str, str]) -> None:
    response = client.get(CALLS, params={"output": "CSV", "filename": "звонки"}, headers=varied)
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"calls.csv\"; filename*=UTF-8''%D0%B7%D0%B2%D0%BE%D0%BD%D0%BA%D0%B8.csv"
    )


def test_excel_export_reads_back_with_openpyxl(client: TestClient, varied: dict[str, str]) -> None:
    fields = "id,duration,transferredToOperator,responder,messagesAsString"
    response = client.get(
        CALLS, params={"output": "excel", "fields": fields, "status": "ANSWER"}, headers=varied
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="calls.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows == [
        fields.split(","),
        ["call-002", 20, False, "AnsweringMachine", None],
        ["call-001", 10, False, "Human", None],
        [SEED_IDS[0], 18, False, "Human", SEED_RESPONSE["items"][0]["messagesAsString"]],
        [SEED_IDS[1], 5, False, "AnsweringMachine", SEED_RESPONSE["items"][1]["messagesAsString"]],
    ]


@pytest.mark.parametrize(("output", "inner"), [("CSV", "report.csv"), ("EXCEL", "report.xlsx")])
def test_archive_wraps_the_file_in_a_zip(
    client: TestClient, varied: dict[str, str], output: str, inner: str
) -> None:
    params = {
        "output": output,
        "archive": "true",
        "filename": "report",
        "fields": "id",
        "taskId": "t1",
    }
    response = client.get(CALLS, params=params, headers=varied)
    assert response.headers["content-disposition"] == 'attachment; filename="report.zip"'
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == [inner]
    data = archive.read(inner)
    if output == "CSV":
        assert _csv_rows(data) == [["id"], ["call-002"], ["call-001"]]
    else:
        sheet = load_workbook(io.BytesIO(data), read_only=True).active
        assert sheet is not None
        assert [r[0] for r in sheet.iter_rows(values_only=True)] == ["id", "call-002", "call-001"]


def test_an_export_past_the_window_holds_its_first_rows_and_says_so(
    client: TestClient, many: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twin24, "WINDOW", 20)
    response = client.get(CALLS, params={"output": "CSV", "fields": "id"}, headers=many)
    assert response.status_code == 200, response.text
    assert _csv_rows(response.content) == [["id"], *([i] for i in _expected_order()[:20])]
    assert (response.headers["x-total-count"], response.headers["x-truncated-at"]) == ("55", "20")
    # the first 20 in the requested sort: duration 0 (m-00, m-03, ... m-51: 18 calls, by id),
    # then duration 1 (m-01, m-04)
    by_duration = {"output": "CSV", "fields": "id", "sort": "duration"}
    response = client.get(CALLS, params=by_duration, headers=many)
    first = [f"m-{i:02d}" for i in range(0, 53, 3)] + ["m-01", "m-04"]
    assert _csv_rows(response.content) == [["id"], *([i] for i in first)]
    excel = client.get(CALLS, params={**by_duration, "output": "EXCEL"}, headers=many)
    sheet = load_workbook(io.BytesIO(excel.content), read_only=True).active
    assert sheet is not None
    assert [r[0] for r in sheet.iter_rows(values_only=True)] == ["id", *first]
    assert excel.headers["x-truncated-at"] == "20"
    narrow = client.get(
        CALLS, params={"output": "CSV", "from": "2024-05-01T00:05:00Z"}, headers=many
    )
    assert len(_csv_rows(narrow.content)) == 1 + 18
    assert narrow.headers["x-total-count"] == "18" and "x-truncated-at" not in narrow.headers


def test_export_needs_a_token(client: TestClient) -> None:
    response = client.get(CALLS, params={"output": "CSV"})
    assert (response.status_code, response.json()["error"]) == (401, "Unauthorized.")


# -- a trailing slash (issue 20) ------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["/", "//"])
@pytest.mark.parametrize(
    "query",
    ["fields=id,status&status=ANSWER", "status=BUSY,NOANSWER&withoutCount=1", "limit=5000"],
)
def test_a_trailing_slash_on_the_search_answers_as_without_it(
    client: TestClient, varied: dict[str, str], query: str, slash: str
) -> None:
    plain = client.get(f"{CALLS}?{query}", headers=varied, follow_redirects=False)
    slashed = client.get(f"{CALLS}{slash}?{query}", headers=varied, follow_redirects=False)
    assert (slashed.status_code, slashed.json()) == (plain.status_code, plain.json())
    assert plain.status_code in (200, 422)
    assert slashed.headers.get("x-ignored-parameters") == plain.headers.get("x-ignored-parameters")


@pytest.mark.parametrize("slash", ["/", "//"])
def test_a_trailing_slash_on_login_and_refresh(client: TestClient, slash: str) -> None:
    login = client.post(
        f"/api/v1/auth/login{slash}",
        json={"email": EMAIL, "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 200, login.text
    refreshed = client.get(
        f"/api/v1/auth/refresh{slash}",
        params={"refreshToken": login.json()["refreshToken"]},
        follow_redirects=False,
    )
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"token", "refreshToken"}
    wrong = client.post(
        f"/api/v1/auth/login{slash}", json={"email": EMAIL, "password": "x"}, follow_redirects=False
    )
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"error": "Invalid credentials.", "details": None},
    )


# -- framework errors in Twin24's shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/search/cis/unknown", 404),
        ("POST", CALLS, 405),
        ("GET", "/api/v1/auth/login", 405),
    ],
)
def test_framework_errors_in_twin24_shape(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert set(response.json()) == {"error", "details"}


def test_a_period_of_50010_calls(client: TestClient, retail: Store) -> None:
    """The issue's case at full size: 50 010 calls in one period, read as seed 003 says."""
    base = datetime(2024, 6, 1, tzinfo=UTC)
    load(
        retail,
        [
            {
                "id": f"w-{i:05d}",
                "tenant_id": "retail",
                "channel": "voice",
                "created_at": (base + timedelta(seconds=i)).isoformat(),
            }
            for i in range(50_010)
        ],
    )
    headers = bearer(client)
    june = {"from": "2024-06-01T00:00:00Z", "fields": "id", "sort": "createdAt"}
    body = search(client, headers, limit=1000, offset=49_000, **june)
    assert (body["count"], len(body["items"])) == (50_010, 1000)
    assert body["items"][-1]["id"] == "w-49999"
    last = client.get(CALLS, params={**june, "limit": 1000, "offset": 50_000}, headers=headers)
    assert (last.status_code, last.json()) == (200, {"count": 50_010, "items": []})
    export = client.get(CALLS, params={**june, "output": "CSV"}, headers=headers)
    rows = _csv_rows(export.content)
    assert len(rows) == 1 + 50_000 and rows[-1] == ["w-49999"]
    assert (export.headers["x-total-count"], export.headers["x-truncated-at"]) == (
        "50010",
        "50000",
    )
