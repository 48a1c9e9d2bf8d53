"""The app's middleware over a real uvicorn: errors in the caller's dialect, connection kept."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from tests.clients import assert_error_shape, dialect_of, moor_headers
from tests.conftest import ADMIN_TOKEN
from tests.serving import serve

from ccstats.api.middleware import DRAIN_BYTES
from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.storage import DuckDBStore

BANK = {"authorization": "Bearer ccs_bank_demo-token"}


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    """The app over the demo tenants (a few records), with a route that crashes."""
    with DuckDBStore(":memory:") as store:
        create_demo(store, 50)
        app = create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN), store)

        @app.get("/v1/test-crash")
        def crash() -> None:
            raise RuntimeError("a bug")

        @app.get("/api/v1/test-crash")
        def twin24_crash() -> None:
            raise RuntimeError("a bug")

        yield app


@pytest.fixture(scope="module")
def base(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _local_address(response: httpx.Response) -> object:
    return response.extensions["network_stream"].get_extra_info("client_addr")


ERRORS = [
    ("GET", "/v1/test-crash", None, 500),
    ("GET", "/api/v1/test-crash", None, 500),
    ("GET", "/v1/conversations?from=0001-01-01", None, 400),
    ("POST", "/v1/query", {"metrics": ["conversations"], "from": 10**30, "to": "2024-01-01"}, 400),
    ("POST", "/v1/query", {"metrics": ["x"], "from": "2024-01-01", "to": "2024-01-02"}, 400),
    ("GET", "/v1/nowhere", None, 404),
    ("DELETE", "/v1/metrics", None, 405),
    ("GET", "/api/v1/search/cis/calls?from=0001-01-01", None, 401),
    ("POST", "/api/v1/auth/login", {"email": 1}, 422),
    ("POST", "/oifde/rest/api/queryChatbotReport", {"timestamp": 10**30}, 401),
    ("POST", "/oifde/rest/api/gettoken", [1], 400),
    ("POST", "/openapi/im-report/session/time", {}, 401),
    ("POST", "/?Action=HotlineSessionQuery", None, 400),
    ("GET", "/v1/metrics", None, 200),
]


def test_errors_and_crashes_keep_the_connection(base: str) -> None:
    # Issue 15: after a 500 the server closed the keep-alive connection.
    with httpx.Client(base_url=base, headers=BANK, limits=httpx.Limits(max_connections=1)) as c:
        first = c.get("/v1/metrics")
        address = _local_address(first)
        for method, path, body, status in ERRORS:
            response = c.request(method, path, json=body)
            assert response.status_code == status, (path, response.text)
            assert response.headers.get("connection") != "close", path
            assert _local_address(response) == address, f"{method} {path} closed the connection"


def test_a_crash_is_answered_in_the_dialect_of_its_path(base: str) -> None:
    with httpx.Client(base_url=base, headers=BANK) as client:
        native = client.get("/v1/test-crash")
        twin24 = client.get("/api/v1/test-crash")
    assert native.status_code == twin24.status_code == 500
    assert native.json()["error"]["code"] == "internal_error"
    assert twin24.json() == {
        "error": "internal error; the server log has the details",
        "details": None,
    }
    assert "Traceback" not in native.text + twin24.text


# -- request body limits ----------------------------------------------------------------------

LIMITS = Settings(
    db=":memory:", admin_token=ADMIN_TOKEN, max_body_bytes=50_000, max_query_body_bytes=2_000
)
CHUNK = b" " * 1000


async def _drive(
    app: FastAPI, method: str, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, dict[str, str], bytes, int]:
    """One request straight through the ASGI app: (status, headers, body, body bytes read)."""
    read = 0
    started: dict[str, Any] = {}
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    response_headers = {k.decode(): v.decode() for k, v in started.get("headers", [])}
    return started["status"], response_headers, b"".join(parts), read


def _endless() -> Iterator[bytes]:
    while True:
        yield CHUNK


@pytest.fixture(scope="module")
def limited() -> Iterator[FastAPI]:
    with DuckDBStore(":memory:") as store:
        create_demo(store, 20)
        yield create_app(LIMITS, store)


CHUNKED = {"transfer-encoding": "chunked", "content-type": "application/json"}
SIGNED_7MOOR = "/openapi/im-report/session/time"


@pytest.mark.parametrize(
    ("path", "headers", "limit"),
    [
        ("/v1/query", BANK, 2_000),
        ("/v1/conversations", BANK, 50_000),
        ("/v1/admin/conversations", {"authorization": f"Bearer {ADMIN_TOKEN}"}, 50_000),
        ("/oifde/rest/api/queryChatbotReport", {}, 2_000),
        ("/api/v1/auth/login", {}, 2_000),
        ("/?Action=HotlineSessionQuery", {}, 2_000),
    ],
)
def test_an_endless_body_is_cut_at_the_limit(
    limited: FastAPI, path: str, headers: dict[str, str], limit: int
) -> None:
    # Issue 15: any path read a body of any size (300 MB: +600 MB resident).
    status, answer_headers, body, read = asyncio.run(
        _drive(limited, "POST", path, {**CHUNKED, **headers}, _endless())
    )
    assert status == 413, body
    assert read <= limit + len(CHUNK)  # never a chunk past the one that crossed the limit
    assert answer_headers["connection"] == "close"  # the rest of the body is still unread
    assert_error_shape(dialect_of(path), httpx.Response(status, content=body))


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/query", {}, 401),
        ("/v1/conversations", {"authorization": "Bearer ccs_bank_wrong"}, 401),
        ("/v1/admin/conversations", {"authorization": "Bearer nope"}, 401),
        (SIGNED_7MOOR, {}, 401),
        (SIGNED_7MOOR, {**moor_headers(), "m7-sign": "forged"}, 401),
        ("/?Action=HotlineSessionQuery&Signature=x&AccessKeyId=nobody&Timestamp=now", {}, 404),
    ],
)
def test_header_credentials_are_checked_before_the_body_is_read(
    limited: FastAPI, path: str, headers: dict[str, str], status: int
) -> None:
    got, _, body, read = asyncio.run(
        _drive(limited, "POST", path, {**CHUNKED, **headers}, _endless())
    )
    assert got == status, body
    assert read <= DRAIN_BYTES + len(CHUNK)
    assert_error_shape(dialect_of(path), httpx.Response(got, content=body))


def test_a_small_refused_body_is_drained_and_the_connection_kept(limited: FastAPI) -> None:
    chunks = iter([b'{"metrics": []}'])
    status, headers, _, _ = asyncio.run(
        _drive(limited, "POST", "/v1/query", {"content-length": "15"}, chunks)
    )
    assert status == 401
    assert "connection" not in headers


def test_a_body_within_the_limit_is_served(limited: FastAPI) -> None:
    record = b'{"id": "x", "channel": "chat", "created_at": 0, "extra": "'
    record += b"y" * (40_000 - len(record) - 2) + b'"}'
    assert len(record) == 40_000
    status, _, body, _ = asyncio.run(
        _drive(limited, "POST", "/v1/conversations", {**BANK}, iter([record]))
    )
    assert status == 200, body
    assert orjson.loads(body)["accepted"] == 1


def test_a_declared_length_over_the_limit_is_refused_before_the_body(base: str) -> None:
    # A real uvicorn: the 413 comes back while the client has sent none of its 300 MB.
    host, port = base.removeprefix("http://").split(":")
    for path in ("/v1/query", "/v1/conversations", SIGNED_7MOOR, "/api/v1/auth/login"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n\r\n"
            sock.sendall(head.encode())
            received = b""
            while chunk := sock.recv(65536):  # the server closes the connection after the 413
                received += chunk
            answer = received.decode("utf-8", "replace")
        status_line, _, rest = answer.partition("\r\n")
        assert status_line.endswith("413 Request Entity Too Large"), answer
        assert "connection: close" in rest.lower()
        assert_error_shape(
            dialect_of(path), httpx.Response(413, content=rest.split("\r\n\r\n", 1)[1])
        )


def test_body_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCSTATS_MAX_BODY_BYTES", "2MiB")
    monkeypatch.setenv("CCSTATS_MAX_QUERY_BODY_BYTES", "1500")
    settings = Settings()
    assert (settings.max_body_bytes, settings.max_query_body_bytes) == (2 * 1024 * 1024, 1500)
    monkeypatch.setenv("CCSTATS_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match=r"\$CCSTATS_MAX_BODY_BYTES must be a positive number"):
        Settings()
