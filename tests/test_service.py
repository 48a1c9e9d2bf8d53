"""The service door: agent attribution by link (one grouped query per link, merged per agent), and
the view of a credential's scope, narrowing every read."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import add_tenant, load

from ccstats.metrics.query import MetricQuery
from ccstats.scope import Scope
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


# -- a credential's view (issue 20) ---------------------------------------------------------------

SCOPED = [
    # id, source, channel, direction, access code
    ("own", "7moor", "chat", "inbound", "A"),
    ("unlabelled", None, "chat", "inbound", "A"),
    ("other-source", "huawei", "chat", "inbound", "A"),
    ("other-code", "7moor", "chat", "inbound", "B"),
    ("other-channel", "7moor", "voice", "inbound", "A"),
    ("other-direction", "7moor", "chat", "outbound", "A"),
]


def _scoped_data(store: Store) -> None:
    add_tenant(store, "t")
    load(
        store,
        [
            {
                "id": ident,
                "tenant_id": "t",
                "source": source,
                "channel": channel,
                "direction": direction,
                "access_code": code,
                "created_at": "2024-05-01T10:00:00Z",
                "messages": [{"sender": "customer", "text": ident}],
            }
            for ident, source, channel, direction, code in SCOPED
        ],
    )


def test_a_view_narrows_every_read_to_its_scope(store: Store) -> None:
    _scoped_data(store)
    whole = Service(store)
    scope = Scope(
        sources=("7moor", None), access_codes=("A",), channels=("chat",), directions=("inbound",)
    )
    view = whole.within(scope)
    query = MetricQuery("t", ("conversations",), START, END)
    search = SearchRequest("t", sort=(("id", False),))
    # Of the six, "own" and "unlabelled" are in every part of the scope.
    assert view.run_query(query).rows[0]["conversations"] == 2
    assert view.compute_query(query).rows[0]["conversations"] == 2
    assert view.search(search).column("id") == ["own", "unlabelled"]
    assert view.count(search) == 2
    exported = [i for b in view.iter_search(search) for i in b["id"].to_pylist()]
    assert sorted(exported) == ["own", "unlabelled"]
    assert "source" in view.explain(query)
    # The whole service still sees all six; the view's kept answers are not its.
    assert whole.run_query(query).rows[0]["conversations"] == 6
    assert whole.count(search) == 6


def test_a_view_asked_for_another_source_gets_nothing(store: Store) -> None:
    _scoped_data(store)
    view = Service(store).within(Scope(sources=("7moor", None)))
    query = MetricQuery("t", ("conversations",), START, END, filters={"source": ("huawei",)})
    assert view.run_query(query).rows[0]["conversations"] == 0
    search = SearchRequest("t", filters=(("source", ("huawei",)),))
    assert view.count(search) == 0


def test_kept_reports_are_kept_per_scope(store: Store) -> None:
    _scoped_data(store)
    whole = Service(store)
    span = ("t", START, END)

    def report(service: Service) -> int:
        return service.count(SearchRequest("t"))

    seven = whole.within(Scope(sources=("7moor",)))
    huawei = whole.within(Scope(sources=("huawei",)))
    assert seven.kept("n", span, lambda: report(seven)) == 4
    assert huawei.kept("n", span, lambda: report(huawei)) == 1
    assert whole.kept("n", span, lambda: report(whole)) == 6


def test_no_scope_is_the_service_itself(store: Store) -> None:
    service = Service(store)
    assert service.within(None) is service
    view = service.within(Scope(sources=("x",)))
    assert view.within(Scope(sources=("x",))) is view
    assert view.store is service.store and view.changes is service.changes


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
