"""The ClickHouse engine's own machinery: `--db` URLs, the sign ledger under resent blocks and
half-written ones, merges, slots folded into buckets, two store objects on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from tests.chdb_stores import chdb_store, chdb_url, drop_opened

from ccstats.ingest import ingest_conversations
from ccstats.metrics import CATALOG
from ccstats.metrics.plan import AggregateRequest
from ccstats.records import TenantSettings
from ccstats.storage import StorageError, describe_url
from ccstats.storage.clickhouse import ClickHouseStore, parse_url
from ccstats.storage.clickhouse.aggregate import grid_of
from ccstats.storage.clickhouse.contacts import Contact, next_contacts
from ccstats.storage.lease import WriterBusy

T0 = datetime(2024, 3, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    s = chdb_store()
    s.registry.put_tenant(TenantSettings(id="t1"))
    yield s
    drop_opened()


def _call(cid: str, hours: float, **extra: object) -> dict[str, object]:
    return {
        "id": cid,
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": (T0 + hours * HOUR).isoformat(),
        **extra,
    }


def _totals(store: ClickHouseStore) -> tuple[int, int]:
    """(conversations, duration_total) of t1 over the test's days."""
    measures = (CATALOG["conversations"], CATALOG["duration_total"])
    request = AggregateRequest("t1", T0 - 2 * HOUR * 24, T0 + 90 * HOUR * 24, measures)  # type: ignore[arg-type]
    count, total = store.aggregate(request).rows[0]
    return count, total or 0


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("chdb:///var/lib/ch", ("/var/lib/ch", None, None, "ccstats", False)),
        ("chdb:///var/lib/ch?database=t_1", ("/var/lib/ch", None, None, "t_1", False)),
        ("clickhouse://u:p%40ss@ch1/stats", (None, "ch1", 8123, "stats", False)),
        ("clickhouses://u:p@ch1:9443", (None, "ch1", 9443, "ccstats", True)),
    ],
)
def test_urls_name_a_directory_or_a_server(url: str, want: tuple[object, ...]) -> None:
    t = parse_url(url)
    assert (t.path, t.host, t.port, t.database, t.secure) == want
    if "p%40ss" in url:
        assert t.password == "p@ss"  # percent-encoded in the URL, plain to the server


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("chdb://relative/dir", "three slashes"),
        ("clickhouse:///db", "names its server"),
        ("clickhouse://h:port/db", "not a number"),
        ("clickhouse://h/my-db", "letters, digits and _"),
        ("clickhouse://h/db?colour=red", "unknown option"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        parse_url(url)


def test_passwords_never_reach_messages() -> None:
    assert describe_url("clickhouse://app:s3cret@ch1:8123/db") == "clickhouse://app:***@ch1:8123/db"
    with pytest.raises(StorageError) as error:
        ClickHouseStore("clickhouse://app:s3cret@127.0.0.1:1/db")  # nothing listens on port 1
    assert "s3cret" not in str(error.value)


# -- the ledger ------------------------------------------------------------------------------------


def test_a_resent_block_counts_once_in_the_ledger_and_its_views(store: ClickHouseStore) -> None:
    ingest_conversations(store, [_call("a", 1, duration_s=10)])
    ledger = store._t("conversations")
    rows = store._db.query_arrow(f"SELECT * FROM {ledger}")
    for _ in range(2):  # the client timed out and sends the same block with the same token
        store._db.insert("conversations", rows, "the-same-token")
    assert _totals(store) == (2, 20)  # the first sending counted, the second did not
    keys = store._db.query(f"SELECT sum(sign) FROM {store._t('conversation_keys')} WHERE id = 'a'")
    assert keys == [(2,)]  # the view's target deduplicated too


def test_a_lost_cancel_row_is_cancelled_by_the_next_upsert(store: ClickHouseStore) -> None:
    """A batch spanning two months is two parts: if the part with the cancel row is lost, the
    key has two live versions; the caller's retry cancels both."""
    ingest_conversations(store, [_call("a", 1, duration_s=10)])
    live = store._rows("t1", store._live("t1", ["a"]))
    moved = live.set_column(
        live.schema.get_field_index("version"),
        "version",
        pa.array([live["version"][0].as_py() + 1], pa.uint64()),
    )
    created = pa.array([datetime(2024, 5, 2)], pa.timestamp("us"))
    moved = moved.set_column(moved.schema.get_field_index("created_at"), "created_at", created)
    store._db.insert("conversations", moved, "state-row-only")  # the April part landed alone
    assert _totals(store) == (2, 20)  # double counted until the retry
    ingest_conversations(store, [_call("a", 24 * 33, duration_s=10)])  # the retry
    assert _totals(store) == (1, 10)


def test_merges_change_no_answer(store: ClickHouseStore) -> None:
    for minutes in (10, 20, 30):  # three corrections of the same call, and one other call
        ingest_conversations(store, [_call("a", minutes / 60, duration_s=minutes), _call("b", 5)])
    store.flush()
    before = _totals(store)
    store._db.command(f"OPTIMIZE TABLE {store._t('conversations')} FINAL")
    assert _totals(store) == before == (2, 30)
    parts = store._db.query(f"SELECT count() FROM {store._t('conversations')}")
    assert parts == [(2,)]  # merged: the cancelled rows are gone


# -- buckets ---------------------------------------------------------------------------------------


def test_slots_are_the_widest_step_on_every_bucket_start() -> None:
    day, hour = 86_400_000_000, 3_600_000_000
    assert grid_of([0, day, 2 * day]) == day
    assert grid_of([0, day, 2 * day - hour, 3 * day - hour]) == hour  # a 23-hour DST day
    assert grid_of([0, day - hour // 2, 2 * day - hour // 2]) == hour // 2  # Lord Howe
    assert grid_of([5]) == 0  # one bucket: no slots


def test_next_contacts_skip_the_conversation_itself() -> None:
    t = datetime(2024, 1, 1)
    rows = [
        Contact("x", "a", 1, t, t + HOUR, None),
        Contact("x", "b", 1, t + 2 * HOUR, t + HOUR, None),  # created after it ended (bad data)
        Contact("x", "c", 1, t + 3 * HOUR, None, t),  # no end: no next contact (stored one wrong)
    ]
    assert next_contacts(rows) == {"a": t + 2 * HOUR, "b": t + 3 * HOUR, "c": None}


# -- two stores on one database --------------------------------------------------------------------


def test_two_store_objects_share_the_registry_and_the_ledger() -> None:
    """Two processes cannot open one chDB directory; two store objects on one database stand in
    for them: what one writes, the other reads; one writes a tenant at a time (its writer
    lease); compare-and-set stays one-use."""
    url = chdb_url()
    one, two = ClickHouseStore(url), ClickHouseStore(url)
    try:
        one.registry.put_tenant(TenantSettings(id="t1", timezone="Asia/Tokyo"))
        found = two.registry.get_tenant("t1")
        assert found is not None and found.timezone == "Asia/Tokyo"
        ingest_conversations(one, [_call("a", 1, duration_s=7)])
        assert _totals(two) == (1, 7)
        with pytest.raises(WriterBusy, match="'t1' is being written by another process"):
            ingest_conversations(two, [_call("a", 2, duration_s=9)])
        assert _totals(one) == (1, 7)  # nothing of the refused batch
        one.lease.release()  # as when its process stops
        ingest_conversations(two, [_call("a", 2, duration_s=9)])  # a correction by the other
        assert _totals(one) == (1, 9)
        ended = (T0 + 2 * HOUR).isoformat()
        calls = [_call("c", 1, customer_id="x", ended_at=ended), _call("d", 3, customer_id="x")]
        ingest_conversations(two, calls)  # c's customer came back within 24 h: not resolved
        fcr = AggregateRequest("t1", T0, T0 + 24 * HOUR, (CATALOG["resolved_within_24h"],))  # type: ignore[arg-type]
        assert one.aggregate(fcr).rows == [(1,)]  # as stored: c has no next contact yet
        assert not one.flush()  # the lease is the other's: its upkeep settles the tenant
        two.lease.release()
        assert one.flush()  # the upkeep of the tenant's new writer settles what two noted
        assert one.aggregate(fcr).rows == [(0,)]
        assert not one.flush()  # nothing left
        wins: list[int] = []

        def take(n: int) -> None:
            registry = (one, two)[n % 2].registry
            if registry.compare_and_set("nonce:n", None, str(n)):
                wins.append(n)

        threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(wins) == 1
    finally:
        two.close()
        one.drop()


def test_a_newer_schema_is_refused(store: ClickHouseStore) -> None:
    store.registry.put_meta("clickhouse:schema_version", "999")
    with pytest.raises(StorageError, match="newer than this ccstats"):
        ClickHouseStore(f"chdb://{store.target.path}?database={store.target.database}")


def test_a_row_cancelled_twice_is_restored_by_the_next_upsert(
    store: ClickHouseStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Two writers at once both cancel the live row and add their own: the row's signs add to
    -1, two rows live. The next upsert of the key restores it, cancels both, and says so."""
    ingest_conversations(store, [_call("a", 1, duration_s=10)])
    live = store._rows("t1", store._live("t1", ["a"]))
    for duration in (20, 30):  # each writer: a cancel of the row it read, and its own row
        state = live.set_column(
            live.schema.get_field_index("version"), "version", pa.array([_version()], pa.uint64())
        )
        state = state.set_column(
            state.schema.get_field_index("duration_s"), "duration_s", pa.array([duration])
        )
        store._write(live, state)
    assert _totals(store) == (1, 40)  # -10 + 20 + 30: a count right, a sum wrong
    ingest_conversations(store, [_call("a", 1, duration_s=50)])
    assert _totals(store) == (1, 50)
    assert "cancelled twice" in caplog.text


def _version() -> int:
    from ccstats.storage.clickhouse.store import _CLOCK

    return _CLOCK()
