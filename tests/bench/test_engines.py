"""The side-by-side bench's own logic: who runs when, and the section it writes."""

from __future__ import annotations

from collections.abc import Callable

from bench.engines import render, taking_turns
from bench.report import SIDE_BY_SIDE, splice_section

INFO = {
    "cpu": "Test CPU",
    "cores": 2,
    "ram_gb": 4.0,
    "python": "3.11.0",
    "duckdb": "1.0.0",
    "chdb": "4.0.0",
    "pyarrow": "20.0.0",
}


def _result(figures: list[dict[str, object]]) -> dict[str, object]:
    return {
        "size": 1_000_000,
        "seed": 42,
        "measured_at": "2026-12-04 18:00 UTC",
        "builds": [
            {"cached": False, "seconds": 24.2, "compact_seconds": 40.6},
            {"cached": False, "seconds": 95.4, "compact_seconds": None},
        ],
        "loadavg": {"in process": [1.3, 1.5, 2.0]},
        "figures": figures,
    }


def test_the_engines_take_turns_in_every_round() -> None:
    calls: list[str] = []

    def engine(name: str) -> Callable[[int], str]:
        def call(number: int) -> str:
            calls.append(f"{name}{number}")
            return f"{name}{number}"

        return call

    done = taking_turns([engine("A"), engine("B")], 3)

    assert calls == ["A0", "B0", "A1", "B1", "A2", "B2"]
    assert done == [["A0", "A1", "A2"], ["B0", "B1", "B2"]]


def test_a_row_per_figure_with_the_ratio_of_clickhouse_to_duckdb() -> None:
    figures: list[dict[str, object]] = [
        {"figure": "report: computed", "unit": "ms", "values": [4.0, 10.0]},
        {"figure": "report: kept (a repeat)", "unit": "ms", "values": [0.0125, 0.025]},
        {"figure": "export", "unit": "ms", "values": [1500.0, 1200.0]},
        {"figure": "ingest", "unit": "/s", "values": [20000.0, 5000.0]},
        {"figure": "bytes", "unit": "B", "values": [250.0, 375.0]},
        {"figure": "broken", "unit": "ms", "values": [None, None], "why": "ValueError: no"},
    ]

    text = render(INFO, [_result(figures)], runs=10)

    assert text.startswith(SIDE_BY_SIDE + "\n")
    assert "### 1,000,000 conversations" in text
    assert "| figure | DuckDB | ClickHouse (chDB) | ClickHouse / DuckDB |" in text
    assert "| report: computed | 4.00 | 10.0 | 2.50x |" in text  # 10 / 4
    assert "| report: kept (a repeat) | 0.013 | 0.025 | 2.00x |" in text
    assert "| export | 1,500 | 1,200 | 0.80x |" in text  # 1 200 / 1 500
    assert "| ingest | 20,000 /s | 5,000 /s | 0.25x |" in text  # 5 000 / 20 000
    assert "| bytes | 250 B | 375 B | 1.50x |" in text
    assert "| broken | failed | failed | – |" in text
    assert "- broken: ValueError: no" in text
    assert "DuckDB built in 24 s (then compacted in 41 s), ClickHouse (chDB) built in 95 s." in text
    assert "in process 1.3 / 1.5 / 2.0" in text
    assert "Test CPU, 2 cores" in text and "chDB 4.0.0" in text


def test_the_section_replaces_its_old_self_and_leaves_the_rest() -> None:
    old = f"# Title\n\n## 1M\n\ntable\n\n{SIDE_BY_SIDE}\n\nold figures\n\n## Scaling: x\n\nrest\n"

    new = splice_section(old, SIDE_BY_SIDE, f"{SIDE_BY_SIDE}\n\nnew figures\n")

    assert (
        new
        == f"# Title\n\n## 1M\n\ntable\n\n{SIDE_BY_SIDE}\n\nnew figures\n\n## Scaling: x\n\nrest\n"
    )


def test_a_new_section_goes_before_the_scaling_section_or_at_the_end() -> None:
    section = f"{SIDE_BY_SIDE}\n\nfigures\n"

    before = splice_section("# T\n\n## 1M\n\na\n\n## Scaling: x\n\nb\n", SIDE_BY_SIDE, section)
    after = splice_section("# T\n\n## 1M\n\na\n", SIDE_BY_SIDE, section)

    assert before == f"# T\n\n## 1M\n\na\n\n{SIDE_BY_SIDE}\n\nfigures\n\n## Scaling: x\n\nb\n"
    assert after == f"# T\n\n## 1M\n\na\n\n{SIDE_BY_SIDE}\n\nfigures\n\n"
