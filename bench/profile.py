"""Where the time goes: `python -m bench.profile --size 1000000 [--cases a,b] [--py-spy PATH]`.

For each report, on the cached store of that size:
  - cProfile of the in-process (computed) report: the share spent inside DuckDB calls (execute,
    fetch) against Python (request building, bucket lists, row dicts, ratios);
  - DuckDB's own profile of the SQL our store generates and of the hand-written SQL: the time the
    engine spends executing, against the total of the call (parse, bind, plan, fetch into Python);
  - the ingest path split statement by statement (`upsert_conversations` on a batch of new rows);
  - with `--py-spy`, a sampling profile of the HTTP server under load, by layer.
Prints a plain-text report (pasted into bench/NOTES.md by hand).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from bench import cases as bench_cases
from bench.clients import Clients
from bench.generate import DATA_DIR, demo_bank_table, ensure_store
from bench.run import _run_sql, credentials, export_start
from bench.server import ServerProcess
from bench.timing import measure
from ccstats.derive import derive_facts
from ccstats.ingest import validate as _validate
from ccstats.records import Conversation
from ccstats.schema import conversations_to_arrow, empty_messages
from ccstats.storage import DuckDBStore

__all__ = ["main"]

_DUCKDB_CALLS = ("DuckDBPyConnection", "DuckDBPyRelation", "_duckdb")


def _cprofile(fn: Any, runs: int) -> dict[str, Any]:
    """Per-call total, DuckDB share and the top Python functions by own time."""
    fn()
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(runs):
        fn()
    profile.disable()
    wall = (time.perf_counter() - started) / runs * 1000
    stats = pstats.Stats(profile)
    duck = 0.0
    python: list[tuple[float, str]] = []
    for (filename, line, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"{Path(filename).name}:{line}:{name}" if filename != "~" else name
        if any(mark in label for mark in _DUCKDB_CALLS):
            duck += own
        else:
            python.append((own, label))
    python.sort(reverse=True)
    total = sum(own for own, _ in python) + duck
    return {
        "wall_ms": wall,
        "duckdb_share": duck / total if total else 0.0,
        "top_python": [(round(own / runs * 1000, 3), label) for own, label in python[:8]],
    }


def _engine_profile(
    con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list[Any]]]
) -> dict[str, Any]:
    """DuckDB's execution latency of each statement against the wall time of the whole call."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{out}'")
        latency = 0.0
        operators: dict[str, float] = {}
        started = time.perf_counter()
        for sql, params in statements:
            con.execute(sql, params).fetchall()
            data = json.loads(out.read_text())
            latency += float(data.get("latency", 0.0))
            _operators(data, operators)
        wall = time.perf_counter() - started
        con.execute("SET enable_profiling = 'no_output'")
        con.execute("PRAGMA disable_profiling")
    return {
        "wall_ms": wall * 1000,
        "engine_ms": latency * 1000,
        "top_operators": [
            (name, round(s * 1000, 3))
            for name, s in sorted(operators.items(), key=lambda item: -item[1])[:5]
        ],
    }


def _operators(node: dict[str, Any], into: dict[str, float]) -> None:
    for child in node.get("children", []):
        name = child.get("operator_name") or child.get("operator_type") or "?"
        key = name.strip()
        into[key] = into.get(key, 0.0) + float(child.get("operator_timing", 0.0))
        _operators(child, into)


def profile_cases(path: Path, names: set[str] | None, runs: int) -> None:
    """cProfile and engine profile of every case (in process, computed)."""
    work = DATA_DIR / "profile.duckdb"
    shutil.copyfile(path, work)
    store = DuckDBStore(str(work))
    con = duckdb.connect(str(work))
    con.execute("SET TimeZone = 'UTC'")
    w = bench_cases.window()
    w = bench_cases.window(export_start(con, w.export_end))
    for case in bench_cases.cases(w):
        if names and case.name not in names:
            continue
        prof = _cprofile(lambda c=case: c.inproc(store), runs)
        ours = _engine_profile(con, case.ours_sql)
        raw = _engine_profile(con, case.raw_sql)
        ours_wall = measure(partial(_run_sql, con, case.ours_sql), runs).median_ms
        print(f"\n== {case.name}: {case.title}")
        print(
            f"  in-process (cProfile on, {runs} runs): {prof['wall_ms']:.2f} ms/call;"
            f" {prof['duckdb_share']:.0%} of profiled time inside DuckDB calls"
        )
        print(
            f"  our SQL: {ours_wall:.2f} ms wall (median); engine executes {ours['engine_ms']:.2f} ms; top operators {ours['top_operators']}"
        )
        print(
            f"  hand SQL: engine executes {raw['engine_ms']:.2f} ms of {raw['wall_ms']:.2f} ms wall; top operators {raw['top_operators']}"
        )
        print("  top Python functions by own time (ms per call):")
        for own, label in prof["top_python"]:
            print(f"    {own:8.3f}  {label}")
    con.close()
    store.close()
    work.unlink(missing_ok=True)


def profile_ingest(path: Path, rows: int) -> None:
    """The ingest path split: validation, facts, Arrow, then each SQL statement of the upsert."""
    work = DATA_DIR / "profile.duckdb"
    shutil.copyfile(path, work)
    table = demo_bank_table(rows, 99, 60_000_000_000)
    records = [
        {k: v for k, v in row.items() if v is not None}
        for row in table.drop_columns(
            [
                "stored_at",
                *[
                    c
                    for c in table.column_names
                    if c.endswith("_count")
                    or c
                    in (
                        "bot_replies",
                        "bot_answered",
                        "bot_unknown",
                        "first_response_s",
                        "reply_wait_s",
                    )
                ],
            ]
        ).to_pylist()
    ]
    from datetime import UTC, datetime

    for record in records:
        for key, value in record.items():
            if isinstance(value, datetime):
                record[key] = value.replace(tzinfo=UTC)
    store = DuckDBStore(str(work))
    t0 = time.perf_counter()
    valid, _ = _validate(Conversation, records, None, {t.id for t in store.registry.list_tenants()})
    t1 = time.perf_counter()
    convs = [r for _, r in valid]
    for conv in convs:
        derive_facts(conv)
    t2 = time.perf_counter()
    arrow, _ = conversations_to_arrow(convs, datetime.now(UTC))
    t3 = time.perf_counter()
    print(f"\n== ingest of {rows:,} records into the {path.name} store")
    print(
        f"  pydantic validation: {(t1 - t0) / rows * 1e6:.1f} µs/record ({rows / (t1 - t0):,.0f}/s)"
    )
    print(f"  derive_facts: {(t2 - t1) / rows * 1e6:.1f} µs/record")
    print(f"  conversations_to_arrow: {(t3 - t2) / rows * 1e6:.1f} µs/record")
    con = store._con  # noqa: SLF001 - the bench times the store's own statements one by one
    con.register("_batch_c", table)
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    keys = "(SELECT DISTINCT tenant_id, id FROM _batch_c)"
    statements = [
        (
            "DELETE conversations USING batch keys",
            f"DELETE FROM conversations t USING {keys} k WHERE t.tenant_id = k.tenant_id AND t.id = k.id",
        ),
        (
            "DELETE messages USING batch keys",
            f"DELETE FROM messages t USING {keys} k WHERE t.tenant_id = k.tenant_id AND t.conversation_id = k.id",
        ),
        (
            "INSERT ... QUALIFY row_number()",
            f"INSERT INTO conversations ({cols}) SELECT {cols} FROM _batch_c QUALIFY row_number() OVER (PARTITION BY tenant_id, id) = 1",
        ),
        ("COMMIT", "COMMIT"),
        ("CHECKPOINT", "CHECKPOINT"),
    ]
    con.execute("BEGIN TRANSACTION")
    for label, sql in statements:
        started = time.perf_counter()
        con.execute(sql)
        print(f"  {label}: {(time.perf_counter() - started) * 1000:.0f} ms")
    started = time.perf_counter()
    store.upsert_conversations(demo_bank_table(rows, 98, 61_000_000_000), empty_messages())
    print(
        f"  upsert_conversations of another {rows:,} new rows, whole: {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    store.close()
    work.unlink(missing_ok=True)
    Path(str(work) + ".wal").unlink(missing_ok=True)


def profile_http(
    path: Path, py_spy: str, case_names: list[str], seconds: int, no_cache: bool
) -> None:
    """py-spy samples of the server while 4 clients call one report, grouped by layer."""
    work = DATA_DIR / "profile.duckdb"
    shutil.copyfile(path, work)
    store = DuckDBStore(str(work))
    secrets = credentials(store)
    con = duckdb.connect(str(work))
    w = bench_cases.window()
    w = bench_cases.window(export_start(con, w.export_end))
    con.close()
    store.close()
    by_name = {c.name: c for c in bench_cases.cases(w)}
    for name in case_names:
        case = by_name[name]
        with ServerProcess(work, no_cache=no_cache) as server:
            clients = Clients(server.url, secrets)
            assert case.http is not None
            case.http(clients)
            stop = threading.Event()
            count = [0]

            def load(
                c: Clients = clients,
                http: Any = case.http,
                stop: threading.Event = stop,
                count: list[int] = count,
            ) -> None:
                mine = Clients(c.base, c.creds)
                mine._huawei_token, mine._twin24_token = c._huawei_token, c._twin24_token
                while not stop.is_set():
                    http(mine)
                    count[0] += 1

            threads = [threading.Thread(target=load) for _ in range(4)]
            for thread in threads:
                thread.start()
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "stacks.txt"
                subprocess.run(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(server.pid),
                        "--duration",
                        str(seconds),
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                        "--nonblocking",
                    ],
                    check=False,
                    capture_output=True,
                )
                stop.set()
                for thread in threads:
                    thread.join()
                layers = _layers(out.read_text() if out.exists() else "")
            clients.close()
        total = sum(layers.values()) or 1
        print(
            f"\n== HTTP server samples, {name} ({'answer cache off' if no_cache else 'as shipped'}; {count[0]} requests in {seconds} s from 4 clients)"
        )
        for layer, samples in layers.most_common():
            print(f"  {samples / total:6.1%}  {layer}")
    work.unlink(missing_ok=True)


_LAYERS = (
    (
        "DuckDB execute/fetch",
        (
            "execute (",
            "fetchall (",
            "fetchone (",
            "fetch_record_batch",
            "to_arrow_reader",
            "read_next_batch",
            "_duckdb",
        ),
    ),
    ("export rendering (csv/openpyxl)", ("export.py", "openpyxl", "csv_chunks", "xlsx_chunks")),
    ("JSON encoding (orjson/responses)", ("responses.py", "orjson", "render (")),
    ("dialect formatting and parsing", ("dialects/",)),
    (
        "query model (compile, rows, ratios)",
        ("metrics/query.py", "numbers.py", "timebuckets.py", "metrics/catalog.py"),
    ),
    (
        "storage: DuckDB execute + fetch + row dicts (C frames not sampled)",
        ("storage/duckdb/store.py", "storage/duckdb/sql.py", "storage/base.py"),
    ),
    ("auth and tenant lookup", ("auth.py", "deps.py", "hashlib", "hmac")),
    ("pydantic", ("pydantic",)),
    ("FastAPI/Starlette routing and validation", ("fastapi/", "starlette/")),
    ("uvicorn/asyncio/h11 (HTTP server)", ("uvicorn/", "asyncio/", "h11/", "httptools")),
    ("threads/idle", ("threading.py", "concurrent/futures", "selectors.py")),
)


def _layers(raw: str) -> Counter[str]:
    """py-spy raw stacks ("frame;frame;... count") counted by the innermost recognised layer."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        frames = stack.split(";")
        layer = "other"
        for frame in reversed(frames):
            found = next((name for name, marks in _LAYERS if any(m in frame for m in marks)), None)
            if found:
                layer = found
                break
        counts[layer] += int(number)
    return counts


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and print the profiles."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--ingest-rows", type=int, default=100_000)
    parser.add_argument("--py-spy", default="", help="path to a py-spy binary for the HTTP profile")
    parser.add_argument("--http-cases", default="huawei_hour,twin24_page,native_page,moor_quality")
    parser.add_argument("--only", default="cases,ingest,http")
    args = parser.parse_args(argv)
    path = ensure_store(args.size, args.seed).path
    only = set(args.only.split(","))
    names = set(filter(None, args.cases.split(","))) or None
    if "cases" in only:
        profile_cases(path, names, args.runs)
    if "ingest" in only:
        profile_ingest(path, args.ingest_rows)
    if "http" in only and args.py_spy:
        for no_cache in (True, False):
            profile_http(path, args.py_spy, args.http_cases.split(","), 8, no_cache)


if __name__ == "__main__":
    main()
