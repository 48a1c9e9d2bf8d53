"""Callers of every dialect over the demo tenants, and each dialect's error shape.

Credentials are the demo's fixed ones (`ccstats.demo`, README "Demo data"); a signed dialect signs
each request afresh, as its vendor's client does.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi.testclient import TestClient

from ccstats.dialects import aliyun, sevenmoor

BANK = "202104237142"
NATIVE = {"authorization": "Bearer ccs_bank_demo-token"}
HUAWEI_KEY, HUAWEI_SECRET = BANK, "demo-huawei-secret"
MOOR_KEY, MOOR_SECRET = "2000103", "HWHp9xFVlbboxIU2S6DHA7sf9sGzt3"
TWIN24_EMAIL, TWIN24_PASSWORD = "demo@twin24.local", "demo-password"
ALIYUN_KEY, ALIYUN_SECRET = "LTAIdemo0000000000000000", "demoAccessKeySecret0000000000"
ALIYUN_INSTANCE = "ccc_xp_pre-cn-demo"

Client = TestClient | httpx.Client


def moor_headers(appkey: str = MOOR_KEY, secret: str = MOOR_SECRET) -> dict[str, str]:
    """Fresh m7-* headers (a new nonce each time)."""
    timestamp, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex[:8]
    return {
        "m7-appkey": appkey,
        "m7-nonce": nonce,
        "m7-timestamp": timestamp,
        "m7-sign": sevenmoor.sign(secret, appkey, timestamp, nonce),
        "content-type": "application/json",
    }


def huawei_token(client: Client) -> str:
    """An authToken of the demo bank."""
    answer = client.post(
        "/oifde/rest/api/gettoken", json={"appKey": HUAWEI_KEY, "appSecret": HUAWEI_SECRET}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["authToken"]
    return token


def twin24_headers(client: Client) -> dict[str, str]:
    """A Bearer JWT of the demo Twin24 login."""
    answer = client.post(
        "/api/v1/auth/login", json={"email": TWIN24_EMAIL, "password": TWIN24_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


def aliyun_query(params: dict[str, str], method: str = "POST", secret: str = ALIYUN_SECRET) -> str:
    """A HotlineSessionQuery query string signed with the legacy HMAC-SHA1 signature."""
    pairs = {
        "Action": "HotlineSessionQuery",
        "Version": aliyun.VERSION,
        "AccessKeyId": ALIYUN_KEY,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Format": "JSON",
        **params,
    }
    items = list(pairs.items())
    signature = aliyun.signature_v2(secret, aliyun.string_to_sign_v2(method, items))
    return urlencode([*items, ("Signature", signature)])


def dialect_of(path: str) -> str:
    """Which error shape a path answers in."""
    if path.startswith("/oifde/"):
        return "huawei"
    if path.startswith("/openapi/im-report/"):
        return "7moor"
    if path.startswith("/api/v1/"):
        return "twin24"
    if path == "/" or path.startswith("/?"):
        return "aliyun"
    return "native"


def assert_error_shape(dialect: str, response: httpx.Response) -> None:
    """The body is the dialect's error shape (and never a traceback)."""
    assert "Traceback" not in response.text
    body: Any = response.json()
    status = response.status_code
    if dialect == "native":
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    elif dialect == "huawei":
        assert set(body) == {"errorCode", "errorMsg"}, body
        assert isinstance(body["errorCode"], int) and body["errorCode"] != 0
    elif dialect == "7moor":
        assert body["success"] is False and body["code"] == str(status), body
        assert body["data"] is None and "requestInfo" in body and body["message"]
    elif dialect == "twin24":
        assert set(body) == {"error", "details"}, body
        assert isinstance(body["error"], str) and body["error"]
    else:
        assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}, body
        assert body["Code"] and body["Message"]
