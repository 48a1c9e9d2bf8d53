"""ClickHouse in the test process (chDB): one data directory per process, a database per store.

chDB runs one engine per process, on one directory: every store of a test run opens that
directory with a database of its own (`chdb:///dir?database=t_<n>`), dropped after its test.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile

from ccstats.storage.clickhouse import ClickHouseStore, parse_url
from ccstats.storage.clickhouse.client import Connection

_DIR: str | None = None
_HOLD: list[Connection] = []
"""A connection held for the whole run: the engine's clients outlive each store (a new chDB
client costs 0.2-0.5 s)."""
_NUMBERS = itertools.count()
OPENED: list[ClickHouseStore] = []
"""Stores opened since the last `drop_opened` (the contract suite drops them after each test)."""


def chdb_url() -> str:
    """A URL of a fresh database in this process's chDB directory."""
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="ccstats-chdb-")
        atexit.register(shutil.rmtree, _DIR, True)
        _HOLD.append(Connection(parse_url(f"chdb://{_DIR}")))
    return f"chdb://{_DIR}?database=t_{next(_NUMBERS)}"


def chdb_store() -> ClickHouseStore:
    """An empty ClickHouse store in process, dropped by `drop_opened`."""
    store = ClickHouseStore(chdb_url())
    OPENED.append(store)
    return store


def drop_opened() -> None:
    """Drop the database of every store `chdb_store` opened."""
    while OPENED:
        OPENED.pop().drop(wait=False)  # the directory goes with the process
