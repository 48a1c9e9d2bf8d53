"""What `pip install .` brings: every package the code imports is a runtime dependency, and
packages only the tests use are not (they are in the `dev` extra)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _imported_distributions() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "src" / "ccstats").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    owners = packages_distributions()
    found = set()
    for module in modules - set(sys.stdlib_module_names) - {"ccstats"}:
        found |= {_normal(d) for d in owners.get(module, [module])}
    return found


def test_every_imported_package_is_a_runtime_dependency() -> None:
    runtime = _names(PROJECT["dependencies"])
    # pandas is only refused (`absent.refuse_if_absent`), never needed; starlette is FastAPI's
    # own foundation, pinned by FastAPI; clickhouse-connect is the optional ClickHouse engine's
    # (`ccstats[clickhouse]`), imported only when a ClickHouse URL is opened.
    engine = _names(PROJECT["optional-dependencies"]["clickhouse"])
    missing = _imported_distributions() - runtime - engine - {"pandas", "starlette"}
    assert missing == set()
    assert "httpx" in runtime  # `ccstats import` and every CLI command beside a running server


def test_test_only_packages_are_not_runtime_dependencies() -> None:
    runtime = _names(PROJECT["dependencies"])
    dev = _names(PROJECT["optional-dependencies"]["dev"])
    for package in ("openpyxl", "pytest", "hypothesis", "alibabacloud-aiccs20191015"):
        assert package not in runtime and package in dev, package
