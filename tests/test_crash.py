"""A `kill -9` of a serving process during a stream of acknowledged ingest batches loses nothing:
after a restart on the same store, every acknowledged record is there exactly once, a batch in
flight is there whole or not at all, and the reports (served from pre-aggregates where they cover)
equal the numbers worked out from the records sent."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.serving import free_port

from ccstats.auth import create_credential
from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore

TOKEN_KEY, TOKEN_SECRET = "crash", "crash-test-secret"
TOKEN = f"ccs_{TOKEN_KEY}_{TOKEN_SECRET}"
HEADERS = {"authorization": f"Bearer {TOKEN}"}
BATCH = 40
ACKED_BEFORE_KILL = 24
"""Batches acknowledged before the kill (three clients keep more in flight)."""


def _batch(number: int) -> list[dict[str, Any]]:
    """Batch `number`: even batches within one hour, odd ones over three days (a backfill: the
    store marks pre-aggregates stale for those, and keeps them up to date for the others)."""
    records = []
    for j in range(BATCH):
        day = 20 + (j % 3 if number % 2 else 0)
        records.append(
            {
                "id": f"b{number:04}-{j:02}",
                "channel": "voice" if j % 2 else "chat",
                "created_at": f"2026-11-{day}T{10 + (number % 2)}:{j:02}:00Z",
                "duration_s": number + j,
                "agent_id": f"a{j % 4}",
            }
        )
    return records


@contextmanager
def serving(db: Path, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`ccstats serve` on `db` (with `options`) in its own process; yields the process and
    its base URL."""
    port = free_port()
    env = {**os.environ, "CCSTATS_ADMIN_TOKEN": "adm_crash"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ccstats", "serve", "--db", str(db), "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "ccstats serve stopped while starting"
        assert time.monotonic() < deadline, "ccstats serve did not start"
        try:
            if httpx.get(base + "/v1/metrics", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _stream(
    base: str, numbers: Iterator[int], acked: list[int], sent: list[int], stop: threading.Event
) -> None:
    """Post batches until stopped; note each batch sent and each acknowledged in full."""
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        while not stop.is_set():
            number = next(numbers)  # shared by the clients (next() of a count is atomic)
            sent.append(number)
            try:
                answer = client.post("/v1/conversations", content=orjson.dumps(_batch(number)))
            except httpx.TransportError:
                return  # the server was killed mid-request: not acknowledged
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"accepted": BATCH, "rejected": []}
            acked.append(number)


def _stored_ids(base: str) -> list[str]:
    answer = httpx.get(
        base + "/v1/conversations",
        params={"format": "ndjson", "fields": "id"},
        headers=HEADERS,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return [orjson.loads(line)["id"] for line in answer.content.splitlines() if line]


def _report(base: str) -> dict[tuple[str, str], tuple[int, int]]:
    body = {
        "metrics": ["conversations", "duration_total"],
        "from": "2026-11-01",
        "to": "2026-12-01",
        "granularity": "day",
        "group_by": ["channel"],
    }
    answer = httpx.post(base + "/v1/query", json=body, headers=HEADERS, timeout=60)
    assert answer.status_code == 200, answer.text
    return {
        (row["bucket"][:10], row["channel"]): (row["conversations"], row["duration_total"])
        for row in answer.json()["rows"]
    }


def _expected(batches: set[int]) -> dict[tuple[str, str], tuple[int, int]]:
    """Conversations and the sum of duration_s per UTC day and channel, from the records sent."""
    counts: Counter[tuple[str, str]] = Counter()
    durations: Counter[tuple[str, str]] = Counter()
    for number in batches:
        for record in _batch(number):
            key = (record["created_at"][:10], record["channel"])
            counts[key] += 1
            durations[key] += record["duration_s"]
    return {key: (counts[key], durations[key]) for key in counts}


@pytest.mark.parametrize("journal", [False, True], ids=["stored", "journal"])
def test_kill_9_while_ingesting_loses_no_acknowledged_record(tmp_path: Path, journal: bool) -> None:
    """Answered once stored, or (`--journal`) once synced to the journal, whose batches the
    restarted server stores before it serves."""
    db = tmp_path / "crash.duckdb"
    options = ("--journal", str(tmp_path / "journal")) if journal else ()
    with DuckDBStore(str(db)) as store:
        store.registry.put_tenant(TenantSettings(id="crash-tenant", timezone="UTC"))
        create_credential(store.registry, "crash-tenant", "api", TOKEN_KEY, TOKEN_SECRET)
    acked: list[int] = []
    sent: list[int] = []
    with serving(db, *options) as (process, base):
        stop = threading.Event()
        numbers = itertools.count()
        clients = [
            threading.Thread(target=_stream, args=(base, numbers, acked, sent, stop))
            for _ in range(3)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        while len(acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # in the middle of the stream
        process.wait(timeout=30)
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert len(acked) >= ACKED_BEFORE_KILL
    with serving(db, *options) as (_, base):
        ids = _stored_ids(base)
        report = _report(base)
    counted = Counter(ids)
    assert max(counted.values()) == 1  # every record once
    present = {int(i[1:5]) for i in ids}
    for number in present:  # a batch is stored whole or not at all
        assert all(f"b{number:04}-{j:02}" in counted for j in range(BATCH)), number
    assert set(acked) <= present  # every acknowledged batch survived
    assert present <= set(sent)
    assert report == _expected(present)
