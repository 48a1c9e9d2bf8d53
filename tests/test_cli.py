"""The CLI: tenants, credentials, imports of every file format, clear errors, import while serving."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ccstats.cli import app
from ccstats.metrics.query import MetricQuery
from ccstats.records import parse_time
from ccstats.service import Service
from ccstats.storage import DuckDBStore

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def conversations(tmp_db: str) -> int:
    with DuckDBStore(tmp_db) as store:
        q = MetricQuery(
            "t1",
            ("conversations",),
            parse_time("2024-01-01T00:00:00Z"),
            parse_time("2025-01-01T00:00:00Z"),
        )
        return int(Service(store).run_query(q).rows[0]["conversations"])


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "test.duckdb")
    code, _, err = run(
        "tenant", "add", "t1", "--name", "One", "--timezone", "Asia/Shanghai", "--db", path
    )
    assert code == 0, err
    return path


RECORDS = [
    {
        "id": "a",
        "tenant_id": "t1",
        "channel": "voice",
        "created_at": "2024-05-01T10:00:00Z",
        "bot_turns": 2,
    },
    {"id": "b", "tenant_id": "t1", "channel": "chat", "created_at": 1714557600000},
]


def test_tenant_add_and_set(db: str, tmp_path: Path) -> None:
    code, _, err = run("tenant", "add", "t1", "--db", db)
    assert code == 1 and "exists" in err
    code, _, err = run("tenant", "add", "t2", "--timezone", "Mars/Base", "--db", db)
    assert code == 1 and "unknown IANA time zone" in err and "Traceback" not in err
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"agent_statuses": [{"id": "s1", "label": "Busy"}]}))
    code, out, _ = run("tenant", "set", "t1", "--file", str(settings), "--db", db)
    assert code == 0
    assert json.loads(out)["agent_statuses"] == [{"id": "s1", "label": "Busy"}]
    assert json.loads(out)["timezone"] == "Asia/Shanghai"
    settings.write_text(json.dumps({"agents": "many"}))
    code, _, err = run("tenant", "set", "t1", "--file", str(settings), "--db", db)
    assert code == 1 and "agents" in err


@pytest.mark.parametrize("kind", ["api", "huawei", "7moor", "twin24", "aliyun"])
def test_credentials_add_json(db: str, kind: str) -> None:
    code, out, err = run("credentials", "add", "t1", kind, "--json", "--db", db)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["kind"] == kind
    expected = {
        "api": "token",
        "huawei": "appSecret",
        "7moor": "secret",
        "twin24": "password",
        "aliyun": "accessKeySecret",
    }
    assert shown[expected[kind]]


def test_credentials_errors(db: str) -> None:
    code, _, err = run("credentials", "add", "t1", "sms", "--json", "--db", db)
    assert code == 1 and "unknown credential kind 'sms'" in err
    code, _, err = run("credentials", "add", "nobody", "api", "--json", "--db", db)
    assert code == 1 and "unknown tenant 'nobody'" in err


def write(path: Path, fmt: str) -> Path:
    if fmt == "json":
        path.write_text(json.dumps(RECORDS))
    elif fmt == "ndjson":
        path.write_text("\n".join(json.dumps(r) for r in RECORDS))
    elif fmt == "csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["id", "tenant_id", "channel", "created_at", "bot_turns"]
            )
            writer.writeheader()
            writer.writerows(RECORDS)
    else:
        rows = [{**r, "created_at": parse_time(r["created_at"])} for r in RECORDS]
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "parquet"])
def test_import_every_format_and_reimport_counts_once(db: str, tmp_path: Path, fmt: str) -> None:
    file = write(tmp_path / f"records.{fmt}", fmt)
    for _ in range(2):
        code, out, err = run("import", str(file), "--db", db)
        assert code == 0, err
        assert json.loads(out) == {"accepted": 2, "rejected": 0}
    assert conversations(db) == 2


def test_import_reports_rejects_with_position(db: str, tmp_path: Path) -> None:
    file = tmp_path / "mixed.ndjson"
    file.write_text(
        json.dumps(RECORDS[0]) + "\n" + json.dumps({"id": "x", "tenant_id": "t1"}) + "\n"
    )
    code, out, err = run("import", str(file), "--db", db)
    assert code == 1  # something was rejected
    assert json.loads(out) == {"accepted": 1, "rejected": 1}
    # The file's name, the line as a person counts it (the second line), the record's id.
    assert "mixed.ndjson: line 2 (id x): channel: required field is missing" in " ".join(
        err.split()
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("records.txt", "hello", "unknown format 'txt'"),
        ("records.parquet", "not parquet", "not a Parquet file"),
        ("records.json", "[{", "malformed JSON"),
        ("missing.json", None, "no such file"),
    ],
)
def test_import_bad_files_give_clear_errors(
    db: str, tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    file = tmp_path / name
    if content is not None:
        file.write_text(content)
    code, _, err = run("import", str(file), "--db", db)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(db: str, **env_vars: str) -> Iterator[dict[str, str]]:
    """`ccstats serve` on `db` in a subprocess; yields the environment that reaches it."""
    port = free_port()
    env = {**os.environ, "CCSTATS_URL": f"http://127.0.0.1:{port}", **env_vars}
    env.pop("CCSTATS_ADMIN_TOKEN", None)
    server = subprocess.Popen(
        [*CLI, "serve", "--db", db, "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/metrics").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


CLI = [sys.executable, "-m", "ccstats"]


def test_import_while_the_server_holds_the_database(db: str, tmp_path: Path) -> None:
    with running_server(db) as env:
        # Parquet rows hold datetimes: they must reach the server as ISO 8601 text too.
        for fmt in ("json", "parquet"):
            file = write(tmp_path / f"records.{fmt}", fmt)
            done = subprocess.run(
                [*CLI, "import", str(file), "--db", db],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == {"accepted": 2, "rejected": 0}
            assert "held by a running server" in done.stderr
    assert conversations(db) == 2


def test_import_through_a_server_splits_batches_over_its_body_limit(
    db: str, tmp_path: Path
) -> None:
    # Each record is ~90 bytes of JSON: a 1000-byte limit takes about ten per request.
    records = [{**RECORDS[0], "id": f"r{i:03}"} for i in range(60)]
    file = tmp_path / "many.ndjson"
    file.write_text("\n".join(json.dumps(r) for r in records))
    with running_server(db, CCSTATS_MAX_BODY_BYTES="1000") as env:
        done = subprocess.run(
            [*CLI, "import", str(file), "--db", db],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"accepted": 60, "rejected": 0}
    assert conversations(db) == 60


def test_serve_refuses_a_body_limit_that_is_not_a_size(db: str) -> None:
    done = subprocess.run(
        [*CLI, "serve", "--db", db, "--port", str(free_port())],
        env={**os.environ, "CCSTATS_MAX_BODY_BYTES": "a lot"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "$CCSTATS_MAX_BODY_BYTES must be a positive number of bytes" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_leaves_pre_aggregates_fresh(db: str, tmp_path: Path) -> None:
    # Records over several days are a bulk batch: the store defers its rollups, and the import
    # command brings them up to date before it ends (a server would in the background).
    file = tmp_path / "spread.ndjson"
    days = [
        {**RECORDS[0], "id": f"d{i}", "created_at": f"2024-05-0{i}T10:00:00Z"} for i in range(1, 6)
    ]
    file.write_text("\n".join(json.dumps(r) for r in days))
    code, _, err = run("import", str(file), "--db", db)
    assert code == 0, err
    with DuckDBStore(db) as store:
        assert store._stale == set()


def test_import_rejects_a_value_out_of_range_and_stores_the_rest(db: str, tmp_path: Path) -> None:
    # Issue 15: an NDJSON `1e20` and a Parquet uint64 of 2**64-1 sank the whole import.
    ndjson = tmp_path / "far.ndjson"
    far = {**RECORDS[1], "id": "far", "created_at": 1e20}
    ndjson.write_text("\n".join(json.dumps(r) for r in [RECORDS[0], far]))
    code, out, err = run("import", str(ndjson), "--db", db)
    assert code == 1, err  # some records were rejected
    assert json.loads(out) == {"accepted": 1, "rejected": 1}
    assert (
        "far.ndjson: line 2 (id far): created_at: time 1e+20 (epoch ms) is outside the accepted range"
        in " ".join(err.split())
    )
    parquet = tmp_path / "huge.parquet"
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "tenant_id": ["t1", "t1"],
            "channel": ["voice", "voice"],
            "created_at": pa.array([parse_time(RECORDS[0]["created_at"])] * 2, pa.timestamp("us")),
            "bot_turns": pa.array([3, 2**64 - 1], pa.uint64()),
        }
    )
    pq.write_table(table, parquet)
    code, out, err = run("import", str(parquet), "--db", db)
    assert code == 1, err
    assert json.loads(out) == {"accepted": 1, "rejected": 1}
    assert (
        "huge.parquet: row 2 (id p2): bot_turns: Input should be less than or equal to"
        in " ".join(err.split())
    )
    assert "Traceback" not in err
    assert conversations(db) == 2


def test_lifecycle_commands_on_a_local_store(db: str, tmp_path: Path) -> None:
    code, out, _ = run("credentials", "add", "t1", "huawei", "--json", "--db", db)
    code, out, _ = run("credentials", "add", "t1", "huawei", "--json", "--db", db)
    code, out, err = run("credentials", "revoke", "t1", "t1", "--db", db)
    assert code == 1 and "2 credentials of 't1' have the key 't1'" in " ".join(err.split())
    code, out, _ = run("credentials", "list", "t1", "--json", "--db", db)
    first = json.loads(out)[0]["id"]
    code, out, err = run("credentials", "revoke", "t1", first, "--db", db)
    assert code == 0, err
    code, out, _ = run("credentials", "list", "t1", "--json", "--db", db)
    assert [c["id"] for c in json.loads(out)] != [first] and len(json.loads(out)) == 1
    file = write(tmp_path / "records.json", "json")
    assert run("import", str(file), "--db", db)[0] == 0
    code, out, _ = run("customers", "erase", "t1", "nobody", "--db", db)
    assert json.loads(out)["conversations"] == 0
    code, out, err = run("tenant", "delete", "t1", "--yes", "--db", db)
    assert code == 0, err
    assert json.loads(out) == {
        "tenant_id": "t1",
        "conversations": 2,
        "messages": 0,
        "agent_intervals": 0,
        "credentials": 1,
    }
    code, out, _ = run("tenant", "list", "--json", "--db", db)
    assert json.loads(out) == []
