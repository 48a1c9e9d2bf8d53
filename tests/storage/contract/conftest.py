"""The engines the store contract runs on: every engine must pass every test of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.chdb_stores import chdb_store, drop_opened

from ccstats.storage import DuckDBStore, Store

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


@pytest.fixture(params=ENGINES)
def engine_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each engine."""
    with make_store(request.param) as store:
        yield store
