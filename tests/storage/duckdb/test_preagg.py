"""The aggregate fast paths give the raw answers: bucketing by arithmetic instead of the ASOF join
(DST zones, odd offsets, ranges across an offset change), and the pre-aggregates after any sequence
of upserts (records moving between slots, tenants apart, compaction)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccstats.metrics import CATALOG, get_metric
from ccstats.records import TenantSettings
from ccstats.schema import conversation_schema, empty_messages
from ccstats.service import Service
from ccstats.storage.base import AggregateRequest
from ccstats.storage.duckdb import preagg
from ccstats.storage.duckdb import sql as q
from ccstats.storage.duckdb.preagg import rollup_measures
from ccstats.storage.duckdb.store import DuckDBStore
from ccstats.timebuckets import bucket_starts, local_midnight

ZONES = (
    "America/New_York",
    "Asia/Shanghai",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Africa/Casablanca",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "Asia/Kolkata",
)


@pytest.fixture(scope="module")
def raw_store() -> DuckDBStore:
    """Rows every 7 minutes and 13 seconds over 2024 (one tenant), nothing else."""
    store = DuckDBStore()
    store._con.execute(
        "INSERT INTO conversations (tenant_id, id, created_at)"
        " SELECT 't', i::VARCHAR, TIMESTAMP '2024-01-01' + to_seconds(i * 433) FROM range(73000) r(i)"
    )
    return store


def _request(zone: ZoneInfo, first: date, days: int, granularity: str) -> AggregateRequest:
    start, end = local_midnight(first, zone), local_midnight(first + timedelta(days=days), zone)
    return AggregateRequest(
        "t",
        start,
        end,
        (CATALOG["conversations"],),
        bucket_starts=tuple(bucket_starts(start, end, zone, granularity)),
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    ("first", "days", "granularity"),
    [
        (date(2024, 3, 1), 45, "day"),  # crosses the northern spring change
        (date(2024, 10, 20), 20, "hour"),  # crosses the northern autumn change
        (date(2024, 3, 30), 3, "half_hour"),
        (date(2024, 1, 1), 366, "month"),
        (date(2024, 6, 3), 70, "week"),
        (date(2024, 1, 1), 200, "year"),
        (date(2024, 6, 1), 30, "day"),  # no change for most zones: arithmetic
    ],
)
def test_bucket_arithmetic_equals_asof_join(
    raw_store: DuckDBStore, zone: str, first: date, days: int, granularity: str
) -> None:
    request = _request(ZoneInfo(zone), first, days, granularity)
    fast = raw_store._fetch(*q.aggregate_sql(request))
    asof = raw_store._fetch(*q.aggregate_sql(request, arithmetic=False))
    assert fast == asof
    assert [r[0].replace(tzinfo=UTC) for r in fast] == list(request.bucket_starts or ())


def test_arithmetic_used_only_where_exact() -> None:
    ny, shanghai = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
    # Hours are always equal steps; New York's days across 10 March 2024 are not (23 h).
    assert q.bucket_sql("t", _request(ny, date(2024, 3, 9), 3, "hour")) is not None
    assert q.bucket_sql("t", _request(ny, date(2024, 3, 9), 3, "day")) is None
    assert q.bucket_sql("t", _request(ny, date(2024, 6, 1), 30, "day")) is not None
    # Months of a fixed-offset zone: date_trunc on the local time (UTC+8).
    month = q.bucket_sql("t", _request(shanghai, date(2024, 1, 1), 366, "month"))
    assert month == "date_trunc('month', t + INTERVAL (480) MINUTE) - INTERVAL (480) MINUTE"
    # New York's months start at 05:00 or 04:00 UTC: no single offset, the ASOF join.
    assert q.bucket_sql("t", _request(ny, date(2024, 1, 1), 366, "month")) is None


def test_hand_worked_fall_back_day_in_new_york(raw_store: DuckDBStore) -> None:
    # 3 Nov 2024 is 25 h long in New York; a range of that day and the next by day: two buckets,
    # the first 25 h. Rows are every 433 s from 2024-01-01 00:00 UTC.
    ny = ZoneInfo("America/New_York")
    request = _request(ny, date(2024, 11, 3), 2, "day")
    rows = raw_store._fetch(*q.aggregate_sql(request))
    assert rows == raw_store._fetch(*q.aggregate_sql(request, arithmetic=False))
    first = datetime(2024, 11, 3, 4, tzinfo=UTC)  # EDT midnight
    second = datetime(2024, 11, 4, 5, tzinfo=UTC)  # EST midnight

    def count(lo: datetime, hi: datetime) -> int:
        base = datetime(2024, 1, 1, tzinfo=UTC)
        up = -(-int((lo - base).total_seconds()) // 433)
        return -(-int((hi - base).total_seconds()) // 433) - up

    assert [(r[0].replace(tzinfo=UTC), r[1]) for r in rows] == [
        (first, count(first, second)),
        (second, count(second, second + timedelta(hours=24))),
    ]


# -- pre-aggregates -------------------------------------------------------------------------------

_ZONES = ("America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Santiago")
_BASE = datetime(2024, 11, 2, tzinfo=UTC)  # New York falls back on 3 Nov, Lord Howe is +11 then


def _record(tenant: str, key: int, minute: int, pick: int, batch: int) -> dict[str, object]:
    """A conversation whose every reported field varies with `pick` (ids repeat across batches)."""
    return {
        "tenant_id": tenant,
        "id": f"c{key}",
        "channel": ("chat", "voice", None)[pick % 3],
        "access_code": ("a", "b")[pick % 2],
        "direction": ("inbound", "outbound")[pick // 2 % 2],
        "created_at": (_BASE + timedelta(minutes=minute)).replace(tzinfo=None),
        "ended_at": (_BASE + timedelta(minutes=minute + pick % 7)).replace(tzinfo=None),
        "stored_at": datetime(2024, 12, 1) + timedelta(minutes=batch),
        "bot_turns": pick % 5 if pick % 4 else None,
        "ended_in_bot": (True, False, None)[pick % 3],
        "agent_connected": pick % 2 == 0,
        "duration_s": pick * 7 % 300,
        "first_response_s": (pick % 9) / 3 if pick % 5 else None,
        "reply_wait_s": pick / 7,
        "own_agent_msg_count": pick % 3,
        "customer_msg_count": pick % 4,
        "agent_msg_count": (pick + 1) % 3,
        "csat_score": pick % 6 or None,
        "queued": pick % 3 == 0,
        "queue_duration_s": pick % 40,
        "agent_id": ("p", "q", None)[pick // 3 % 3],
        "csat_option_id": ("1", "2", None)[pick // 5 % 3],
        "message_handled_by": ("p", None)[pick // 7 % 2],
        "transfer_from_agent_id": ("q", None, None)[pick // 11 % 3],
        "transfer_to_agent_id": ("p", None, None)[pick // 13 % 3],
        "left_message": (True, False, None)[pick // 17 % 3],
    }


def _table(records: list[dict[str, object]]) -> pa.Table:
    schema = conversation_schema()
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in records], schema)


_records = st.tuples(
    st.sampled_from(("t1", "t2")),
    st.integers(0, 30),  # few keys: later batches replace earlier rows, often in another slot
    st.integers(0, 3 * 24 * 60),
    st.integers(0, 1000),
)


def _requests(tenant: str, zone: ZoneInfo) -> list[AggregateRequest]:
    measures = tuple(m for m in rollup_measures())
    start = local_midnight(date(2024, 11, 2), zone)
    end = local_midnight(date(2024, 11, 5), zone)
    out = []
    for granularity in ("hour", "day", "month", "total"):
        starts = (
            None if granularity == "total" else tuple(bucket_starts(start, end, zone, granularity))
        )
        for group_by, filters in (
            ((), ()),
            (("channel",), (("access_code", ("a",)),)),
            (("access_code", "direction"), (("channel", ("chat", None)),)),
            # 7moor agent reports: the local-day agent rollup for whole days.
            (("agent_id",), (("channel", ("chat",)),)),
            (("agent_id", "csat_option_id"), ()),
            # 7moor agent rows: received sessions (leave-messages excluded)
            (("agent_id",), (("channel", ("chat",)), ("left_message", (False, None)))),
            (("transfer_to_agent_id",), (("agent_id", ("p",)), ("channel", ("chat", None)))),
        ):
            out.append(
                AggregateRequest(
                    tenant, start, end, measures, "created_at", starts, group_by, filters
                )
            )
    return out


def _assert_same(fast: DuckDBStore, raw: DuckDBStore, zones: dict[str, ZoneInfo]) -> None:
    """The same answers while bulk batches left rollups stale (raw table), then after
    `maintain` rebuilt them (from the rollups)."""
    for tenant in ("t1", "t2", "t3"):
        zone = zones.get(tenant, ZoneInfo("UTC"))
        for request in _requests(tenant, zone):
            assert fast.aggregate(request).rows == raw.aggregate(request).rows
    fast.maintain()
    for tenant in ("t1", "t2", "t3"):  # t3 has no settings: its days are UTC days
        zone = zones.get(tenant, ZoneInfo("UTC"))
        for request in _requests(tenant, zone):
            answer = fast.aggregate(request)
            by_agent = "agent_id" in {*request.group_by, *(f for f, _ in request.filters)}
            whole_days = request.bucket_starts is None or len(request.bucket_starts) <= 3
            if not by_agent:
                assert "conversation_rollup" in answer.sql
            elif whole_days:
                assert "agent_day_rollup" in answer.sql
            assert answer.rows == raw.aggregate(request).rows


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(_records, min_size=1, max_size=12), min_size=1, max_size=4),
    zone=st.sampled_from(_ZONES),
    moved=st.sampled_from(_ZONES),
)
def test_rollup_answers_equal_a_fresh_raw_aggregation(
    batches: list[list[tuple[str, int, int, int]]], zone: str, moved: str
) -> None:
    fast, raw = DuckDBStore(), DuckDBStore(rollups=False, bucket_arithmetic=False)
    zones = {"t1": ZoneInfo(zone)}
    for store in (fast, raw):
        Service(store).put_tenant(TenantSettings(id="t1", timezone=zone))
    for number, batch in enumerate(batches):
        table = _table([_record(t, k, m, p, number) for t, k, m, p in batch])
        fast.upsert_conversations(table, empty_messages())
        raw.upsert_conversations(table, empty_messages())
        _assert_same(fast, raw, zones)
        if number == 0:  # t2 created after its rows; later t1 moves: local days are recut
            zones["t2"] = ZoneInfo("Asia/Kolkata")
            for store in (fast, raw):
                Service(store).put_tenant(TenantSettings(id="t2", timezone="Asia/Kolkata"))
        if number == 1:
            zones["t1"] = ZoneInfo(moved)
            for store in (fast, raw):
                Service(store).put_tenant(TenantSettings(id="t1", timezone=moved))
    _assert_same(fast, raw, zones)
    fast.compact()
    _assert_same(fast, raw, zones)


_new_records = st.tuples(
    st.sampled_from(("t1", "t2", "t3")),
    st.integers(0, 5_000),  # mostly new keys: batches take the append path, by difference
    st.integers(0, 3 * 24 * 60),  # up to three days: bulk batches too
    st.integers(0, 1000),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(_new_records, min_size=1, max_size=12), min_size=1, max_size=5),
    zone=st.sampled_from(_ZONES),
)
def test_rollups_added_to_by_difference_equal_a_fresh_raw_aggregation(
    batches: list[list[tuple[str, int, int, int]]], zone: str
) -> None:
    """Batches of new keys add their own aggregates to the rollups (`preagg.merge_sql`), into
    slots that hold rows already and into new ones, for one tenant or several, within a day
    or over three; now and then a batch repeats a key and recomputes its slots instead."""
    fast, raw = DuckDBStore(), DuckDBStore(rollups=False, bucket_arithmetic=False)
    recomputed = DuckDBStore(appends=False)  # every batch recomputes its touched slots
    zones = {"t1": ZoneInfo(zone), "t2": ZoneInfo("Asia/Kolkata")}
    for store in (fast, raw, recomputed):
        Service(store).put_tenant(TenantSettings(id="t1", timezone=zone))
        Service(store).put_tenant(TenantSettings(id="t2", timezone="Asia/Kolkata"))
    rollup_rows = "SELECT * FROM {} ORDER BY ALL"
    for number, batch in enumerate(batches):
        table = _table([_record(t, k, m, p, number) for t, k, m, p in batch])
        for store in (fast, raw, recomputed):
            store.upsert_conversations(table, empty_messages())
        for tenant in ("t1", "t2", "t3"):
            for request in _requests(tenant, zones.get(tenant, ZoneInfo("UTC"))):
                assert fast.aggregate(request).rows == raw.aggregate(request).rows
    for store in (fast, recomputed):  # what batches that replace rows left stale, rebuilt
        store.maintain()
    for rollup in preagg.ROLLUPS:  # cell for cell what recomputing every slot gives
        query = rollup_rows.format(rollup.table)
        assert fast._fetch(query) == recomputed._fetch(query)
    _assert_same(fast, raw, zones)


def test_a_batch_of_new_keys_adds_to_its_slots_by_difference() -> None:
    """Worked by hand in one 15-minute slot (00:00-00:15, channel chat, access code a, inbound):
    c1 has a duration of 70 s and no bot turns, c2 a duration of 140 s and 2 bot turns, stored
    later. After c1 alone, the slot's cells are 1 conversation, 70 s, bot turns NULL (no value);
    c2, a new key, adds 1, 140 and 2 to them: 2 conversations, 210 s, 2 bot turns, the last
    stored time c2's. A five-day batch of new keys leaves nothing stale."""
    store = DuckDBStore()
    cell = (
        "SELECT m_conversations, m_duration_total, m_bot_turns, m_last_stored_at"
        " FROM conversation_rollup WHERE tenant_id = 't1' AND slot = ?"
        " AND channel = 'chat' AND access_code = 'a' AND direction = 'inbound'"
    )
    slot = _BASE.replace(tzinfo=None)
    c1 = {**_record("t1", 1, 1, 0, 0), "duration_s": 70, "bot_turns": None}
    c2 = {**_record("t1", 2, 9, 0, 5), "duration_s": 140, "bot_turns": 2}
    store.upsert_conversations(_table([c1]), empty_messages())
    assert store._fetch(cell, [slot]) == [(1, 70, None, datetime(2024, 12, 1))]
    store.upsert_conversations(_table([c2]), empty_messages())
    assert store._fetch(cell, [slot]) == [(2, 210, 2, datetime(2024, 12, 1, 0, 5))]
    day = 24 * 60
    spread = _table([_record("t1", 10 + k, k * day, k, 0) for k in range(5)])
    store.upsert_conversations(spread, empty_messages())
    assert store._fetch("SELECT * FROM engine_state WHERE key LIKE 'stale:%'") == []
    assert "conversation_rollup" in store.explain(_requests("t1", ZoneInfo("UTC"))[0])


def test_rollup_is_rebuilt_for_a_store_made_without_it(tmp_path: Path) -> None:
    path = str(tmp_path / "s.duckdb")
    with DuckDBStore(path, rollups=False) as old:
        old.upsert_conversations(_table([_record("t1", 1, 10, 4, 0)]), empty_messages())
    with DuckDBStore(path) as store:
        request = _requests("t1", ZoneInfo("UTC"))[0]
        answer = store.aggregate(request)
        assert "conversation_rollup" in answer.sql
        assert sum(r[1] for r in answer.rows) == 1  # the one conversation, counted


def test_uncovered_requests_read_the_raw_table() -> None:
    store = DuckDBStore()
    store.upsert_conversations(_table([_record("t1", 1, 10, 4, 0)]), empty_messages())
    request = _requests("t1", ZoneInfo("UTC"))[0]
    by_agent = replace(request, group_by=("agent_id",))
    fcr = replace(request, measures=(get_metric("resolved_within_24h"),))  # type: ignore[arg-type]
    odd = replace(request, start=request.start + timedelta(minutes=5), bucket_starts=None)
    for uncovered in (by_agent, odd, replace(request, time_field="ended_at")):
        assert "conversation_rollup" not in store.explain(uncovered)
    # FCR reads its own row's next contact (storage/duckdb/contacts.py), so the rollup holds it.
    for covered in (request, fcr):
        assert "conversation_rollup" in store.explain(covered)


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        ("America/Santiago", date(2024, 9, 6)),  # midnight jumps to 01:00 on 8 Sep
        ("America/Santiago", date(2024, 4, 5)),  # midnight repeats on 7 Apr
        ("Asia/Beirut", date(2024, 3, 30)),  # midnight jumps on 31 Mar
        ("America/Havana", date(2024, 3, 9)),
        ("Australia/Lord_Howe", date(2024, 4, 6)),  # half-hour change
        ("Pacific/Kiritimati", date(2024, 6, 1)),  # +14
    ],
)
def test_local_days_of_the_agent_rollup_match_local_midnight(zone: str, first: date) -> None:
    """ICU cuts the rollup's days; `local_midnight` cuts the request's: they must agree, also on
    days whose midnight is skipped or repeated."""
    fast, raw = DuckDBStore(), DuckDBStore(rollups=False)
    start = local_midnight(first, ZoneInfo(zone))
    records = [
        {
            **_record("t1", i, 0, i, 0),
            "created_at": (start + timedelta(minutes=20 * i)).replace(tzinfo=None),
        }
        for i in range(4 * 72)
    ]
    for store in (fast, raw):
        Service(store).put_tenant(TenantSettings(id="t1", timezone=zone))
        store.upsert_conversations(_table(records), empty_messages())
    fast.maintain()  # four days in one batch: the rollups wait for maintenance
    end = local_midnight(first + timedelta(days=4), ZoneInfo(zone))
    request = AggregateRequest(
        "t1",
        start,
        end,
        (CATALOG["conversations"],),  # type: ignore[arg-type]
        bucket_starts=tuple(bucket_starts(start, end, ZoneInfo(zone), "day")),
        group_by=("agent_id",),
    )
    answer = fast.aggregate(request)
    assert "agent_day_rollup" in answer.sql
    assert answer.rows == raw.aggregate(request).rows
    assert sum(r[2] for r in answer.rows) == len(
        [r for r in records if r["created_at"] < end.replace(tzinfo=None)]
    )


def test_bulk_batches_that_replace_rows_defer_rollups_to_maintenance(tmp_path: Path) -> None:
    path = str(tmp_path / "s.duckdb")
    day = 24 * 60
    stored = _table([_record("t1", k, k * 60, k, 0) for k in range(5)])  # one day: live
    spread = _table([_record("t1", k, k * day, k, 0) for k in range(5)])  # five days: bulk
    request = _requests("t1", ZoneInfo("UTC"))[0]
    with DuckDBStore(path) as store:
        store.upsert_conversations(stored, empty_messages())
        assert "conversation_rollup" in store.explain(request)
        store.upsert_conversations(spread, empty_messages())
        assert "conversation_rollup" not in store.explain(request)  # stale: the raw table
    with DuckDBStore(path) as store:  # the mark survives a restart
        assert "conversation_rollup" not in store.explain(request)
        raw = store.aggregate(request).rows
        store.maintain()
        assert "conversation_rollup" in store.explain(request)
        assert store.aggregate(request).rows == raw
        # A batch within one day refreshes its slots at once.
        store.upsert_conversations(_table([_record("t1", 9, 30, 2, 1)]), empty_messages())
        assert "conversation_rollup" in store.explain(request)


def test_maintenance_rebuilds_only_the_span_bulk_batches_changed(tmp_path: Path) -> None:
    """A bulk batch 40-45 days on marks the created_at span it changed; `maintain` rebuilds
    those slots and leaves the rollup rows of the first days where they were (rowids)."""
    day = 24 * 60
    with DuckDBStore(str(tmp_path / "s.duckdb")) as store:
        Service(store).put_tenant(TenantSettings(id="t1", timezone="Asia/Shanghai"))
        early = _table([_record("t1", k, k * 60, k, 0) for k in range(10)])  # one day: live
        store.upsert_conversations(early, empty_messages())
        rowids = "SELECT rowid, * FROM {} WHERE slot < TIMESTAMP '2024-12-01' ORDER BY ALL"
        before = {r.table: store._fetch(rowids.format(r.table)) for r in preagg.ROLLUPS}
        # Rows the bulk batch replaces (a batch of new keys only adds to the rollups).
        replaced = _table([_record("t1", 100 + k, 40 * day + k, k, 1) for k in range(6)])
        store.upsert_conversations(replaced, empty_messages())
        later = _table([_record("t1", 100 + k, (40 + k) * day, k, 1) for k in range(6)])
        store.upsert_conversations(later, empty_messages())  # six days: bulk, rollups stale
        marks = store._fetch("SELECT value FROM engine_state WHERE key LIKE 'stale:%' ORDER BY key")
        lo, hi = (_BASE + timedelta(days=40)), (_BASE + timedelta(days=45))
        span = f"{lo:%Y-%m-%d %H:%M:%S}.000000|{hi:%Y-%m-%d %H:%M:%S}.000000"
        assert marks == [(span,), (span,)]
        store.maintain()
        assert {r.table: store._fetch(rowids.format(r.table)) for r in preagg.ROLLUPS} == before
        raw = DuckDBStore(rollups=False, bucket_arithmetic=False)
        Service(raw).put_tenant(TenantSettings(id="t1", timezone="Asia/Shanghai"))
        for table in (early, replaced, later):
            raw.upsert_conversations(table, empty_messages())
        for request in _requests("t1", ZoneInfo("Asia/Shanghai")):
            wide = replace(request, end=request.start + timedelta(days=60), bucket_starts=None)
            assert store.aggregate(wide).rows == raw.aggregate(wide).rows


def test_a_stale_mark_without_a_span_rebuilds_the_whole_tenant(tmp_path: Path) -> None:
    """Files from before spans were kept marked `1`: maintenance rebuilds the whole tenant."""
    with DuckDBStore(str(tmp_path / "s.duckdb")) as store:
        Service(store).put_tenant(TenantSettings(id="t1"))
        spread = _table([_record("t1", k, k * 24 * 60, k, 0) for k in range(5)])
        store.upsert_conversations(spread, empty_messages())
        store._con.execute("UPDATE meta SET value = '1' WHERE key LIKE 'stale:%'")
        request = _requests("t1", ZoneInfo("UTC"))[0]
        raw = store.aggregate(request).rows
        store.maintain()
        assert "conversation_rollup" in store.explain(request)
        assert store.aggregate(request).rows == raw


def test_a_scoped_agent_report_reads_the_agent_rollup() -> None:
    """A 7moor credential's scope (its source, and records with none) narrows the agent reports
    by `source`, a dimension of the agent-day rollup: they stay on it. Agent a: two 7moor
    conversations, one with no source, one from Huawei (out of the scope): 3."""
    from ccstats.metrics.query import MetricQuery
    from ccstats.scope import Scope

    store = DuckDBStore()
    service = Service(store)
    service.put_tenant(TenantSettings(id="t1", timezone="UTC"))
    sources = ["7moor", "7moor", None, "huawei"]
    service.ingest_conversations(
        [
            {
                "id": f"c{i}",
                "tenant_id": "t1",
                "channel": "chat",
                "agent_id": "a",
                "source": source,
                "created_at": f"2024-05-01T1{i}:00:00Z",
            }
            for i, source in enumerate(sources)
        ]
    )
    view = service.within(Scope(sources=("7moor", None)))
    query = MetricQuery(
        "t1",
        ("conversations",),
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 2, tzinfo=UTC),
        group_by=("agent_id",),
    )
    assert "agent_day_rollup" in view.explain(query)
    assert [r["conversations"] for r in view.compute_query(query).rows] == [3]
