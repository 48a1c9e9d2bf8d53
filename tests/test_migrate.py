"""`ccstats migrate`: a DuckDB store copied into ClickHouse (chDB) answers the same, a second run
copies nothing new, an interrupted run resumes by month, and the command runs as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.chdb_stores import chdb_store, drop_opened

from ccstats.demo import create_demo
from ccstats.migrate import migrate, month_key, months_of, verify
from ccstats.storage import Credential, DuckDBStore, Store

TODAY = date(2026, 11, 21)


@pytest.fixture
def demo() -> Iterator[Store]:
    with DuckDBStore(":memory:") as store:
        create_demo(store, 400, today=TODAY)
        yield store


def _credentials(store: Store) -> list[Credential]:
    return [c for t in store.registry.list_tenants() for c in store.registry.list_credentials(t.id)]


def test_a_copy_answers_the_same_and_a_second_run_adds_nothing(demo: Store) -> None:
    target = chdb_store()
    try:
        seen: list[int] = []
        copied = migrate(demo, target, lambda what, n: seen.append(n))
        assert copied.conversations == 400 and sum(seen) == 400
        assert copied.tenants == len(demo.registry.list_tenants()) > 0
        assert copied.credentials == len(_credentials(demo)) > 0
        assert copied.intervals > 0
        assert verify(demo, target) == []
        again = migrate(demo, target)
        assert (again.conversations, again.credentials, again.months) == (0, 0, 0)
        assert again.skipped == copied.months
        assert len(_credentials(target)) == len(_credentials(demo))
        assert verify(demo, target) == []
    finally:
        drop_opened()


def test_an_interrupted_migration_resumes_with_the_months_not_done(demo: Store) -> None:
    target = chdb_store()
    try:
        first = migrate(demo, target)
        keys = [k for k, _ in _marks(demo)]
        assert all(target.registry.get_meta(k) == "copied" for k in keys)
        # As if the run had stopped inside the last month: its mark was not written yet.
        last, rows = _marks(demo)[-1]
        target.registry.put_meta(last, None)
        resumed = migrate(demo, target)
        assert (resumed.months, resumed.skipped) == (1, first.months - 1)
        assert resumed.conversations == rows > 0  # that month again, no other
        assert target.registry.get_meta(last) == "copied"
        assert verify(demo, target) == []  # copying a month twice changes nothing
    finally:
        drop_opened()


def _marks(source: Store) -> list[tuple[str, int]]:
    """The month marks a migration of `source` writes, with each month's conversations."""
    from ccstats.storage import SearchRequest

    marks = []
    for tenant in source.registry.list_tenants():
        for start, end in months_of(source, tenant.id):
            total = source.search(SearchRequest(tenant.id, start, end, limit=0), count=True).total
            marks.append((month_key(tenant.id, start), int(total or 0)))
    return marks


def test_the_command_copies_a_file_and_verifies(tmp_path: Path) -> None:
    db = str(tmp_path / "old.duckdb")
    with DuckDBStore(db) as store:
        create_demo(store, 200, today=TODAY)
    cli = [sys.executable, "-m", "ccstats", "migrate", "--from", db]
    to = f"chdb://{tmp_path / 'ch'}"
    done = subprocess.run(
        [*cli, "--to", to, "--verify"], capture_output=True, text=True, timeout=600, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["conversations"] == 200
    assert "verified" in done.stderr


def test_a_missing_source_is_an_error_not_a_new_store(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccstats",
            "migrate",
            "--from",
            str(missing),
            "--to",
            f"chdb://{tmp_path / 'ch'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert done.returncode == 1 and "no such store to copy" in done.stderr
    assert not missing.exists()
