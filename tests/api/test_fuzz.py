"""Schemathesis over `/openapi.json`: every operation, with valid credentials for its dialect,
a bounded number of generated requests (valid and invalid), asserting no 5xx and conformance to
the documented responses (status codes, content types, error shapes)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.clients import (
    ALIYUN_INSTANCE,
    BANK,
    NATIVE,
    aliyun_query,
    huawei_token,
    moor_headers,
    twin24_headers,
)
from tests.conftest import ADMIN_TOKEN

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.ratelimit import AuthLimits
from ccstats.storage import DuckDBStore

EXAMPLES = int(os.environ.get("CCSTATS_FUZZ_EXAMPLES", "12"))
"""Generated requests per operation and phase: 23 operations in well under two minutes."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def _app() -> FastAPI:
    """The app over the demo data (a few hundred records) in a store of its own."""
    store = DuckDBStore(":memory:")
    create_demo(store, 200)
    # Fuzzed logins fail by the hundred from one address: keep them from blocking it.
    limits = AuthLimits(per_key=10**6, per_address=10**6)
    return create_app(Settings(db=":memory:", admin_token=ADMIN_TOKEN, auth_limits=limits), store)


APP = _app()
# Two admin operations are left to their own tests (tests/api/test_lifecycle.py and the backup
# tests): generated bodies would build demos of up to 2 000 000 conversations and write backup
# files to generated paths of this machine.
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", APP)
    .exclude(method="POST", path="/v1/admin/demo")
    .exclude(method="POST", path="/v1/admin/backup")
)
schema.config.generation.update(max_examples=EXAMPLES)


@pytest.fixture(scope="module")
def credentials() -> dict[str, Any]:
    with TestClient(APP) as client:
        return {"huawei": huawei_token(client), "twin24": twin24_headers(client)}


def _authenticate(case: Any, credentials: dict[str, Any]) -> None:
    """Valid credentials of the operation's dialect, as that dialect's client sends them."""
    path: str = case.path
    if path.startswith(("/v1/tenants", "/v1/admin/")):
        case.headers = {**(case.headers or {}), **ADMIN}
    elif path.startswith("/v1/"):
        case.headers = {**(case.headers or {}), **NATIVE}
    elif path.startswith("/oifde/rest/api/query") and isinstance(case.body, dict):
        case.body = {**case.body, "authToken": credentials["huawei"], "tenantId": BANK}
    elif path.startswith("/openapi/im-report/"):
        case.headers = {**(case.headers or {}), **moor_headers()}
    elif path == "/api/v1/search/cis/calls":
        case.headers = {**(case.headers or {}), **credentials["twin24"]}
    elif path == "/" and case.method == "POST":
        params = {str(k): str(v) for k, v in (case.query or {}).items()}
        signed = aliyun_query({"InstanceId": ALIYUN_INSTANCE, **params}, case.method)
        case.query = dict(parse_qsl(signed, keep_blank_values=True))


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    max_examples=EXAMPLES,
)
def test_no_server_error_and_documented_answers(case: Any, credentials: dict[str, Any]) -> None:
    _authenticate(case, credentials)
    response = case.call()
    case.validate_response(response, checks=CHECKS)
