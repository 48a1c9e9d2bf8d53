"""The service door: agent attribution by link (one grouped query per link, merged per agent)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import add_tenant, load

from ccstats.metrics.query import MetricQuery
from ccstats.service import Link, Service
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
