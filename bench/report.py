"""bench/RESULTS.md from the measured figures: one table per size, targets beside the figures.

The hand-written analysis (profiles, where the time goes, what would close each gap) lives in
bench/NOTES.md and is appended as is, so a rerun refreshes the numbers without losing it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["SIDE_BY_SIDE", "main", "splice_section", "write_results"]

NOTES = Path(__file__).parent / "NOTES.md"
SIDE_BY_SIDE = "## DuckDB and ClickHouse side by side"
"""The heading of the section `bench.engines` writes; a rewrite of the rest keeps it."""
_BEFORE = "## Scaling"
"""Where a side-by-side section goes when the file has none yet (else at the end)."""


def _section(text: str, heading: str) -> tuple[int, int] | None:
    """(start, end) of the level-2 section `heading` in `text`: up to the next level-2 heading."""
    start = text.find(heading + "\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + len(heading))
    return start, len(text) if end < 0 else end + 1


def splice_section(text: str, heading: str, section: str) -> str:
    """`text` with its section `heading` replaced by `section` (which starts with the heading),
    or `section` put before the scaling section (else at the end) when there is none."""
    section = section.rstrip("\n") + "\n\n"
    found = _section(text, heading)
    if found is not None:
        return text[: found[0]] + section + text[found[1] :]
    at = text.find("\n" + _BEFORE)
    if at < 0:
        return text.rstrip("\n") + "\n\n" + section
    return text[: at + 1] + section + text[at + 1 :]


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if not a or not b else f"{a / b:.1f}x"


def _maintained(done: dict[str, Any]) -> str:
    """An import's closing upkeep: what made every report exact again, then the rest."""
    exact = done.get("exact_seconds")
    if exact is None:  # a result of an earlier run: one figure for the whole upkeep
        return f"settling and `maintain()`: {done['maintain_seconds']:.1f} s"
    then = (
        f"; then `maintain()` compacted the months written into (read speed, not exactness)"
        f" in {done['maintain_seconds']:.1f} s: {done['with_upkeep_per_s']:,.0f} /s with it"
        if done.get("compacted")
        else ""
    )
    return (
        f"until every report is exact: then settling next contacts and rebuilding stale rollups"
        f" {exact:.1f} s{then}"
    )


def _verdict(value: float | None, target: float | None, higher_is_better: bool = False) -> str:
    if value is None or target is None:
        return ""
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**not met**"


def _warm(h: dict[str, Any] | None) -> str:
    if not h or not h.get("available"):
        return "n/a"
    return f"{_ms(h['median_ms'])} ({_ms(h['min_ms'])}–{_ms(h['p95_ms'])})"


def _case_rows(result: dict[str, Any]) -> list[str]:
    lines = [
        "| report | HTTP cold | HTTP warm, as shipped (min–p95) | HTTP warm, answer cache off (min–p95) | in-process computed | in-process, kept (a repeat) | our SQL alone | hand-written SQL | HTTP uncached / hand SQL | target (10M, HTTP warm) | as shipped | cache off |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    http = result.get("http", {})
    uncached = result.get("http_uncached", {})
    failed = []
    for name, case in result.get("cases", {}).items():
        if "error" in case:
            failed.append(f"- {name}: failed in process ({case['error']})")
            continue
        h, u = http.get(name, {}), uncached.get(name)
        inproc = case["inproc"]["median_ms"]
        raw = case["raw"]["median_ms"]
        cached = case.get("inproc_cached")
        target = case.get("target_ms")
        shipped = _verdict(h.get("median_ms"), target) if h.get("available") else ""
        if u is None and h.get("available"):
            u = h  # no answer cache on this path: as shipped is uncached
        off = _verdict(u.get("median_ms"), target) if u and u.get("available") else ""
        if not h.get("available") and target:
            shipped = f"n/a (in-process {_verdict(inproc, target)})"
        lines.append(
            f"| {case['title']} | {_ms(h['cold_ms']) if h.get('available') else 'n/a'} | {_warm(h)}"
            f" | {_warm(u)} | {_ms(inproc)} | {_ms(cached['median_ms']) if cached else '–'}"
            f" | {_ms(case['ours_sql']['median_ms'])} | {_ms(raw)}"
            f" | {_ratio(u.get('median_ms') if u else None, raw)}"
            f" | {'≤ ' + _ms(target) + ' ms' if target else ''} | {shipped} | {off} |"
        )
    unavailable = [
        f"- {name}: not available over HTTP ({h['why']})"
        for name, h in http.items()
        if not h.get("available")
    ]
    notes = failed + unavailable
    return lines + ([""] + notes if notes else [])


def _other_rows(result: dict[str, Any]) -> list[str]:
    rows = ["| measure | figure | target | |", "|---|---:|---:|---|"]
    storage = result["storage"]
    per = storage["bytes_per_conversation"]
    rows.append(
        f"| store size per conversation (file / rows, no transcripts) | {per:.0f} B"
        f" (conversations table {storage['conversation_table_bytes_per_conversation']:.0f} B) | ≤ 40 B | {_verdict(per, 40)} |"
    )
    rows.append(
        f"| used blocks per conversation (the file less its free blocks) | {storage['used_bytes_per_conversation']:.0f} B | | |"
    )
    if "raw_sorted_bytes_per_conversation" in storage:
        ratio = storage["ratio_to_raw_sorted"]
        rows.append(
            f"| store size per conversation against a raw DuckDB table of the same columns sorted by"
            f" (tenant, time), alone in a fresh file: {storage['raw_sorted_bytes_per_conversation']:.0f} B"
            f" | {ratio:.2f}x | ≤ 1.2x | {_verdict(ratio, 1.2)} |"
        )
    build = result["build"]
    compacted = result.get("compaction")
    if compacted:
        raw = result["storage"].get("raw_sorted_seconds")
        floor = (
            f"; the raw engine's own sorted copy of the same rows into a fresh file:"
            f" {raw:.1f} s ({compacted['seconds'] / raw:.1f}x)"
            if raw
            else ""
        )
        rows.append(
            "| compaction of the whole store (`compact()`, every month rewritten, a month per"
            " transaction) while two clients each send one record every 0.1 s: the longest"
            f" wait of a request answered once stored {compacted['stored_max_s']:.2f} s"
            f" ({compacted['stored_requests']} requests), of one answered from the journal"
            f" {compacted['journal_max_s']:.2f} s ({compacted['journal_requests']} requests)"
            f"{floor} | {compacted['seconds']:.1f} s | ≤ 30 s, never blocking ingest > 1 s |"
            f" {_verdict(compacted['seconds'], 30)}; waits: stored"
            f" {_verdict(compacted['stored_max_s'], 1)}, journal"
            f" {_verdict(compacted['journal_max_s'], 1)} |"
        )
    if build.get("compact_seconds"):
        rows.append(
            f"| compaction of the whole store (`compact()`, a month per transaction) | {build['compact_seconds']:.1f} s | | |"
        )
    if build.get("upsert_per_s"):
        rows.append(
            f"| store build: `upsert_conversations` of generated Arrow batches (≤ 1M rows) | {build['upsert_per_s']:,.0f} /s | | |"
        )
    imp = result.get("import", {})
    for name in ("parquet", "ndjson"):
        if name in imp:
            figure = imp[name]["per_s"]
            target: float | None = 1_000_000 if name == "parquet" else None
            rows.append(
                f"| bulk import {name} ({imp[name]['records']:,} records, `read_records` + `ingest_conversations`) | {figure:,.0f} /s"
                f" | {'≥ 1,000,000 /s' if target else ''} | {_verdict(figure, target, True)} |"
            )
    raw_parquet = imp.get("raw_engine", {}).get("parquet", {}).get("per_s")
    for name in ("parquet", "ndjson", "csv"):
        if name in imp and "end_to_end_per_s" in imp[name]:
            done = imp[name]
            share = done["end_to_end_per_s"] / raw_parquet if raw_parquet else None
            share_target = 0.5 if name == "parquet" else 0.3
            rows.append(
                f"| `ccstats import` of that {name.upper()} file ({done['records']:,} records) end to end"
                f" ({_maintained(done)}) | {done['end_to_end_per_s']:,.0f} /s"
                f" ({'–' if share is None else f'{share:.2f}x'} the raw engine's append from Parquet)"
                f" | ≥ {share_target}x | {_verdict(share, share_target, True)} |"
            )
    if "parquet_large" in imp:
        large = imp["parquet_large"]
        rows.append(
            f"| bulk import parquet ({large['records']:,} records) | {large['per_s']:,.0f} /s"
            f" | ≥ 1,000,000 /s | {_verdict(large['per_s'], 1_000_000, True)} |"
        )
        raw_large = imp.get("raw_engine_large", {}).get("parquet")
        share = large["end_to_end_per_s"] / raw_large["per_s"] if raw_large else None
        rows.append(
            f"| `ccstats import` of that file end to end ({_maintained(large)})"
            f" | {large['end_to_end_per_s']:,.0f} /s"
            f" ({'–' if share is None else f'{share:.2f}x'} the raw engine's) | ≥ 0.5x"
            f" | {_verdict(share, 0.5, True)} |"
        )
        if raw_large:
            rows.append(
                f"| raw engine: {raw_large['records']:,} rows appended from Parquet to an empty table"
                f" in a fresh DuckDB file | {raw_large['per_s']:,.0f} /s (our import"
                f" {large['per_s'] / raw_large['per_s']:.2f}x of it) | | |"
            )
    raw = imp.get("raw_engine", {})
    for name in ("arrow", "parquet"):
        if name in raw and "parquet" in imp:
            rows.append(
                f"| raw engine: the same number of stored rows (all columns) appended from {name.title()} to an"
                f" empty table in a fresh DuckDB file, committed | {raw[name]['per_s']:,.0f} /s"
                f" (our Parquet import {imp['parquet']['per_s'] / raw[name]['per_s']:.2f}x of it) | | |"
            )
    if "arrow_upsert" in imp:
        rows.append(
            f"| same records as one Arrow batch, `upsert_conversations` alone (engine ceiling) | {imp['arrow_upsert']['per_s']:,.0f} /s | | |"
        )
    rows += _ingest_rows(result)
    if result.get("journal"):
        rows += _ingest_rows(result["journal"], " with `serve --journal`")
        floor = result["journal"].get("floor")
        if floor:
            rows.append(
                f"| the HTTP floor: `GET /healthz` (no body, no token, no store) from"
                f" {floor['threads']} keep-alive clients on the same machine: the most requests"
                f" a second any 1-record ingest could be answered at here | {floor['per_s']:,.0f} /s"
                " | | |"
            )
    for key, label in (("load", "as shipped"), ("load_uncached", "answer cache off")):
        load = result.get(key)
        if load:
            rows.append(
                f"| {load['case']} under {load['threads']} concurrent clients, {label} ({load['failures']} failures; latency median {_ms(load['latency_median_ms'])} ms, p95 {_ms(load['latency_p95_ms'])} ms) | {load['rps']:,.0f} req/s"
                f" | ≥ 1000 req/s | {_verdict(load['rps'], 1000, True)} |"
            )
    for kind, e in result.get("exports_inproc", {}).items():
        memory = f"RSS +{e['rss_peak_growth_mb']:.0f} MiB"
        if "tracemalloc_peak_mb" in e:
            memory += f", Python peak {e['tracemalloc_peak_mb']:.1f} MiB"
        target = 0.5 if kind == "csv" else None
        rows.append(
            f"| in-process {kind.upper()} export (the native API's file renderer), {e['rows']:,} rows × {len_columns()} columns ({e['bytes'] / 2**20:.1f} MiB; {memory}) | {e['seconds']:.2f} s"
            f" | {'≤ 0.5 s, flat memory' if target else ''} | {_verdict(e['seconds'], target) if e['rows'] >= 49_000 else '(fewer than 50 000 rows)' if target else ''} |"
        )
    for kind, e in result.get("exports_http", {}).items():
        if e.get("status") == 200:
            rows.append(
                f"| HTTP Twin24 `output={kind}` ({e['bytes'] / 2**20:.1f} MiB; server RSS +{e['server_rss_peak_growth_mb']:.0f} MiB) | {e['seconds']:.2f} s"
                f" | {'≤ 0.5 s' if kind == 'CSV' else ''} | {_verdict(e['seconds'], 0.5) if kind == 'CSV' else ''} |"
            )
        else:
            rows.append(
                f"| HTTP Twin24 `output={kind}` | not available ({e.get('why') or 'HTTP ' + str(e.get('status'))}) | | |"
            )
    return rows


def _raw_share(ingest: dict[str, Any]) -> tuple[float | None, str]:
    """Our ingest rate as a share of the raw engine's append of the same rows (`bench.run.raw_append`)."""
    raw = ingest.get("raw")
    if not raw:
        return None, ""
    share = ingest["per_s"] / raw["per_s"]
    return share, (
        f"; the raw engine appends the same rows in the same batches, a transaction each,"
        f" at {raw['per_s']:,.0f} /s: {share:.2f}x"
    )


def _stored(ingest: dict[str, Any]) -> str:
    """With the journal: the rate until every acknowledged batch was stored."""
    if "stored_s" not in ingest:
        return ""
    until = ingest["accepted"] / (ingest["seconds"] + ingest["stored_s"])
    return (
        f"; stored {ingest['stored_s']:.2f} s after the last answer: {until:,.0f} /s until stored"
    )


def _ingest_rows(result: dict[str, Any], how: str = "") -> list[str]:
    """HTTP ingest (issue 21's targets), each with the raw engine's append beside it, and reads
    under steady ingest; `how` names the server's setting."""
    rows = []
    one = result.get("http_ingest_concurrent")
    if one:
        share, raw = _raw_share(one)
        met = one["per_s"] >= 2_000 and (one["latency_p95_ms"] or 1e9) <= 50
        rows.append(
            f"| HTTP ingest{how}, 1-record requests from {one['threads']} concurrent clients"
            f" ({one['accepted']:,} accepted, {one['failures']} failures; latency median"
            f" {_ms(one['latency_median_ms'])} ms, p95 {_ms(one['latency_p95_ms'])} ms{raw}"
            f"{_stored(one)})"
            f" | {one['per_s']:,.0f} /s | ≥ 2,000 /s, p95 ≤ 50 ms | {'met' if met else '**not met**'} |"
        )
    for key in ("http_ingest_small", "http_ingest_day", "http_ingest"):
        ingest = result.get(key)
        if not ingest:
            continue
        days = ingest.get("days", 30)
        share, raw = _raw_share(ingest)
        if ingest["batch"] <= 100:
            target, verdict = "≥ 20,000 /s", _verdict(ingest["per_s"], 20_000, True)
        else:
            target, verdict = "≥ 0.5x the raw engine", _verdict(share, 0.5, True)
        rows.append(
            f"| HTTP ingest{how} `POST /v1/conversations`, batches of {ingest['batch']:,} calls of"
            f" {days} day{'s' if days > 1 else ''}, one client ({ingest['accepted']:,}"
            f" accepted{raw}{_stored(ingest)})"
            f" | {ingest['per_s']:,.0f} /s | {target} | {verdict} |"
        )
    for key, label in (("reads_under_ingest", "kept"), ("reads_under_ingest_uncached", "computed")):
        reads = result.get(key)
        if not reads:
            continue
        rate = reads["ingest"].get("per_s", 0)
        for name, case in reads["cases"].items():
            rows.append(
                f"| {name} {label} ({'as shipped' if label == 'kept' else 'answer cache off'}{how})"
                " while one"
                f" client ingests 100-record batches back to back ({rate:,.0f} records/s): median"
                f" {_ms(case['ingest_median_ms'])} ms (p95 {_ms(case['ingest_p95_ms'])}) against"
                f" {_ms(case['idle_median_ms'])} ms (p95 {_ms(case['idle_p95_ms'])}) idle"
                f" | {case['ratio']:.2f}x | ≤ 1.5x | {_verdict(case['ratio'], 1.5)} |"
            )
    return rows


def len_columns() -> int:
    """Columns of an export (every conversation column)."""
    from ccstats.schema import CONVERSATION_COLUMNS

    return len(CONVERSATION_COLUMNS)


def _scaling(results: list[dict[str, Any]]) -> list[str]:
    by_size = {r["size"]: r for r in results}
    small, large = min(by_size), max(by_size)
    if small == large:
        return []
    lines = [
        f"## Scaling: {large:,} vs {small:,} conversations (target: within 1.5x)",
        "",
        "| report | HTTP warm, small (cache off) | HTTP warm, large (cache off) | ratio | in-process computed ratio | hand SQL ratio | |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, case in by_size[large].get("cases", {}).items():
        small_case = by_size[small]["cases"].get(name, {"error": "missing"})
        if "error" in case or "error" in small_case:
            continue
        key = "http_uncached" if name in by_size[large].get("http_uncached", {}) else "http"
        hs = by_size[small].get(key, {}).get(name, {})
        hl = by_size[large].get(key, {}).get(name, {})
        http_ratio = (
            hl["median_ms"] / hs["median_ms"]
            if hs.get("available") and hl.get("available")
            else None
        )
        in_ratio = case["inproc"]["median_ms"] / small_case["inproc"]["median_ms"]
        raw_ratio = case["raw"]["median_ms"] / small_case["raw"]["median_ms"]
        basis = http_ratio if http_ratio is not None else in_ratio
        lines.append(
            f"| {case['title']} | {_ms(hs.get('median_ms'))} | {_ms(hl.get('median_ms'))}"
            f" | {'–' if http_ratio is None else f'{http_ratio:.2f}x'} | {in_ratio:.2f}x | {raw_ratio:.2f}x"
            f" | {_verdict(basis, 1.5)} |"
        )
    return lines + [""]


def _load(values: Any) -> str:
    return "–" if not values else " / ".join(f"{v:.1f}" for v in values)


def _built(build: dict[str, Any]) -> str:
    return "cached" if build["cached"] else f"built in {build['seconds']:.0f} s"


def write_results(
    path: Path, info: dict[str, Any], results: list[dict[str, Any]], quick: bool, runs: int
) -> None:
    """Write RESULTS.md for the sizes measured so far."""
    lines = [
        "# ccstats benchmarks (issues 8 and 21)",
        "",
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM;"
        f" Python {info['python']}, DuckDB {info['duckdb']}, pyarrow {info['pyarrow']} ({info['os']}).",
        f"Run: `python -m bench.run --sizes {','.join(str(r['size']) for r in results)}"
        f"{' --quick' if quick else ''}` ({runs} warm runs per figure; layout `{results[0]['layout']}`).",
        "",
        "How to read: *HTTP* is the vendor's own request against `bench.server` (the real app on"
        " uvicorn, in its own process, keep-alive connection); *cold* is its first call after the"
        " server started (DuckDB buffers empty, OS page cache warm); *warm* the median (p95) of the"
        " warm runs. *In-process* is the same report through the query layer (`run_query` /"
        " `store.search`) without HTTP or formatting; *our SQL alone* the SQL our store generates,"
        " run directly; *hand-written SQL* a plain GROUP BY / ORDER BY with the same filters on a"
        " DuckDB connection to the same file (fetchall into Python). All times in ms.",
        "",
    ]
    for result in results:
        storage = result["storage"]
        lines += [
            f"## {result['size']:,} conversations",
            "",
            f"Store: {storage['conversations']:,} conversations, {storage['agent_intervals']:,} agent"
            f" intervals, {storage['file_bytes'] / 2**20:.0f} MiB"
            f" ({_built(result['build'])}). Load average of the machine (other engineers' test runs"
            f" share its 2 cores): {_load(result.get('loadavg_inproc'))} before the in-process phase,"
            f" {_load(result.get('loadavg_http'))} before the HTTP phase.",
            "",
            *_case_rows(result),
            "",
            *_other_rows(result),
            "",
        ]
    lines += _scaling(results)
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    text = "\n".join(lines)
    kept = _section(path.read_text(), SIDE_BY_SIDE) if path.exists() else None
    if kept is not None:  # the engines' figures (`bench.engines`), measured apart
        text = splice_section(text, SIDE_BY_SIDE, path.read_text()[kept[0] : kept[1]])
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    """Rewrite RESULTS.md from saved results (`python -m bench.report --sizes ... --date ...`)."""
    from bench.generate import DATA_DIR
    from bench.run import machine

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--date", default=None, help="when the figures were measured")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "RESULTS.md"))
    args = parser.parse_args(argv)
    results = [
        json.loads((DATA_DIR / f"results-{size}.json").read_text())
        for size in args.sizes.split(",")
    ]
    info = machine()
    info["date"] = args.date or results[0].get("measured_at") or info["date"]
    write_results(Path(args.out), info, results, quick=args.quick, runs=args.runs)


if __name__ == "__main__":
    main()
