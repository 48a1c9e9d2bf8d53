"""Where ingest's time goes: `python -m bench.ingest_profile --size 1000000`.

On a copy of the cached store of that size, in process (the path the HTTP route takes:
`parse_payload`, then `Service.ingest_conversations`), for batches of 1, 100 and 5 000 new Demo
Bank records of one day, and for a `ccstats import` of a Parquet file, each phase timed apart:

- **validation**: JSON decoding, items to columns (`items_to_table`), the vectorised checks, the
  Python of `_store` (known tenants, the row path for the records it must judge, de-duplication);
- **derivation**: the row path's pydantic validation and `derive_facts` of the records with a
  transcript (the variant "with transcripts": every record carries one);
- **upsert**: each SQL statement of `upsert_conversations`, grouped by what it does (the keys'
  scans, DELETE, INSERT, the rollup slot recomputation, next-contact notes, month counts, COMMIT);
- **next contacts**: `flush` (settling) after each batch, as a read after every batch would;
- **answer invalidation**: `ChangeLog.record`;
- **raw engine**: the same rows appended to a table of the same columns in a fresh DuckDB file,
  one transaction per batch (the ratio's denominator);
- **HTTP**: the same batches POSTed to `bench.server` one after another (latency median).

Prints a plain-text report and writes bench/data/ingest-profile-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from bench.clients import Clients
from bench.generate import DATA_DIR, DEMO_BANK, demo_bank_table, ensure_store, import_records
from bench.server import ServerProcess
from ccstats import schema
from ccstats.ingest import columns as ingest_columns
from ccstats.ingest import parquet_tables, parse_payload
from ccstats.service import Service
from ccstats.storage import DuckDBStore

__all__ = ["main", "statement_group"]

_GROUPS: list[tuple[str, str]] = [
    (r"^CREATE OR REPLACE TEMP TABLE _customers", "keys: customers of old+new rows"),
    (r"^INSERT INTO pending_contacts", "next contacts: note pending"),
    (r"^(CREATE OR REPLACE TEMP TABLE|INSERT INTO) _span", "keys: changed spans"),
    (r"^CREATE OR REPLACE TEMP TABLE _touched", "rollup: touched slots"),
    (r"^INSERT OR REPLACE INTO engine_state SELECT", "rollup: stale mark"),
    (r"^DELETE FROM conversations t USING", "DELETE conversations by key"),
    (r"^DELETE FROM messages t USING", "DELETE messages by key"),
    (r"^INSERT INTO conversations", "INSERT conversations"),
    (r"^INSERT INTO messages", "INSERT messages"),
    (r"^DELETE FROM (conversation_rollup|agent_day_rollup) r USING", "rollup: delete slots"),
    (r"^INSERT INTO conversation_rollup", "rollup: recompute 15-min slots"),
    (r"^INSERT INTO agent_day_rollup", "rollup: recompute agent days"),
    (r"^UPDATE (conversation_rollup|agent_day_rollup)", "rollup: apply differences"),
    (r"^(CREATE OR REPLACE TEMP TABLE|INSERT INTO) _delta", "rollup: differences"),
    (r"^DROP TABLE", "temp tables dropped"),
    (r"^INSERT OR REPLACE INTO engine_state VALUES", "month counts"),
    (r"^SELECT tenant_id, min\(lo\)", "changed spans read"),
    (r"^BEGIN", "BEGIN"),
    (r"^COMMIT", "COMMIT"),
]


def statement_group(sql: str) -> str:
    """What a statement of an upsert does (`_GROUPS`), or its first words."""
    text = sql.strip()
    for pattern, name in _GROUPS:
        if re.match(pattern, text):
            return name
    return " ".join(text.split()[:4])


class Timings:
    """Seconds per phase, summed over the calls made while it is installed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, name: str, seconds: float) -> None:
        """Count `seconds` against `name`."""
        self.seconds[name] += seconds

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn`, its time counted against `name`."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - started)

        return wrapper


class _TimedCursor:
    """A store's cursor whose statements are timed by `statement_group` (what the store's own
    `_write` runs, as it runs them)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, timings: Timings) -> None:
        self._real, self._timings = cursor, timings

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The real cursor's `execute`, timed."""
        started = time.perf_counter()
        try:
            return self._real.execute(sql, params)
        finally:
            self._timings.add("sql: " + statement_group(sql), time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def instrumented(service: Service) -> Iterator[Timings]:
    """Time the phases of ingest (module docstring) while inside."""
    timings = Timings()
    store = service.store
    assert isinstance(store, DuckDBStore)
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)

    cols = ingest_columns
    patch(
        cols, "items_to_table", timings.timed("validation: items to columns", cols.items_to_table)
    )
    patch(cols, "known_tenants", timings.timed("validation: known tenants", cols.known_tenants))  # type: ignore[attr-defined]
    patch(cols, "validate", timings.timed("derivation: row path (pydantic)", cols.validate))  # type: ignore[attr-defined]
    patch(
        cols,
        "_last_of_each_key",
        timings.timed("derivation: facts, Arrow, last of each key", cols._last_of_each_key),
    )
    patch(cols, "_store", timings.timed("(store part)", cols._store))
    patch(schema, "derive_facts", timings.timed("derivation: derive_facts", schema.derive_facts))  # type: ignore[attr-defined]
    cursor = store._cursor
    patch(store, "_cursor", lambda: _TimedCursor(cursor(), timings))
    patch(store, "upsert_conversations", timings.timed("(upsert)", store.upsert_conversations))
    patch(store, "_any_stored", timings.timed("sql: probe: any key stored?", store._any_stored))
    commits = service.commits
    patch(commits, "_upsert", store.upsert_conversations)  # the timed one
    patch(service.changes, "record", timings.timed("answer invalidation", service.changes.record))
    try:
        yield timings
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _summary(timings: Timings, wall: float, batches: int) -> dict[str, float]:
    """Milliseconds per batch per phase; Python outside the timed parts computed by difference."""
    s = dict(timings.seconds)
    sql = sum(v for k, v in s.items() if k.startswith("sql: "))
    upsert = s.pop("(upsert)", 0.0)
    store_part = s.pop("(store part)", 0.0)
    timed_in_store = sum(
        s.get(k, 0.0)
        for k in (
            "validation: known tenants",
            "derivation: row path (pydantic)",
            "derivation: facts, Arrow, last of each key",
        )
    )
    s["upsert: Python around the SQL"] = upsert - sql
    s["validation: _store's own Python (refusals, filters)"] = store_part - upsert - timed_in_store
    outside = wall - sum(v for k, v in s.items() if not k.startswith("derivation: derive"))
    s["validation: checks (ingest_table) and the rest"] = outside
    return {k: v * 1000 / batches for k, v in sorted(s.items())}


def _json_bodies(table: pa.Table, batch: int) -> list[bytes]:
    from bench.run import json_records

    rows = json_records(table)
    return [orjson.dumps(rows[i : i + batch]) for i in range(0, len(rows), batch)]


def _with_transcripts(body: bytes) -> bytes:
    items = orjson.loads(body)
    for n, item in enumerate(items):
        start = item["created_at"]
        item["channel"] = "chat"
        item["messages"] = [
            {
                "seq": i,
                "sender": ("customer", "bot", "agent")[i % 3],
                "text": f"line {i} of {n}",
                "sent_at": start + i * 5_000,
                **({"agent_id": "a1"} if i % 3 == 2 else {}),
            }
            for i in range(6)
        ]
    return orjson.dumps(items)


def profile_batches(
    service: Service, bodies: list[bytes], settle_each: bool
) -> tuple[dict[str, float], list[float]]:
    """Ingest `bodies` one after another as the HTTP route does; per-batch phase times (ms) and
    each batch's wall time (ms)."""
    walls: list[float] = []
    with instrumented(service) as timings:
        total = 0.0
        for body in bodies:
            started = time.perf_counter()
            t0 = time.perf_counter()
            items = parse_payload(body, "application/json")
            timings.add("validation: JSON decoding", time.perf_counter() - t0)
            service.ingest_conversations(items, DEMO_BANK)
            if settle_each:
                t0 = time.perf_counter()
                service.flush([DEMO_BANK])
                timings.add("next contacts: settle (flush)", time.perf_counter() - t0)
            wall = time.perf_counter() - started
            walls.append(wall * 1000)
            total += wall
    return _summary(timings, total, len(bodies)), walls


def _stored_tables(records: int, batch: int, seed: int, first: int) -> list[pa.Table]:
    table = demo_bank_table(records, seed, first, days=1)
    return [table.slice(i, batch) for i in range(0, records, batch)]


def profile_import(service: Service, path: Path, records: int) -> dict[str, float]:
    """`ccstats import` of a Parquet file (phases in s), then its closing upkeep."""
    store = service.store
    assert isinstance(store, DuckDBStore)
    out: dict[str, float] = {}
    with instrumented(service) as timings:
        started = time.perf_counter()
        read = 0.0
        tables = parquet_tables(path)
        while True:
            t0 = time.perf_counter()
            table = next(tables, None)
            read += time.perf_counter() - t0
            if table is None:
                break
            service.ingest_table(table)
        wall = time.perf_counter() - started
    summary = _summary(timings, wall - read, 1)
    out.update({k: v / 1000 for k, v in summary.items()})
    out["Parquet reading"] = read
    out["ingest total"] = wall
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("upkeep: settle next contacts (flush)", service.flush),
        ("upkeep: rebuild stale rollups", store.refresh_stale_rollups),
        ("upkeep: compaction (maintain)", store.maintain),
    )
    for name, step in steps:
        t0 = time.perf_counter()
        step()
        out[name] = time.perf_counter() - t0
    out["end to end"] = wall + sum(v for k, v in out.items() if k.startswith("upkeep"))
    out["records"] = records
    return out


def raw_import(records: int, seed: int, first: int, work: Path) -> float:
    """Seconds for the raw engine to append `records` stored rows (every column) from Parquet
    into a fresh file, committed and checkpointed (as `bench.run._raw_engine_import`)."""
    table = demo_bank_table(records, seed, first)
    parquet = work.with_name("raw.parquet")
    pq.write_table(table, parquet)
    path = work.with_name("raw-import.duckdb")
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE c AS SELECT * FROM read_parquet('{parquet}') LIMIT 0")
    started = time.perf_counter()
    con.execute(f"INSERT INTO c SELECT * FROM read_parquet('{parquet}')")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    path.unlink(missing_ok=True)
    parquet.unlink(missing_ok=True)
    return seconds


def http_latencies(work: Path, bodies: dict[str, list[bytes]]) -> dict[str, list[float]]:
    """Milliseconds of each POST of each kind of batch, sent one after another."""
    from bench.run import credentials, post_batch

    store = DuckDBStore(str(work))
    secrets = credentials(store)
    store.close()
    out: dict[str, list[float]] = {}
    with ServerProcess(work) as server:
        clients = Clients(server.url, secrets)
        for name, sent in bodies.items():
            times = []
            for body in sent:
                started = time.perf_counter()
                accepted = post_batch(clients, body)
                times.append((time.perf_counter() - started) * 1000)
                assert accepted, "the server acknowledged none of a batch"
            out[name] = times
        clients.close()
    return out


def _fresh_copy(source: Path, work: Path) -> None:
    for stale in (work, Path(str(work) + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, work)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def compare(
    source: Path, work: Path, bodies: dict[str, list[bytes]], records: int, seed: int
) -> dict[str, Any]:
    """Before and after in one run: two copies of the store, one upserting as before (every
    batch replaces: `DuckDBStore(appends=False)`) and one as now, the same batches sent to each
    in turn (each with its own ids), then the same Parquet import into fresh copies of each."""
    copies = {"before": work.with_name("before.duckdb"), "after": work.with_name("after.duckdb")}
    out: dict[str, Any] = {"batches": {}, "import": {}}
    services = {}
    for name, path in copies.items():
        _fresh_copy(source, path)
        services[name] = Service(DuckDBStore(str(path), appends=name == "after"))
    for kind, sent in bodies.items():
        walls: dict[str, list[float]] = {"before": [], "after": []}
        for body in sent:
            for name, service in services.items():
                mine = body.replace(b'"id":"', f'"id":"{name[0]}'.encode())
                started = time.perf_counter()
                service.ingest_conversations(parse_payload(mine, "application/json"), DEMO_BANK)
                walls[name].append((time.perf_counter() - started) * 1000)
        out["batches"][kind] = {n: _median(w) for n, w in walls.items()}
    for service in services.values():
        service.store.close()
    parquet = work.with_name("import.parquet")
    pq.write_table(import_records(records, seed, 30_000_000_000), parquet)
    for name, path in copies.items():
        _fresh_copy(source, path)
        service = Service(DuckDBStore(str(path), appends=name == "after"))
        service.flush()
        found = profile_import(service, parquet, records)
        out["import"][name] = {
            "ingest": found["ingest total"],
            "end_to_end": found["end to end"],
            "upkeep": found["end to end"] - found["ingest total"],
        }
        service.store.close()
        for stale in (path, Path(str(path) + ".wal")):
            stale.unlink(missing_ok=True)
    parquet.unlink(missing_ok=True)
    out["import"]["raw_engine"] = raw_import(records, seed, 60_000_000_000, work)
    return out


def http_compare(
    source: Path, work: Path, before_src: str, seconds: float, seed: int, runs: int = 15
) -> dict[str, Any]:
    """Over HTTP, the code in `before_src` (another checkout's `src`) against this one, each
    serving a fresh copy of the store in turn: 1-record requests from 16 clients, 100- and
    5 000-record batches from one client, and two reports idle and under steady ingest."""
    from bench import cases as bench_cases
    from bench.run import (
        _http_ingest,
        concurrent_ingest,
        credentials,
        reads_under_ingest,
    )

    here = str(Path(__file__).parent.parent / "src")
    out: dict[str, Any] = {}
    for name, src in (("before", before_src), ("after", here)):
        path = work.with_name(f"http-{name}.duckdb")
        _fresh_copy(source, path)
        store = DuckDBStore(str(path))
        secrets = credentials(store)
        store.close()
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = f"{src}{os.pathsep}{Path(__file__).parent.parent}"
        try:
            with ServerProcess(path) as server:
                clients = Clients(server.url, secrets)
                window = bench_cases.window()
                calls = {
                    c.name: c.http
                    for c in bench_cases.cases(window)
                    if c.name in ("huawei_hour", "moor_quality") and c.http is not None
                }
                found: dict[str, Any] = {}
                found["reads"] = reads_under_ingest(clients, calls, runs, seed + 6)
                found["one"] = concurrent_ingest(clients, 16, seconds, seed + 3, 2_000)
                found["hundred"] = _http_ingest(clients, 2_000, 100, seed + 2, days=1, first=23)
                found["five_thousand"] = _http_ingest(
                    clients, 20_000, 5_000, seed + 1, days=1, first=21
                )
                clients.close()
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        for stale in (path, Path(str(path) + ".wal")):
            stale.unlink(missing_ok=True)
        out[name] = found
    return out


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, profile, print and save."""
    from bench.run import raw_append

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--layout", default="compact")
    parser.add_argument("--import-records", type=int, default=100_000)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--compare", action="store_true", help="before (appends off) and after, in one run"
    )
    parser.add_argument(
        "--http-compare",
        default="",
        metavar="SRC",
        help="over HTTP, the code in SRC (another checkout's src/) before this one",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    source = ensure_store(args.size, args.seed, args.layout).path
    work = DATA_DIR / f"ingest-profile-{args.size}.duckdb"
    kinds = {  # name: (records, batch, with transcripts)
        "1": (40, 1, False),
        "100": (2_000, 100, False),
        "100 with transcripts": (2_000, 100, True),
        "5000": (20_000, 5_000, False),
    }
    report: dict[str, Any] = {"size": args.size, "batches": {}}
    bodies: dict[str, list[bytes]] = {}
    for n, (name, (records, batch, transcripts)) in enumerate(kinds.items()):
        table = import_records(records, args.seed + 10 + n, (70 + n) * 1_000_000_000, days=1)
        sent = _json_bodies(table, batch)
        bodies[name] = [_with_transcripts(b) for b in sent] if transcripts else sent
    if args.http_compare:
        found = http_compare(source, work, args.http_compare, args.seconds, args.seed)
        (DATA_DIR / f"ingest-http-compare-{args.size}.json").write_text(
            json.dumps(found, indent=2, default=str)
        )
        print_http_compare(found)
        return
    if args.compare:
        found = compare(source, work, bodies, args.import_records, args.seed)
        (DATA_DIR / f"ingest-compare-{args.size}.json").write_text(json.dumps(found, indent=2))
        print(f"\n== before / after, {args.size:,}-conversation store (ms per batch, median)")
        for kind, walls in found["batches"].items():
            print(f"   {kind:>22}: {walls['before']:8.1f} -> {walls['after']:8.1f}")
        for name in ("before", "after"):
            imp = found["import"][name]
            print(
                f"   import {args.import_records:,} ({name}): ingest {imp['ingest']:.2f} s,"
                f" end to end {imp['end_to_end']:.2f} s"
            )
        print(f"   raw engine: {found['import']['raw_engine']:.2f} s")
        return
    _fresh_copy(source, work)
    service = Service(DuckDBStore(str(work)))
    service.flush()
    for name, sent in bodies.items():
        records, batch, _ = kinds[name]
        for settle in (False, True):
            # Repeats of the same keys would replace rows: each run sends its own copy of ids.
            fresh = [b.replace(b'"id":"', f'"id":"s{int(settle)}'.encode()) for b in sent]
            phases, walls = profile_batches(service, fresh, settle)
            label = f"{name}{' + settle' if settle else ''}"
            report["batches"][label] = {
                "batch": batch,
                "batches": len(fresh),
                "phases_ms": phases,
                "wall_median_ms": _median(walls),
                "wall_mean_ms": sum(walls) / len(walls),
            }
        tables = _stored_tables(records, batch, args.seed + 30, 90_000_000_000)
        report["batches"][name]["raw_append_median_ms"] = _median(raw_append(tables)["batch_ms"])
    service.store.close()
    parquet = work.with_name("import.parquet")
    pq.write_table(import_records(args.import_records, args.seed, 30_000_000_000), parquet)
    _fresh_copy(source, work)
    service = Service(DuckDBStore(str(work)))
    service.flush()
    report["import"] = profile_import(service, parquet, args.import_records)
    service.store.close()
    parquet.unlink(missing_ok=True)
    report["import"]["raw_engine_seconds"] = raw_import(
        args.import_records, args.seed, 60_000_000_000, work
    )
    if not args.skip_http:
        _fresh_copy(source, work)
        http = http_latencies(work, {k: v for k, v in bodies.items() if "transcripts" not in k})
        for name, times in http.items():
            report["batches"][name]["http_median_ms"] = _median(times)
    for stale in (work, Path(str(work) + ".wal")):
        stale.unlink(missing_ok=True)
    (DATA_DIR / f"ingest-profile-{args.size}.json").write_text(json.dumps(report, indent=2))
    print_report(report)


def print_http_compare(found: dict[str, Any]) -> None:
    """The before/after HTTP figures as plain text."""
    for name in ("before", "after"):
        f = found[name]
        one = f["one"]
        print(
            f"== {name}: 1-record x16 clients {one['per_s']:,.0f}/s (p50 {one['latency_median_ms']:.0f},"
            f" p95 {one['latency_p95_ms']:.0f} ms, {one['failures']} failures);"
            f" 100-record {f['hundred']['per_s']:,.0f}/s; 5000-record {f['five_thousand']['per_s']:,.0f}/s"
        )
        for case, r in f["reads"]["cases"].items():
            print(
                f"   {case}: idle {r['idle_median_ms']:.1f} ms, under ingest"
                f" {r['ingest_median_ms']:.1f} ms ({r['ratio']:.2f}x);"
                f" ingest meanwhile {f['reads']['ingest'].get('per_s', 0):,.0f}/s"
            )


def print_report(report: dict[str, Any]) -> None:
    """The profile as plain text (pasted into bench/NOTES.md)."""
    print(f"\n== ingest profile, {report['size']:,}-conversation store (ms per batch)")
    for label, found in report["batches"].items():
        head = f"-- batches of {label}: wall median {found['wall_median_ms']:.1f} ms"
        if "raw_append_median_ms" in found:
            head += f", raw engine append {found['raw_append_median_ms']:.1f} ms"
        if "http_median_ms" in found:
            head += f", over HTTP {found['http_median_ms']:.1f} ms"
        print(head)
        for phase, ms in sorted(found["phases_ms"].items(), key=lambda kv: -kv[1]):
            if ms >= 0.05:
                print(f"   {ms:8.2f}  {phase}")
    found = report["import"]
    print(f"-- import of {found['records']:,} records from Parquet (s)")
    for phase, seconds in sorted(found.items(), key=lambda kv: -kv[1]):
        if phase != "records" and seconds >= 0.005:
            print(f"   {seconds:8.3f}  {phase}")


if __name__ == "__main__":
    main()
