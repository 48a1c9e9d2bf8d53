"""Trailing slashes on vendor paths (issue 20): dropped before routing, other paths untouched."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.dialects.paths import without_trailing_slashes
from ccstats.storage import Store


@pytest.mark.parametrize(
    ("path", "routed", "root"),
    [
        ("/oifde/rest/api/gettoken/", "/oifde/rest/api/gettoken", ""),
        ("/oifde/rest/api/gettoken//", "/oifde/rest/api/gettoken", ""),
        ("/openapi/im-report/session/time/", "/openapi/im-report/session/time", ""),
        ("/api/v1/search/cis/calls/", "/api/v1/search/cis/calls", ""),
        ("/api/v1/search/cis/calls", "/api/v1/search/cis/calls", ""),
        # not a vendor path of the three: as it is (the native API, the dashboard, Alibaba's `/`)
        ("/v1/metrics/", "/v1/metrics/", ""),
        ("/", "/", ""),
        ("//", "//", ""),
        # below a root path (`ccstats serve --root-path /ccstats`)
        ("/ccstats/api/v1/auth/login/", "/ccstats/api/v1/auth/login", "/ccstats"),
        ("/ccstats/v1/metrics/", "/ccstats/v1/metrics/", "/ccstats"),
        ("/ccstatsx/oifde/x/", "/ccstatsx/oifde/x/", "/ccstats"),
    ],
)
def test_without_trailing_slashes(path: str, routed: str, root: str) -> None:
    assert without_trailing_slashes(path, root) == routed


def test_the_native_api_keeps_its_own_slash_handling(app_client: TestClient) -> None:
    answer = app_client.get("/v1/metrics/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"].endswith("/v1/metrics")


def test_below_a_root_path_too(store: Store) -> None:
    """Behind a proxy at /ccstats (`--root-path`): the slashed path answers as the plain one."""
    app = create_app(Settings(db=":memory:"), store)
    with TestClient(app, root_path="/ccstats") as client:
        plain = client.post("/ccstats/oifde/rest/api/gettoken", json={}, follow_redirects=False)
        slashed = client.post("/ccstats/oifde/rest/api/gettoken/", json={}, follow_redirects=False)
    assert (slashed.status_code, slashed.json()) == (plain.status_code, plain.json())
    assert plain.json()["errorCode"] == 10000003  # appKey missing: Huawei's shape, not a 307
