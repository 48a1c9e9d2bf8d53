"""DuckDB and ClickHouse side by side on the same generated data (`python -m bench.engines`).

For each size: the cached DuckDB store `bench.run` measures (`generate.ensure_store`, layout
`compact`) and a chDB directory loaded with the same generated conversations, tenants and agent
intervals (`generate.ensure_chdb_store`), each copied to a work copy. Then, the engines taking
turns within every figure (DuckDB, ClickHouse, DuckDB, ClickHouse, ...), so that a change of the
machine's load reaches both:

- every case of `bench.cases` in process: computed (`Case.inproc`: `Service.compute_query`,
  `Store.search`) and kept (`Case.cached`: the service as shipped, the request repeated); the
  two engines' answers compared (a note where they differ);
- a CSV export of the Twin24 range (`bench.run.export`, every column);
- HTTP ingest over the real server (`bench.server`, one per engine, both up): batches of 100
  and of 5,000 records, each batch sent to one engine, then to the other;
- `ccstats import` of Parquet files end to end (`bench.run.import_file`), each file imported
  into one engine, then into the other;
- bytes on disk per conversation of the stores as built.

The figures go to bench/data/engines-<size>.json and to the section "DuckDB and ClickHouse side
by side" of bench/RESULTS.md (`--out`); the rest of that file is left as it is.

    python -m bench.engines --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow.parquet as pq

from bench import cases as bench_cases
from bench.clients import Clients, Secrets
from bench.generate import (
    DATA_DIR,
    BuildInfo,
    chdb_url,
    copy_store,
    ensure_chdb_store,
    ensure_store,
    import_records,
    remove_store,
    settle,
)
from bench.report import SIDE_BY_SIDE, splice_section
from bench.run import (
    READS_UNDER_INGEST,
    concurrent_ingest,
    credentials,
    export,
    export_request,
    export_start,
    import_file,
    ingest_bodies,
    json_records,
    log,
    machine,
    post_batch,
    reads_under_ingest,
    write_csv,
)
from bench.server import ServerProcess
from bench.timing import Timing, alternate
from ccstats.metrics.query import MetricResult
from ccstats.storage import DuckDBStore, SearchRequest, Store
from ccstats.storage.clickhouse import ClickHouseStore

__all__ = ["ENGINES", "Figure", "main", "render", "run_pair", "taking_turns"]

ENGINES = ("DuckDB", "ClickHouse (chDB)")
LAYOUT = "compact"
"""The DuckDB store's layout: the one `make bench` measures."""

T = TypeVar("T")
Figure = dict[str, Any]
"""A row of the table: `figure` (its words), `unit` ("ms", "/s" or "B"), `values` (one per
engine, None where it failed), where it failed `why`, and `detail` (what it was computed
from: kept in the JSON, not shown)."""


def taking_turns(calls: list[Callable[[int], T]], rounds: int) -> list[list[T]]:
    """Each call's results over `rounds` rounds, the calls taking turns within each round (the
    round's number is the argument)."""
    out: list[list[T]] = [[] for _ in calls]
    for number in range(rounds):
        for call, mine in zip(calls, out, strict=True):
            mine.append(call(number))
    return out


def _figure(
    figure: str, unit: str, values: list[float | None], why: str = "", detail: Any = None
) -> Figure:
    out: Figure = {"figure": figure, "unit": unit, "values": values}
    if why:
        out["why"] = why
    if detail is not None:  # the measurements behind the values, for the JSON only
        out["detail"] = detail
    return out


def _medians(timings: list[Timing]) -> list[float | None]:
    return [t.median_ms for t in timings]


# --- bytes on disk --------------------------------------------------------------------------------


def _directory_bytes(path: Path) -> int:
    """The files' bytes under `path`, each once (links not followed: chDB links its tables into
    its store/ folder)."""
    return sum(
        os.lstat(os.path.join(folder, name)).st_size
        for folder, _, names in os.walk(path)
        for name in names
    )


def _duckdb_used_bytes(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    info = con.execute("PRAGMA database_size").fetchone()
    con.close()
    assert info is not None
    return int(info[2]) * int(info[4])  # block size x used blocks


def _parts_bytes(store: ClickHouseStore) -> int:
    """The store's database's active parts (every table, the rollup too), from `system.parts`."""
    found = store._db.query(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = {d:String}",
        {"d": store.target.database},
    )
    return int(found[0][0] or 0)


def _build_figures(builds: list[BuildInfo], size: int) -> list[Figure]:
    """How fast the stores were loaded, when this run built both (a cached store says nothing)."""
    if any(b.cached or not b.upsert_seconds for b in builds):
        return []
    return [
        _figure(
            "store build: `upsert_conversations` of the generated Arrow batches (up to 1M rows"
            " each), conversations/s",
            "/s",
            [size / b.upsert_seconds for b in builds],
        )
    ]


def _size_figures(builds: list[BuildInfo], house: ClickHouseStore, size: int) -> list[Figure]:
    duck, chdb = builds
    return _build_figures(builds, size) + [
        _figure(
            "bytes on disk per conversation: the DuckDB file; the chDB directory (every table, the"
            " rollups, chDB's own system tables and logs)",
            "B",
            [duck.path.stat().st_size / size, _directory_bytes(chdb.path) / size],
        ),
        _figure(
            "bytes per conversation of the data alone: DuckDB's used blocks; the database's active"
            " parts in ClickHouse (`system.parts`, every table and the rollup)",
            "B",
            [_duckdb_used_bytes(duck.path) / size, _parts_bytes(house) / size],
        ),
    ]


# --- in process -----------------------------------------------------------------------------------


def _answer(found: Any) -> Any:
    """What a case answered, comparable across engines (a report's SQL is the engine's own)."""
    if isinstance(found, MetricResult):
        return found.columns, found.rows
    if isinstance(found, list):
        return [_answer(part) for part in found]
    return found


def _case_figures(case: bench_cases.Case, stores: list[Store], runs: int) -> list[Figure]:
    """The case computed, then kept, on every engine in turn (median of the warm runs, ms);
    a note where the engines' computed answers differ (the same data: they should not)."""
    ways: list[tuple[str, Callable[[Store], Any]]] = [("computed", case.inproc)]
    if case.cached is not None:
        ways.append(("kept (a repeat)", case.cached))
    out = []
    for how, run in ways:
        title = f"{case.title}: {how}"
        try:
            answers = [_answer(run(s)) for s in stores]
            timings = alternate([partial(run, s) for s in stores], runs)
        except Exception as error:  # one engine failing a case: say so, measure the rest
            out.append(_figure(title, "ms", [None, None], f"{type(error).__name__}: {error}"[:200]))
            continue
        differ = "the engines' answers differ" if answers[0] != answers[1] else ""
        out.append(_figure(title, "ms", _medians(timings), differ))
    return out


def _export_csv(store: Store, request: SearchRequest, _round: int) -> dict[str, Any]:
    return export(store, request, "csv", trace=False)


def _export_figure(stores: list[Store], w: bench_cases.Window, rounds: int) -> Figure:
    request = export_request(w)
    done = taking_turns(
        [partial(_export_csv, s, request) for s in stores],
        rounds,
    )
    rows = done[0][0]["rows"]
    seconds = [sorted(d["seconds"] for d in mine)[len(mine) // 2] for mine in done]
    return _figure(
        f"CSV export of the Twin24 range ({rows:,} rows, every column; `file_chunks`)",
        "ms",
        [s * 1000 for s in seconds],
    )


def phase_reports(
    stores: list[Store], runs: int, rounds: int
) -> tuple[list[Figure], list[Secrets], bench_cases.Window]:
    """Every case computed and kept, then the export; the engines' credentials for HTTP."""
    secrets = [credentials(store) for store in stores]
    duck = stores[0]
    assert isinstance(duck, DuckDBStore)
    con = duckdb.connect(duck.path)  # the same database instance as the store's
    w = bench_cases.window()
    w = bench_cases.window(export_start(con, w.export_end))
    con.close()
    figures: list[Figure] = []
    for case in bench_cases.cases(w):
        log(f"  in process {case.name}")
        figures += _case_figures(case, stores, runs)
    log("  in process CSV export")
    figures.append(_export_figure(stores, w, rounds))
    return figures, secrets, w


# --- HTTP ingest and import -----------------------------------------------------------------------


def _timed_post(clients: Clients, bodies: list[bytes], number: int) -> tuple[int, float]:
    """Body `number` posted; (records acknowledged, seconds)."""
    started = time.perf_counter()
    accepted = post_batch(clients, bodies[number])
    return accepted, time.perf_counter() - started


def _rate(done: list[tuple[int, float]]) -> float:
    """Records acknowledged per second over every request."""
    return sum(a for a, _ in done) / sum(s for _, s in done)


def phase_http(
    works: list[str], secrets: list[Secrets], w: bench_cases.Window, seed: int, quick: bool
) -> list[Figure]:
    """Both servers up; each batch sent to DuckDB's, then to ClickHouse's (one client each);
    then, one engine after the other, 1-record requests from 16 clients, and the reports read
    idle and under steady ingest."""
    figures = []
    small, large = (500, 10_000) if quick else (2_000, 100_000)
    with ServerProcess(works[0]) as duck, ServerProcess(works[1]) as house:
        clients = [Clients(server.url, s) for server, s in zip((duck, house), secrets, strict=True)]
        for batch, records, seeded, first in (
            (100, small, seed + 2, 23),
            (5_000, large, seed + 1, 21),
        ):
            log(f"  http ingest, {records:,} records in batches of {batch:,}")
            bodies = ingest_bodies(records, batch, seeded, days=1, first=first)
            done = taking_turns(
                [partial(_timed_post, c, bodies) for c in clients],
                len(bodies),
            )
            figures.append(
                _figure(
                    f"HTTP ingest (`POST /v1/conversations`, real server), {records:,} records"
                    f" of one day in batches of {batch:,}, one client, records/s",
                    "/s",
                    [_rate(mine) for mine in done],
                    detail=done,
                )
            )
        figures += _concurrent_figures(clients, w, seed, quick)
        for c in clients:
            c.close()
    return figures


def _concurrent_figures(
    clients: list[Clients], w: bench_cases.Window, seed: int, quick: bool
) -> list[Figure]:
    """Issue 21's 1-record row and reads under ingest, on each engine's server in turn (both
    at once would measure each against the other's load)."""
    log("  http ingest, 1-record requests from 16 clients")
    per_thread, seconds = (300, 3.0) if quick else (1_500, 10.0)
    ones = [
        concurrent_ingest(c, 16, seconds, seed + 3 + i, per_thread, 25 + i)
        for i, c in enumerate(clients)
    ]
    figures = [
        _figure(
            "HTTP ingest, 1-record requests from 16 concurrent clients, records/s",
            "/s",
            [one["per_s"] for one in ones],
            detail=ones,
        ),
        _figure(
            "the same: p95 latency, ms",
            "ms",
            [one["latency_p95_ms"] for one in ones],
        ),
    ]
    calls = {c.name: c.http for c in bench_cases.cases(w) if c.name in READS_UNDER_INGEST}
    log("  http reads idle and under steady ingest")
    reads = [
        reads_under_ingest(c, calls, 5 if quick else 20, seed + 5 + i, first=27 + i)  # type: ignore[arg-type]
        for i, c in enumerate(clients)
    ]
    for name in calls:
        figures.append(
            _figure(
                f"{name} (as shipped) while one client ingests 100-record batches back to back,"
                " median over idle (x)",
                "x",
                [r["cases"][name]["ratio"] for r in reads],
                detail=[r["cases"][name] for r in reads],
            )
        )
    return figures


def _import_nth(store: Store, files: list[Path], records: int, number: int) -> dict[str, Any]:
    return import_file(store, files[number], records)


def phase_import(stores: list[Store], records: int, seed: int, rounds: int) -> list[Figure]:
    """`rounds` Parquet files of `records` new conversations, each imported into every engine in
    turn; records/s end to end (the import, then `flush` and `maintain`), and of the import
    alone."""
    tmp = DATA_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    files = []
    for number in range(rounds):
        path = tmp / f"engines-import-{number}.parquet"
        pq.write_table(import_records(records, seed + number, (31 + number) * 1_000_000_000), path)
        files.append(path)
    rows = [
        json_records(import_records(records, seed + 10 + n, (41 + n) * 1_000_000_000))
        for n in range(2)
    ]
    ndjson, csv = tmp / "engines-import.ndjson", tmp / "engines-import.csv"
    ndjson.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows[0]))
    write_csv(rows[1], csv)
    try:
        done = taking_turns(
            [partial(_import_nth, s, files, records) for s in stores],
            rounds,
        )
        texts = [
            taking_turns([partial(_import_nth, s, [path], records) for s in stores], 1)
            for path in (ndjson, csv)
        ]
    finally:
        for path in (*files, ndjson, csv):
            path.unlink(missing_ok=True)
    files_each = f"{rounds} file{'s' if rounds > 1 else ''} each"
    return [
        _figure(
            f"`ccstats import` of a Parquet file of {records:,} records of 30 days end to end,"
            f" until every report is exact (the closing `flush` included), {files_each},"
            " records/s",
            "/s",
            [_import_rate(mine, ("seconds", "exact_seconds")) for mine in done],
            detail=done,
        ),
        _figure(
            "the same imports with the rest of their closing `maintain` (DuckDB: compaction"
            " when due), records/s",
            "/s",
            [_import_rate(mine, ("seconds", "exact_seconds", "maintain_seconds")) for mine in done],
        ),
        _figure(
            "the same imports without their closing `flush` and `maintain`, records/s",
            "/s",
            [_import_rate(mine, ("seconds",)) for mine in done],
        ),
        *(
            _figure(
                f"`ccstats import` of {article} {kind} file of {records:,} records of 30 days end to"
                " end, until every report is exact, records/s",
                "/s",
                [_import_rate(mine, ("seconds", "exact_seconds")) for mine in found],
                detail=found,
            )
            for article, kind, found in zip(("an", "a"), ("NDJSON", "CSV"), texts, strict=True)
        ),
    ]


def _import_rate(done: list[dict[str, Any]], parts: tuple[str, ...]) -> float:
    """Records accepted per second of the `parts` of every import."""
    return float(sum(d["accepted"] for d in done) / sum(d[part] for d in done for part in parts))


# --- one size -------------------------------------------------------------------------------------


def _open(works: list[str]) -> list[Store]:
    """Both work copies, settled and maintained, untimed: what a store cached before builds
    settled it, or the HTTP ingest before the imports, left to do (as `bench.run` does)."""
    stores: list[Store] = [DuckDBStore(works[0]), ClickHouseStore(works[1])]
    for store in stores:
        settle(store)
        store.maintain()
    return stores


def run_pair(size: int, seed: int, runs: int, quick: bool) -> dict[str, Any]:
    """Every figure of one size on both engines."""
    log(f"size {size:,}: DuckDB store")
    duck = ensure_store(size, seed, LAYOUT, log=log)
    log(f"size {size:,}: chDB store")
    house = ensure_chdb_store(size, seed, log=log)
    result: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "builds": [
            {
                "cached": b.cached,
                "seconds": b.seconds,
                "upsert_seconds": b.upsert_seconds,
                "compact_seconds": b.compact_seconds,
            }
            for b in (duck, house)
        ],
        "loadavg": {},
    }
    works = [DATA_DIR / f"engines-work-{size}.duckdb", DATA_DIR / f"engines-work-{size}-chdb"]
    for build, work in zip((duck, house), works, strict=True):
        copy_store(build.path, work)
    urls = [str(works[0]), chdb_url(works[1])]
    rounds = 2 if quick else 3
    try:
        log(f"size {size:,}: in process")
        result["loadavg"]["in process"] = os.getloadavg()
        stores = _open(urls)
        house_store = stores[1]
        assert isinstance(house_store, ClickHouseStore)
        figures = _size_figures([duck, house], house_store, size)
        found, secrets, window = phase_reports(stores, max(3, runs), rounds)
        figures = found + figures
        for store in stores:  # chDB: one process holds a directory; the server takes it next
            store.close()
        log(f"size {size:,}: HTTP ingest")
        result["loadavg"]["HTTP"] = os.getloadavg()
        figures += phase_http(urls, secrets, window, seed, quick)
        log(f"size {size:,}: import")
        result["loadavg"]["import"] = os.getloadavg()
        stores = _open(urls)
        figures += phase_import(stores, 10_000 if quick else 100_000, seed + 30, rounds - 1)
        for store in stores:
            store.close()
    finally:
        for work in works:
            remove_store(work)
    result["figures"] = figures
    (DATA_DIR / f"engines-{size}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


# --- the section ----------------------------------------------------------------------------------


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "failed"
    if unit == "ms":  # three figures; a kept answer takes microseconds
        if value < 1:
            return f"{value:.3f}"
        return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    if unit == "x":  # a ratio of the engine's own figures
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}"


def _ratio(values: list[float | None]) -> str:
    first, second = values
    return "–" if not first or second is None else f"{second / first:.2f}x"


def _built(build: dict[str, Any]) -> str:
    if build["cached"]:
        return "cached"
    compacted = build.get("compact_seconds")
    return f"built in {build['seconds']:.0f} s" + (
        f" (then compacted in {compacted:.0f} s)" if compacted else ""
    )


def render(info: dict[str, Any], results: list[dict[str, Any]], runs: int) -> str:
    """The section: how it was measured, then a table per size (a row per figure)."""
    lines = [
        SIDE_BY_SIDE,
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores (shared with other engineers' test"
        f" runs), {info['ram_gb']} GB RAM; Python {info['python']}, DuckDB {info['duckdb']},"
        f" chDB {info['chdb']} (ClickHouse in process), pyarrow {info['pyarrow']}. Run:"
        f" `python -m bench.engines --sizes {','.join(str(r['size']) for r in results)}"
        f" --runs {runs}`.",
        "",
        "How to read: both engines hold the same generated conversations, tenants and agent"
        " intervals (`bench.generate`, seed as below): DuckDB the file `bench.run` measures"
        " (compacted), ClickHouse a chDB directory loaded by the same `upsert_conversations`"
        " batches. Within each figure the engines take turns (DuckDB, ClickHouse, DuckDB, ...)."
        " Reports and pages are in process through the service: *computed* answers every call"
        " (the compute path: `Service.compute_query`, `Store.search`), *kept* is the service as"
        " shipped asked the same again (its kept answers); the median of the warm runs, in ms;"
        " both engines' answers are compared, and are the same unless a note under the table"
        " says otherwise."
        " HTTP ingest runs both servers (`bench.server`, the real app on uvicorn, each in its own"
        " process) at once, each batch sent to one and then to the other. The last column is"
        " ClickHouse's figure over DuckDB's: for times above 1 means ClickHouse is slower, for"
        " rates (/s) below 1 means it is slower.",
        "",
    ]
    for result in results:
        load = "; ".join(
            f"{phase} {' / '.join(f'{v:.1f}' for v in values)}"
            for phase, values in result["loadavg"].items()
        )
        built = ", ".join(
            f"{name} {_built(b)}" for name, b in zip(ENGINES, result["builds"], strict=True)
        )
        lines += [
            f"### {result['size']:,} conversations",
            "",
            f"Measured {result['measured_at']}, seed {result['seed']}; stores: {built}. Load"
            f" average (1 / 5 / 15 min) before each phase: {load}.",
            "",
            f"| figure | {ENGINES[0]} | {ENGINES[1]} | ClickHouse / DuckDB |",
            "|---|---:|---:|---:|",
        ]
        notes = []
        for row in result["figures"]:
            cells = [_cell(v, row["unit"]) for v in row["values"]]
            lines.append(f"| {row['figure']} | {cells[0]} | {cells[1]} | {_ratio(row['values'])} |")
            if "why" in row:
                notes.append(f"- {row['figure']}: {row['why']}")
        lines += ["", *notes, *([""] if notes else [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Measure every size on both engines; write the section into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=20, help="warm runs per in-process figure")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="smaller ingest and import")
    parser.add_argument("--out", default=str(Path(__file__).parent / "RESULTS.md"))
    args = parser.parse_args(argv)
    info = {**machine(), "chdb": version("chdb")}
    out = Path(args.out)
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        results.append(run_pair(size, args.seed, args.runs, args.quick))
        text = out.read_text() if out.exists() else ""
        out.write_text(splice_section(text, SIDE_BY_SIDE, render(info, results, args.runs)))
    log(f"done; the side-by-side section is in {out}")


if __name__ == "__main__":
    main()
