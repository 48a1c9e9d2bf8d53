"""Every catalogue metric on a small hand-checked fixture (`tests/fixtures/catalog_conversations.json`).

The expected numbers below were worked out by hand from the fixture and the definitions in
`spec/reports.md` (and, for the standard KPIs, the catalogue descriptions); the comment on each
says which conversations count. Range: 2024-05-01 (inclusive) to 2024-05-03 (exclusive), UTC, so
C1-C8 are in and C9 (2024-05-03T00:00Z) is out; X1 belongs to another tenant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import add_tenant, load

from ccstats.metrics import CATALOG, Ratio, get_metric
from ccstats.metrics.query import MetricQuery, RatioValue
from ccstats.service import Service
from ccstats.storage import Store

FIXTURE = Path(__file__).parent.parent / "fixtures" / "catalog_conversations.json"
START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 5, 3, tzinfo=UTC)

# Derived transcript facts, by hand: C4 5 messages (2 customer, 3 bot: 2 answered, 1 unknown);
# C5 6 messages (3 customer, 3 agent of which 2 by its own agent a1), first reply 12:00:20 - answered
# 12:00:00 = 20 s, reply waits 15 s (12:00:05 -> 12:00:20) and 20 s (12:00:30 -> 12:00:50);
# C7 1 customer message; C8 3 messages (1 customer, 2 by its own agent a2), first reply 10 s, one
# reply wait of 20 s (the opening agent message answers no customer run).
MEASURES: dict[str, int | float] = {
    "conversations": 8,  # C1-C8
    "inbound": 7,  # C1-C7
    "outbound": 1,  # C8
    "bot_exit_no_consult": 1,  # C1 (bot_turns 1)
    "bot_to_agent_no_consult": 1,  # C2 (3 turns, not ended in bot)
    "bot_to_agent_after_consult": 1,  # C3 (5 turns, not ended in bot)
    "bot_consult_only": 1,  # C4 (4 turns, ended in bot)
    "bot_usage": 3,  # C2, C3, C4
    "bot_turns": 13,  # 1 + 3 + 5 + 4
    "bot_api_requests": 6,  # 2 + 4 + 0
    "bot_api_successes": 5,  # 2 + 3
    "bot_replies": 3,  # C4's bot messages with an outcome
    "bot_answered": 2,
    "bot_unknown": 1,
    "bot_feedback": 2,  # C4 positive, C8 negative
    "bot_positive_feedback": 1,  # C4
    "valid_sessions": 2,  # C5, C8: customer and agent messages
    "bot_sessions": 2,  # C2, C4 (bot_id set; no other conversation has bot messages)
    "bot_only_sessions": 1,  # C4
    "bot_to_agent_sessions": 1,  # C2
    "agent_sessions": 4,  # C2, C3, C5, C8
    "queued": 4,  # C2, C3, C5, C6
    "queue_abandoned": 1,  # C6
    "lost": 1,  # C6
    "finished": 6,  # ended and not lost: C1, C2, C3, C4, C5, C8
    "invited": 1,  # C8
    "agent_transfers": 2,  # C3 (to a1), C8 (from a1)
    "left_messages": 1,  # C7
    "no_customer_message": 4,  # C1, C2, C3, C6
    "no_agent_message": 6,  # C1, C2, C3, C4, C6, C7
    "messages": 15,  # 5 + 6 + 1 + 3
    "agent_messages": 5,  # 3 + 2
    "customer_messages": 7,  # 2 + 3 + 1 + 1
    "own_agent_messages": 4,  # C5: 2 by a1, C8: 2 by a2
    "customer_messages_to_agent": 4,  # from answered_at on: C5 all 3, C8 1; C4, C7 no agent: 0
    "evaluated": 4,  # C2, C3, C8 (score), C5 (option)
    "csat_invited": 2,  # C5, C8
    "csat_invited_by_agent": 1,  # C5
    "duration_total": 1980,  # 60 + 300 + 600 + 120 + 300 + 600
    "with_duration": 6,  # all but C6, C7
    "received_sessions": 7,  # all but the leave-message C7
    "routed_sessions": 6,  # C1-C6 (C7 a leave-message, C8 invited and transferred in)
    "replied": 2,  # C5, C8
    "first_response_total": 30,  # 20 + 10
    "handle_time_total": 1780,  # 60 + 200 (agent part) + 600 + 120 + 300 + 500 (agent part)
    "reply_wait_total": 55,  # 15 + 20 + 20
    "replies": 3,
    "finished_with_customer": 5,  # C2, C3, C4, C5, C8
    "answered_from_queue": 3,  # C2, C3, C5
    "queue_wait_answered": 75,  # 15 + 40 + 20
    "agent_handle_time": 1600,  # C2 200 + C3 600 + C5 300 + C8 500
    "csat_rated": 3,  # C2, C3, C8
    "csat_satisfied": 2,  # C2 (5), C8 (4)
    "transferred_to_agent": 2,  # C2, C3
    "answered_within_20s": 2,  # C2 (15 s), C5 (20 s)
    "dialed": 2,  # C1 (NOANSWER), C8 (ANSWER)
    "dial_answered": 1,  # C8: ANSWER is the older spelling of ANSWERED
    "cost": 2.19,  # C1 0.40 + C8 1.79 (C9 is out of range, X1 another tenant's)
    # Repeat contacts (other conversations of the same customer in the same tenant): cust1's C5
    # comes 2 h 55 min after C2 ended; cust2's C8 29 h 50 min after C3; cust3's C9 (outside the
    # range, still a repeat) 36 h 58 min after C4. X1 (cust1, another tenant) is no repeat of C5.
    "resolved_within_24h": 4,  # C3, C4, C5, C8
    "resolved_within_48h": 2,  # C5, C8
}

RATIOS: dict[str, tuple[int, int]] = {
    "autonomy_rate": (1, 3),
    "avg_bot_turns": (13, 8),
    "bot_api_success_rate": (5, 6),
    "bot_response_rate": (2, 3),
    "bot_positive_feedback_rate": (1, 2),
    "avg_duration": (1980, 6),
    "avg_first_response": (30, 2),
    "avg_handle_time_per_received": (1780, 7),
    "avg_reply_wait": (55, 3),
    "csat_invite_rate": (2, 7),
    "evaluate_rate": (4, 7),
    "answer_ratio": (4, 4),
    "bot_containment": (1, 2),
    "bot_transfer_rate": (1, 2),
    "abandonment_rate": (1, 4),
    "transfer_rate": (2, 4),
    "avg_speed_of_answer": (75, 3),
    "avg_handle_time": (1600, 4),
    "csat": (2, 3),
    "dial_answer_rate": (1, 2),
    "service_level_20s": (2, 4),
    "fcr_24h": (4, 5),
    "fcr_48h": (2, 5),
}

SPECIAL = {"last_stored_at"}
"""Not a count: checked against the store's own clock in its own test."""


@pytest.fixture
def fixture_store(store: Store) -> Store:
    """The fixture's two tenants, loaded through the real ingest."""
    add_tenant(store, "t-cat")
    add_tenant(store, "t-other")
    load(store, json.loads(FIXTURE.read_text()))
    return store


def _run(store: Store, *metrics: str) -> dict[str, object]:
    result = Service(store).run_query(MetricQuery("t-cat", metrics, START, END))
    assert len(result.rows) == 1
    return result.rows[0]


def test_every_catalogue_metric_has_a_hand_checked_value() -> None:
    missing = set(CATALOG) - set(MEASURES) - set(RATIOS) - SPECIAL
    assert not missing, f"add hand-checked expectations for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_measure(fixture_store: Store, name: str) -> None:
    assert _run(fixture_store, name)[name] == MEASURES[name]


@pytest.mark.parametrize("name", sorted(RATIOS))
def test_ratio(fixture_store: Store, name: str) -> None:
    value = _run(fixture_store, name)[name]
    numerator, denominator = RATIOS[name]
    assert isinstance(value, RatioValue)
    assert (value.numerator, value.denominator) == (numerator, denominator)
    assert value.value == Decimal(numerator) / Decimal(denominator)
    metric = get_metric(name)
    assert isinstance(metric, Ratio)
    assert MEASURES[metric.numerator] == numerator
    assert MEASURES[metric.denominator] == denominator


def test_all_metrics_in_one_query_agree_with_one_at_a_time(fixture_store: Store) -> None:
    names = sorted(MEASURES) + sorted(RATIOS)
    row = _run(fixture_store, *names)
    for name in MEASURES:
        assert row[name] == MEASURES[name], name
    for name, (num, den) in RATIOS.items():
        value = row[name]
        assert isinstance(value, RatioValue)
        assert (value.numerator, value.denominator) == (num, den), name


def test_last_stored_at_is_when_the_batch_was_stored(fixture_store: Store) -> None:
    value = _run(fixture_store, "last_stored_at")["last_stored_at"]
    assert value == fixture_store.data_as_of("t-cat")
    assert isinstance(value, datetime)
    assert abs((datetime.now(UTC) - value).total_seconds()) < 60


def test_ratio_over_nothing_is_none(fixture_store: Store) -> None:
    query = MetricQuery("t-cat", ("csat", "avg_handle_time"), END, datetime(2024, 5, 4, tzinfo=UTC))
    row = Service(fixture_store).run_query(query).rows[0]
    # Only C9 is in [05-03, 05-04): agent-connected, no CSAT score.
    assert row["csat"] == RatioValue(0, 0) and row["csat"].value is None
    assert row["avg_handle_time"].value == Decimal(999)


@pytest.mark.parametrize(
    ("name", "numerator", "denominator"),
    [
        ("service_level_30s", 2, 4),  # C2 15 s, C5 20 s; C3 waited 40 s
        ("service_level_40s", 3, 4),
        ("service_level_10s", 0, 4),
        ("fcr_30h", 3, 5),  # C3's repeat (29 h 50 min) now counts; C4, C5, C8 resolved
        ("fcr_72h", 2, 5),
    ],
)
def test_parametric_metrics(
    fixture_store: Store, name: str, numerator: int, denominator: int
) -> None:
    value = _run(fixture_store, name)[name]
    assert isinstance(value, RatioValue)
    assert (value.numerator, value.denominator) == (numerator, denominator)


def test_every_ratio_names_catalogue_measures() -> None:
    for metric in CATALOG.values():
        if isinstance(metric, Ratio):
            for part in (metric.numerator, metric.denominator):
                assert not get_metric(part).is_ratio, (metric.name, part)
