"""The 15-minute rollup equals the ledger: random batches of new records, retries and
corrections that move records across slots, days, channels and customers, with and without
settled next contacts; every covered report read both ways (two store objects on one database,
one without the rollup) in several zones and granularities, grouped and filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.chdb_stores import chdb_url, drop_opened

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage.clickhouse import ClickHouseStore
from ccstats.storage.clickhouse.rollup import held_measures
from ccstats.timebuckets import bucket_starts

T0 = datetime(2024, 3, 30, tzinfo=UTC)  # Europe/Berlin moves its clocks on the 31st
MEASURES = held_measures()

records = st.fixed_dictionaries(
    {
        "id": st.sampled_from("abcdefgh"),
        "channel": st.sampled_from(["voice", "chat"]),
        "direction": st.sampled_from(["inbound", "outbound"]),
        "access_code": st.sampled_from(["100", "200", None]),
        "minutes": st.integers(0, 3 * 24 * 60),
        "duration_s": st.none() | st.integers(0, 900),
        "lost": st.booleans(),
        "customer_id": st.sampled_from(["p", "q", None]),
        "ended_after_s": st.none() | st.integers(0, 30 * 3600),
    }
)


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    created = T0 + timedelta(minutes=raw["minutes"])
    out = {k: v for k, v in raw.items() if k not in ("minutes", "ended_after_s") and v is not None}
    out |= {"tenant_id": "t1", "created_at": created.isoformat()}
    if raw["ended_after_s"] is not None:
        out["ended_at"] = (created + timedelta(seconds=raw["ended_after_s"])).isoformat()
    return out


def _requests() -> list[AggregateRequest]:
    out = []
    end = T0 + timedelta(days=4)
    for zone in ("UTC", "Europe/Berlin", "Asia/Kathmandu"):
        for granularity in ("half_hour", "day"):
            starts = tuple(bucket_starts(T0, end, ZoneInfo(zone), granularity))
            out.append(AggregateRequest("t1", starts[0], end, MEASURES, bucket_starts=starts))
    # With a maximum: the counts and sums from the rollup, the maximum from the ledger.
    newest = (*MEASURES, CATALOG["last_stored_at"])
    out.append(AggregateRequest("t1", T0, end, newest, group_by=("channel", "access_code")))  # type: ignore[arg-type]
    filters = (("direction", ("inbound",)), ("access_code", ("100", None)))
    out.append(AggregateRequest("t1", T0, end, MEASURES, filters=filters))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(records, min_size=1, max_size=6), min_size=1, max_size=4), st.booleans())
def test_the_rollup_equals_the_ledger(batches: list[list[dict[str, Any]]], settle: bool) -> None:
    url = chdb_url()
    with_rollup = ClickHouseStore(url)
    raw = ClickHouseStore(url, rollups=False)
    try:
        with_rollup.registry.put_tenant(TenantSettings(id="t1"))
        for batch in batches:
            chunk = [_record(r) for r in batch]
            assert not ingest_conversations(with_rollup, chunk).rejected
            ingest_conversations(with_rollup, chunk[:1])  # a retry of part of the batch
            if settle:
                with_rollup.flush()
        for request in _requests():
            assert "conversation_rollup" in with_rollup.explain(request)
            assert "conversation_rollup" not in raw.explain(request)
            assert with_rollup.aggregate(request).rows == raw.aggregate(request).rows, request
    finally:
        raw.close()
        with_rollup.drop(wait=False)


def test_what_the_rollup_cannot_answer_reads_the_ledger() -> None:
    store = ClickHouseStore(chdb_url())
    try:
        end = T0 + timedelta(days=1)
        off_grid = AggregateRequest("t1", T0 + timedelta(minutes=7), end, MEASURES)
        by_agent = AggregateRequest("t1", T0, end, MEASURES, group_by=("agent_id",))
        by_end = AggregateRequest("t1", T0, end, MEASURES, time_field="ended_at")
        for request in (off_grid, by_agent, by_end):
            assert "conversation_rollup" not in store.explain(request)
    finally:
        store.drop(wait=False)
        drop_opened()


def test_a_rollup_of_another_shape_or_gone_is_rebuilt_from_the_ledger() -> None:
    url = chdb_url()
    store = ClickHouseStore(url)
    try:
        store.registry.put_tenant(TenantSettings(id="t1"))
        ingest_conversations(store, [_record(r) for r in _three()])
        request = _requests()[0]
        want = ClickHouseStore(url, rollups=False).aggregate(request).rows
        store.registry.put_meta("clickhouse:rollup_signature", "another shape")
        assert ClickHouseStore(url).aggregate(request).rows == want
        store._db.command(f"DROP TABLE {store._t('conversation_rollup')}")
        assert ClickHouseStore(url).aggregate(request).rows == want
    finally:
        store.drop(wait=False)


def _three() -> list[dict[str, Any]]:
    base = {
        "channel": "voice",
        "direction": "inbound",
        "access_code": None,
        "duration_s": 5,
        "lost": False,
        "customer_id": "p",
        "ended_after_s": 60,
    }
    return [{**base, "id": i, "minutes": 100 * n} for n, i in enumerate("abc")]
