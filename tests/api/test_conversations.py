"""`GET /v1/conversations` (detail search, keyset cursor, file exports) and
`GET /v1/conversations/{id}`, over the real app and store."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from tests.conftest import add_tenant, credential, load

from ccstats.storage import Store

BASE = datetime(2024, 5, 1, tzinfo=UTC)


def rec(cid: str, minutes: int, tenant: str = "t1", **fields: Any) -> dict[str, Any]:
    """A chat conversation created `minutes` after BASE."""
    created = (BASE + timedelta(minutes=minutes)).isoformat()
    return {"id": cid, "tenant_id": tenant, "channel": "chat", "created_at": created, **fields}


def auth(store: Store, tenant: str) -> dict[str, str]:
    """Headers with a fresh API token of the tenant."""
    return {"authorization": f"Bearer {credential(store, tenant, 'api')['token']}"}


@pytest.fixture
def headers(store: Store) -> dict[str, str]:
    """Tenant t1 (UTC) with five conversations; tenant t2 with one; t1's token."""
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    load(
        store,
        [
            rec("a", 0, agent_id="x", queue_duration_s=30, queued=True),
            rec("b", 10, agent_id="y", queue_duration_s=None),
            rec("c", 20, agent_id="x", queue_duration_s=30, queued=False),
            rec(
                "d",
                30,
                agent_id=None,
                queue_duration_s=5,
                ended_at="2024-05-02T01:00:00Z",
                messages=[
                    {"sender": "customer", "text": "hi", "sent_at": "2024-05-01T00:30:05Z"},
                    {"sender": "agent", "agent_id": "x", "text": "hello"},
                ],
            ),
            rec("e", 40, agent_id="y", queue_duration_s=None, channel="voice"),
            rec("z", 15, tenant="t2", agent_id="x"),
        ],
    )
    return auth(store, "t1")


def ids(answer: Any) -> list[str]:
    """The ids of a JSON answer's rows."""
    return [row["id"] for row in answer.json()["rows"]]


def error(answer: Any, status: int = 400) -> dict[str, Any]:
    """The error object of an answer in our shape, checking its status."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    return body["error"]


# -- pages ------------------------------------------------------------------------------------


def test_default_page_is_newest_first_with_data_as_of(
    app_client: TestClient, store: Store, headers: dict[str, str]
) -> None:
    answer = app_client.get("/v1/conversations", headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert ids(answer) == ["e", "d", "c", "b", "a"]
    assert body["next_cursor"] is None
    assert body["data_as_of"] == store.data_as_of("t1").isoformat()  # type: ignore[union-attr]
    first = body["rows"][0]
    assert first["created_at"] == "2024-05-01T00:40:00+00:00"
    assert first["channel"] == "voice" and first["tenant_id"] == "t1"
    assert "messages" not in first


def test_requires_a_token(app_client: TestClient, headers: dict[str, str]) -> None:
    assert error(app_client.get("/v1/conversations"), 401)["code"] == "unauthorized"


def test_a_token_never_reads_another_tenant(
    app_client: TestClient, store: Store, headers: dict[str, str]
) -> None:
    t2 = auth(store, "t2")
    assert ids(app_client.get("/v1/conversations", headers=t2)) == ["z"]
    assert ids(app_client.get("/v1/conversations?tenant_id=t1", headers=t2)) == []
    assert error(app_client.get("/v1/conversations/a", headers=t2), 404)["code"] == "not_found"
    assert error(app_client.get("/v1/conversations/z", headers=headers), 404)["code"] == "not_found"


def test_paging_with_cursor_returns_each_row_once(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    seen: list[str] = []
    url = "/v1/conversations?limit=2"
    pages = 0
    while True:
        body = app_client.get(url, headers=headers).json()
        seen += [row["id"] for row in body["rows"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        url = f"/v1/conversations?limit=2&cursor={body['next_cursor']}"
    assert seen == ["e", "d", "c", "b", "a"]
    assert pages == 3  # 2 + 2 + 1: no empty last page


def _walk(client: TestClient, headers: dict[str, str], query: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        url = f"/v1/conversations?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        seen += ids(answer)
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # NULLS LAST both ways; ties broken by id ascending.
        ("agent_id", ["a", "c", "b", "e", "d"]),
        ("-agent_id", ["b", "e", "a", "c", "d"]),
        ("queue_duration_s", ["d", "a", "c", "b", "e"]),
        ("-queue_duration_s", ["a", "c", "d", "b", "e"]),
        ("-queue_duration_s,-created_at", ["c", "a", "d", "e", "b"]),
        ("queued,agent_id", ["c", "a", "b", "e", "d"]),
        ("-queued,-id", ["a", "c", "e", "d", "b"]),
        ("created_at", ["a", "b", "c", "d", "e"]),
        ("ended_at", ["d", "a", "b", "c", "e"]),
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_keyset_with_nulls_and_ties(
    app_client: TestClient, headers: dict[str, str], sort: str, expected: list[str], limit: int
) -> None:
    assert _walk(app_client, headers, f"sort={sort}", limit) == expected


def test_cursor_is_stable_while_records_arrive(
    app_client: TestClient, store: Store, headers: dict[str, str]
) -> None:
    # Default sort: newest first. Between pages, new records arrive: some newer than every row
    # (they sort before the cursor and must not appear), some older than the cursor (they sort
    # after it and must appear), and a re-sent existing record (same id, same time).
    first = app_client.get("/v1/conversations?limit=2", headers=headers).json()
    assert [r["id"] for r in first["rows"]] == ["e", "d"]
    load(store, [rec("new1", 100), rec("old1", -5), rec("c", 20, agent_id="x2")])
    second = app_client.get(
        f"/v1/conversations?limit=2&cursor={first['next_cursor']}", headers=headers
    ).json()
    assert [r["id"] for r in second["rows"]] == ["c", "b"]
    assert second["rows"][0]["agent_id"] == "x2"  # the re-sent version
    load(store, [rec("new2", 35), rec("old2", -10)])
    third = app_client.get(
        f"/v1/conversations?limit=2&cursor={second['next_cursor']}", headers=headers
    ).json()
    fourth = app_client.get(
        f"/v1/conversations?limit=2&cursor={third['next_cursor']}", headers=headers
    ).json()
    assert fourth["next_cursor"] is None
    seen = [r["id"] for page in (first, second, third, fourth) for r in page["rows"]]
    assert seen == ["e", "d", "c", "b", "a", "old1", "old2"]


def test_many_pages_under_concurrent_ingest_see_every_original_once(
    app_client: TestClient, store: Store
) -> None:
    add_tenant(store, "big")
    token = auth(store, "big")
    original = [rec(f"r{i:03d}", i % 17, "big", agent_id=f"a{i % 3}") for i in range(60)]
    load(store, original)
    seen: list[str] = []
    cursor, batch = None, 0
    while True:
        url = "/v1/conversations?limit=7&sort=-created_at,agent_id" + (
            f"&cursor={cursor}" if cursor else ""
        )
        body = app_client.get(url, headers=token).json()
        seen += [r["id"] for r in body["rows"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        batch += 1  # every page, new records land all over the sort order
        load(store, [rec(f"n{batch}-{k}", k * 3, "big", agent_id="a1") for k in range(6)])
    originals = [s for s in seen if s.startswith("r")]
    assert sorted(originals) == sorted(r["id"] for r in original)
    assert len(seen) == len(set(seen))


# -- filters, range, sort, fields ---------------------------------------------------------------


def test_filters(app_client: TestClient, headers: dict[str, str]) -> None:
    get = app_client.get
    assert ids(get("/v1/conversations?agent_id=x", headers=headers)) == ["c", "a"]
    assert ids(get("/v1/conversations?agent_id=x&agent_id=y", headers=headers)) == [
        "e",
        "c",
        "b",
        "a",
    ]
    assert ids(get("/v1/conversations?agent_id=", headers=headers)) == ["d"]
    assert ids(get("/v1/conversations?agent_id=x&queued=false", headers=headers)) == ["c"]
    assert ids(get("/v1/conversations?queue_duration_s=30&channel=chat", headers=headers)) == [
        "c",
        "a",
    ]
    assert ids(get("/v1/conversations?channel=voice", headers=headers)) == ["e"]


def test_range_and_time_basis(app_client: TestClient, headers: dict[str, str]) -> None:
    get = app_client.get
    # [00:10, 00:30): b and c.
    iso = "from=2024-05-01T00:10:00Z&to=2024-05-01T00:30:00Z"
    assert ids(get(f"/v1/conversations?{iso}", headers=headers)) == ["c", "b"]
    epoch = f"from={int((BASE + timedelta(minutes=10)).timestamp() * 1000)}"
    assert ids(get(f"/v1/conversations?{epoch}&to=2024-05-01T00:30:00Z", headers=headers)) == [
        "c",
        "b",
    ]
    local = "from=2024-05-01 00:10:00&to=2024-05-01T00:30:00"
    assert ids(get(f"/v1/conversations?{local}", headers=headers)) == ["c", "b"]
    # An unencoded "+": the offset arrives as " 08:00" and is read back as +08:00.
    plus = "from=2024-05-01T08:10:00+08:00&to=2024-05-01T08:30:00%2B08:00"
    assert ids(get(f"/v1/conversations?{plus}", headers=headers)) == ["c", "b"]
    by_end = "time_basis=ended_at&from=2024-05-02&to=2024-05-03"
    assert ids(get(f"/v1/conversations?{by_end}", headers=headers)) == ["d"]


def test_local_dates_are_in_the_tenant_zone(app_client: TestClient, store: Store) -> None:
    add_tenant(store, "sh", "Asia/Shanghai")
    # 2024-04-30T16:30Z is 2024-05-01 00:30 in Shanghai.
    load(store, [rec("in", -450, "sh"), rec("out", -510, "sh")])
    answer = app_client.get(
        "/v1/conversations?from=2024-05-01&to=2024-05-02", headers=auth(store, "sh")
    )
    assert ids(answer) == ["in"]


def test_fields_select_columns_and_cursor_still_works(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    answer = app_client.get(
        "/v1/conversations?fields=id,agent_id&sort=queue_duration_s&limit=2", headers=headers
    )
    body = answer.json()
    assert body["rows"] == [{"id": "d", "agent_id": None}, {"id": "a", "agent_id": "x"}]
    rest = app_client.get(
        f"/v1/conversations?fields=id,agent_id&sort=queue_duration_s&cursor={body['next_cursor']}",
        headers=headers,
    )
    assert ids(rest) == ["c", "b", "e"]


# -- one record ---------------------------------------------------------------------------------


def test_one_conversation_with_its_transcript(
    app_client: TestClient, store: Store, headers: dict[str, str]
) -> None:
    answer = app_client.get("/v1/conversations/d", headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    record = body["conversation"]
    assert record["id"] == "d" and record["ended_at"] == "2024-05-02T01:00:00+00:00"
    assert record["msg_count"] == 2 and record["customer_msg_count"] == 1
    assert record["messages"] == [
        {
            "seq": 0,
            "sender": "customer",
            "agent_id": None,
            "text": "hi",
            "sent_at": "2024-05-01T00:30:05+00:00",
            "bot_outcome": None,
        },
        {
            "seq": 1,
            "sender": "agent",
            "agent_id": "x",
            "text": "hello",
            "sent_at": None,
            "bot_outcome": None,
        },
    ]
    assert body["data_as_of"] == store.data_as_of("t1").isoformat()  # type: ignore[union-attr]
    missing = error(app_client.get("/v1/conversations/nope", headers=headers), 404)
    assert "nope" in missing["message"]


# -- files ----------------------------------------------------------------------------------------


def test_csv_streams_the_whole_result(app_client: TestClient, headers: dict[str, str]) -> None:
    answer = app_client.get(
        "/v1/conversations?format=csv&limit=1&fields=id,created_at,agent_id,queued",
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="conversations-t1.csv"'
    assert answer.headers["x-data-as-of"]
    text = answer.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["id", "created_at", "agent_id", "queued"],
        ["e", "2024-05-01T00:40:00+00:00", "y", ""],
        ["d", "2024-05-01T00:30:00+00:00", "", ""],
        ["c", "2024-05-01T00:20:00+00:00", "x", "false"],
        ["b", "2024-05-01T00:10:00+00:00", "y", ""],
        ["a", "2024-05-01T00:00:00+00:00", "x", "true"],
    ]


def test_ndjson_matches_the_json_rows(app_client: TestClient, headers: dict[str, str]) -> None:
    pages = app_client.get("/v1/conversations?agent_id=x&agent_id=y", headers=headers).json()
    answer = app_client.get(
        "/v1/conversations?format=ndjson&agent_id=x&agent_id=y", headers=headers
    )
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = [orjson.loads(line) for line in answer.content.splitlines()]
    assert lines == pages["rows"]


def test_xlsx(app_client: TestClient, headers: dict[str, str]) -> None:
    answer = app_client.get(
        "/v1/conversations?format=xlsx&fields=id,queue_duration_s&sort=id", headers=headers
    )
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content))["conversations"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["id", "queue_duration_s"],
        ["a", 30],
        ["b", None],
        ["c", 30],
        ["d", 5],
        ["e", None],
    ]


def test_parquet_times_are_utc(app_client: TestClient, headers: dict[str, str]) -> None:
    answer = app_client.get("/v1/conversations?format=parquet&sort=id", headers=headers)
    assert answer.status_code == 200
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.column("id").to_pylist() == ["a", "b", "c", "d", "e"]
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("created_at")[1].as_py() == BASE + timedelta(minutes=10)
    assert table.column("queued").to_pylist() == [True, None, False, None, None]


def test_empty_exports_are_valid_files(app_client: TestClient, headers: dict[str, str]) -> None:
    none = "agent_id=nobody"
    parquet = app_client.get(f"/v1/conversations?format=parquet&{none}", headers=headers)
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 0
    text = app_client.get(f"/v1/conversations?format=csv&{none}&fields=id", headers=headers)
    assert text.content.decode("utf-8-sig").splitlines() == ["id"]


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("agnt_id=x", "unknown_name", "did you mean 'agent_id'"),
        ("sort=-created", "unknown_name", "did you mean 'created_at'"),
        ("fields=id,chanel", "unknown_name", "did you mean 'channel'"),
        ("format=cvs", "unknown_name", "did you mean 'csv'"),
        ("time_basis=ended", "unknown_name", "did you mean 'ended_at'"),
        ("limt=5", "unknown_name", "did you mean 'limit'"),
        ("created_at=2024-05-01", "invalid_filter", "select a range with from/to"),
        ("queue_duration_s=abc", "invalid_filter", "queue_duration_s: expected an integer"),
        ("queued=maybe", "invalid_filter", "queued: expected true or false"),
        ("limit=0", "invalid_limit", "from 1 to 1000"),
        ("limit=1001", "invalid_limit", "from 1 to 1000"),
        ("limit=ten", "invalid_limit", "from 1 to 1000"),
        ("from=2024-05-02&to=2024-05-01", "invalid_range", "before it starts"),
        ("from=yesterday", "invalid_time", "from:"),
        ("sort=,", "invalid_sort", "at least one field"),
        ("sort=id&sort=agent_id", "invalid_parameter", "sort: give it once"),
        ("cursor=!!!", "invalid_cursor", "bad base64url or JSON"),
        ("cursor=bm90IGpzb24", "invalid_cursor", "bad base64url or JSON"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(
    app_client: TestClient, headers: dict[str, str], query: str, code: str, fragment: str
) -> None:
    body = error(app_client.get(f"/v1/conversations?{query}", headers=headers))
    assert body["code"] == code
    assert fragment in body["message"]


def test_unknown_names_come_with_the_nearest_valid_one(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    body = error(app_client.get("/v1/conversations?sort=agnt_id", headers=headers))
    assert body["details"] == {"name": "agnt_id", "did_you_mean": "agent_id"}


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def test_a_cursor_made_for_another_sort_is_refused(
    app_client: TestClient, headers: dict[str, str]
) -> None:
    first = app_client.get("/v1/conversations?limit=1&sort=agent_id", headers=headers).json()
    other = app_client.get(
        f"/v1/conversations?sort=-created_at&cursor={first['next_cursor']}", headers=headers
    )
    body = error(other)
    assert body["code"] == "invalid_cursor"
    assert "made for sort=agent_id" in body["message"]
    assert "sort=-created_at" in body["message"]


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        {"sort": [["created_at", True]]},
        {"sort": [["created_at", True]], "after": ["2024-05-01T00:00:00+00:00"]},
        {"sort": [["created_at", True]], "after": ["yesterday", "a"]},
        {"sort": [["created_at", True]], "after": ["2024-05-01T00:00:00", "a"]},
        {"sort": [["created_at", True]], "after": ["2024-05-01T00:00:00+00:00", 7]},
        {"sort": [["queue_duration_s", False]], "after": ["5", "a"]},
        {"sort": [["queued", False]], "after": [1, "a"]},
    ],
)
def test_tampered_cursors_are_refused(
    app_client: TestClient, headers: dict[str, str], payload: Any
) -> None:
    sort = payload["sort"][0] if isinstance(payload, dict) else ["created_at", True]
    query = f"sort={'-' if sort[1] else ''}{sort[0]}&cursor={_cursor(payload)}"
    assert error(app_client.get(f"/v1/conversations?{query}", headers=headers))["code"] == (
        "invalid_cursor"
    )


def test_fractional_times_in_page_and_files(app_client: TestClient, store: Store) -> None:
    """Times keep their microseconds (isoformat form) in JSON, CSV and XLSX alike."""
    add_tenant(store, "t3")
    load(
        store,
        [
            rec("f", 0, tenant="t3", created_at="2024-05-01T00:00:00.250Z", duration_s=7),
            rec("g", 1, tenant="t3", ended_at="2024-05-01T00:05:00.000001Z"),
        ],
    )
    headers = auth(store, "t3")
    query = "/v1/conversations?fields=id,created_at,ended_at,duration_s&sort=id"
    page = app_client.get(query, headers=headers).json()
    assert page["rows"] == [
        {"id": "f", "created_at": "2024-05-01T00:00:00.250000+00:00", "ended_at": None,
         "duration_s": 7},
        {"id": "g", "created_at": "2024-05-01T00:01:00+00:00",
         "ended_at": "2024-05-01T00:05:00.000001+00:00", "duration_s": None},
    ]  # fmt: skip
    text = app_client.get(query + "&format=csv", headers=headers).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "created_at", "ended_at", "duration_s"],
        ["f", "2024-05-01T00:00:00.250000+00:00", "", "7"],
        ["g", "2024-05-01T00:01:00+00:00", "2024-05-01T00:05:00.000001+00:00", ""],
    ]
    data = app_client.get(query + "&format=xlsx", headers=headers).content
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)][1:] == [
        ["f", "2024-05-01T00:00:00.250000+00:00", None, 7],
        ["g", "2024-05-01T00:01:00+00:00", "2024-05-01T00:05:00.000001+00:00", None],
    ]
