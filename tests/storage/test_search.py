"""`DuckDBStore.search`: late-materialized pages (keys sorted first, rows fetched by rowid)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import add_tenant, load

from ccstats.storage import DuckDBStore, SearchRequest, paging

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


@pytest.fixture
def five(store: DuckDBStore) -> DuckDBStore:
    """Tenant `a`: five calls (two share a start); tenant `b`: the same times, other ids."""
    add_tenant(store, "a")
    add_tenant(store, "b")
    minutes = {"a1": 0, "a2": 10, "a3": 10, "a4": 30, "a5": 40}
    answered = {"a1": 5, "a2": None, "a3": 2, "a4": None, "a5": 1}
    records = []
    for cid, minute in minutes.items():
        for tenant in ("a", "b"):
            record = {
                "id": cid if tenant == "a" else "b" + cid,
                "tenant_id": tenant,
                "channel": "voice",
                "created_at": _ms(T0 + timedelta(minutes=minute)),
                "agent_id": "x" if cid in ("a1", "a4") else "y",
            }
            if answered[cid] is not None:
                record["answered_at"] = _ms(T0 + timedelta(minutes=minute + answered[cid]))
            records.append(record)
    load(store, records)
    return store


def _ids(store: DuckDBStore, request: SearchRequest) -> list[str]:
    return [row["id"] for row in store.search(request).rows]


def test_page_in_sort_order_with_offset_and_count(five: DuckDBStore) -> None:
    request = SearchRequest("a", T0, T0 + timedelta(hours=1), limit=2, offset=1)
    page = five.search(request, count=True)
    # created_at desc: a5 (40), a4 (30), a2 = a3 (10, id breaks the tie), a1 (0); skip one.
    assert [r["id"] for r in page.rows] == ["a4", "a2"]
    assert page.total == 5
    assert page.rows[0]["created_at"] == T0 + timedelta(minutes=30)
    assert page.rows[0]["created_at"].tzinfo is UTC
    assert page.rows[0]["tenant_id"] == "a"
    assert page.rows[0]["agent_id"] == "x"
    assert page.rows[1]["answered_at"] is None


def test_page_values_are_engine_rows_in_page_order(five: DuckDBStore) -> None:
    # The page's rows as the engine returns them: tuples in `columns` order, naive UTC times,
    # in sort order although the rows are fetched unordered by rowid.
    columns = ("id", "answered_at", "agent_id")
    request = SearchRequest("a", T0, T0 + timedelta(hours=1), limit=3, columns=columns)
    page = five.search(request)
    assert page.columns == columns
    naive = T0.replace(tzinfo=None)
    assert page.values == [
        ("a5", naive + timedelta(minutes=41), "y"),
        ("a4", None, "x"),
        ("a2", None, "y"),
    ]
    assert page.column("agent_id") == ["y", "x", "y"]
    assert page.row(0) == {"id": "a5", "answered_at": T0 + timedelta(minutes=41), "agent_id": "y"}
    assert page.rows == [page.row(i) for i in range(3)]


def test_sort_with_nulls_last_and_columns(five: DuckDBStore) -> None:
    request = SearchRequest(
        "a",
        sort=(("answered_at", False),),
        limit=10,
        columns=("id", "answered_at"),
    )
    rows = five.search(request).rows
    # answered at 10+2 (a3), 0+5 (a1), 40+1 (a5), then the unanswered a2, a4 by id.
    assert [r["id"] for r in rows] == ["a1", "a3", "a5", "a2", "a4"]
    assert set(rows[0]) == {"id", "answered_at"}
    assert rows[0]["answered_at"] == T0 + timedelta(minutes=5)


def test_keyset_after_and_filters(five: DuckDBStore) -> None:
    request = SearchRequest(
        "a",
        filters=(("agent_id", ("y",)),),
        sort=(("created_at", True),),
        after=(T0 + timedelta(minutes=10), "a2"),
        limit=5,
    )
    # agent y: a5, a3, a2 (desc, id asc on the tie); after (10 min, a2) only a3's tie and
    # later-sorting rows remain: a3 (same time, id after a2).
    assert _ids(five, request) == ["a3"]


def test_limit_zero_counts_only(five: DuckDBStore) -> None:
    page = five.search(SearchRequest("b", limit=0), count=True)
    assert page.rows == []
    assert page.total == 5


def test_end_inclusive_and_tenant_wall(five: DuckDBStore) -> None:
    request = SearchRequest(
        "b", T0, T0 + timedelta(minutes=10), end_inclusive=True, sort=(("id", False),), limit=9
    )
    assert _ids(five, request) == ["ba1", "ba2", "ba3"]


def test_pages_equal_the_plain_top_n(store: DuckDBStore) -> None:
    """Random sorts, offsets and limits: the two-step page is the plain ORDER BY ... LIMIT."""
    if not isinstance(store, DuckDBStore):
        pytest.skip("DuckDB's two-step pages, compacted")
    add_tenant(store, "t")
    add_tenant(store, "u")
    rng = random.Random(7)
    records = []
    for i in range(600):
        created = T0 + timedelta(seconds=rng.randrange(0, 3 * 86_400) // 60 * 60)
        record = {
            "id": f"c{i:04d}",
            "tenant_id": rng.choice("tu"),
            "channel": rng.choice(["voice", "chat"]),
            "created_at": _ms(created),
            "agent_id": rng.choice(["p", "q", None]),
            "duration_s": rng.choice([None, 5, 60, 61]),
        }
        if rng.random() < 0.7:
            record["ended_at"] = _ms(created + timedelta(seconds=rng.randrange(1, 900)))
        records.append(record)
    load(store, records[:300])
    store.compact()
    load(store, records[300:])  # half sorted, half in arrival order
    sorts = [
        (("created_at", True),),
        (("created_at", False),),
        (("ended_at", True),),
        (("ended_at", False),),
        (("agent_id", False), ("duration_s", True)),
        (("duration_s", False),),
    ]
    for _ in range(120):
        request = SearchRequest(
            "t",
            T0 + timedelta(hours=rng.randrange(0, 24)),
            T0 + timedelta(hours=rng.randrange(30, 80)),  # over a day: windows narrow (paging)
            time_field=rng.choice(["created_at", "ended_at"]),
            filters=(("channel", ("voice",)),) if rng.random() < 0.5 else (),
            sort=rng.choice(sorts),
            limit=rng.choice([1, 7, 50, 120, 1000]),
            offset=rng.choice([0, 0, 3, 40]),
        )
        plain = [r for batch in store.iter_search(request) for r in batch.to_pylist()]
        rows = store.search(request).rows
        assert [r["id"] for r in rows] == [r["id"] for r in plain]
        for got, want in zip(rows, plain, strict=True):
            assert got == {
                k: v.replace(tzinfo=UTC) if isinstance(v, datetime) else v for k, v in want.items()
            }
        assert all(r["tenant_id"] == "t" for r in rows)
        # Paging by keyset gives the same rows as the offset page.
        if rows and request.offset == 0:
            last = rows[0]
            after = (*(last[c] for c, _ in request.sort), last["id"])
            tail = store.search(replace(request, after=after, limit=request.limit)).rows
            following = store.search(replace(request, offset=1)).rows
            assert [r["id"] for r in tail] == [r["id"] for r in following]


def test_narrow_windows_at_the_sorting_end() -> None:
    day = timedelta(days=1)
    month = SearchRequest("t", T0, T0 + 30 * day, limit=1000)
    assert paging.narrowed(month, day) == replace(month, start=T0 + 29 * day)
    ascending = replace(month, sort=(("created_at", False),), end_inclusive=True)
    assert paging.narrowed(ascending, day) == replace(ascending, end=T0 + day, end_inclusive=False)
    # A keyset cursor moves the anchor to the cursor's time.
    after = replace(month, after=(T0 + 10 * day, "x"))
    assert paging.narrowed(after, day) == replace(after, start=T0 + 9 * day)
    # No narrowing: window as wide as the range, another sort, an open range, no limit.
    assert paging.narrowed(month, 30 * day) is None
    assert paging.narrowed(replace(month, sort=(("agent_id", False),)), day) is None
    assert paging.narrowed(replace(month, start=None), day) is None
    assert paging.narrowed(replace(month, limit=None), day) is None
    # Growth follows what the window held: 100 of 1000 rows -> 20x; nothing -> 64x; at least 2x.
    assert paging.next_span(day, month, 100) == 20 * day
    assert paging.next_span(day, month, 0) == 64 * day
    assert paging.next_span(day, month, 900) == day * (2 * 1000 / 900)
