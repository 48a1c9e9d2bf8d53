"""The service door: agent attribution by link (one grouped query per link, merged per agent)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import add_tenant, load

from ccstats.metrics.query import MetricQuery
from ccstats.service import Link, SearchRequest, Service
from ccstats.storage import Store

START, END = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)


def test_conversations_are_attributed_to_agents_by_each_link(store: Store) -> None:
    add_tenant(store, "t")
    base = {"tenant_id": "t", "channel": "chat", "created_at": "2024-05-01T10:00:00Z"}
    load(
        store,
        [
            {**base, "id": "c1", "agent_id": "a"},
            {**base, "id": "c2", "agent_id": "b", "transfer_from_agent_id": "a"},
            {**base, "id": "c3", "agent_id": "b", "left_message": True},
        ],
    )
    service = Service(store)
    query = MetricQuery("t", (), START, END)
    links = {
        "received": Link("agent_id", {"left_message": (False, None)}),
        "out": Link("transfer_from_agent_id"),
    }
    by_link = {"received": ["conversations"], "out": ["conversations"]}
    got = service.attribute(query, by_link, links)
    # c3 is a left message: not received by b.
    assert {a: r["conversations"] for a, r in got["received"].items()} == {"a": 1, "b": 1}
    assert {a: r["conversations"] for a, r in got["out"].items()} == {"a": 1}
    only_b = service.attribute(query, by_link, links, agents=("b",))
    assert list(only_b["received"]) == ["b"] and only_b["out"] == {}
    assert service.agents_linked(query, ["transfer_from_agent_id", "transfer_to_agent_id"]) == {"a"}


def test_only_reads_of_fcr_measures_settle_next_contacts(store: Store) -> None:
    """c1 (10:00-10:10) and c2 (12:00) of the same customer: c2 is c1's next contact, 1 h 50 min
    after c1 ended, so c1 is not resolved within 24 h; c2 is (no later contact). A count and a
    page leave that pending; an FCR rate settles it first and answers 1 of 2."""
    add_tenant(store, "t")
    service = Service(store)
    base = {"tenant_id": "t", "channel": "chat", "customer_id": "x"}
    service.ingest_conversations(
        [
            {
                **base,
                "id": "c1",
                "created_at": "2024-05-01T10:00:00Z",
                "ended_at": "2024-05-01T10:10:00Z",
            },
            {
                **base,
                "id": "c2",
                "created_at": "2024-05-01T12:00:00Z",
                "ended_at": "2024-05-01T12:05:00Z",
            },
        ]
    )
    assert store.pending("t")
    assert service.run_query(MetricQuery("t", ("conversations",), START, END)).rows == [
        {"conversations": 2}
    ]
    service.search(SearchRequest("t", START, END))
    assert store.pending("t")  # neither needs the next contacts
    fcr = service.run_query(MetricQuery("t", ("resolved_within_24h",), START, END))
    assert not store.pending("t")
    assert fcr.rows == [{"resolved_within_24h": 1}]
