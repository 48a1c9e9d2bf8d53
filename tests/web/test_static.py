"""The dashboard's files as the server sends them: security headers, no inline code, every script
and style present, the vendored libraries exactly as released (static/vendor/README.md)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

STATIC = Path(__file__).resolve().parents[2] / "src" / "ccstats" / "web" / "static"


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_carry_a_strict_policy(app_client: TestClient, path: str) -> None:
    answer = app_client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    policy = dict(
        p.strip().split(" ", 1) for p in answer.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    page = answer.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # every script is a file
    assert "<style" not in page and "style=" not in page  # every style is a file
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    assets = re.findall(r'(?:src|href)="/?(static/[^"]+)"', page)
    assert assets
    for asset in assets:
        served = app_client.get("/" + asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/static/js/main.js", "text/javascript; charset=utf-8"),
        ("/static/css/dashboard.css", "text/css; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
        ("/static/vendor/echarts/echarts.min.js", "text/javascript; charset=utf-8"),
    ],
)
def test_static_files_have_their_types(app_client: TestClient, path: str, media_type: str) -> None:
    answer = app_client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == media_type


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2F__init__.py",
        "/static/js/..%2F..%2F__init__.py",
        "/static/dashboard.html",  # pages are served at / and /docs only
        "/static/vendor/echarts/LICENSE",  # no type of ours
        "/static/js/nope.js",
        "/static/.hidden.js",
    ],
)
def test_nothing_else_is_served(app_client: TestClient, path: str) -> None:
    answer = app_client.get(path)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_every_module_import_resolves() -> None:
    for script in (STATIC / "js").rglob("*.js"):
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', script.read_text(encoding="utf-8")):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"


def test_vendored_files_are_the_released_ones() -> None:
    readme = (STATIC / "vendor" / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, flags=re.M)
    assert len(listed) == 9
    for digest, name in listed:
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest, name
