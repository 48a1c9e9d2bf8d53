"""Detail pages and file exports only (`python -m bench.pages --size 1000000 [--compact]`).

A focused companion of `bench.run` for issue 8 part S: on a copy of the cached synthetic store
(optionally compacted, i.e. sorted by tenant and time as the server keeps it), it times in process
`Store.search` for the bench's page cases, then over HTTP (`bench.server`) the Twin24, native and
Alibaba pages (warm medians) and the 50 000-row Twin24 CSV/EXCEL and native CSV exports (time,
size, server RSS growth).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench import cases as bench_cases
from bench.clients import Clients
from bench.generate import DATA_DIR, ensure_store
from bench.run import _http_export, credentials, export_start
from bench.server import ServerProcess
from ccstats.storage import DuckDBStore

__all__ = ["main"]


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Run the page and export measurements for one store size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--compact", action="store_true")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--db", type=Path, help="a store file to copy instead of the cached one")
    args = parser.parse_args(argv)
    source = args.db or ensure_store(args.size, 42, "arrival").path
    work = DATA_DIR / f"pages-work-{args.size}.duckdb"
    for stale in (work, Path(str(work) + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, work)
    try:
        store = DuckDBStore(str(work))
        if args.compact:
            started = time.perf_counter()
            store.compact()
            print(f"compacted in {time.perf_counter() - started:.1f} s")
        secrets = credentials(store)
        con = duckdb.connect(str(work))
        w = bench_cases.window()
        w = bench_cases.window(export_start(con, w.export_end))
        con.close()
        cases = {c.name: c for c in bench_cases.cases(w)}
        for name in ("twin24_page", "aliyun_page", "native_page"):
            ms = _median_ms(lambda c=cases[name]: c.inproc(store), args.runs)  # type: ignore[misc]
            print(f"in-process {name}: {ms:.1f} ms")
        store.close()
        if args.no_http:
            return
        with ServerProcess(work) as server:
            clients = Clients(server.url, secrets)
            for name in ("twin24_page", "aliyun_page", "native_page"):
                case = cases[name]
                response = case.http(clients)  # type: ignore[misc]
                assert response.status_code == 200, response.text[:300]
                ms = _median_ms(lambda c=case: c.http(clients), args.runs)  # type: ignore[misc]
                print(f"http {name}: {ms:.1f} ms ({len(response.content)} bytes)")
            for output in ("CSV", "EXCEL"):
                result = _http_export(server, clients, w, output)
                print(
                    f"http twin24 export {output}: {result['seconds']:.3f} s,"
                    f" {result['bytes']:,} bytes, status {result['status']},"
                    f" server RSS +{result['server_rss_peak_growth_mb']:.1f} MiB"
                )
            clients.close()
    finally:
        for stale in (work, Path(str(work) + ".wal")):
            stale.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
