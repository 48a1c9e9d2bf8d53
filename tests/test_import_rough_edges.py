"""`ccstats import` behaves the same with the server stopped and running (issue 15, item 8): a
damaged Parquet file stops with a clear error that says exactly what was stored, a line that is
not JSON is rejected as such, a Parquet column that is no field refuses the whole file; never a
traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.serving import free_port, serving
from tests.test_cli_server import cli, ids

from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "rough.duckdb")
    with DuckDBStore(path) as store:
        store.registry.put_tenant(TenantSettings(id="t1"))
    return path


@contextmanager
def maybe_serving(db: str, through_server: bool) -> Iterator[None]:
    """The server holding `db` on a port of its own, or nothing (the CLI opens the file)."""
    with serving(["--db", db, "--port", str(free_port())]) if through_server else nullcontext():
        yield


def calls(count: int, **extra: list[object]) -> pa.Table:
    return pa.table(
        {
            "id": [f"c{i:04}" for i in range(count)],
            "tenant_id": ["t1"] * count,
            "channel": ["voice"] * count,
            "created_at": pa.array(
                [datetime(2026, 11, 20, 9, tzinfo=UTC)] * count, pa.timestamp("ms", tz="UTC")
            ),
            **extra,
        }
    )


def damaged_parquet(path: Path) -> Path:
    """3 row groups of 1000 calls; the second's first page header overwritten with garbage."""
    pq.write_table(calls(3000), path, row_group_size=1000)
    column = pq.ParquetFile(path).metadata.row_group(1).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("through_server", [False, True])
def test_a_damaged_parquet_file_says_exactly_what_was_stored(
    db: str, tmp_path: Path, through_server: bool
) -> None:
    file = damaged_parquet(tmp_path / "calls.parquet")
    after = tmp_path / "after.json"
    after.write_text("[]")
    with maybe_serving(db, through_server):
        done = cli("import", str(file), str(after), "--db", db)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    text = " ".join(done.stderr.split())
    assert "calls.parquet: cannot read the Parquet data from row 1001 on (a damaged file?)" in text
    assert (
        "of calls.parquet, the 1000 records up to row 1000 were read: 1000 were stored, "
        "0 rejected; nothing after row 1000 was stored" in text
    )
    assert "not imported: after.json" in text
    answer = json.loads(done.stdout)
    assert (answer["accepted"], answer["rejected"]) == (1000, 0)
    assert "row 1001" in answer["error"]
    assert ids(db) == [f"c{i:04}" for i in range(1000)]  # exactly what it said


@pytest.mark.parametrize("through_server", [False, True])
def test_an_unknown_parquet_column_refuses_the_whole_file_alike(
    db: str, tmp_path: Path, through_server: bool
) -> None:
    file = tmp_path / "colour.parquet"
    pq.write_table(calls(3, colour=["red", "green", "blue"]), file)
    with maybe_serving(db, through_server):
        done = cli("import", str(file), "--db", db)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    text = " ".join(done.stderr.split())
    assert "colour.parquet: unknown column 'colour'" in text
    assert "nothing of colour.parquet was stored" in text
    assert json.loads(done.stdout)["accepted"] == 0
    assert ids(db) == []


@pytest.mark.parametrize("through_server", [False, True])
def test_lines_that_are_not_json_are_rejected_as_such_and_the_rest_stored(
    db: str, tmp_path: Path, through_server: bool
) -> None:
    file = tmp_path / "calls.ndjson"
    good = {"id": "a", "tenant_id": "t1", "channel": "chat", "created_at": "2026-11-20T10:00:00Z"}
    file.write_text(json.dumps(good) + '\n{"id": "b", \n' + json.dumps({**good, "id": "c"}))
    with maybe_serving(db, through_server):
        done = cli("import", str(file), "--db", db)
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"accepted": 2, "rejected": 1}
    text = " ".join(done.stderr.split())
    assert "calls.ndjson: line 2 is not JSON" in text
    assert "required field" not in text and "unknown field" not in text
    assert ids(db) == ["a", "c"]
