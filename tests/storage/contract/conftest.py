"""The engines the store contract runs on: every engine must pass every test of this folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.chdb_stores import OPENED, chdb_store, chdb_url, drop_opened

from ccstats.storage import DuckDBStore, Store
from ccstats.storage.clickhouse import ClickHouseStore

ENGINES = ["duckdb", "chdb"]
"""One name per engine; `make_store` opens an empty store of each (`chdb`: ClickHouse in
process, a fresh database of one chDB directory per test process)."""


def make_store(engine: str) -> Store:
    """An empty store of `engine`."""
    if engine == "duckdb":
        return DuckDBStore(":memory:")
    if engine == "chdb":
        return chdb_store()
    raise ValueError(f"unknown engine {engine!r}")


@pytest.fixture(autouse=True)
def _drop_chdb_databases() -> Iterator[None]:
    """Drop the chDB databases a test opened (the directory is shared by the whole run)."""
    yield
    drop_opened()


def backup_destination(engine: str, folder: Path) -> str:
    """Where a test backs a store of `engine` up (`Store.backup`), in a fresh `folder`."""
    if engine == "duckdb":
        return str(folder / "backup.duckdb")
    if engine == "chdb":  # a new database beside the store's (one chDB directory per process)
        return chdb_url()
    raise ValueError(f"unknown engine {engine!r}")


def open_backup(engine: str, destination: str) -> Store:
    """The store a backup of `engine` at `destination` restores."""
    if engine == "duckdb":
        return DuckDBStore(destination)
    if engine == "chdb":
        store = ClickHouseStore(destination)
        OPENED.append(store)
        return store
    raise ValueError(f"unknown engine {engine!r}")


@pytest.fixture(params=ENGINES)
def engine_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each engine."""
    with make_store(request.param) as store:
        yield store
