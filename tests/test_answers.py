"""Kept answers (`ccstats.answers`, through `ccstats.service`) always equal fresh ones, whatever
was ingested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccstats import answers
from ccstats.limits import MAX_LIST
from ccstats.metrics.query import MetricQuery
from ccstats.records import TenantSettings
from ccstats.service import BUDGETS, Service
from ccstats.storage import DuckDBStore, SearchPage, SearchRequest

START, END = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
DAY = timedelta(days=1)
REQUESTS = [
    SearchRequest("t1", START, END, limit=3),
    SearchRequest("t1", START, START + DAY, limit=2, columns=("id", "created_at")),
    SearchRequest("t1", START + DAY, END, time_field="ended_at", end_inclusive=True, limit=5),
    SearchRequest("t1", None, None, filters=(("channel", ("chat",)),), limit=10),
    SearchRequest("t2", START, END, sort=(("ended_at", False),), limit=4, offset=1),
]

records = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a", "b", "c", "d", "e"]),
        "tenant_id": st.sampled_from(["t1", "t2"]),
        "channel": st.sampled_from(["voice", "chat"]),
        "created_at": st.integers(int(START.timestamp() * 1000), int(END.timestamp() * 1000) - 1),
        "ended_at": st.none()
        | st.integers(int(START.timestamp() * 1000), int(END.timestamp() * 1000) - 1),
        "customer_id": st.sampled_from(["x", "y", None]),
    }
)


def _store() -> DuckDBStore:
    store = DuckDBStore(":memory:")
    store.registry.put_tenant(TenantSettings(id="t1"))
    store.registry.put_tenant(TenantSettings(id="t2"))
    return store


def _same(kept: SearchPage, fresh: SearchPage) -> bool:
    return (kept.columns, kept.values, kept.total) == (fresh.columns, fresh.values, fresh.total)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(records, min_size=1, max_size=4), min_size=1, max_size=6))
def test_kept_pages_equal_a_fresh_search(batches: list[list[dict[str, Any]]]) -> None:
    with _store() as store:
        service = Service(store)
        for batch in batches:
            assert not service.ingest_conversations(batch).rejected
            for request in REQUESTS:
                for count in (False, True):
                    kept = service.search(request, count)
                    assert _same(kept, store.search(request, count))


def test_pages_and_their_formats_are_kept_until_ingest_touches_the_range() -> None:
    with _store() as store:
        service = Service(store)
        searches: list[SearchRequest] = []
        search = store.search
        store.search = lambda r, count=False: searches.append(r) or search(r, count)  # type: ignore[method-assign]
        day = SearchRequest("t1", START, START + DAY, limit=10)
        built: list[int] = []

        def ids(page: SearchPage) -> list[str]:
            built.append(len(page.values))
            return page.column("id")

        def ingest(iso: str, cid: str, tenant: str = "t1") -> None:
            record = {"id": cid, "tenant_id": tenant, "channel": "voice", "created_at": iso}
            assert not service.ingest_conversations([record]).rejected

        ingest("2024-03-09T10:00:00Z", "a")
        assert service.search_formatted(day, False, "ids", ids)[1] == ["a"]
        ingest("2024-03-11T10:00:00Z", "b")  # two days later
        ingest("2024-03-09T11:00:00Z", "c", tenant="t2")  # another tenant
        assert service.search_formatted(day, False, "ids", ids)[1] == ["a"]
        assert (len(searches), built) == (1, [1])
        ingest("2024-03-09T11:00:00Z", "b")  # "b" moves into the day
        assert service.search_formatted(day, False, "ids", ids)[1] == ["b", "a"]
        assert (len(searches), built) == (2, [1, 2])


def test_answers_leave_by_count_and_by_weight() -> None:
    with _store():
        span = ("t1", START, END)
        by_count = answers.AnswerCache(answers.ChangeLog(), 2, 10**9)
        for key in "abc":
            by_count.entry(key, span, lambda k=key: k)  # type: ignore[misc]
        computed: list[str] = []
        by_count.entry("a", span, lambda: computed.append("a") or "a")
        by_count.entry("c", span, lambda: computed.append("c") or "c")
        assert computed == ["a"]  # the oldest left; "c" was kept

        by_weight = answers.AnswerCache(answers.ChangeLog(), 10, 6, weigh=len)
        for key, value in (("x", "123"), ("y", "456"), ("z", "1234567890")):
            by_weight.entry(key, span, lambda v=value: v)  # type: ignore[misc]
        computed.clear()
        for key in "xyz":
            by_weight.entry(key, span, lambda k=key: computed.append(k) or "1")
        # An entry weighs its key and its answer. "z" (11, over the budget) pushed out "x" and
        # "y" and stayed alone; "x" came back (now weighing 2) and pushed "z" out; the three
        # new answers weigh 6 and all stay.
        assert computed == ["x", "y", "z"]
        assert by_weight.entry("z", span, lambda: "recomputed").value == "1"


HOUR = timedelta(hours=1)
RANGES = [(START, START + DAY), (START + DAY, END), (START, END)]

intervals = st.builds(
    lambda agent, kind, start, hours: {
        "tenant_id": "t1",
        "agent_id": agent,
        "kind": kind,
        "status_id": None if kind == "login" else "busy",
        "started_at": (START + start * HOUR).isoformat(),
        "ended_at": (START + (start + hours) * HOUR).isoformat(),
    },
    st.sampled_from(["a", "b"]),
    st.sampled_from(["login", "status"]),
    st.sampled_from([6, 20, 30, 47]),  # hours into the three days: intervals often share a key
    st.integers(0, 40),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(intervals, min_size=1, max_size=4), min_size=1, max_size=6))
def test_kept_interval_totals_equal_fresh_ones(batches: list[list[dict[str, Any]]]) -> None:
    """Replacing an interval moves its end: the ranges of its old and new end both change."""
    with _store() as store:
        service = Service(store)
        for batch in batches:
            assert not service.ingest_intervals(batch).rejected
            for start, end in RANGES:
                for agents in (None, ["a"]):
                    kept = service.interval_totals("t1", start, end, agents)
                    assert list(kept) == store.interval_totals("t1", start, end, agents)


def test_interval_totals_are_kept_until_an_interval_reaches_their_range() -> None:
    login = {"tenant_id": "t1", "agent_id": "a", "kind": "login"}
    first_day = (START, START + DAY)
    with _store() as store:
        service = Service(store)
        service.ingest_intervals([{**login, "started_at": START, "ended_at": START + HOUR}])
        kept = service.interval_totals("t1", *first_day)
        assert [(t.agent_id, t.seconds) for t in kept] == [("a", 3600.0)]
        later = START + 2 * DAY
        service.ingest_intervals([{**login, "started_at": later, "ended_at": later + HOUR}])
        assert service.interval_totals("t1", *first_day) is kept  # another day
        noon = START + 12 * HOUR
        service.ingest_intervals([{**login, "started_at": noon, "ended_at": noon + 2 * HOUR}])
        fresh = service.interval_totals("t1", *first_day)
        assert [(t.agent_id, t.seconds, t.intervals) for t in fresh] == [("a", 3 * 3600.0, 2)]


def test_kept_answers_are_per_tenant() -> None:
    with _store() as store:
        service = Service(store)
        one = service.kept("same key", ("t1", START, END), lambda: "t1's answer")
        two = service.kept("same key", ("t2", START, END), lambda: "t2's answer")
        assert (one, two) == ("t1's answer", "t2's answer")
        assert service.kept("same key", ("t1", START, END), lambda: "again") == one


def test_kept_metric_answers_are_bounded_in_bytes() -> None:
    # Issue 15: answers were kept by count only, keyed by the request's own values: 40 reports
    # with distinct 10 MB values kept ~10 MB each. Keys count now, and the budget is in bytes.
    with _store() as store:
        service = Service(store, budgets={**BUDGETS, "metrics": 2 * answers.MiB})
        for i in range(40):
            agents = tuple(f"{i:02}-{j:04}-" + "x" * 248 for j in range(MAX_LIST))  # 256 chars
            query = MetricQuery("t1", ("conversations",), START, END, filters={"agent_id": agents})
            assert service.run_query(query).rows == [{"conversations": 0}]
        cache = service.metric_answers
        one_key = answers.sizeof(agents)
        assert one_key > MAX_LIST * 256  # the key's values are weighed
        assert cache.weight <= 2 * answers.MiB
        assert 1 <= len(cache) <= 2 * answers.MiB // one_key


def test_built_formats_count_toward_the_budget() -> None:
    span = ("t1", START, END)
    cache = answers.AnswerCache(answers.ChangeLog(), 10, 100_000)
    first = cache.entry("first", span, lambda: "a")
    second = cache.entry("second", span, lambda: "b")
    assert len(cache) == 2
    cache.formatted(second, "wire", lambda: "x" * 99_900)
    # The second answer's format pushed the budget over: the older answer left.
    assert (len(cache), cache.weight) == (1, second.weight)
    assert cache.weight > 99_900
    assert cache.entry("first", span, lambda: "again").value == "again"
    assert first.value == "a"
