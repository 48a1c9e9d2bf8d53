"""Cached answers always equal a fresh recomputation from the raw records, whatever was ingested."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccstats.ingest import ingest_conversations
from ccstats.metrics.query import MetricQuery, compute_query, run_query
from ccstats.storage import DuckDBStore

START, END = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
QUERIES = [
    MetricQuery(
        "t1",
        ("conversations", "bot_turns", "autonomy_rate"),
        START,
        END,
        "America/New_York",
        "hour",
    ),
    MetricQuery(
        "t1",
        ("conversations", "csat", "finished"),
        START,
        END,
        "America/New_York",
        "day",
        group_by=("channel",),
    ),
    MetricQuery("t2", ("conversations", "agent_sessions"), START, END, "UTC", "total"),
]

records = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b", "c", "d"]),
        "tenant_id": st.sampled_from(["t1", "t2"]),
        "channel": st.sampled_from(["voice", "chat"]),
        "created_at": st.integers(int(START.timestamp() * 1000), int(END.timestamp() * 1000) - 1),
        "bot_turns": st.integers(0, 6),
        "ended_in_bot": st.booleans(),
        "agent_connected": st.booleans(),
        "csat_score": st.none() | st.integers(1, 5),
        "ended_at": st.none() | st.just("2024-03-12T00:00:00Z"),
    }
)


def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (v.numerator, v.denominator) if hasattr(v, "numerator") else v for k, v in r.items()}
        for r in rows
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(records, min_size=1, max_size=4), min_size=1, max_size=6))
def test_cached_answers_equal_fresh_recomputation(batches: list[list[dict[str, Any]]]) -> None:
    with DuckDBStore(":memory:") as store:
        from ccstats.records import TenantSettings

        store.put_tenant(TenantSettings(id="t1", timezone="America/New_York"))
        store.put_tenant(TenantSettings(id="t2"))
        for batch in batches:
            assert not ingest_conversations(store, batch).rejected
            for query in QUERIES:
                assert plain(run_query(store, query).rows) == plain(
                    compute_query(store, query).rows
                )
