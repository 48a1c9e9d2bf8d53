"""Trailing slashes on vendor paths (issue 20): dropped before routing, other paths untouched."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ccstats.dialects.paths import without_trailing_slashes


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/oifde/rest/api/gettoken/", "/oifde/rest/api/gettoken"),
        ("/oifde/rest/api/gettoken//", "/oifde/rest/api/gettoken"),
        ("/openapi/im-report/session/time/", "/openapi/im-report/session/time"),
        ("/api/v1/search/cis/calls/", "/api/v1/search/cis/calls"),
        ("/api/v1/search/cis/calls", "/api/v1/search/cis/calls"),
        # not a vendor path of the three: as it is (the native API, the dashboard, Alibaba's `/`)
        ("/v1/metrics/", "/v1/metrics/"),
        ("/", "/"),
        ("//", "//"),
    ],
)
def test_without_trailing_slashes(path: str, routed: str) -> None:
    assert without_trailing_slashes(path) == routed


def test_the_native_api_keeps_its_own_slash_handling(app_client: TestClient) -> None:
    answer = app_client.get("/v1/metrics/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"].endswith("/v1/metrics")
