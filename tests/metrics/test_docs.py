"""docs/metrics.md is the catalogue as `ccstats docs metrics` writes it: current, and complete."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ccstats.cli import app
from ccstats.metrics import CATALOG
from ccstats.metrics.docs import catalogue_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_docs_metrics_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/metrics.md is stale: run `ccstats docs metrics > docs/metrics.md`"
    )


def test_the_command_prints_the_document() -> None:
    result = CliRunner().invoke(app, ["docs", "metrics"])
    assert result.exit_code == 0
    assert result.stdout == catalogue_markdown()


def test_every_metric_has_a_row() -> None:
    text = catalogue_markdown()
    for name, metric in CATALOG.items():
        assert f"| `{name}` |" in text, name
        assert metric.description in text
