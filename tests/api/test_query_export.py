"""`POST /v1/query/export`: the rows of `POST /v1/query` as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from tests.conftest import add_tenant, credential, load

from ccstats.storage import Store

BODY = {
    "metrics": ["conversations", "csat"],
    "from": "2024-05-01",
    "to": "2024-05-04",
    "granularity": "day",
    "fill_empty": True,
}


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    """Tenant `t` (Asia/Shanghai): two chats on local 2024-05-01 (CSAT 5 and 2), none on 05-02,
    one on 05-03 (23:30 UTC on 05-02) without CSAT."""
    add_tenant(store, "t", "Asia/Shanghai")

    def chat(cid: str, created: str, **fields: Any) -> dict[str, Any]:
        return {"id": cid, "tenant_id": "t", "channel": "chat", "created_at": created, **fields}

    load(
        store,
        [
            chat("a", "2024-05-01T02:00:00Z", csat_score=5),
            chat("b", "2024-05-01T03:00:00Z", csat_score=2),
            chat("c", "2024-05-02T23:30:00Z"),
        ],
    )
    return {"authorization": f"Bearer {credential(store, 't', 'api')['token']}"}


def test_csv_has_every_bucket_local_and_ratio_values(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    answer = app_client.post("/v1/query/export?format=csv", json=BODY, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="query-t.csv"'
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows == [
        ["bucket", "conversations", "csat"],
        ["2024-05-01T00:00:00+08:00", "2", "0.5"],
        ["2024-05-02T00:00:00+08:00", "0", ""],  # an empty bucket; a ratio over nothing
        ["2024-05-03T00:00:00+08:00", "1", ""],
    ]


def test_xlsx_with_groups(app_client: TestClient, headers: dict[str, str]) -> None:
    body = {**BODY, "granularity": "total", "group_by": ["channel"]}
    answer = app_client.post("/v1/query/export?format=xlsx", json=body, headers=headers)
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    assert rows == [("channel", "conversations", "csat"), ("chat", 3, 0.5)]


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        ("?format=json", BODY, "unknown_name"),
        ("?format=csv", {**BODY, "metrics": ["nope"]}, "unknown_name"),
        ("?format=csv", {**BODY, "to": "2024-04-01"}, "invalid_query"),
    ],
)
def test_bad_requests(
    app_client: TestClient, headers: dict[str, str], query: str, body: dict[str, Any], code: str
) -> None:
    answer = app_client.post(f"/v1/query/export{query}", json=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
