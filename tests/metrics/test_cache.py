"""Cached answers always equal a fresh recomputation from the raw records, whatever was ingested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccstats.metrics.query import MetricQuery
from ccstats.records import TenantSettings
from ccstats.service import Service
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
    # One day each: a batch elsewhere leaves them cached (`ChangeLog.changed_since`); FCR moves
    # with other days' conversations of the same customer.
    *(
        MetricQuery(
            "t1",
            ("conversations", "fcr_24h", "finished"),
            START + timedelta(days=d),
            START + timedelta(days=d + 1),
            "UTC",
            "total",
            time_field=field,
        )
        for d in range(3)
        for field in ("created_at", "ended_at")
    ),
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
        "ended_at": st.none()
        | st.integers(int(START.timestamp() * 1000), int(END.timestamp() * 1000) - 1),
        "customer_id": st.sampled_from(["x", "y", None]),
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
        service = Service(store)
        service.put_tenant(TenantSettings(id="t1", timezone="America/New_York"))
        service.put_tenant(TenantSettings(id="t2"))
        for batch in batches:
            assert not service.ingest_conversations(batch).rejected
            for query in QUERIES:
                assert plain(service.run_query(query).rows) == plain(
                    service.compute_query(query).rows
                )


def test_ingest_elsewhere_keeps_answers_cached() -> None:
    with DuckDBStore(":memory:") as store:
        service = Service(store)
        service.put_tenant(TenantSettings(id="t1"))
        day = MetricQuery("t1", ("conversations",), START, START + timedelta(days=1))
        calls = []
        aggregate = store.aggregate
        store.aggregate = lambda request: calls.append(request) or aggregate(request)  # type: ignore[method-assign]

        def ingest(iso: str, cid: str, **extra: Any) -> None:
            record = {"id": cid, "tenant_id": "t1", "channel": "voice", "created_at": iso}
            assert not service.ingest_conversations([{**record, **extra}]).rejected

        ingest("2024-03-09T10:00:00Z", "a")
        assert service.run_query(day).rows == [{"conversations": 1}]
        ingest("2024-03-11T10:00:00Z", "b")  # two days later: the answer stays
        assert service.run_query(day).rows == [{"conversations": 1}]
        assert len(calls) == 1
        # Moving "b" into the day, or a zone change, recomputes.
        ingest("2024-03-09T11:00:00Z", "b")
        assert service.run_query(day).rows == [{"conversations": 2}]
        service.put_tenant(TenantSettings(id="t1", timezone="Asia/Tokyo"))
        assert service.run_query(day).rows == [{"conversations": 2}]
        assert len(calls) == 3
        # A row whose later times reach into the range (ended_at) counts as touching it.
        ingest("2024-03-08T22:00:00Z", "c", ended_at="2024-03-09T01:00:00Z")
        assert service.changes.changed_since(
            "t1", service.changes.generation("t1") - 1, START, START
        )


def test_formatted_answers_follow_their_cached_answer() -> None:
    with DuckDBStore(":memory:") as store:
        service = Service(store)
        service.put_tenant(TenantSettings(id="t1"))
        day = MetricQuery("t1", ("conversations",), START, START + timedelta(days=1))
        built: list[str] = []

        def build(key: str) -> Any:
            def rows(result: Any) -> list[Any]:
                built.append(key)
                return [key, result.rows[0]["conversations"]]

            return service.run_formatted(day, key, rows)

        def ingest(iso: str, cid: str) -> None:
            record = {"id": cid, "tenant_id": "t1", "channel": "voice", "created_at": iso}
            assert not service.ingest_conversations([record]).rejected

        ingest("2024-03-09T10:00:00Z", "a")
        assert build("x") == ["x", 1]
        assert build("x") == ["x", 1]  # built once per answer and format
        assert build("y") == ["y", 1]
        assert built == ["x", "y"]
        ingest("2024-03-11T10:00:00Z", "b")  # elsewhere: still the same answer
        assert build("x") == ["x", 1]
        assert built == ["x", "y"]
        ingest("2024-03-09T11:00:00Z", "c")  # in range: a new answer, formatted again
        assert build("x") == ["x", 2]
        assert built == ["x", "y", "x"]
