"""`/v1/session`: the dashboard's sign-in cookie (HttpOnly, SameSite=Strict), accepted only with the
dashboard's header, and the answer to a browser nobody signed in yet."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential

from ccstats.storage import Store

HEADER = {"x-ccstats-client": "dashboard"}
QUERY = {"metrics": ["conversations"], "from": "2024-05-01", "to": "2024-05-02"}


def test_a_fresh_install_answers_200_and_says_so(app_client: TestClient, store: Store) -> None:
    assert app_client.get("/v1/session").json() == {"signed_in": False, "fresh_install": True}
    add_tenant(store, "acme")
    assert app_client.get("/v1/session").json() == {"signed_in": False, "fresh_install": False}


def test_sign_in_sets_an_http_only_strict_cookie(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "acme", "Europe/Berlin", name="Acme")
    token = credential(store, "acme", "api")["token"]
    answer = app_client.post("/v1/session", json={"token": token}, headers=HEADER)
    assert answer.status_code == 200
    body = answer.json()
    assert body["signed_in"] and body["tenant"]["id"] == "acme"
    assert body["tenant"]["timezone"] == "Europe/Berlin" and body["data_as_of"] is None
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"ccstats_session={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Max-Age" not in cookie and "Secure" not in cookie  # ends with the browser; plain http


def test_remember_keeps_the_cookie_30_days_and_https_makes_it_secure(
    app_client: TestClient, store: Store
) -> None:
    add_tenant(store, "acme")
    token = credential(store, "acme", "api")["token"]
    headers = {**HEADER, "x-forwarded-proto": "https"}
    answer = app_client.post(
        "/v1/session", json={"token": token, "remember": True}, headers=headers
    )
    cookie = answer.headers["set-cookie"]
    assert "Max-Age=2592000" in cookie and "Secure" in cookie


def test_the_cookie_counts_only_with_the_dashboard_header(
    app_client: TestClient, store: Store
) -> None:
    add_tenant(store, "acme")
    token = credential(store, "acme", "api")["token"]
    assert app_client.post("/v1/session", json={"token": token}, headers=HEADER).status_code == 200
    # The client now holds the cookie; a request without the header (a form or link of another
    # site) is not authenticated by it.
    assert app_client.post("/v1/query", json=QUERY).status_code == 401
    assert app_client.post("/v1/query", json=QUERY, headers=HEADER).status_code == 200
    assert app_client.get("/v1/session").json()["signed_in"] is False
    assert app_client.get("/v1/session", headers=HEADER).json()["signed_in"] is True


def test_refusals(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "acme")
    token = credential(store, "acme", "api")["token"]
    no_header = app_client.post("/v1/session", json={"token": token})
    assert no_header.status_code == 400 and no_header.json()["error"]["code"] == "missing_header"
    wrong = app_client.post("/v1/session", json={"token": "ccs_x_nope"}, headers=HEADER)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert wrong.json()["error"] == {
        "code": "unauthorized",
        "message": "the API token is not valid",
        "details": None,
    }
    too_long = app_client.post("/v1/session", json={"token": "x" * 513}, headers=HEADER)
    assert too_long.status_code == 400


def test_sign_out_expires_the_cookie(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "acme")
    token = credential(store, "acme", "api")["token"]
    app_client.post("/v1/session", json={"token": token}, headers=HEADER)
    out = app_client.delete("/v1/session", headers=HEADER)
    assert out.status_code == 200 and out.json()["signed_in"] is False
    assert (
        'ccstats_session=""' in out.headers["set-cookie"]
        and "Max-Age=0" in out.headers["set-cookie"]
    )
    assert app_client.post("/v1/query", json=QUERY, headers=HEADER).status_code == 401


def test_a_cookie_whose_token_stopped_working_is_cleared(
    app_client: TestClient, store: Store
) -> None:
    app_client.cookies.set("ccstats_session", "ccs_gone_token")
    answer = app_client.get("/v1/session", headers=HEADER)
    assert answer.json()["signed_in"] is False
    assert "Max-Age=0" in answer.headers["set-cookie"]


def test_a_bearer_token_needs_no_cookie(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "acme")
    token = credential(store, "acme", "api")["token"]
    answer = app_client.get("/v1/session", headers={"authorization": f"Bearer {token}"})
    assert answer.json()["tenant"]["id"] == "acme"
