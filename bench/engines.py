"""DuckDB and ClickHouse side by side on the same demo data: load, reports, pages, exports, size.

Both stores live in this process (DuckDB in a file, ClickHouse in chDB on a directory); each
figure is timed on both, alternating, without the service's kept answers (`Store.aggregate` and
`Store.search` directly). It is a small comparison for docs/clickhouse.md, not the full bench
(`bench.run`, DuckDB only): no HTTP, no server, one machine.

    python -m bench.engines --conversations 100000 --runs 7 > bench/ENGINES.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.timing import measure
from ccstats.demo import create_demo
from ccstats.demo.tenants import demo_tenants
from ccstats.metrics import CATALOG
from ccstats.metrics.query import MetricQuery, compile_query
from ccstats.storage import DuckDBStore, SearchRequest, Store
from ccstats.storage.clickhouse import ClickHouseStore

TODAY = date(2026, 11, 21)


def _size(path: Path) -> int:
    return path.stat().st_size


def _cases(store: Store) -> dict[str, Callable[[], Any]]:
    """What is timed, per store: the busiest tenant's reports over the demo's two months."""
    tenant = demo_tenants()[0]
    end = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    start = end - timedelta(days=60)
    every = tuple(sorted(CATALOG))

    def report(metrics: tuple[str, ...], granularity: str, **extra: Any) -> Callable[[], Any]:
        request, _ = compile_query(
            MetricQuery(tenant.id, metrics, start, end, tenant.timezone, granularity, **extra)
        )
        return lambda: store.aggregate(request)

    def page(**extra: Any) -> Callable[[], Any]:
        return lambda: store.search(SearchRequest(tenant.id, start, end, **extra))

    whole = SearchRequest(tenant.id, start, end, limit=None, columns=("id", "duration_s"))
    return {
        "every metric, total (60 days)": report(every, "total"),
        "every metric by day (60 days)": report(every, "day"),
        "4 metrics by hour (60 days)": report(
            ("conversations", "lost", "duration_total", "fcr_24h"), "hour"
        ),
        "every metric by day per agent (60 days)": report(every, "day", group_by=("agent_id",)),
        "page of 1000, newest first": page(limit=1000),
        "page of 100 after 2000 rows (offset)": page(limit=100, offset=2000),
        "count of the range": lambda: store.search(
            SearchRequest(tenant.id, start, end, limit=0), count=True
        ),
        "export of 2 columns (every row)": lambda: sum(
            b.num_rows for b in store.iter_search(whole)
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Load the demo into both engines and print a markdown table of the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ccstats-engines-"))
    try:
        duck_path, house_path = work / "demo.duckdb", work / "ch"
        stores: dict[str, Store] = {
            "DuckDB": DuckDBStore(str(duck_path)),
            "ClickHouse (chDB)": ClickHouseStore(f"chdb://{house_path}"),
        }
        lines = [
            "# DuckDB and ClickHouse side by side",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.processor() or 'cpu'},"
            f" {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; chDB in process."
            f" Run: `python -m bench.engines --conversations {args.conversations}"
            f" --runs {args.runs}`. Median of {args.runs} warm runs (ms), the first run apart.",
            "",
        ]
        loads = {}
        for name, store in stores.items():
            started = time.perf_counter()
            create_demo(store, args.conversations, today=TODAY)
            store.maintain()
            loads[name] = time.perf_counter() - started
        names = list(stores)
        cases = {name: _cases(store) for name, store in stores.items()}
        lines += [
            f"| figure | {' | '.join(names)} | ClickHouse / DuckDB (time) |",
            "|---|---:|---:|---:|",
        ]
        rate = [args.conversations / loads[n] for n in names]
        lines.append(
            f"| demo load, conversations/s (validation, upserts, flush) | {rate[0]:,.0f}"
            f" | {rate[1]:,.0f} | {rate[0] / rate[1]:.1f}x the time |"
        )
        for case in cases[names[0]]:
            timings = [measure(cases[n][case], args.runs) for n in names]
            first, second = (t.median_ms for t in timings)
            lines.append(
                f"| {case} | {first:.1f} (first {timings[0].cold_ms:.0f})"
                f" | {second:.1f} (first {timings[1].cold_ms:.0f}) | {second / first:.1f}x |"
            )
        house = stores["ClickHouse (chDB)"]
        assert isinstance(house, ClickHouseStore)
        # The database's parts only (chDB's directory also holds its own logs).
        found = house._db.query(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = {d:String}",
            {"d": house.target.database},
        )
        for store in stores.values():
            store.close()
        sizes = [_size(duck_path), int(found[0][0] or 0)]
        per = [s / args.conversations for s in sizes]
        lines.append(
            f"| bytes on disk per conversation (every table, transcripts too) | {per[0]:,.0f} | {per[1]:,.0f}"
            f" | {per[1] / per[0]:.1f}x |"
        )
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
