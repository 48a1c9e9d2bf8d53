"""The query model: buckets in the tenant's zone across DST, group-by, filters, empty buckets, and
the property that hourly buckets add up to the daily bucket for every count and sum."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import add_tenant, load

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG, Measure, UnknownNameError
from ccstats.metrics.query import MetricQuery, QueryError
from ccstats.service import Service
from ccstats.storage import DuckDBStore, Store
from ccstats.timebuckets import local_midnight

NY = ZoneInfo("America/New_York")


def conv(cid: str, created: datetime, tenant: str = "ny", **fields: object) -> dict[str, object]:
    """A chat conversation created at an aware instant."""
    return {
        "id": cid,
        "tenant_id": tenant,
        "channel": "chat",
        "created_at": created.isoformat(),
        **fields,
    }


def every_half_hour(day: date, zone: ZoneInfo) -> list[datetime]:
    """One instant 10 minutes into every real half hour of a local day (DST-aware)."""
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    out, t = [], start + timedelta(minutes=10)
    while t < end:
        out.append(t)
        t += timedelta(minutes=30)
    return out


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2024, 3, 10), 23), (date(2024, 11, 3), 25), (date(2024, 6, 1), 24)],
)
def test_hour_buckets_across_dst(store: Store, day: date, hours: int) -> None:
    add_tenant(store, "ny", "America/New_York")
    instants = every_half_hour(day, NY)
    load(store, [conv(f"c{i}", t) for i, t in enumerate(instants)])
    start, end = local_midnight(day, NY), local_midnight(day + timedelta(days=1), NY)
    query = MetricQuery("ny", ("conversations",), start, end, "America/New_York", "hour")
    rows = Service(store).run_query(query).rows
    assert len(rows) == hours
    assert [r["conversations"] for r in rows] == [2] * hours
    # Buckets are consecutive real hours.
    assert all(
        b["bucket"] - a["bucket"] == timedelta(hours=1)
        for a, b in zip(rows, rows[1:], strict=False)
    )
    daily = Service(store).run_query(
        MetricQuery("ny", ("conversations",), start, end, "America/New_York", "day")
    )
    assert daily.rows == [{"bucket": start, "conversations": 2 * hours}]


def test_fall_back_day_has_two_local_1am_buckets(store: Store) -> None:
    add_tenant(store, "ny", "America/New_York")
    first = datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2024, 11, 3, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    load(store, [conv("a", first), conv("b", second), conv("c", second)])
    start = local_midnight(date(2024, 11, 3), NY)
    query = MetricQuery(
        "ny", ("conversations",), start, start + timedelta(hours=25), "America/New_York", "hour"
    )
    rows = Service(store).run_query(query).rows
    assert [(r["bucket"], r["conversations"]) for r in rows] == [
        (datetime(2024, 11, 3, 5, tzinfo=UTC), 1),
        (datetime(2024, 11, 3, 6, tzinfo=UTC), 2),
    ]
    assert [r["bucket"].astimezone(NY).hour for r in rows] == [1, 1]


def test_spring_forward_day_bucket_is_23_hours(store: Store) -> None:
    add_tenant(store, "ny", "America/New_York")
    # 2024-03-10 00:30 EST and 23:30 EDT are on the same local day; 2024-03-11 00:10 EDT is not.
    load(
        store,
        [
            conv("a", datetime(2024, 3, 10, 5, 30, tzinfo=UTC)),
            conv("b", datetime(2024, 3, 11, 3, 30, tzinfo=UTC)),
            conv("c", datetime(2024, 3, 11, 4, 10, tzinfo=UTC)),
        ],
    )
    start = local_midnight(date(2024, 3, 9), NY)
    query = MetricQuery(
        "ny", ("conversations",), start, start + timedelta(days=3), "America/New_York", "day"
    )
    rows = Service(store).run_query(query).rows
    assert [(r["bucket"], r["conversations"]) for r in rows] == [
        (datetime(2024, 3, 10, 5, tzinfo=UTC), 2),
        (datetime(2024, 3, 11, 4, tzinfo=UTC), 1),
    ]
    assert rows[1]["bucket"] - rows[0]["bucket"] == timedelta(hours=23)


def test_month_buckets_are_local_calendar_months(store: Store) -> None:
    add_tenant(store, "sh", "Asia/Shanghai")
    # 2024-01-31T16:30Z is 2024-02-01 00:30 in Shanghai: February, not January.
    load(
        store,
        [
            conv("a", datetime(2024, 1, 31, 15, 59, tzinfo=UTC), "sh"),
            conv("b", datetime(2024, 1, 31, 16, 30, tzinfo=UTC), "sh"),
        ],
    )
    query = MetricQuery(
        "sh",
        ("conversations",),
        datetime(2023, 12, 31, 16, tzinfo=UTC),
        datetime(2024, 2, 29, 16, tzinfo=UTC),
        "Asia/Shanghai",
        "month",
    )
    rows = Service(store).run_query(query).rows
    assert [
        (r["bucket"].astimezone(ZoneInfo("Asia/Shanghai")).date(), r["conversations"]) for r in rows
    ] == [
        (date(2024, 1, 1), 1),
        (date(2024, 2, 1), 1),
    ]


def test_fill_empty_buckets_with_groups(store: Store) -> None:
    add_tenant(store, "u")
    base = datetime(2024, 5, 1, tzinfo=UTC)
    load(
        store,
        [
            conv("a", base + timedelta(hours=1), "u", agent_id="x"),
            conv("b", base + timedelta(hours=1, minutes=5), "u", agent_id="y"),
            conv("c", base + timedelta(hours=3), "u", agent_id="x"),
        ],
    )
    query = MetricQuery(
        "u",
        ("conversations", "csat"),
        base,
        base + timedelta(hours=4),
        "UTC",
        "hour",
        group_by=("agent_id",),
        fill_empty=True,
    )
    rows = Service(store).run_query(query).rows
    assert len(rows) == 8  # 4 hours x 2 agents
    got = {(r["bucket"].hour, r["agent_id"]): r["conversations"] for r in rows}
    assert got == {
        (0, "x"): 0,
        (0, "y"): 0,
        (1, "x"): 1,
        (1, "y"): 1,
        (2, "x"): 0,
        (2, "y"): 0,
        (3, "x"): 1,
        (3, "y"): 0,
    }
    assert all(r["csat"].value is None for r in rows)


def test_group_by_and_list_filters(store: Store) -> None:
    add_tenant(store, "u")
    add_tenant(store, "v")
    t = datetime(2024, 5, 1, 10, tzinfo=UTC)
    load(
        store,
        [
            conv("a", t, "u", agent_id="x", channel="voice"),
            conv("b", t, "u", agent_id="y"),
            conv("c", t, "u", agent_id="z"),
            conv("d", t, "u"),
            conv("e", t, "v", agent_id="x"),
        ],
    )
    span = (t - timedelta(hours=1), t + timedelta(hours=1))
    by_agent = Service(store).run_query(
        MetricQuery("u", ("conversations",), *span, group_by=("agent_id",))
    )
    assert {r["agent_id"]: r["conversations"] for r in by_agent.rows} == {
        "x": 1,
        "y": 1,
        "z": 1,
        None: 1,
    }
    filtered = Service(store).run_query(
        MetricQuery("u", ("conversations",), *span, filters={"agent_id": ("x", "y", None)}),
    )
    assert filtered.rows == [{"conversations": 3}]
    voice = Service(store).run_query(
        MetricQuery("u", ("conversations",), *span, filters={"channel": ("voice",)})
    )
    assert voice.rows == [{"conversations": 1}]


def test_time_basis_other_than_created_at(store: Store) -> None:
    add_tenant(store, "u")
    created = datetime(2024, 5, 1, 23, 50, tzinfo=UTC)
    load(store, [conv("a", created, "u", ended_at="2024-05-02T00:20:00Z")])
    day2 = (datetime(2024, 5, 2, tzinfo=UTC), datetime(2024, 5, 3, tzinfo=UTC))
    assert Service(store).run_query(MetricQuery("u", ("conversations",), *day2)).rows == [
        {"conversations": 0}
    ]
    by_end = MetricQuery("u", ("conversations",), *day2, time_field="ended_at")
    assert Service(store).run_query(by_end).rows == [{"conversations": 1}]


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [
        ({"metrics": ("conversatons",)}, UnknownNameError, "did you mean 'conversations'"),
        ({"group_by": ("agnt_id",)}, UnknownNameError, "did you mean 'agent_id'"),
        ({"filters": {"chanel": ("chat",)}}, UnknownNameError, "did you mean 'channel'"),
        ({"granularity": "hours"}, UnknownNameError, "did you mean 'hour'"),
        ({"time_field": "ended"}, UnknownNameError, "did you mean 'ended_at'"),
        ({"metrics": ()}, QueryError, "no metrics"),
        ({"end": datetime(2024, 4, 30, tzinfo=UTC)}, QueryError, "before it starts"),
    ],
)
def test_bad_queries_name_the_problem(
    store: Store, change: dict[str, object], error: type[Exception], text: str
) -> None:
    fields: dict[str, object] = {
        "tenant_id": "u",
        "metrics": ("conversations",),
        "start": datetime(2024, 5, 1, tzinfo=UTC),
        "end": datetime(2024, 5, 2, tzinfo=UTC),
        **change,
    }
    with pytest.raises(error, match=text):
        Service(store).run_query(MetricQuery(**fields))  # type: ignore[arg-type]


# -- property: hourly buckets add up to the daily bucket ----------------------------------------

SUMMABLE = sorted(
    m.name for m in CATALOG.values() if isinstance(m, Measure) and m.kind in ("count", "sum")
)
"""Every count and sum measure of the catalogue (max is not additive; ratios are not measures)."""

_DAY_START = local_midnight(date(2024, 11, 2), NY)
_SPAN_S = int((local_midnight(date(2024, 11, 5), NY) - _DAY_START).total_seconds())
_opt_bool = st.one_of(st.none(), st.booleans())
_opt_small = st.one_of(st.none(), st.integers(0, 6))


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, object]]:
    """Random conversations over three New York days around the fall-back change."""
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        created = _DAY_START + timedelta(seconds=draw(st.integers(0, _SPAN_S - 1)))
        ended = created + timedelta(seconds=draw(st.integers(0, 3 * 86400)))
        senders = draw(
            st.lists(st.sampled_from(["customer", "bot", "agent", "system"]), max_size=5)
        )
        messages = [
            {
                "sender": s,
                "sent_at": (created + timedelta(seconds=10 * k)).isoformat(),
                **(
                    {"bot_outcome": draw(st.sampled_from(["answered", "unknown"]))}
                    if s == "bot"
                    else {}
                ),
                **({"agent_id": draw(st.sampled_from(["a1", "a2"]))} if s == "agent" else {}),
            }
            for k, s in enumerate(senders)
        ]
        out.append(
            conv(
                f"p{i}",
                created,
                direction=draw(st.sampled_from(["inbound", "outbound", "transfer"])),
                ended_at=draw(st.one_of(st.none(), st.just(ended.isoformat()))),
                agent_id=draw(st.sampled_from([None, "a1", "a2"])),
                customer_id=draw(st.sampled_from([None, "k1", "k2"])),
                bot_id=draw(st.sampled_from([None, "b1"])),
                bot_turns=draw(_opt_small),
                ended_in_bot=draw(_opt_bool),
                transferred_to_agent=draw(_opt_bool),
                agent_connected=draw(_opt_bool),
                invited=draw(_opt_bool),
                queued=draw(_opt_bool),
                queue_abandoned=draw(_opt_bool),
                lost=draw(_opt_bool),
                left_message=draw(_opt_bool),
                transfer_from_agent_id=draw(st.sampled_from([None, "a1"])),
                csat_invited=draw(_opt_bool),
                csat_invited_by_agent=draw(_opt_bool),
                csat_option_id=draw(st.sampled_from([None, "o1"])),
                csat_score=draw(st.one_of(st.none(), st.integers(1, 5))),
                bot_feedback=draw(st.sampled_from([None, "positive", "negative"])),
                bot_api_requests=draw(_opt_small),
                bot_api_successes=draw(_opt_small),
                duration_s=draw(st.one_of(st.none(), st.integers(0, 900))),
                agent_duration_s=draw(st.one_of(st.none(), st.integers(0, 900))),
                queue_duration_s=draw(st.one_of(st.none(), st.integers(0, 120))),
                answered_at=created.isoformat(),
                messages=messages,
            )
        )
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=conversations())
def test_hourly_buckets_add_up_to_the_daily_bucket(records: list[dict[str, object]]) -> None:
    with DuckDBStore(":memory:") as store:
        add_tenant(store, "ny", "America/New_York")
        assert not ingest_conversations(store, records).rejected
        for offset in range(3):
            day = date(2024, 11, 2) + timedelta(days=offset)
            start, end = local_midnight(day, NY), local_midnight(day + timedelta(days=1), NY)
            tz = "America/New_York"
            hourly = Service(store).run_query(
                MetricQuery("ny", tuple(SUMMABLE), start, end, tz, "hour")
            )
            daily = Service(store).run_query(
                MetricQuery("ny", tuple(SUMMABLE), start, end, tz, "day", fill_empty=True)
            )
            half = Service(store).run_query(
                MetricQuery("ny", tuple(SUMMABLE), start, end, tz, "half_hour")
            )
            assert len(daily.rows) == 1
            for name in SUMMABLE:
                total = daily.rows[0][name]
                assert sum(r[name] for r in hourly.rows) == pytest.approx(total), (day, name)
                assert sum(r[name] for r in half.rows) == pytest.approx(total), (day, name)
