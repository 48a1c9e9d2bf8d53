"""The engines the store contract runs on: every engine must pass every test of this folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccstats.storage import DuckDBStore, Store

ENGINES = ["duckdb"]
"""One name per engine; `make_store` opens an empty store of each."""


def make_store(engine: str) -> Store:
    """An empty store of `engine`."""
    if engine == "duckdb":
        return DuckDBStore(":memory:")
    raise ValueError(f"unknown engine {engine!r}")


def backup_destination(engine: str, folder: Path) -> str:
    """Where a test backs a store of `engine` up (`Store.backup`), in a fresh `folder`."""
    if engine == "duckdb":
        return str(folder / "backup.duckdb")
    raise ValueError(f"unknown engine {engine!r}")


def open_backup(engine: str, destination: str) -> Store:
    """The store a backup of `engine` at `destination` restores."""
    if engine == "duckdb":
        return DuckDBStore(destination)
    raise ValueError(f"unknown engine {engine!r}")


@pytest.fixture(params=ENGINES)
def engine_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each engine."""
    with make_store(request.param) as store:
        yield store
