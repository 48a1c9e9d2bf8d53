"""API docs that work offline: `/docs` and `/redoc` from the package's vendored assets (checked
against VENDORED.md), the security schemes, and the documented answers and errors of every `/v1`
operation, checked against real answers."""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from tests.conftest import ADMIN_TOKEN, add_tenant, credential
from tests.serving import free_port, serving

from ccstats.api import schemas
from ccstats.api.conversations import CONTROLS
from ccstats.api.schemas import (
    ERROR_CODES,
    ERROR_STATUSES,
    ROUTE_DOCS,
    ConversationAnswer,
    CreatedCredential,
    ErrorResponse,
    IngestAnswer,
    MetricCatalogue,
    QueryAnswer,
    SearchAnswer,
    TenantList,
)
from ccstats.records import TenantSettings
from ccstats.storage import Store

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "src" / "ccstats" / "api" / "vendor"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def _local_links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_assets_of_the_package(app_client: TestClient, page: str) -> None:
    html = app_client.get(page).text
    assert "http://" not in html and "https://" not in html  # no CDN, no web fonts
    links = _local_links(html)
    assert links and all(
        link.startswith(("/docs-assets/", "/static/", "static/")) for link in links
    ), links
    for link in links:
        asset = app_client.get(link if link.startswith("/") else "/" + link)
        assert asset.status_code == 200, link
        assert len(asset.content) > 200  # a file, not an error page
    if page == "/redoc":
        assert "'/openapi.json'" in html or '"/openapi.json"' in html


def test_docs_pages_under_a_root_path(app_client: TestClient, store: Store) -> None:
    client = TestClient(app_client.app, root_path="/ccstats")
    # Swagger UI's page links its files relative to itself, so it works under any root path.
    assert all(not link.startswith("/") for link in _local_links(client.get("/docs").text))
    html = client.get("/redoc").text
    assert "/ccstats/docs-assets/redoc/redoc.standalone.js" in html
    assert "/ccstats/openapi.json" in html


def test_vendored_assets_are_the_recorded_files_with_their_licences() -> None:
    record = (ASSETS / "VENDORED.md").read_text(encoding="utf-8")
    sums = dict(re.findall(r"^\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{64})` \|$", record, re.M))
    on_disk = {
        str(p.relative_to(ASSETS)) for p in ASSETS.rglob("*") if p.is_file() and p.suffix != ".md"
    }
    assert set(sums) == on_disk
    for name, digest in sums.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (ASSETS / "redoc" / "LICENSE").read_text()
    assert "redoc` | 2.5.4" in record


# -- the schema -----------------------------------------------------------------------------------


@pytest.fixture
def openapi(app_client: TestClient) -> dict[str, Any]:
    schema: dict[str, Any] = app_client.get("/openapi.json").json()
    return schema


def test_security_schemes_for_the_authorize_button(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["apiToken"]["type"] == "http" and schemes["apiToken"]["scheme"] == "bearer"
    assert schemes["adminToken"]["type"] == "http" and schemes["adminToken"]["scheme"] == "bearer"
    for (method, path), doc in ROUTE_DOCS.items():
        security = openapi["paths"][path][method].get("security")
        if path in ("/v1/metrics", "/v1/session"):
            assert security is None  # the catalogue is public; sign-in takes a token in its body
        else:
            assert security == [{"adminToken" if doc.admin else "apiToken": []}], path


def test_every_v1_operation_is_documented(openapi: dict[str, Any]) -> None:
    served = {
        (method, path)
        for path, operations in openapi["paths"].items()
        if path.startswith("/v1")
        for method in operations
    }
    assert served == set(ROUTE_DOCS)
    for (method, path), doc in ROUTE_DOCS.items():
        responses = openapi["paths"][path][method]["responses"]
        if doc.answer is not None:  # else a file (`/v1/query/export`)
            ok = responses["200"]["content"]["application/json"]["schema"]
            assert ok == {"$ref": f"#/components/schemas/{doc.answer.__name__}"}
        errors = {status for status in responses if status.startswith(("4", "5"))}
        assert errors == {str(s) for s in doc.errors}, path
        for status in errors:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
        if path != "/v1/metrics":
            assert any(s.startswith("4") for s in errors), f"{method} {path} documents no 4xx"


def test_no_operation_documents_fastapis_422(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("422", {})
            # Twin24 answers 422 in its own shape (seed 003); nothing answers FastAPI's.
            assert "HTTPValidationError" not in str(answer), (method, path)
    assert "HTTPValidationError" not in openapi["components"]["schemas"]


def test_the_error_model_lists_every_code(openapi: dict[str, Any]) -> None:
    body = openapi["components"]["schemas"]["ErrorBody"]
    assert body["properties"]["code"]["enum"] == list(ERROR_CODES)
    assert sorted(c for codes in ERROR_STATUSES.values() for c in codes) == sorted(ERROR_CODES)
    description = openapi["components"]["schemas"]["ErrorResponse"]["description"]
    assert all(f"`{code}`" in description for code in ERROR_CODES)


def _codes_raised_in_src() -> set[tuple[int, str]]:
    """(status, code) of every `ApiError(status, "code", ...)` and `_bad("code", ...)` in src."""
    found: set[tuple[int, str]] = set()
    for file in (ROOT / "src" / "ccstats" / "api").glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            args = node.args
            if node.func.id == "ApiError" and len(args) >= 2:
                status, code = args[0], args[1]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found.add((status.value, code.value))
            elif node.func.id == "_bad" and args and isinstance(args[0], ast.Constant):
                found.add((400, args[0].value))
    return found


def test_every_code_the_api_raises_is_documented_under_its_status() -> None:
    raised = _codes_raised_in_src()
    assert (400, "invalid_cursor") in raised and (404, "not_found") in raised  # the scan works
    for status, code in raised:
        assert code in ERROR_STATUSES[status], (status, code)


def test_ingest_and_tenant_bodies_are_documented(openapi: dict[str, Any]) -> None:
    body = openapi["paths"]["/v1/conversations"]["post"]["requestBody"]["content"]
    one = {"$ref": "#/components/schemas/Conversation"}
    assert body["application/json"]["schema"] == {"anyOf": [{"type": "array", "items": one}, one]}
    assert "application/x-ndjson" in body
    conversation = openapi["components"]["schemas"]["Conversation"]
    assert {"id", "channel", "created_at"} <= set(conversation["required"])
    put = openapi["paths"]["/v1/tenants/{tenant_id}"]["put"]["requestBody"]
    assert put["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TenantSettings"
    }


def test_search_parameters_and_file_formats_are_documented(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/v1/conversations"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == [*schemas.CONTROLS_DOCUMENTED, "<field>"]
    assert schemas.CONTROLS_DOCUMENTED == CONTROLS
    assert "text/csv" in operation["responses"]["200"]["content"]


# -- the documented models describe the real answers -----------------------------------------------


def _valid(model: type[BaseModel], body: Any) -> None:
    model.model_validate(body)


def test_real_answers_match_their_documented_models(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "t1")
    headers = {"authorization": f"Bearer {credential(store, 't1', 'api')['token']}"}
    record = {
        "id": "c1",
        "channel": "chat",
        "created_at": "2024-05-01T10:00:00Z",
        "messages": [{"sender": "customer", "text": "hi", "sent_at": "2024-05-01T10:00:05Z"}],
    }
    ingest = app_client.post("/v1/conversations", json=[record, {"id": "x"}], headers=headers)
    _valid(IngestAnswer, ingest.json())
    _valid(MetricCatalogue, app_client.get("/v1/metrics").json())
    query = {"metrics": ["conversations", "csat"], "from": "2024-05-01", "to": "2024-05-02",
             "granularity": "hour"}  # fmt: skip
    _valid(QueryAnswer, app_client.post("/v1/query?explain=1", json=query, headers=headers).json())
    _valid(SearchAnswer, app_client.get("/v1/conversations", headers=headers).json())
    answer = app_client.get("/v1/conversations/c1", headers=headers).json()
    _valid(ConversationAnswer, answer)
    assert answer["conversation"]["messages"][0]["text"] == "hi"
    _valid(TenantList, app_client.get("/v1/tenants", headers=ADMIN).json())
    _valid(TenantSettings, app_client.get("/v1/tenants/t1", headers=ADMIN).json())
    for kind in ("api", "huawei", "7moor", "twin24", "aliyun"):
        created = app_client.post("/v1/tenants/t1/credentials", json={"kind": kind}, headers=ADMIN)
        _valid(CreatedCredential, created.json())
    errors = [
        app_client.get("/v1/conversations"),
        app_client.get("/v1/tenants", headers=headers),
        app_client.get("/v1/conversations/nope", headers=headers),
        app_client.get("/v1/conversations?sort=created", headers=headers),
        app_client.post("/v1/query", json={"metrics": []}, headers=headers),
        app_client.delete("/v1/query", headers=headers),
    ]
    assert [e.status_code for e in errors] == [401, 403, 404, 400, 400, 405]
    for error in errors:
        _valid(ErrorResponse, error.json())
        code = error.json()["error"]["code"]
        assert code in ERROR_STATUSES[error.status_code], (error.status_code, code)


# -- in a real browser, without internet --------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _rendered(url: str, profile: Path) -> str:
    """The DOM of `url` after its scripts ran, in headless Chromium that can reach no host but
    127.0.0.1 (so a CDN asset would fail to load)."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=20000", "--dump-dom", url,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed on this machine")
def test_docs_render_offline_in_a_browser(tmp_path: Path) -> None:
    args = ["--db", str(tmp_path / "c.duckdb"), "--port", str(free_port())]
    with serving(args) as server:
        swagger = _rendered(server.base + "/docs", tmp_path / "profile-docs")
        redoc = _rendered(server.base + "/redoc", tmp_path / "profile-redoc")
    assert 'class="swagger-ui' in swagger
    assert "btn authorize" in swagger  # the Authorize button: security schemes are there
    assert "/v1/query" in swagger and "/healthz" in swagger
    assert "Run a metric query" in redoc and "Search conversations" in redoc
    assert "apiToken" in redoc
