"""The request log and its ids: one line per request, secrets never logged (query values of
sensitive parameters redacted; no header, no body), `X-Request-ID` returned; JSON lines with
`ccstats serve --log-format json` (a real server process)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential
from tests.serving import free_port, serving

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.observability import (
    ACCESS_LOGGER,
    JsonFormatter,
    RequestIdFilter,
    log_config,
    redact_query,
)
from ccstats.storage import DuckDBStore, Store

EMAIL, PASSWORD = "ops@example.com", "pass-word-never-logged"


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("", ""),
        ("refreshToken=abc&ttl=60", "refreshToken=***&ttl=60"),
        ("ttl=60&refresh_token=abc", "ttl=60&refresh_token=***"),
        (
            "Signature=x%2By&SignatureNonce=n&AccessKeyId=LTAI1",
            "Signature=***&SignatureNonce=***&AccessKeyId=LTAI1",
        ),
        (
            "SecurityToken=s&Action=HotlineSessionQuery",
            "SecurityToken=***&Action=HotlineSessionQuery",
        ),
        ("password=p&appSecret=s&api_key=k", "password=***&appSecret=***&api_key=***"),
        ("authToken=t&access_token=u&token=v", "authToken=***&access_token=***&token=***"),
        (
            "status=ANSWER&status=NOANSWER&from=2026-11-20T00%3A00",
            "status=ANSWER&status=NOANSWER&from=2026-11-20T00%3A00",
        ),
        ("refreshToken", "refreshToken"),  # no value, nothing to hide
        ("refresh%54oken=abc", "refresh%54oken=***"),  # an encoded name is read decoded
    ],
)
def test_redact_query(query: str, logged: str) -> None:
    assert redact_query(query) == logged


@pytest.fixture
def twin24(store: Store) -> Store:
    add_tenant(store, "t1")
    credential_ = credential(store, "t1", "twin24", EMAIL)
    assert credential_["email"] == EMAIL
    return store


def _twin24_password(store: Store) -> None:
    from ccstats.auth import create_credential

    create_credential(store.registry, "t1", "twin24", "pw@example.com", PASSWORD)


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)


def test_one_line_per_request_without_secrets(
    twin24: Store, app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _twin24_password(twin24)
    caplog.set_level(logging.INFO, logger="ccstats")
    login = app_client.post(
        "/api/v1/auth/login", json={"email": "pw@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    tokens = login.json()
    refreshed = app_client.get(
        "/api/v1/auth/refresh", params={"refreshToken": tokens["refreshToken"], "ttl": 60}
    )
    assert refreshed.status_code == 200
    api_token = credential(twin24, "t1", "api")["token"]
    search = app_client.get(
        "/v1/conversations", params={"limit": 5}, headers={"authorization": f"Bearer {api_token}"}
    )
    assert search.status_code == 200

    lines = _access(caplog)
    assert [r.getMessage().split('"')[1] for r in lines] == [
        "POST /api/v1/auth/login",
        "GET /api/v1/auth/refresh?refreshToken=***&ttl=60",
        "GET /v1/conversations?limit=5",
    ]
    assert [r.status for r in lines] == [200, 200, 200]
    assert [r.request_id for r in lines] == [
        a.headers["x-request-id"] for a in (login, refreshed, search)
    ]
    assert [r.route for r in lines] == [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/v1/conversations",
    ]
    logged = _everything(caplog)
    for secret in (
        PASSWORD,
        tokens["token"],
        tokens["refreshToken"],
        refreshed.json()["refreshToken"],
        api_token,
    ):
        assert secret not in logged


def test_request_ids_are_returned_and_a_callers_plain_id_kept(app_client: TestClient) -> None:
    first, second = app_client.get("/healthz"), app_client.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    given = app_client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"})
    assert given.headers["x-request-id"] == "lb-7f3a.2"
    for odd in ("has space", "x" * 129, "new\tline"):
        answer = app_client.get("/healthz", headers={"X-Request-ID": odd})
        assert answer.headers["x-request-id"] != odd
        assert len(answer.headers["x-request-id"]) == 32
    error = app_client.get("/v1/conversations")  # 401 in our shape, with the id too
    assert error.status_code == 401 and len(error.headers["x-request-id"]) == 32


def test_a_crash_is_logged_as_a_500(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(db=":memory:"), store)

    def boom() -> None:
        raise RuntimeError("crash in a handler")

    app.add_api_route("/boom", boom)
    caplog.set_level(logging.INFO, logger="ccstats")
    # As the server's log handler does: the request id is read when a record is emitted.
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    logging.getLogger("ccstats").addHandler(handler)
    try:
        answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    finally:
        logging.getLogger("ccstats").removeHandler(handler)
    assert answer.status_code == 500
    assert "crash in a handler" not in answer.text  # no traceback to the client
    [line] = _access(caplog)
    assert line.status == 500 and line.route == "/boom"
    [crash] = [r for r in seen if r.name == "ccstats"]
    assert crash.getMessage() == "unhandled error on /boom" and crash.exc_info
    assert crash.request_id == line.request_id


def test_json_formatter_writes_one_object_with_the_extras() -> None:
    record = logging.LogRecord(
        "ccstats.access", logging.INFO, __file__, 1, "%s done", ("GET",), None
    )
    record.request_id, record.status = "abc", 200
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": "-"} == {
        "time": "-",
        "level": "info",
        "logger": "ccstats.access",
        "message": "GET done",
        "request_id": "abc",
        "status": 200,
    }


def test_log_config_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="text, json"):
        log_config("xml")


def test_serve_with_json_logs_writes_one_json_line_per_request(tmp_path: Path) -> None:
    db = str(tmp_path / "ccstats.duckdb")
    with DuckDBStore(db) as store:
        add_tenant(store, "t1")
        _twin24_password(store)
    args = ["--db", db, "--port", str(free_port()), "--log-format", "json"]
    with serving(args, {"CCSTATS_ADMIN_TOKEN": "adm_json_logs"}) as server:
        login = httpx.post(
            server.base + "/api/v1/auth/login",
            json={"email": "pw@example.com", "password": PASSWORD},
        )
        refresh_token = login.json()["refreshToken"]
        refreshed = httpx.get(
            server.base + "/api/v1/auth/refresh", params={"refreshToken": refresh_token}
        )
        assert refreshed.status_code == 200
    stderr = server.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == len(lines), stderr  # every log line is JSON
    access = [r for r in records if r["logger"] == ACCESS_LOGGER]
    refresh_line = next(r for r in access if r["route"] == "/api/v1/auth/refresh")
    assert refresh_line["request_id"] == refreshed.headers["x-request-id"]
    assert refresh_line["path"] == "/api/v1/auth/refresh?refreshToken=***"
    assert refresh_line["status"] == 200 and refresh_line["dialect"] == "twin24"
    assert refresh_line["level"] == "info" and isinstance(refresh_line["duration_ms"], float)
    for secret in (PASSWORD, refresh_token, login.json()["token"], "adm_json_logs"):
        assert secret not in stderr
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
