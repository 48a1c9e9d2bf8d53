"""The CLI while a real `ccstats serve` holds the database on a port of its own: every command goes
through the server's admin API, found by the URL the server notes beside the database; without a
server that answers, a message says which variable to set, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.serving import ROOT, Server, free_port, serving

from ccstats import __version__
from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore, SearchRequest
from ccstats.storage.duckdb.migrations import SCHEMA_VERSION

_ENV_KEYS = ("CCSTATS_URL", "CCSTATS_ADMIN_TOKEN", "CCSTATS_PORT", "CCSTATS_DB", "CCSTATS_CONFIG")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ccstats ARGS` in a process of its own, as an operator runs it."""
    environment = {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}
    environment.update(PYTHONPATH=str(ROOT / "src"), COLUMNS="200", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "ccstats", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ops.duckdb")
    with DuckDBStore(path) as store:
        store.registry.put_tenant(TenantSettings(id="t1"))
    return path


@pytest.fixture
def server(db: str) -> Iterator[Server]:
    # A port of its own (never 8000), no CCSTATS_URL: the CLI must find it by itself.
    with serving(["--db", db, "--port", str(free_port())]) as running:
        yield running


def ids(db: str, tenant: str = "t1") -> list[str]:
    with DuckDBStore(db, read_only=True) as store:
        page = store.search(SearchRequest(tenant, limit=None, sort=(("id", False),)))
        return [row["id"] for row in page.rows]


def test_the_server_notes_its_url_beside_the_database(db: str) -> None:
    port = free_port()
    with serving(["--db", db, "--port", str(port)]):
        assert Path(db + ".server-url").read_text().strip() == f"http://127.0.0.1:{port}"
    assert not Path(db + ".server-url").exists()  # removed when the server stops


def test_tenant_and_credential_commands_go_through_the_server(
    db: str, server: Server, tmp_path: Path
) -> None:
    done = cli("tenant", "add", "t2", "--name", "Two", "--timezone", "Asia/Tokyo", "--db", db)
    assert done.returncode == 0, done.stderr
    assert "held by a running server" in done.stderr and "in use" not in done.stderr
    assert json.loads(done.stdout)["timezone"] == "Asia/Tokyo"
    again = cli("tenant", "add", "t2", "--db", db)
    assert again.returncode == 1 and "tenant 't2' exists" in again.stderr
    settings = tmp_path / "t2.json"
    settings.write_text(json.dumps({"agent_statuses": [{"id": "s1", "label": "Busy"}]}))
    done = cli("tenant", "set", "t2", "--file", str(settings), "--db", db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["agent_statuses"] == [{"id": "s1", "label": "Busy"}]
    assert json.loads(done.stdout)["name"] == "Two"  # kept
    done = cli("credentials", "add", "t2", "api", "--json", "--db", db)
    assert done.returncode == 0, done.stderr
    token = json.loads(done.stdout)["token"]
    # The server that made the token takes it at once.
    record = {"id": "c1", "channel": "chat", "created_at": "2026-11-20T10:00:00Z"}
    answer = httpx.post(
        server.base + "/v1/conversations",
        json=[record],
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.json() == {"accepted": 1, "rejected": []}
    bad = cli("credentials", "add", "nobody", "api", "--db", db)
    assert bad.returncode == 1 and "unknown tenant 'nobody'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_import_finds_a_server_on_another_port_and_reports_lines(
    db: str, server: Server, tmp_path: Path
) -> None:
    file = tmp_path / "calls.ndjson"
    good = {"id": "a", "tenant_id": "t1", "channel": "voice", "created_at": "2026-11-20T09:00:00Z"}
    lines = [json.dumps(good), "", "{not json", json.dumps({"id": "b", "tenant_id": "t1"})]
    file.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.ndjson"
    done = cli("import", str(file), "--db", db, "--rejects", str(rejects))
    assert done.returncode == 1  # something was rejected
    assert json.loads(done.stdout) == {"accepted": 1, "rejected": 2}
    text = " ".join(done.stderr.split())
    # Lines as a person counts them (the blank line 2 counts), the file's name on each.
    assert "calls.ndjson: line 3 is not JSON" in text
    assert "calls.ndjson: line 4 (id b): channel: required field is missing" in text
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["file"], r["line"], r["id"]) for r in written] == [
        ("calls.ndjson", 3, None),
        ("calls.ndjson", 4, "b"),
    ]
    assert written[1]["record"] == {"id": "b", "tenant_id": "t1"}
    assert written[0]["reason"].startswith("line 3 is not JSON")


@pytest.mark.parametrize("through_server", [False, True])
def test_import_strict_stores_nothing_unless_every_record_is_valid(
    db: str, tmp_path: Path, through_server: bool
) -> None:
    good = {"id": "a", "tenant_id": "t1", "channel": "voice", "created_at": "2026-11-20T09:00:00Z"}
    first = tmp_path / "first.json"
    first.write_text(json.dumps([good]))
    second = tmp_path / "second.csv"
    second.write_text(
        "id,tenant_id,channel,created_at\n"
        "b,t1,chat,2026-11-20T10:00:00Z\n"
        "c,t1,fax,2026-11-20T11:00:00Z\n"  # line 3: no such channel
    )

    def attempt() -> subprocess.CompletedProcess[str]:
        return cli("import", "--strict", str(first), str(second), "--db", db)

    def check() -> None:
        done = attempt()
        assert done.returncode == 1
        assert json.loads(done.stdout) == {"accepted": 0, "rejected": 1}
        assert "second.csv: line 3 (id c): channel:" in " ".join(done.stderr.split())
        assert "nothing was stored" in done.stderr
        second.write_text(second.read_text().replace(",fax,", ",voice,"))
        done = attempt()
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"accepted": 3, "rejected": 0}

    if through_server:
        with serving(["--db", db, "--port", str(free_port())]):
            check()
    else:
        check()
    assert ids(db) == ["a", "b", "c"]


def test_without_a_server_that_answers_the_cli_names_the_variable(db: str, tmp_path: Path) -> None:
    # Another process holds the file, and the URL noted beside it leads nowhere (a server that
    # was killed, say).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({db!r}); print('ready', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        Path(db + ".admin-token").write_text("adm_test\n")
        dead = f"http://127.0.0.1:{free_port()}"
        Path(db + ".server-url").write_text(dead + "\n")
        file = tmp_path / "calls.json"
        file.write_text("[]")
        for args in (
            ["import", str(file)],
            ["tenant", "add", "t9"],
            ["credentials", "add", "t1", "api"],
        ):
            done = cli(*args, "--db", db)
            assert done.returncode == 1
            assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) < 8
            text = " ".join(done.stderr.split())
            assert f"no ccstats server answers at {dead}" in text
            assert "set CCSTATS_URL to its address" in text and ".server-url" in text
    finally:
        holder.communicate(timeout=30)  # its stdin closes: it lets go of the file


def test_demo_goes_through_the_server(db: str, server: Server) -> None:
    done = cli("demo", "--conversations", "300", "--db", db)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["conversations"] == 300
    # The server serves the demo at once, with the demo's fixed token (docs/demo.md).
    answer = httpx.get(
        server.base + "/v1/conversations",
        params={"from": summary["from"], "to": summary["today"], "limit": 1},
        headers={"authorization": "Bearer ccs_bank_demo-token"},
    )
    assert answer.status_code == 200 and len(answer.json()["rows"]) == 1


def test_backup_restore_and_versions_beside_a_running_server(
    db: str, server: Server, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"CCSTATS_DB": db}
    # A relative path is the CLI's, not the server's working directory.
    done = subprocess.run(
        [sys.executable, "-m", "ccstats", "backup", "copy.duckdb"],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["destination"] == str(elsewhere / "copy.duckdb") and answer["bytes"] > 0
    again = cli("backup", str(elsewhere / "copy.duckdb"), "--db", db)
    assert again.returncode == 1 and "exists" in again.stderr
    version = cli("--version", env=env)
    assert version.returncode == 0, version.stderr
    first, second = version.stdout.splitlines()
    assert first == f"ccstats {__version__} (store schema {SCHEMA_VERSION})"
    held = f"held by the server at {server.base}, ccstats {__version__}"
    assert second == f"{db} ({held}): store schema {SCHEMA_VERSION}"
    refused = cli("restore", str(elsewhere / "copy.duckdb"), "--db", db, "--force")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "held by a running `ccstats serve`: stop it" in " ".join(refused.stderr.split())
    # Restored elsewhere, the copy is a store with the tenant.
    restored = str(tmp_path / "restored.duckdb")
    done = cli("restore", str(elsewhere / "copy.duckdb"), "--db", restored)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tenants"] == 1
    bad = tmp_path / "not-a-store.duckdb"
    bad.write_text("hello")
    done = cli("restore", str(bad), "--db", str(tmp_path / "x.duckdb"))
    assert done.returncode == 1 and "is not a ccstats store" in done.stderr


def test_lifecycle_commands_go_through_the_server(db: str, server: Server, tmp_path: Path) -> None:
    assert cli("tenant", "add", "t2", "--name", "Two", "--db", db).returncode == 0
    tokens = []
    for _ in range(2):
        done = cli("credentials", "add", "t2", "api", "--json", "--db", db)
        tokens.append(json.loads(done.stdout)["token"])
    listed = cli("credentials", "list", "t2", "--json", "--db", db)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert [c["kind"] for c in found] == ["api", "api"] and tokens[0] not in listed.stdout
    table = cli("credentials", "list", "t2", "--db", db).stdout.splitlines()
    assert table[0].split() == ["ID", "KIND", "KEY", "CREATED"] and len(table) == 3
    revoked = cli("credentials", "revoke", "t2", found[0]["id"], "--db", db)
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked"]["id"] == found[0]["id"]
    search = {"from": "2026-01-01", "to": "2027-01-01"}
    old = httpx.get(
        server.base + "/v1/conversations",
        params=search,
        headers={"authorization": f"Bearer {tokens[0]}"},
    )
    new = httpx.get(
        server.base + "/v1/conversations",
        params=search,
        headers={"authorization": f"Bearer {tokens[1]}"},
    )
    assert (old.status_code, new.status_code) == (401, 200)  # refused at once by the server
    again = cli("credentials", "revoke", "t2", found[0]["id"], "--db", db)
    assert again.returncode == 1 and "has no credential" in again.stderr
    settings = tmp_path / "t2.json"
    settings.write_text(json.dumps({"retention_days": 30, "mask_phones": True, "mask_names": True}))
    assert cli("tenant", "set", "t2", "--file", str(settings), "--db", db).returncode == 0
    listing = cli("tenant", "list", "--db", db).stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["ID", "t1", "t2"]
    assert "30 days" in listing[2] and "phones, names" in listing[2]
    record = {"id": "c1", "tenant_id": "t2", "channel": "voice",
              "created_at": "2026-11-20T10:00:00Z", "customer_id": "x"}  # fmt: skip
    file = tmp_path / "c.json"
    file.write_text(json.dumps([record]))
    assert cli("import", str(file), "--db", db).returncode == 0
    erased = cli("customers", "erase", "t2", "x", "--db", db)
    assert json.loads(erased.stdout)["conversations"] == 1
    refused = cli("tenant", "delete", "t2", "--db", db)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    deleted = cli("tenant", "delete", "t2", "--yes", "--db", db)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["credentials"] == 1
    assert cli("tenant", "list", "--json", "--db", db).stdout.count('"id"') == 1
    missing = cli("tenant", "delete", "t2", "--yes", "--db", db)
    assert missing.returncode == 1 and "unknown tenant 't2'" in missing.stderr
