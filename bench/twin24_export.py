"""Memory and time of a Twin24 file export (`python -m bench.twin24_export [--rows N]`).

Builds a database of N Twin24 calls with transcripts, runs `ccstats serve` on it in its own
process, downloads `GET /api/v1/search/cis/calls?output=CSV` (and EXCEL, and a zip) as a stream,
and reports for each the time, the size and the server's peak RSS (`VmHWM`, reset before each
export through `/proc/PID/clear_refs`), next to the server's RSS before the export. Then it runs
the same row pipeline in this process under `tracemalloc` for the Python heap's peak. Linux only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.datastructures import QueryParams

from bench.server import free_port
from ccstats.auth import create_credential
from ccstats.dialects import twin24
from ccstats.export import csv_chunks
from ccstats.ingest import ingest_conversations
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.storage import DuckDBStore

__all__ = ["main"]

EMAIL, PASSWORD = "bench@twin24.local", "bench-password"
LINES = ("Ало! Здравствуйте, меня хорошо слышно?", "угу", "Отлично! Вам удобно сейчас говорить?")


def _call(i: int, base: datetime) -> dict[str, Any]:
    created = base + timedelta(seconds=37 * i)
    started = created + timedelta(hours=3)
    return {
        "id": f"bench-{i:07d}",
        "tenant_id": "bench",
        "channel": "voice",
        "direction": "outbound",
        "created_at": created.isoformat(),
        "started_at": started.isoformat(),
        "updated_at": (started + timedelta(seconds=40)).isoformat(),
        "customer_phone": f"7999{i:07d}",
        "campaign_id": f"task-{i % 20}",
        "campaign_name": f"Кампания {i % 20}",
        "bot_id": "bot-1",
        "bot_name": "Скрипт_тест",
        "dial_status": ("ANSWER", "NOANSWER", "BUSY")[i % 3],
        "answered_by": ("human", "machine")[i % 2],
        "duration_s": i % 120,
        "price": f"{(i % 300) / 100:.2f}",
        "region_id": 5026,
        "customer_utc_offset": 3,
        "recording_url": f"https://records.example/{i}.mp3",
        "log_url": f"/{i}/general.log",
        "messages": [
            {
                "sender": ("bot", "customer")[k % 2],
                "text": LINES[k % 3],
                "sent_at": started.isoformat(),
            }
            for k in range(6)
        ],
    }


def build(db: Path, rows: int) -> None:
    """A database with tenant `bench`, a Twin24 login and `rows` calls."""
    with DuckDBStore(str(db)) as store:
        store.registry.put_tenant(TenantSettings(id="bench", timezone="Europe/Moscow"))
        create_credential(store.registry, "bench", "twin24", EMAIL, PASSWORD)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for start in range(0, rows, 10_000):
            batch = [_call(i, base) for i in range(start, min(rows, start + 10_000))]
            result = ingest_conversations(store, batch)
            assert not result.rejected, result.rejected[:3]


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(key)


def _download(client: httpx.Client, params: dict[str, str], pid: int) -> dict[str, Any]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    before = _status(pid, "VmRSS")
    started, size = time.perf_counter(), 0
    with client.stream("GET", "/api/v1/search/cis/calls", params=params) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return {
        "params": params,
        "seconds": round(time.perf_counter() - started, 2),
        "mb": round(size / 2**20, 1),
        "rss_before_mb": before,
        "peak_rss_mb": _status(pid, "VmHWM"),
    }


def serve_and_measure(db: Path, exports: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Run the server on `db` and download each export; the server's memory for each."""
    port = free_port()
    command = [sys.executable, "-m", "ccstats", "serve", "--db", str(db), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            for _ in range(200):
                try:
                    token = client.post(
                        "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
                    )
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.headers["Authorization"] = f"Bearer {token.json()['token']}"
            client.get("/api/v1/search/cis/calls", params={"limit": "1000"}).raise_for_status()
            return [_download(client, params, server.pid) for params in exports]
    finally:
        server.terminate()
        server.wait()


def python_heap_peak(db: Path, params: dict[str, str]) -> dict[str, Any]:
    """The Python heap's peak while the export's rows are rendered as CSV, in this process."""
    with DuckDBStore(str(db), read_only=True) as store:
        tenant = store.registry.get_tenant("bench")
        assert tenant is not None
        search = twin24.parse_search(QueryParams(params), "bench", tenant.zone)
        tracemalloc.start()
        started, size = time.perf_counter(), 0
        for chunk in csv_chunks(search.fields, twin24._file_rows(Service(store), search)):
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "params": params,
        "seconds": round(time.perf_counter() - started, 2),
        "mb": round(size / 2**20, 1),
        "python_heap_peak_mb": round(peak / 2**20, 1),
    }


def main() -> None:
    """Build, serve, export, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "twin24-bench.duckdb"
        started = time.perf_counter()
        build(db, args.rows)
        print(f"built {args.rows} calls in {time.perf_counter() - started:.1f} s")
        twentieth = {"taskId": "task-1"}  # 1/20 of the calls
        exports = [
            {"output": "CSV", **twentieth},
            {"output": "CSV"},
            {"output": "CSV", "fields": "id,phone,status,createdAt,duration"},
            {"output": "CSV", "archive": "true"},
            {"output": "EXCEL"},
        ]
        for result in serve_and_measure(db, exports):
            print(result)
        for params in ({"output": "CSV", **twentieth}, {"output": "CSV"}):
            print(python_heap_peak(db, params))


if __name__ == "__main__":
    main()
