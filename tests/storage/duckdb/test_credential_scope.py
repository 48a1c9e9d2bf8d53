"""The `credentials.scope` column (issue 20): a store file from before scopes gets it on open, and
each vendor credential there its vendor's default scope; opened read-only, such a file still
reads its credentials with their default."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ccstats.records import TenantSettings
from ccstats.scope import Scope
from ccstats.storage import Credential, StorageError
from ccstats.storage.duckdb.store import DuckDBStore

KINDS = ("huawei", "7moor", "twin24", "aliyun")


def _old_file(path: str) -> None:
    """A store file of schema 4 with one credential of each kind, its `scope` column dropped."""
    with DuckDBStore(path) as store:
        store.registry.put_tenant(TenantSettings(id="t1"))
        for kind in ("api", *KINDS):
            store.registry.add_credential(Credential("t1", kind, f"{kind}-key", secret="s"))
    con = duckdb.connect(path)
    con.execute("ALTER TABLE credentials DROP COLUMN scope")
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema:version'")
    con.close()


def test_an_old_file_migrates_every_vendor_credential_to_its_default(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    _old_file(path)
    with DuckDBStore(path) as store:
        for kind in KINDS:
            (found,) = store.registry.find_credentials(kind, f"{kind}-key")
            assert found.scope == Scope(sources=(kind, None)), kind
        (api,) = store.registry.find_credentials("api", "api-key")
        assert api.scope is None
    # Written into the file, not only read as the default.
    con = duckdb.connect(path)
    rows = con.execute("SELECT kind, scope FROM credentials ORDER BY kind").fetchall()
    con.close()
    assert dict(rows) == {
        "7moor": '{"sources":["7moor",null],"access_codes":null,"channels":null,"directions":null}',
        "aliyun": '{"sources":["aliyun",null],"access_codes":null,"channels":null,"directions":null}',
        "api": None,
        "huawei": '{"sources":["huawei",null],"access_codes":null,"channels":null,"directions":null}',
        "twin24": '{"sources":["twin24",null],"access_codes":null,"channels":null,"directions":null}',
    }


def test_an_old_file_opened_read_only_reads_the_defaults(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    _old_file(path)
    store = DuckDBStore(path, read_only=True)
    try:
        (found,) = store.registry.find_credentials("7moor", "7moor-key")
        assert found.scope == Scope(sources=("7moor", None))
    finally:
        store.close()


def test_a_scope_set_by_hand_that_is_not_one_is_a_storage_error(tmp_path: Path) -> None:
    path = str(tmp_path / "bad.duckdb")
    with DuckDBStore(path) as store:
        store.registry.add_credential(Credential("t1", "7moor", "k", secret="s"))
    con = duckdb.connect(path)
    con.execute("""UPDATE credentials SET scope = '{"sources": []}'""")
    con.close()
    with DuckDBStore(path) as store, pytest.raises(StorageError, match="stored scope is unusable"):
        store.registry.find_credentials("7moor", "k")
