"""The column path (`ingest_arrow`) accepts, rejects and stores exactly what the row path does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import add_tenant
from typer.testing import CliRunner

from ccstats.cli import app
from ccstats.ingest import (
    IngestResult,
    PayloadError,
    ingest_conversations,
    ingest_rows,
    ingest_table,
    parquet_tables,
    read_records,
)
from ccstats.schema import CONVERSATION_COLUMNS, MESSAGE_COLUMNS
from ccstats.storage import DuckDBStore, Store

COLUMNS = [c for c in CONVERSATION_COLUMNS if c != "stored_at"]


def fresh_store() -> DuckDBStore:
    store = DuckDBStore(":memory:")
    add_tenant(store, "t1")
    add_tenant(store, "t2")
    return store


def stored(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every stored conversation and message (all columns but `stored_at`), in key order."""
    con = store._con  # type: ignore[attr-defined]
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    rows = con.execute(f"SELECT {cols} FROM conversations ORDER BY tenant_id, id").fetchall()
    mcols = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
    msgs = con.execute(
        f"SELECT {mcols} FROM messages ORDER BY tenant_id, conversation_id, seq, text"
    ).fetchall()
    return rows, msgs


def outcome(result: IngestResult) -> tuple[int, list[tuple[int, str | None, str]]]:
    return result.accepted, [(r.index, r.id, r.reason) for r in result.rejected]


def assert_same(items: list[Any], tenant_id: str | None = None) -> IngestResult:
    """Both paths on the same items: the same answer and the same stored rows."""
    with fresh_store() as rows_store, fresh_store() as cols_store:
        expected = ingest_rows(rows_store, items, tenant_id)
        got = ingest_conversations(cols_store, items, tenant_id)
        assert outcome(got) == outcome(expected)
        assert stored(cols_store) == stored(rows_store)
    return got


def rec(cid: Any = "a", **fields: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": "2024-05-01T10:00:00Z",
        **fields,
    }


CASES: list[tuple[str, list[Any]]] = [
    ("plain", [rec("a"), rec("b", channel="chat", direction="outbound")]),
    (
        "epoch ms and offsets",
        [rec("a", created_at=1714557600123), rec("b", ended_at="1714557600999")],
    ),
    (
        "iso variants",
        [rec("a", created_at="2024-05-01 10:00:00.5+08:00", ended_at="2024-05-01T10:00Z")],
    ),
    ("invalid dates", [rec("a", created_at="2024-02-30T10:00:00Z"), rec("b")]),
    ("naive iso rejected", [rec("a", created_at="2024-05-01T10:00:00"), rec("b")]),
    ("lower z and spaces", [rec("a", created_at=" 2024-05-01T10:00:00z "), rec("b")]),
    ("huge epoch", [rec("a", created_at=2**45), rec("b", created_at=-(2**33) * 1000)]),
    ("float epoch", [rec("a", created_at=1714557600123.5), rec("b")]),
    ("bool time", [rec("a", created_at=True)]),
    ("missing required", [{"id": "x", "tenant_id": "t1"}, rec("b"), {}]),
    ("null required", [rec("a", channel=None), rec("b", created_at=None), rec(None)]),
    ("null direction", [rec("a", direction=None), rec("b")]),
    ("null messages", [rec("a", messages=None), rec("b", messages=[])]),
    (
        "bad enum",
        [rec("a", channel="fax"), rec("b", dial_status="answer"), rec("c", ended_by="bot")],
    ),
    ("empty id", [rec(""), rec("b", tenant_id="")]),
    ("int ids", [rec(17, agent_id=5, customer_id=2**40, queue_id=-3), rec("b", bot_name=5)]),
    ("bool id", [rec(True), rec("b", agent_id=False)]),
    (
        "ranges",
        [rec("a", csat_level=1), rec("b", csat_level=5, csat_score=0), rec("c", duration_s=-1)],
    ),
    (
        "floats for ints",
        [rec("a", duration_s=3.0), rec("b", duration_s=3.5), rec("c", bot_turns=2)],
    ),
    (
        "strings for ints",
        [rec("a", duration_s="12"), rec("b", duration_s="x"), rec("c", bot_turns=1)],
    ),
    (
        "int text",
        [rec("a", duration_s="007"), rec("b", duration_s="-0", csat_level="4")]
        + [rec(str(i), duration_s=v) for i, v in enumerate(["+5", " 5", "1_0", "1e3", "١٢", "-"])]
        + [rec("c", csat_score="9"), rec("d", region_id="-12345678901234567")],
    ),
    (
        "bool text",
        [rec(str(i), lost=v) for i, v in enumerate(["true", "false", "1", "0", "True", "yes", ""])],
    ),
    (
        "mixed int and text",
        [rec("a", created_at=1714557600000, agent_id=5), rec("b", agent_id="x"), rec(7)],
    ),
    (
        "bools",
        [rec("a", lost=True), rec("b", lost=1), rec("c", lost="yes"), rec("d", queued=False)],
    ),
    (
        "price",
        [rec("a", price="1.50"), rec("b", price=2), rec("c", price="abc"), rec("d", price=1.5)],
    ),
    ("price forms", [rec("a", price="1_000"), rec("b", price=" 1 "), rec("c", price="-.5e3")]),
    ("unknown field", [rec("a", colour="red"), rec("b", colour=None), rec("c")]),
    ("not objects", ["oops", 5, None, [rec("x")], rec("b")]),
    ("nested junk", [rec("a", extra={"k": 1}), rec("b", extra="text")]),
    ("unknown tenant", [rec("a", tenant_id="ghost"), rec("b", tenant_id="t2")]),
    (
        "times at the edges of the accepted range",
        [rec("a", created_at=0), rec("b", created_at=-1), rec("c", created_at="7289654399999")]
        + [rec("d", created_at=7289654400000), rec("e", created_at="1969-12-31T23:59:59Z")]
        + [rec("f", created_at="2200-12-31T23:59:59.999999Z"), rec("g", ended_at="2201-01-01")]
        + [rec("h", created_at="2201-01-01T00:00:00+00:00"), rec("i", created_at=1e20)],
    ),
    (
        "integers at the edges of their ranges",
        [rec("a", bot_turns=2**31 - 1), rec("b", bot_turns=2**31), rec("c", region_id=-(2**63))]
        + [rec("d", region_id=-(2**63) - 1), rec("e", duration_s=2**64), rec("f")]
        + [rec("g", bot_turns=2**63), rec("h", customer_utc_offset=2**63 - 1)],
    ),
    ("duplicates", [rec("a", bot_turns=1), rec("a", bot_turns=4), rec("b"), rec("a", bot_turns=9)]),
    (
        "transcripts",
        [
            rec(
                "a",
                agent_id="ag",
                messages=[
                    {"sender": "customer", "text": "hi", "sent_at": "2024-05-01T10:00:01Z"},
                    {"sender": "agent", "text": "yo", "sent_at": "2024-05-01T10:00:05Z"},
                ],
            ),
            rec("b", messages=[{"sender": "robot"}]),
            rec("c", messages="hello"),
            rec("a", messages=[{"sender": "bot", "bot_outcome": "answered"}]),
            rec("d"),
        ],
    ),
    (
        "all fields",
        [
            rec(
                "a",
                **{
                    "access_code": "ac",
                    "instance_id": "in",
                    "acid": "x",
                    "dialog_id": "d",
                    "bot_id": "b",
                    "bot_name": "n",
                    "campaign_id": "c",
                    "campaign_name": "cn",
                    "queue_id": "q",
                    "queue_name": "qn",
                    "agent_id": "ag",
                    "agent_name": "an",
                    "customer_id": "cu",
                    "customer_name": "cn",
                    "customer_phone": "1",
                    "calling_number": "2",
                    "called_number": "3",
                    "trunk_number": "4",
                    "short_number": "5",
                    "region_id": 7,
                    "customer_utc_offset": -300,
                    "started_at": 1714557600000,
                    "queued_at": "2024-05-01T10:00:01+00:00",
                    "dequeued_at": "2024-05-01T10:00:02Z",
                    "ring_started_at": "2024-05-01T10:00:03Z",
                    "ring_ended_at": "2024-05-01T10:00:04Z",
                    "answered_at": "2024-05-01T18:00:05+08:00",
                    "ended_at": "2024-05-01T10:10:00Z",
                    "updated_at": "2024-05-01T10:10:00Z",
                    "duration_s": 600,
                    "bot_duration_s": 10,
                    "agent_duration_s": 500,
                    "ring_duration_s": 1,
                    "queue_duration_s": 2,
                    "dial_status": "ANSWER",
                    "end_reason": "normal",
                    "ended_by": "customer",
                    "answered_by": "human",
                    "bot_turns": 3,
                    "ended_in_bot": False,
                    "transferred_to_agent": True,
                    "agent_connected": True,
                    "invited": True,
                    "queued": True,
                    "queue_abandoned": False,
                    "lost": False,
                    "left_message": False,
                    "message_handled_by": "m",
                    "transfer_from_agent_id": "f",
                    "transfer_to_agent_id": "t",
                    "transfer_to_number": "n",
                    "transfer_target_type": "agent",
                    "is_final_attempt": True,
                    "dialog_result": "ok",
                    "nps": "9",
                    "csat_invited": True,
                    "csat_invited_by_agent": True,
                    "csat_option_id": "o",
                    "csat_level": 4,
                    "csat_score": 5,
                    "bot_feedback": "positive",
                    "bot_api_requests": 3,
                    "bot_api_successes": 2,
                    "price": "0.10",
                    "recording_url": "u",
                    "log_url": "l",
                    "external_id": "e",
                    "extra": "{}",
                },
            )
        ],
    ),
]


@pytest.mark.parametrize(("name", "items"), CASES, ids=[c[0] for c in CASES])
def test_column_path_equals_row_path(name: str, items: list[Any]) -> None:
    assert_same(items)


@pytest.mark.parametrize(("name", "items"), CASES, ids=[c[0] for c in CASES])
def test_column_path_equals_row_path_for_a_keys_tenant(name: str, items: list[Any]) -> None:
    assert_same(
        [
            {k: v for k, v in i.items() if k != "tenant_id"}
            if isinstance(i, dict) and i.get("id") == "b"
            else i
            for i in items
        ],
        "t1",
    )


def test_a_keys_tenant_refuses_other_tenants_records() -> None:
    got = assert_same(
        [rec("a", tenant_id="t2"), rec("b", tenant_id=None), rec("c", tenant_id=7)], "t1"
    )
    assert got.accepted == 1
    assert [r.reason for r in got.rejected] == [
        "tenant_id 't2' is not this key's tenant",
        "tenant_id '7' is not this key's tenant",
    ]


def test_good_records_never_take_the_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import ccstats.ingest.columns as ingest

    calls: list[int] = []
    real = ingest.validate

    def counting(model: Any, items: Any, *args: Any) -> Any:
        calls.append(len(items))
        return real(model, items, *args)

    monkeypatch.setattr(ingest, "validate", counting)
    with fresh_store() as store:
        items = [rec(str(i), duration_s=i, agent_id="x", lost=True, price="1.5") for i in range(50)]
        items += [rec(str(i), created_at=i, customer_id=i, csat_level=4.0) for i in range(50, 60)]
        items += [rec(str(i), ended_at="2024-05-01 10:00:00.25+08:00") for i in range(60, 70)]
        result = ingest_conversations(store, items)
    assert result.accepted == 70
    assert calls == [0]


# -- generated records ---------------------------------------------------------------------------

TIMES = st.one_of(
    st.integers(min_value=-(2**33) * 1000, max_value=2**33 * 1000),
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))]
        ),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2024-05-01T10:00:00Z", "2024-13-01T10:00:00Z", "2024-05-01", "x", "", "17"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e13, max_value=1e13),
)
ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(st.sampled_from(["a", "b", "c", ""]), st.integers(0, 3)),
    "tenant_id": st.sampled_from(["t1", "t2", "ghost", None]),
    "channel": st.sampled_from(["voice", "chat", "fax", None]),
    "direction": st.sampled_from(["inbound", "outbound", "transfer", "up", None]),
    "created_at": TIMES,
    "ended_at": TIMES,
    "agent_id": st.one_of(st.text(max_size=3), st.integers(-5, 5), st.none()),
    "duration_s": ANY_SCALAR,
    "csat_level": st.one_of(st.integers(0, 7), st.floats(0, 7), st.none()),
    "lost": ANY_SCALAR,
    "price": st.one_of(
        st.sampled_from(["1.5", "x", "1e3", " 2"]), st.integers(-9, 9), st.floats(-2, 2)
    ),
    "dial_status": st.sampled_from(["ANSWER", "BUSY", "busy", None]),
    "bot_name": ANY_SCALAR,
    "messages": st.one_of(
        st.just([]),
        st.lists(
            st.fixed_dictionaries({"sender": st.sampled_from(["customer", "agent", "bot", "x"])}),
            max_size=2,
        ),
    ),
    "bot_turns": st.one_of(st.from_regex(r"-?[0-9]{1,20}", fullmatch=True), st.text(max_size=3)),
    "queued": st.sampled_from(["true", "false", "1", "0", "yes", "True", ""]),
    "colour": st.just("red"),
}
RECORD = st.fixed_dictionaries(
    {},
    optional=FIELDS,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(RECORD, max_size=8), by_key=st.booleans())
def test_generated_records_are_judged_alike(items: list[dict[str, Any]], by_key: bool) -> None:
    assert_same(items, "t1" if by_key else None)


GOOD = {
    "id": st.sampled_from(["a", "b"]),
    "tenant_id": st.just("t1"),
    "channel": st.just("chat"),
    "created_at": st.just(0),
}
MOSTLY_GOOD = st.fixed_dictionaries(
    GOOD, optional={k: v for k, v in FIELDS.items() if k not in GOOD and k != "colour"}
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(MOSTLY_GOOD, max_size=8))
def test_generated_mostly_good_records_are_judged_alike(items: list[dict[str, Any]]) -> None:
    assert_same(items)


def test_csv_files_are_judged_alike(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,tenant_id,channel,created_at,duration_s,lost,agent_id,messages\n"
        "a,t1,voice,2024-05-01T10:00:00Z,12,true,007,\n"
        'b,t1,chat,1714557600000,,0,,"[{""sender"": ""agent""}]"\n'
        "c,t1,chat,2024-05-01T10:00:00Z,x,yes,,not json\n"
        "d,t2,fax,2024-05-01T10:00:00,-1,,,\n",
        encoding="utf-8",
    )
    items = next(read_records(path))
    got = assert_same(items)
    assert got.accepted == 2  # c: duration_s "x"; d: channel fax, naive time, duration -1
    assert [r.index for r in got.rejected] == [2, 3]


# -- Parquet ---------------------------------------------------------------------------------------


def parquet_same(path: Path) -> IngestResult:
    """`read_records` + the row path vs. `parquet_tables` + `ingest_table` on one file."""
    with fresh_store() as rows_store, fresh_store() as cols_store:
        expected, got = IngestResult(), IngestResult()
        position = 0
        for chunk in read_records(path, chunk_size=3):
            expected.merge(ingest_rows(rows_store, chunk), offset=position)
            position += len(chunk)
        position = 0
        for table in parquet_tables(path, batch_size=4):
            got.merge(ingest_table(cols_store, table), offset=position)
            position += table.num_rows
        assert outcome(got) == outcome(expected)
        assert stored(cols_store) == stored(rows_store)
    return got


BASE = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def base_table(n: int = 7) -> dict[str, pa.Array]:
    return {
        "id": pa.array([f"c{i}" for i in range(n)]),
        "tenant_id": pa.array(["t1"] * (n - 1) + ["ghost"]),
        "channel": pa.array(["voice", "chat"] * (n // 2) + ["voice"] * (n % 2)),
        "duration_s": pa.array([i * 10 for i in range(n)], pa.int32()),
        "lost": pa.array([i % 2 == 0 for i in range(n)]),
    }


def test_parquet_with_zoned_timestamps(tmp_path: Path) -> None:
    n = 7
    shanghai = [BASE + timedelta(hours=i) for i in range(n)]
    cols = base_table(n)
    cols["created_at"] = pa.array(shanghai, pa.timestamp("ms", tz="Asia/Shanghai"))
    cols["ended_at"] = pa.array(
        [BASE + timedelta(minutes=i) for i in range(n)], pa.timestamp("ns", tz="UTC")
    )
    pq.write_table(pa.table(cols), tmp_path / "z.parquet")
    got = parquet_same(tmp_path / "z.parquet")
    assert got.accepted == 6
    assert [(r.index, r.reason[:15]) for r in got.rejected] == [(6, "unknown tenant ")]


def test_parquet_with_naive_timestamps_reads_them_as_utc(tmp_path: Path) -> None:
    cols = base_table()
    cols["created_at"] = pa.array(
        [datetime(2024, 5, 1, 10, i) for i in range(7)], pa.timestamp("us")
    )
    cols["tenant_id"] = pa.array(["t1"] * 7)
    pq.write_table(pa.table(cols), tmp_path / "n.parquet")
    assert parquet_same(tmp_path / "n.parquet").accepted == 7
    with fresh_store() as store:
        for table in parquet_tables(tmp_path / "n.parquet"):
            ingest_table(store, table)
        first = store.search  # noqa: F841 - the raw row is checked below
        row = store._con.execute("SELECT created_at FROM conversations WHERE id = 'c0'").fetchone()
    assert row[0].replace(tzinfo=UTC) == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_parquet_with_messages(tmp_path: Path) -> None:
    cols = base_table()
    cols["tenant_id"] = pa.array(["t1"] * 7)
    cols["created_at"] = pa.array([BASE] * 7, pa.timestamp("us", tz="UTC"))
    cols["agent_id"] = pa.array(["ag"] * 7)
    message = pa.struct(
        [("sender", pa.string()), ("text", pa.string()), ("sent_at", pa.timestamp("us"))]
    )
    cols["messages"] = pa.array(
        [
            [
                {"sender": "customer", "text": "hi", "sent_at": datetime(2024, 5, 1, 10, 0, 1)},
                {"sender": "agent", "text": "yo", "sent_at": datetime(2024, 5, 1, 10, 0, 4)},
            ],
            [],
            None,
            [{"sender": "robot", "text": None, "sent_at": None}],
            [{"sender": "bot", "text": "ok", "sent_at": None}],
            [],
            None,
        ],
        pa.list_(message),
    )
    pq.write_table(pa.table(cols), tmp_path / "m.parquet")
    got = parquet_same(tmp_path / "m.parquet")
    assert got.accepted == 6
    assert got.rejected[0].index == 3 and "messages.0.sender" in got.rejected[0].reason
    with fresh_store() as store:
        for table in parquet_tables(tmp_path / "m.parquet"):
            ingest_table(store, table)
        facts = store._con.execute(
            "SELECT msg_count, first_response_s FROM conversations WHERE id = 'c0'"
        ).fetchone()
    assert facts == (2, 4.0)  # the agent's reply 4 s after created_at (derive.py)


def test_parquet_with_a_wrong_typed_column_rejects_like_the_row_path(tmp_path: Path) -> None:
    cols = base_table()
    cols["created_at"] = pa.array([BASE] * 7, pa.timestamp("us", tz="UTC"))
    cols["channel"] = pa.array([1] * 7, pa.int64())
    cols["duration_s"] = pa.array(["12", "x", None, "3", "4", "5", "6"])
    pq.write_table(pa.table(cols), tmp_path / "w.parquet")
    got = parquet_same(tmp_path / "w.parquet")
    assert got.accepted == 0
    assert "channel: Input should be 'voice' or 'chat'" in got.rejected[0].reason


def test_parquet_with_an_extra_column_fails_the_file_naming_it(tmp_path: Path) -> None:
    cols = base_table()
    cols["created_at"] = pa.array([BASE] * 7, pa.timestamp("us", tz="UTC"))
    cols["colour"] = pa.array(["red"] * 7)
    pq.write_table(pa.table(cols), tmp_path / "x.parquet")
    with pytest.raises(PayloadError, match="unknown column 'colour'"):
        list(parquet_tables(tmp_path / "x.parquet"))


def test_parquet_export_columns_are_named_as_computed(tmp_path: Path) -> None:
    cols = base_table()
    cols["created_at"] = pa.array([BASE] * 7, pa.timestamp("us", tz="UTC"))
    cols["msg_count"] = pa.array([0] * 7)
    pq.write_table(pa.table(cols), tmp_path / "x.parquet")
    with pytest.raises(PayloadError, match="'msg_count' is computed by ccstats"):
        list(parquet_tables(tmp_path / "x.parquet"))


def test_parquet_pandas_index_column_is_not_a_field(tmp_path: Path) -> None:
    cols = base_table()
    cols["created_at"] = pa.array([BASE] * 7, pa.timestamp("us", tz="UTC"))
    cols["__index_level_0__"] = pa.array(range(7))
    meta = {b"pandas": b'{"index_columns": ["__index_level_0__"], "columns": []}'}
    pq.write_table(pa.table(cols).replace_schema_metadata(meta), tmp_path / "p.parquet")
    with fresh_store() as store:
        result = IngestResult()
        for table in parquet_tables(tmp_path / "p.parquet"):
            result.merge(ingest_table(store, table))
    assert result.accepted == 6


def test_empty_parquet_file(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("tenant_id", pa.string()),
            ("channel", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    pq.write_table(schema.empty_table(), tmp_path / "e.parquet")
    assert outcome(parquet_same(tmp_path / "e.parquet")) == (0, [])


def test_cli_import_of_a_large_parquet_file_counts_once_on_reimport(tmp_path: Path) -> None:
    n = 250_123  # more than one batch of `parquet_tables`
    starts = pa.array(range(n), pa.int64())
    table = pa.table(
        {
            "id": pa.compute.cast(starts, pa.string()),
            "tenant_id": pa.array(["t1"] * n),
            "channel": pa.array(["voice"] * n),
            "created_at": pa.compute.cast(
                pa.compute.add(pa.compute.multiply(starts, 1000), 1_714_557_600_000_000),
                pa.timestamp("us", tz="UTC"),
            ),
            "duration_s": pa.array([7] * n, pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "big.parquet")
    db = str(tmp_path / "big.duckdb")
    with DuckDBStore(db) as store:
        add_tenant(store, "t1")
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["import", str(tmp_path / "big.parquet"), "--db", db])
        assert result.exit_code == 0, result.stderr
        assert '"accepted": 250123' in result.stdout
    with DuckDBStore(db) as store:
        count, total = store._con.execute(
            "SELECT count(*), sum(duration_s) FROM conversations"
        ).fetchone()
    assert (count, total) == (n, 7 * n)


@pytest.mark.parametrize(
    ("column", "values", "kind"),
    [
        ("created_at", [1714557600000, 2**64 - 1], pa.uint64()),
        ("bot_turns", [1, 2**64 - 1], pa.uint64()),
        ("created_at", [1714557600000, 2**62], pa.timestamp("ms")),
        ("created_at", [1714557600000, 10413792000000], pa.timestamp("ms", tz="UTC")),
        ("created_at", [1714557600000, -2208988800000], pa.timestamp("ms")),
    ],
)
def test_a_parquet_value_out_of_range_rejects_its_record_only(
    tmp_path: Path, column: str, values: list[int], kind: pa.DataType
) -> None:
    # Issue 15: a uint64 of 2**64-1 (or a year-146 million timestamp) sank the whole file.
    table = pa.table(
        {
            "id": ["a", "b"],
            "tenant_id": ["t1", "t1"],
            "channel": ["voice", "voice"],
            "created_at": pa.array([1714557600000] * 2, pa.timestamp("ms")),
            column: pa.array(values, kind),
        }
    )
    path = tmp_path / "edge.parquet"
    pq.write_table(table, path)
    with fresh_store() as store:
        results = [ingest_table(store, t) for t in parquet_tables(path)]
        (index, reason) = [(r.index, r.reason) for res in results for r in res.rejected][0]
        assert sum(r.accepted for r in results) == 1
        assert index == 1
        assert reason.startswith(f"{column}: ")
        assert "outside the accepted range" in reason or "less than or equal to" in reason
        (rows,) = [read_records(path)]
        assert len(list(rows)) == 1  # the row reader reads it too, without a traceback
