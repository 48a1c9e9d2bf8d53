"""The benchmark run: `python -m bench.run --sizes 100000,1000000,10000000 [--quick]`.

For each size: build (or reuse) the synthetic store, copy it, then
  A. in process, on the copy: every report through the query layer, the SQL our store generates
     for it, and hand-written SQL for the same numbers, each cold (first run) and warm (median);
     50 000-row CSV and XLSX exports (time, Python peak by tracemalloc, RSS peak);
  B. over HTTP, against `bench.server` (the real app in its own process) on the copy: every vendor
     report and native call that answers (others are listed as not available), exports, requests/s
     under 16 concurrent clients, HTTP ingest throughput;
  C. bulk import of Parquet and NDJSON files through `ingest.read_records` + `ingest_conversations`
     (the `ccstats import` path) and, for reference, the Arrow upsert alone.
Results go to bench/RESULTS.md and bench/data/results-<size>.json.
"""

from __future__ import annotations

import argparse
import csv
import gc
import http.client
import json
import os
import platform
import shutil
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench import cases as bench_cases
from bench.clients import Clients, Secrets
from bench.generate import (
    ACME,
    DATA_DIR,
    DEMO_BANK,
    DEMO_RETAIL,
    BuildInfo,
    copy_store,
    demo_bank_table,
    ensure_store,
    import_records,
    remove_store,
    settle,
)
from bench.report import write_results
from bench.server import ServerProcess, reset_peak_rss, rss_mb
from bench.timing import measure, once
from ccstats.api.conversations import file_chunks
from ccstats.auth import create_credential
from ccstats.ingest import (
    IMPORT_CHUNK,
    ingest_conversations,
    ingest_table,
    parquet_tables,
    read_records,
)
from ccstats.schema import empty_messages
from ccstats.service import Service
from ccstats.storage import DuckDBStore, SearchRequest, Store

__all__ = [
    "concurrent_ingest",
    "credentials",
    "export",
    "export_request",
    "export_start",
    "import_file",
    "ingest_bodies",
    "json_records",
    "log",
    "machine",
    "main",
    "post_batch",
    "raw_append",
    "reads_under_ingest",
    "run_size",
    "write_csv",
]

EXPORT_ROWS = 50_000


def log(message: str) -> None:
    """Progress on stderr-like stdout, flushed."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --- phase A: in process ------------------------------------------------------------------------


def credentials(store: Store) -> Secrets:
    secrets = Secrets()
    for tenant in (DEMO_BANK, DEMO_RETAIL, ACME):
        secrets.api[tenant] = create_credential(store.registry, tenant, "api")["token"]
    huawei = create_credential(store.registry, DEMO_BANK, "huawei", secret="bench-huawei-secret")
    secrets.huawei = (huawei["appKey"], huawei["appSecret"])
    moor = create_credential(
        store.registry, DEMO_BANK, "7moor", key="2000103", secret="bench-7moor-secret"
    )
    secrets.sevenmoor = (moor["appkey"], moor["secret"])
    twin = create_credential(
        store.registry, DEMO_RETAIL, "twin24", key="bench@twin24.local", secret="bench-pass"
    )
    secrets.twin24 = (twin["email"], twin["password"])
    ali = create_credential(
        store.registry, DEMO_BANK, "aliyun", key="LTAIbench00000000000000", secret="benchSecret"
    )
    secrets.aliyun = (ali["accessKeyId"], ali["accessKeySecret"])
    return secrets


def export_start(con: duckdb.DuckDBPyConnection, end: datetime) -> datetime | None:
    """The start of a window holding at most 50 000 of twin24-demo's newest calls before `end`."""
    row = con.execute(
        "SELECT created_at FROM conversations WHERE tenant_id = ? AND channel = 'voice'"
        " AND created_at < ? ORDER BY created_at DESC LIMIT 1 OFFSET ?",
        [DEMO_RETAIL, end.replace(tzinfo=None), EXPORT_ROWS - 1],
    ).fetchone()
    if row is None:
        return None
    last: datetime = row[0]
    return last.replace(microsecond=0, tzinfo=UTC) + timedelta(seconds=1)


def _run_sql(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list[Any]]]) -> Any:
    return [con.execute(sql, params).fetchall() for sql, params in statements]


def export_request(w: bench_cases.Window) -> SearchRequest:
    return SearchRequest(
        DEMO_RETAIL,
        w.export_start,
        w.export_end,
        filters=(("channel", ("voice",)),),
        limit=EXPORT_ROWS,
    )


def export(store: Store, request: SearchRequest, kind: str, trace: bool) -> dict[str, Any]:
    """Every column of `request`'s rows as the native API writes a file (`file_chunks`)."""
    rows = min(EXPORT_ROWS, store.search(replace(request, limit=0), count=True).total or 0)
    service = Service(store)
    gc.collect()
    reset_peak_rss()
    rss_before, _ = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    size = 0
    for chunk in file_chunks(service, request, kind):
        size += len(chunk)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"rows": rows, "bytes": size, "seconds": seconds}
    if trace:
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    _, peak = rss_mb()
    out["rss_peak_growth_mb"] = max(0.0, peak - rss_before)
    return out


def _inproc_case(
    case: bench_cases.Case, store: Store, con: duckdb.DuckDBPyConnection, runs: int
) -> dict[str, Any]:
    raw_cold, raw_rows = once(lambda: _run_sql(con, case.raw_sql))
    raw = measure(lambda: _run_sql(con, case.raw_sql), runs, cold=raw_cold)
    inproc = measure(lambda: case.inproc(store), runs)
    cached = measure(lambda: case.cached(store), runs) if case.cached else None  # type: ignore[misc]
    ours = measure(lambda: _run_sql(con, case.ours_sql), runs)
    return {
        "title": case.title,
        "target_ms": case.target_ms,
        "raw": raw.as_dict(),
        "inproc": inproc.as_dict(),
        "inproc_cached": cached.as_dict() if cached else None,
        "ours_sql": ours.as_dict(),
        "raw_result_rows": sum(len(r) for r in raw_rows),
    }


def phase_inproc(
    work: Path, runs: int, quick: bool, results: dict[str, Any]
) -> tuple[Secrets, bench_cases.Window]:
    """Reports in process, our SQL, raw SQL; in-process exports. Returns credentials and windows."""
    results["loadavg_inproc"] = os.getloadavg()
    store = DuckDBStore(str(work))
    con = duckdb.connect(str(work))  # the same database instance: shares the buffer cache
    con.execute("SET TimeZone = 'UTC'")
    secrets = credentials(store)
    w = bench_cases.window()
    w = bench_cases.window(export_start(con, w.export_end))
    out: dict[str, Any] = {}
    for case in bench_cases.cases(w):
        log(f"  in-process {case.name}")
        try:
            out[case.name] = _inproc_case(case, store, con, runs)
        except Exception as error:  # a report whose metrics changed under the bench: say so, go on
            out[case.name] = {
                "title": case.title,
                "error": f"{type(error).__name__}: {error}"[:300],
            }
    results["cases"] = out
    request = export_request(w)
    exports: dict[str, Any] = {}
    for kind in ("csv",) if quick else ("csv", "xlsx"):
        log(f"  in-process export {kind}")
        exports[kind] = export(store, request, kind, trace=False)
        if kind == "csv":
            traced = export(store, request, kind, trace=True)
            exports[kind]["tracemalloc_peak_mb"] = traced["tracemalloc_peak_mb"]
    results["exports_inproc"] = exports
    con.close()
    store.close()
    return secrets, w


# --- phase B: HTTP -----------------------------------------------------------------------------


def _clone(clients: Clients) -> Clients:
    twin = Clients(clients.base, clients.creds)
    twin._huawei_token = clients._huawei_token
    twin._twin24_token = clients._twin24_token
    return twin


def _latencies(latencies: list[list[float]]) -> dict[str, float | None]:
    """Median and p95 of every thread's latencies (ms)."""
    every = sorted(x for part in latencies for x in part)
    return {
        "latency_median_ms": every[len(every) // 2] if every else None,
        "latency_p95_ms": every[int(len(every) * 0.95)] if every else None,
    }


def _together(
    threads: int, seconds: float, worker: Callable[[int, Callable[[], float]], None]
) -> float:
    """Run `worker(i, ready)` in `threads` threads; each calls `ready()` once set up (its
    connection open), which waits for all of them and returns the deadline, `seconds` after
    they are all ready. The seconds from then to the last thread's end."""
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def ready() -> float:
        barrier.wait()
        return deadline[0]

    pool = [threading.Thread(target=worker, args=(i, ready)) for i in range(threads)]
    for thread in pool:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started


def _throughput(
    clients: Clients, call: Callable[[Clients], Any], threads: int, seconds: float
) -> dict[str, Any]:
    """Requests/s of `call` from `threads` client threads, each with its own connection."""
    counts = [0] * threads
    failures = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def worker(i: int, ready: Callable[[], float]) -> None:
        client = _clone(clients)
        call(client)  # open the connection before the clock starts
        deadline = ready()
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            response = call(client)
            latencies[i].append((time.perf_counter() - t0) * 1000)
            if response.status_code == 200:
                counts[i] += 1
            else:
                failures[i] += 1
        client.close()

    elapsed = _together(threads, seconds, worker)
    return {
        "threads": threads,
        "seconds": elapsed,
        "requests": sum(counts),
        "failures": sum(failures),
        "rps": sum(counts) / elapsed,
        **_latencies(latencies),
    }


def _http_export(
    server: ServerProcess, clients: Clients, w: bench_cases.Window, output: str
) -> dict[str, Any]:
    params = {
        "from": bench_cases._iso(w.export_start, 3),
        "to": bench_cases._iso(w.export_end, 3),
        "output": output,
        "sort": "-createdAt",
    }
    server.reset_peak_rss()
    rss_before, _ = server.rss_mb()
    started = time.perf_counter()
    size = 0
    headers = {"authorization": f"Bearer {clients.twin24_token()}"}
    with clients.http.stream(
        "GET", "/api/v1/search/cis/calls", params=params, headers=headers
    ) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
        status = response.status_code
    seconds = time.perf_counter() - started
    _, peak = server.rss_mb()
    return {
        "status": status,
        "bytes": size,
        "seconds": seconds,
        "server_rss_before_mb": rss_before,
        "server_rss_peak_growth_mb": max(0.0, peak - rss_before),
    }


def json_records(table: pa.Table) -> list[dict[str, Any]]:
    """Records as JSON-ready dicts: times as epoch ms, nulls left out."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = pc.divide(pc.cast(column, pa.int64()), 1000)
        columns[name] = column.to_pylist()
    rows = []
    for values in zip(*columns.values(), strict=True):
        rows.append({k: v for k, v in zip(columns, values, strict=True) if v is not None})
    return rows


def ingest_bodies(records: int, batch: int, seed: int, days: int, first: int) -> list[bytes]:
    """`records` new Demo Bank conversations of the last `days` days as JSON request bodies of
    `batch` records (numbered from `first` billion)."""
    rows = json_records(import_records(records, seed, first * 1_000_000_000, days))
    return [orjson.dumps(rows[i : i + batch]) for i in range(0, len(rows), batch)]


def post_batch(clients: Clients, body: bytes) -> int:
    """`POST /v1/conversations` of one body as Demo Bank; the records acknowledged."""
    response = clients.native(
        "POST",
        "/v1/conversations",
        DEMO_BANK,
        content=body,
        headers={"content-type": "application/json"},
    )
    return int(response.json()["accepted"]) if response.status_code == 200 else 0


def _http_ingest(
    clients: Clients, records: int, batch: int, seed: int, days: int = 30, first: int = 20
) -> dict[str, Any]:
    """POST `records` new Demo Bank conversations of the last `days` days in batches."""
    bodies = ingest_bodies(records, batch, seed, days, first)
    started = time.perf_counter()
    accepted = sum(post_batch(clients, body) for body in bodies)
    seconds = time.perf_counter() - started
    return {
        "records": records,
        "batch": batch,
        "days": days,
        "accepted": accepted,
        "seconds": seconds,
        "per_s": accepted / seconds if seconds else 0,
    }


def raw_append(tables: list[pa.Table], seconds: float | None = None) -> dict[str, Any]:
    """The raw engine's append of `tables` to a table of the same columns in a fresh DuckDB file,
    one transaction each, from one thread (`seconds`: stop after that long): the ratio's
    denominator for an ingest row; `batch_ms`, each transaction's time."""
    tmp = DATA_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "raw-append.duckdb"
    for stale in (path, Path(str(path) + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.register("first", tables[0])
    con.execute("CREATE TABLE c AS SELECT * FROM first LIMIT 0")
    con.unregister("first")
    rows = 0
    batch_ms = []
    started = time.perf_counter()
    for table in tables:
        batch_started = time.perf_counter()
        con.register("b", table)
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO c SELECT * FROM b")
        con.execute("COMMIT")
        con.unregister("b")
        batch_ms.append((time.perf_counter() - batch_started) * 1000)
        rows += table.num_rows
        if seconds is not None and time.perf_counter() - started > seconds:
            break
    elapsed = time.perf_counter() - started
    con.close()
    for stale in (path, Path(str(path) + ".wal")):
        stale.unlink(missing_ok=True)
    return {
        "records": rows,
        "batch": tables[0].num_rows,
        "seconds": elapsed,
        "per_s": rows / elapsed,
        "batch_ms": batch_ms,
    }


def _raw_for(records: int, batch: int, seed: int, days: int, first: int) -> dict[str, Any]:
    """The raw engine's append of the rows `_http_ingest` sends (stored columns: facts and
    `stored_at` included), in its batches."""
    table = demo_bank_table(records, seed, first * 1_000_000_000, days)
    tables = [table.slice(i, batch) for i in range(0, records, batch)]
    return raw_append(tables, seconds=10.0)


def concurrent_ingest(
    clients: Clients, threads: int, seconds: float, seed: int, per_thread: int, first: int = 25
) -> dict[str, Any]:
    """1-record `POST /v1/conversations` from `threads` clients for `seconds`, each on its own
    keep-alive connection (`http.client`: a lighter client than httpx, which shares the 2 cores
    with the server). Records/s acknowledged, latency median and p95."""
    table = import_records(threads * per_thread, seed, first * 1_000_000_000, days=1)
    bodies = [orjson.dumps([row]) for row in json_records(table)]
    host, port = clients.base.split("://", 1)[1].split(":")
    headers = {
        "authorization": f"Bearer {clients.creds.api[DEMO_BANK]}",
        "content-type": "application/json",
    }
    latencies: list[list[float]] = [[] for _ in range(threads)]
    accepted = [0] * threads
    failures = [0] * threads

    def worker(i: int, ready: Callable[[], float]) -> None:
        mine = bodies[i * per_thread : (i + 1) * per_thread]
        con = http.client.HTTPConnection(host, int(port), timeout=120)
        con.connect()
        deadline = ready()
        for body in mine:
            if time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            con.request("POST", "/v1/conversations", body, headers)
            response = con.getresponse()
            answer = response.read()
            latencies[i].append((time.perf_counter() - t0) * 1000)
            if response.status == 200:
                accepted[i] += orjson.loads(answer)["accepted"]
            else:
                failures[i] += 1
        con.close()

    elapsed = _together(threads, seconds, worker)
    return {
        "threads": threads,
        "seconds": elapsed,
        "accepted": sum(accepted),
        "failures": sum(failures),
        "per_s": sum(accepted) / elapsed,
        **_latencies(latencies),
        "ran_out_of_records": any(len(part) == per_thread for part in latencies),
    }


def _steady_ingest(
    clients: Clients, seed: int, stop: threading.Event, out: dict[str, Any], first: int = 26
) -> None:
    """One client POSTing 100-record one-day batches back to back until `stop`."""
    bodies = ingest_bodies(20_000, 100, seed, days=1, first=first)
    client = _clone(clients)
    accepted, started = 0, time.perf_counter()
    for body in bodies:
        if stop.is_set():
            break
        accepted += post_batch(client, body)
    out.update(accepted=accepted, seconds=time.perf_counter() - started)
    out["per_s"] = accepted / out["seconds"] if out["seconds"] else 0.0
    client.close()


READS_UNDER_INGEST = ("huawei_hour", "moor_quality")
"""Reports timed idle and under steady 100-record ingest of the same tenant (Demo Bank)."""


def reads_under_ingest(
    clients: Clients,
    calls: dict[str, Callable[[Clients], Any]],
    runs: int,
    seed: int,
    first: int = 26,
) -> dict[str, Any]:
    """Latencies of `READS_UNDER_INGEST` idle, then while one client ingests 100-record batches
    of today back to back (the reports read yesterday and last month: a kept answer stays kept
    unless the ingest's changes reach its range)."""
    names = [n for n in READS_UNDER_INGEST if n in calls]
    idle = {n: measure(lambda n=n: calls[n](clients), runs).as_dict() for n in names}  # type: ignore[misc]
    stop, ingest = threading.Event(), dict[str, Any]()
    writer = threading.Thread(target=_steady_ingest, args=(clients, seed, stop, ingest, first))
    writer.start()
    time.sleep(1.0)  # the ingest under way
    busy = {n: measure(lambda n=n: calls[n](clients), runs).as_dict() for n in names}  # type: ignore[misc]
    stop.set()
    writer.join()
    return {
        "cases": {
            n: {
                "idle_median_ms": idle[n]["median_ms"],
                "idle_p95_ms": idle[n]["p95_ms"],
                "ingest_median_ms": busy[n]["median_ms"],
                "ingest_p95_ms": busy[n]["p95_ms"],
                "ratio": busy[n]["median_ms"] / idle[n]["median_ms"],
            }
            for n in names
        },
        "ingest": ingest,
    }


def _http_cases(
    clients: Clients, w: bench_cases.Window, runs: int
) -> tuple[dict[str, Any], dict[str, Callable[[Clients], Any]]]:
    """Time every case that answers over HTTP; the others are reported as not available."""
    http: dict[str, Any] = {}
    calls: dict[str, Callable[[Clients], Any]] = {}
    for case in bench_cases.cases(w):
        if case.http is None:
            continue
        log(f"  http {case.name}")
        try:
            cold_ms, response = once(lambda c=case: c.http(clients))  # type: ignore[misc]
            ok = case.ok(response)
        except Exception as error:  # a dialect still being written may fail in any way
            http[case.name] = {"available": False, "why": f"{type(error).__name__}: {error}"[:200]}
            continue
        if not ok:
            why = f"HTTP {response.status_code}: {response.text[:160]}"
            http[case.name] = {"available": False, "why": why}
            continue
        timing = measure(lambda c=case: c.http(clients), runs, cold=cold_ms)  # type: ignore[misc]
        http[case.name] = {"available": True, **timing.as_dict(), "bytes": len(response.content)}
        calls[case.name] = case.http
    return http, calls


def _load(
    clients: Clients, calls: dict[str, Callable[[Clients], Any]], quick: bool
) -> dict[str, Any] | None:
    target = next((n for n in ("huawei_hour", "native_query") if n in calls), None)
    if target is None:
        return None
    log(f"  http load, 16 clients on {target}")
    return {"case": target, **_throughput(clients, calls[target], 16, 2 if quick else 6)}


def phase_http(
    work: Path,
    secrets: Secrets,
    w: bench_cases.Window,
    runs: int,
    quick: bool,
    seed: int,
    results: dict[str, Any],
) -> None:
    """Every case over HTTP (answer cache on, then off), exports, concurrency, HTTP ingest."""
    results["loadavg_http"] = os.getloadavg()
    with ServerProcess(work, no_cache=True) as server:
        log("  server without the answer cache")
        clients = Clients(server.url, secrets)
        results["http_uncached"], calls = _http_cases(clients, w, runs)
        results["load_uncached"] = _load(clients, calls, quick)
        log("  http reads idle and under steady ingest, answer cache off")
        results["reads_under_ingest_uncached"] = reads_under_ingest(clients, calls, runs, seed + 5)
        clients.close()
    with ServerProcess(work) as server:
        log("  server as shipped")
        clients = Clients(server.url, secrets)
        results["http"], calls = _http_cases(clients, w, runs)
        results["load"] = _load(clients, calls, quick)
        exports: dict[str, Any] = {}
        for output in ("CSV",) if quick else ("CSV", "EXCEL"):
            log(f"  http export {output}")
            try:
                exports[output] = _http_export(server, clients, w, output)
            except Exception as error:
                exports[output] = {"status": None, "why": f"{type(error).__name__}: {error}"[:200]}
        results["exports_http"] = exports
        log("  http ingest")
        # First the usual live traffic, each batch within one day: pre-aggregates refreshed in
        # place. Then batches of 30 days, which mark them stale for the background maintenance
        # (measured second: a stale tenant's later batches skip the refresh too).
        log("  http reads idle and under steady ingest, as shipped")
        results["reads_under_ingest"] = reads_under_ingest(clients, calls, runs, seed + 6)
        day_records = 20_000 if quick else 100_000
        results["http_ingest_day"] = _http_ingest(
            clients, day_records, 5_000, seed + 1, days=1, first=21
        )
        results["http_ingest_day"]["raw"] = _raw_for(day_records, 5_000, seed + 1, 1, 21)
        results["http_ingest"] = _http_ingest(clients, day_records, 5_000, seed)
        results["http_ingest"]["raw"] = _raw_for(day_records, 5_000, seed, 30, 20)
        # Live traffic in small requests: each pays the per-upsert scans whatever its size.
        small = 500 if quick else 2_000
        results["http_ingest_small"] = _http_ingest(clients, small, 100, seed + 2, days=1, first=23)
        results["http_ingest_small"]["raw"] = _raw_for(small, 100, seed + 2, 1, 23)
        log("  http ingest, 1-record requests from 16 clients")
        results["http_ingest_concurrent"] = concurrent_ingest(
            clients, 16, 3.0 if quick else 10.0, seed + 3, 300 if quick else 1_500
        )
        results["http_ingest_concurrent"]["raw"] = _raw_for(
            16 * (300 if quick else 1_500), 1, seed + 3, 1, 25
        )
        results["server_rss_mb"] = server.rss_mb()[0]
        clients.close()
    journal = DATA_DIR / "tmp" / "journal"
    shutil.rmtree(journal, ignore_errors=True)
    with ServerProcess(work, journal=journal) as server:
        log("  server with --journal: ingest acknowledged once synced to the journal")
        clients = Clients(server.url, secrets)
        results["journal"] = _journal_phase(clients, calls, runs, quick, seed)
        clients.close()
    shutil.rmtree(journal, ignore_errors=True)


def _journal_waiting(clients: Clients) -> int:
    """Batches the server's journal has acknowledged and not stored yet (`GET /metrics`)."""
    text = clients.http.get("/metrics").text
    for line in text.splitlines():
        if line.startswith('ccstats_journal_waiting{unit="batches"}'):
            return int(float(line.split()[-1]))
    raise RuntimeError("the server has no journal")


def _until_stored(clients: Clients) -> float:
    """Seconds until the server's journal has stored every acknowledged batch."""
    started = time.perf_counter()
    while _journal_waiting(clients):
        time.sleep(0.01)
    return time.perf_counter() - started


def _floor(clients: Clients, threads: int, seconds: float) -> dict[str, Any]:
    """The server's cheapest request (`GET /healthz`) from `threads` keep-alive clients: what
    the HTTP stack alone serves on this machine, the ceiling of any 1-record ingest."""
    host, port = clients.base.split("://", 1)[1].split(":")
    done = [0] * threads

    def worker(i: int, ready: Callable[[], float]) -> None:
        con = http.client.HTTPConnection(host, int(port), timeout=60)
        con.connect()
        deadline = ready()
        while time.perf_counter() < deadline:
            con.request("GET", "/healthz")
            con.getresponse().read()
            done[i] += 1
        con.close()

    return {"threads": threads, "per_s": sum(done) / _together(threads, seconds, worker)}


def _journal_phase(
    clients: Clients,
    calls: dict[str, Callable[[Clients], Any]],
    runs: int,
    quick: bool,
    seed: int,
) -> dict[str, Any]:
    """Issue 21's ingest rows again on a server with `--journal`: the acknowledged rate, and
    the rate until every batch is stored (the wait for the journal to empty added)."""
    out: dict[str, Any] = {}
    small = 500 if quick else 2_000
    day_records = 20_000 if quick else 100_000
    for key, records, batch, seed_, first in (
        ("http_ingest_small", small, 100, seed + 12, 33),
        ("http_ingest_day", day_records, 5_000, seed + 11, 31),
    ):
        ingest = _http_ingest(clients, records, batch, seed_, days=1, first=first)
        ingest["stored_s"] = _until_stored(clients)
        ingest["raw"] = _raw_for(records, batch, seed_, 1, first)
        out[key] = ingest
    log("  http ingest, 1-record requests from 16 clients, --journal")
    per_thread = 300 if quick else 1_500
    one = concurrent_ingest(clients, 16, 3.0 if quick else 10.0, seed + 13, per_thread, first=35)
    one["stored_s"] = _until_stored(clients)
    one["raw"] = _raw_for(16 * per_thread, 1, seed + 13, 1, 35)
    out["http_ingest_concurrent"] = one
    log("  http reads idle and under steady ingest, --journal")
    out["reads_under_ingest"] = reads_under_ingest(clients, calls, runs, seed + 14, first=37)
    log("  http floor: GET /healthz from 16 clients")
    out["floor"] = _floor(clients, 16, 3.0 if quick else 5.0)
    return out


# --- phase C: bulk import -----------------------------------------------------------------------


def import_file(store: Store, path: Path, records: int) -> dict[str, Any]:
    """What `ccstats import` does with one file (Parquet as Arrow batches, other formats as
    records in chunks), then its closing upkeep, timed in two parts: what makes every report
    exact again (`flush`: next contacts settled; on DuckDB, the rollups bulk batches left stale
    rebuilt), then the rest of `maintain()` (on DuckDB, the months written into rewritten sorted
    when due: read speed, not exactness; on ClickHouse nothing). Per import, not per record."""
    started = time.perf_counter()
    accepted = 0
    if path.suffix == ".parquet":
        for table in parquet_tables(path):
            accepted += ingest_table(store, table).accepted
    else:
        for chunk in read_records(path, IMPORT_CHUNK):
            accepted += ingest_conversations(store, chunk).accepted
    seconds = time.perf_counter() - started
    due = _unsorted_rows(store)
    started = time.perf_counter()
    store.flush()
    if isinstance(store, DuckDBStore):
        store.refresh_stale_rollups()
    exact = time.perf_counter() - started
    started = time.perf_counter()
    store.maintain()
    maintain = time.perf_counter() - started
    return {
        "records": records,
        "accepted": accepted,
        "seconds": seconds,
        "per_s": accepted / seconds,
        "exact_seconds": exact,
        "maintain_seconds": maintain,
        "compacted": _unsorted_rows(store) < due,
        "end_to_end_per_s": accepted / (seconds + exact),
        "with_upkeep_per_s": accepted / (seconds + exact + maintain),
    }


def _unsorted_rows(store: Store) -> int:
    """Rows a DuckDB store's compaction has still to sort (0 on another engine)."""
    return store.unsorted_rows if isinstance(store, DuckDBStore) else 0


def phase_import(
    work: Path, records: int, seed: int, results: dict[str, Any], large: int | None = None
) -> None:
    """`ccstats import` path on Parquet and NDJSON files of `records`, then of a `large`
    Parquet file; the raw engine and the Arrow upsert alone for reference."""
    tmp = DATA_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    parquet_path, ndjson_path = tmp / "import.parquet", tmp / "import.ndjson"
    csv_path = tmp / "import.csv"
    pq.write_table(import_records(records, seed, 30_000_000_000), parquet_path)
    with ndjson_path.open("wb") as handle:
        for row in json_records(import_records(records, seed + 1, 40_000_000_000)):
            handle.write(orjson.dumps(row) + b"\n")
    write_csv(json_records(import_records(records, seed + 3, 45_000_000_000)), csv_path)
    store = DuckDBStore(str(work))
    store.flush()  # settle the HTTP phases' ingest before timing the imports
    store.maintain()
    out: dict[str, Any] = {}
    for name, path in (("parquet", parquet_path), ("ndjson", ndjson_path), ("csv", csv_path)):
        log(f"  import {name}")
        out[name] = import_file(store, path, records)
    out["raw_engine"] = _raw_engine_import(records, seed, tmp)
    if large:
        log(f"  import parquet, {large:,} records")
        large_path = tmp / "import-large.parquet"
        pq.write_table(import_records(large, seed + 2, 35_000_000_000), large_path)
        out["parquet_large"] = import_file(store, large_path, large)
        large_path.unlink()
        out["raw_engine_large"] = _raw_engine_import(large, seed + 2, tmp)
    table = demo_bank_table(records, seed, 50_000_000_000)
    started = time.perf_counter()
    store.upsert_conversations(table, empty_messages())
    seconds = time.perf_counter() - started
    out["arrow_upsert"] = {"records": records, "seconds": seconds, "per_s": records / seconds}
    store.close()
    results["import"] = out
    shutil.rmtree(tmp, ignore_errors=True)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Records as a CSV file (`ccstats import` reads every cell as text): times as epoch ms,
    booleans as true/false, a missing value as an empty cell."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            cells = [row.get(name) for name in names]
            writer.writerow(
                ["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in cells]
            )


def _raw_engine_import(records: int, seed: int, tmp: Path) -> dict[str, Any]:
    """The engine alone, for the ratio: the same number of stored rows (every column, facts
    included) appended in one transaction to an empty table of the same columns in a fresh
    DuckDB file, from Arrow and from Parquet, each committed and checkpointed."""
    table = demo_bank_table(records, seed, 60_000_000_000)
    parquet_path = tmp / "raw.parquet"
    pq.write_table(table, parquet_path)
    out: dict[str, Any] = {}
    for name, source in (("arrow", '"table"'), ("parquet", f"read_parquet('{parquet_path}')")):
        path = tmp / f"raw-{name}.duckdb"
        con = duckdb.connect(str(path))
        con.register("table", table)
        con.execute('CREATE TABLE c AS SELECT * FROM "table" LIMIT 0')
        started = time.perf_counter()
        con.execute(f"INSERT INTO c SELECT * FROM {source}")
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
        con.close()
        path.unlink(missing_ok=True)
        out[name] = {"records": records, "seconds": seconds, "per_s": records / seconds}
    parquet_path.unlink(missing_ok=True)
    return out


# --- the run --------------------------------------------------------------------------------------


def _storage(path: Path) -> dict[str, Any]:
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT count(*) FROM conversations").fetchone()[0]  # type: ignore[index]
    intervals = con.execute("SELECT count(*) FROM agent_intervals").fetchone()[0]  # type: ignore[index]
    info = con.execute("PRAGMA database_size").fetchone()
    block_size, used_blocks = info[2], info[4]  # type: ignore[index]
    blocks = con.execute(
        "SELECT count(DISTINCT block_id) FROM pragma_storage_info('conversations') WHERE block_id >= 0"
    ).fetchone()[0]  # type: ignore[index]
    con.close()
    size = path.stat().st_size
    raw, raw_seconds = _raw_sorted_copy(path)
    return {
        "raw_sorted_seconds": raw_seconds,
        "raw_sorted_bytes_per_conversation": raw / rows,
        "ratio_to_raw_sorted": size / raw,
        "file_bytes": size,
        "conversations": rows,
        "agent_intervals": intervals,
        "bytes_per_conversation": size / rows,
        "conversation_blocks": blocks,
        "used_bytes_per_conversation": used_blocks * block_size / rows,
        "conversation_table_bytes_per_conversation": blocks * block_size / rows,
    }


def _raw_sorted_copy(path: Path) -> tuple[int, float]:
    """Bytes of a fresh DuckDB file holding only a table of the conversations table's columns,
    sorted by (tenant_id, created_at), checkpointed: what the engine itself needs for the rows;
    and the seconds it took to write it (the engine's own sort and write of every row, the
    floor of a compaction)."""
    tmp = DATA_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    target = tmp / "raw-sorted.duckdb"
    for stale in (target, Path(str(target) + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE conversations AS SELECT * FROM src.conversations"
        " ORDER BY tenant_id, created_at"
    )
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.execute("DETACH src")
    con.close()
    size = target.stat().st_size
    for stale in (target, Path(str(target) + ".wal")):
        stale.unlink(missing_ok=True)
    return size, seconds


def _ingest_waits(
    service: Service, rows: list[dict[str, Any]], stop: threading.Event, waits: list[float]
) -> None:
    """A client sending one record every 0.1 s until `stop`; how long each request took."""
    for row in rows:
        if stop.is_set():
            return
        started = time.perf_counter()
        service.ingest_conversations([row])
        waits.append(time.perf_counter() - started)
        time.sleep(0.1)


def phase_compaction(work: Path, seed: int, results: dict[str, Any]) -> None:
    """The whole store compacted (every month rewritten, `DuckDBStore.compact`) while two
    clients in process each send one record every 0.1 s: one answered once stored, one once in
    a journal (`serve --journal`); the longest wait of each."""
    journal = DATA_DIR / "tmp" / "compaction-journal"
    shutil.rmtree(journal, ignore_errors=True)
    store = DuckDBStore(str(work))
    stored, journaled = Service(store), Service(store, journal=journal)
    rows = json_records(import_records(4_000, seed, 40_000_000_000, days=1))
    waits: dict[str, list[float]] = {"stored": [], "journal": []}
    stop = threading.Event()
    clients = [
        threading.Thread(target=_ingest_waits, args=(stored, rows[:2_000], stop, waits["stored"])),
        threading.Thread(
            target=_ingest_waits, args=(journaled, rows[2_000:], stop, waits["journal"])
        ),
    ]
    for client in clients:
        client.start()
    time.sleep(0.5)
    started = time.perf_counter()
    store.compact()
    seconds = time.perf_counter() - started
    stop.set()
    for client in clients:
        client.join()
    journaled.close()
    store.close()
    shutil.rmtree(journal, ignore_errors=True)
    results["compaction"] = {
        "seconds": seconds,
        **{f"{name}_max_s": max(found, default=0.0) for name, found in waits.items()},
        **{f"{name}_requests": len(found) for name, found in waits.items()},
    }


def run_size(
    size: int, seed: int, layout: str, runs: int, quick: bool, skip_http: bool
) -> dict[str, Any]:
    """Every measurement for one store size."""
    log(f"size {size:,}: store")
    build: BuildInfo = ensure_store(size, seed, layout, log=lambda m: log(m))
    results: dict[str, Any] = {
        "size": size,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": seed,
        "layout": layout,
        "build": {
            "cached": build.cached,
            "seconds": build.seconds,
            "upsert_seconds": build.upsert_seconds,
            "upsert_per_s": size / build.upsert_seconds if build.upsert_seconds else None,
            "compact_seconds": build.compact_seconds,
        },
        "storage": _storage(build.path),
    }
    work = DATA_DIR / f"work-{size}.duckdb"
    copy_store(build.path, work)
    settled = DuckDBStore(str(work))  # a store cached before the build settled it: settle now
    settle(settled)
    settled.close()
    try:
        log(f"size {size:,}: in process")
        secrets, w = phase_inproc(work, runs, quick, results)
        if not skip_http:
            log(f"size {size:,}: HTTP")
            phase_http(work, secrets, w, runs, quick, seed, results)
        log(f"size {size:,}: bulk import")
        # A bulk import's steady rate shows on a file of a million records; 100 000 keep the
        # figures comparable with earlier runs.
        large = None if quick or size < 1_000_000 else 1_000_000
        phase_import(work, 10_000 if quick else 100_000, seed, results, large)
    finally:
        remove_store(work)
    log(f"size {size:,}: compaction under ingest")
    shutil.copyfile(build.path, work)  # the store as built, without the phases' imports
    try:
        phase_compaction(work, seed, results)
    finally:
        remove_store(work)
    (DATA_DIR / f"results-{size}.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python and DuckDB versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "os": platform.platform(),
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run every size, write bench/RESULTS.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller imports (~2 min)")
    parser.add_argument("--runs", type=int, default=None, help="warm runs per measurement")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--layout", choices=("arrival", "compact"), default="arrival")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "RESULTS.md"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    runs = args.runs or (10 if args.quick else 20)
    started = time.perf_counter()
    info = machine()
    all_results = []
    for size in sizes:
        all_results.append(run_size(size, args.seed, args.layout, runs, args.quick, args.skip_http))
        write_results(Path(args.out), info, all_results, quick=args.quick, runs=runs)
    log(f"done in {time.perf_counter() - started:.0f} s; results in {args.out}")


if __name__ == "__main__":
    main()
