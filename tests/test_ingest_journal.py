"""The ingest journal (`ingest.journal`): a batch acknowledged once synced to a segment file, then
stored by a background thread; what a stopped process left is stored on the next opening, a torn
last frame ignored; a key sent twice keeps its later record; a refused group is retried; appends
wait while the journal is full; an erasure waits for acknowledged batches; the server's
`--journal` setting. The kill -9 case is in tests/test_crash.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from tests.conftest import ADMIN_TOKEN, add_tenant, credential
from tests.test_ingest import DAY, record

from ccstats import ingest
from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.ingest import journal as journal_module
from ccstats.ingest.journal import Journal, encode_frame
from ccstats.metrics.query import MetricQuery
from ccstats.service import Service
from ccstats.storage import Changes, SearchRequest, StorageError
from ccstats.storage.duckdb.store import DuckDBStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """A store in a file, tenant t1."""
    with DuckDBStore(str(tmp_path / "j.duckdb")) as opened:
        add_tenant(opened, "t1")
        yield opened


def _totals(service: Service) -> dict[str, Any]:
    query = MetricQuery("t1", ("conversations", "duration_total"), *DAY)
    return dict(service.run_query(query).rows[0])


def _validated(store: DuckDBStore, *records: dict[str, Any]) -> tuple[pa.Table, pa.Table]:
    """Records as validation hands them on (what the journal writes)."""
    handed: list[tuple[pa.Table, pa.Table]] = []

    def keep(conversations: pa.Table, messages: pa.Table) -> Changes:
        handed.append((conversations, messages))
        return Changes()

    result = ingest.ingest_conversations(store, list(records), upsert=keep)
    assert not result.rejected
    return handed[0]


class _Gate:
    """`Store.upsert_conversations` held until `released`; refuses the first `refusals` calls."""

    def __init__(self, store: DuckDBStore, refusals: int = 0) -> None:
        self.store, self.refusals = store, refusals
        self.released = threading.Event()
        self.calls = 0

    def __call__(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        assert self.released.wait(30)
        self.calls += 1
        if self.calls <= self.refusals:
            raise StorageError("refused")
        return self.store.upsert_conversations(conversations, messages)


def test_an_acknowledged_batch_is_stored_soon_after(store: DuckDBStore, tmp_path: Path) -> None:
    service = Service(store, journal=tmp_path / "journal")
    result = service.ingest_conversations(
        [record("a", duration_s=30), record("b", duration_s=12), record("c", duration_s=0)]
    )
    assert result.accepted == 3
    service.drain()
    assert _totals(service) == {"conversations": 3, "duration_total": 42}
    service.close()
    assert list((tmp_path / "journal").iterdir()) == []  # every segment stored and deleted


def test_segments_left_by_a_stopped_process_are_stored_on_opening(
    store: DuckDBStore, tmp_path: Path
) -> None:
    """Two segments, the second ending in half a frame (a write cut short: never answered)."""
    directory = tmp_path / "journal"
    directory.mkdir()
    first = encode_frame(*_validated(store, record("a", duration_s=5)))
    second = encode_frame(*_validated(store, record("b", duration_s=7), record("c", duration_s=1)))
    torn = encode_frame(*_validated(store, record("d", duration_s=100)))
    (directory / "000000000003.segment").write_bytes(first)
    (directory / "000000000004.segment").write_bytes(second + torn[: len(torn) // 2])
    service = Service(store, journal=directory)
    assert service.journal is not None and service.journal.replayed == 2
    # Stored before the journal took anything new: no wait needed.
    assert _totals(service) == {"conversations": 3, "duration_total": 13}
    service.close()
    assert list(directory.iterdir()) == []


def test_a_segment_stored_twice_counts_once(store: DuckDBStore, tmp_path: Path) -> None:
    """A kill between a group's transaction and its segment's deletion: the next opening
    stores the segment again, and the upsert by key writes the same rows."""
    directory = tmp_path / "journal"
    directory.mkdir()
    batch = _validated(store, record("a", duration_s=5), record("b", duration_s=6))
    store.upsert_conversations(*batch)
    (directory / "000000000001.segment").write_bytes(encode_frame(*batch))
    service = Service(store, journal=directory)
    assert _totals(service) == {"conversations": 2, "duration_total": 11}
    service.close()


def test_a_key_sent_twice_keeps_its_later_record(store: DuckDBStore, tmp_path: Path) -> None:
    gate = _Gate(store)
    journal = Journal(tmp_path / "journal", gate, lambda changes: None)
    journal.append(*_validated(store, record("a", duration_s=1), record("b", duration_s=2)))
    journal.append(*_validated(store, record("a", duration_s=40)))
    assert journal.lag() == (2, 3)
    gate.released.set()
    journal.drain()
    journal.close()
    assert _totals(Service(store)) == {"conversations": 2, "duration_total": 42}


def test_a_refused_group_is_retried_until_stored(
    store: DuckDBStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "RETRY_S", 0.05)
    gate = _Gate(store, refusals=2)
    gate.released.set()
    journal = Journal(tmp_path / "journal", gate, lambda changes: None)
    journal.append(*_validated(store, record("a", duration_s=9)))
    journal.drain(timeout=30)
    assert gate.calls == 3 and journal.error is None
    journal.close()
    assert _totals(Service(store)) == {"conversations": 1, "duration_total": 9}


def test_a_drain_that_cannot_finish_says_why(store: DuckDBStore, tmp_path: Path) -> None:
    gate = _Gate(store, refusals=1000)
    gate.released.set()
    journal = Journal(tmp_path / "journal", gate, lambda changes: None)
    journal.append(*_validated(store, record("a")))
    with pytest.raises(StorageError, match="within 0.3 s: refused"):
        journal.drain(timeout=0.3)
    journal.close()  # the batch stays in its segment for the next opening
    assert len(list((tmp_path / "journal").iterdir())) == 1
    reopened = Journal(tmp_path / "journal", store.upsert_conversations, lambda changes: None)
    assert reopened.replayed == 1
    reopened.close()


def test_appends_wait_while_the_journal_is_full(store: DuckDBStore, tmp_path: Path) -> None:
    gate = _Gate(store)
    journal = Journal(tmp_path / "journal", gate, lambda changes: None, max_rows=2)
    journal.append(*_validated(store, record("a"), record("b")))
    late = threading.Thread(target=journal.append, args=_validated(store, record("c")))
    late.start()
    late.join(0.3)
    assert late.is_alive()  # two rows wait: a third does not fit
    assert journal.lag() == (1, 2)
    gate.released.set()
    late.join(30)
    assert not late.is_alive()
    journal.drain()
    journal.close()
    assert _totals(Service(store))["conversations"] == 3


def test_an_erasure_waits_for_acknowledged_batches(store: DuckDBStore, tmp_path: Path) -> None:
    service = Service(store)
    gate = _Gate(store)
    service.journal = Journal(tmp_path / "journal", gate, service.changes.record)
    service.ingest_conversations([record("a", customer_id="x"), record("b", customer_id="y")])
    outcome: list[dict[str, Any]] = []
    erasing = threading.Thread(target=lambda: outcome.append(service.erase_customer("t1", "x")))
    erasing.start()
    erasing.join(0.2)
    assert erasing.is_alive()  # waiting for the batch to be stored first
    gate.released.set()
    erasing.join(30)
    assert outcome[0]["conversations"] == 1
    service.close()
    ids = service.search(SearchRequest("t1", *DAY)).column("id")
    assert ids == ["b"]


def test_the_server_answers_from_its_journal(tmp_path: Path) -> None:
    settings = Settings(
        db=str(tmp_path / "s.duckdb"), admin_token=ADMIN_TOKEN, journal=str(tmp_path / "j")
    )
    app = create_app(settings)
    add_tenant(app.state.store, "t1")
    assert app.state.service.journal is not None
    auth = {"authorization": f"Bearer {credential(app.state.store, 't1', 'api')['token']}"}
    with TestClient(app) as client:
        sent = client.post(
            "/v1/conversations",
            json=[record("a", duration_s=3), record("b", duration_s=4)],
            headers=auth,
        )
        assert sent.json() == {"accepted": 2, "rejected": []}
        app.state.service.drain()
        answer = client.post(
            "/v1/query",
            json={
                "metrics": ["conversations", "duration_total"],
                "from": "2024-05-01",
                "to": "2024-05-02",
            },
            headers=auth,
        )
        assert answer.json()["rows"] == [{"conversations": 2, "duration_total": 7}]
        metrics = client.get("/metrics").text
        assert 'ccstats_journal_waiting{unit="batches"} 0.0' in metrics
    # The app stopped: its journal closed, nothing left.
    assert list((tmp_path / "j").iterdir()) == []


def test_closing_twice_is_closing_once(store: DuckDBStore, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", store.upsert_conversations, lambda changes: None)
    journal.append(*_validated(store, record("a", duration_s=2)))
    journal.close()
    journal.close()
    assert _totals(Service(store)) == {"conversations": 1, "duration_total": 2}
    with pytest.raises(StorageError, match="stopping"):
        journal.append(*_validated(store, record("b")))
