"""File renderers: the Arrow CSV path reads back as the row path, XLSX reads back in openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pyarrow as pa
from openpyxl import load_workbook

from ccstats.export import (
    batch_rows,
    cell_text,
    csv_batch_chunks,
    csv_chunks,
    float_text,
    iso_text,
    utc_z_text,
    xlsx_chunks,
)

TIMES = [
    datetime(2022, 6, 29, 8, 44, 26),
    datetime(2022, 6, 29, 8, 44, 26, 5),
    None,
    datetime(1999, 12, 31, 23, 59, 59, 999_999),
]


def _read(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_time_texts() -> None:
    times = pa.array(TIMES, pa.timestamp("us"))
    assert utc_z_text(times).to_pylist() == [
        "2022-06-29T08:44:26.000000Z",
        "2022-06-29T08:44:26.000005Z",
        None,
        "1999-12-31T23:59:59.999999Z",
    ]
    # cell_text writes an aware time by isoformat: the fraction only when there is one.
    assert iso_text(times).to_pylist() == [
        "2022-06-29T08:44:26+00:00",
        "2022-06-29T08:44:26.000005+00:00",
        None,
        "1999-12-31T23:59:59.999999+00:00",
    ]
    expected = [None if t is None else cell_text(t.replace(tzinfo=UTC)) for t in TIMES]
    assert iso_text(times).to_pylist() == expected
    aware = times.cast(pa.timestamp("us", tz="UTC"))
    assert iso_text(aware).equals(iso_text(times))
    assert utc_z_text(aware).equals(utc_z_text(times))


def test_time_texts_of_years_outside_four_digits_and_of_no_times() -> None:
    """Such years take strftime's way (the fast cast writes other widths); the same texts."""
    times = pa.array([datetime(999, 1, 2, 3, 4, 5, 6), None], pa.timestamp("us"))
    assert iso_text(times).to_pylist() == ["0999-01-02T03:04:05.000006+00:00", None]
    assert utc_z_text(times).to_pylist() == ["0999-01-02T03:04:05.000006Z", None]
    nothing = pa.array([None, None], pa.timestamp("us"))
    assert iso_text(nothing).to_pylist() == utc_z_text(nothing).to_pylist() == [None, None]


def test_float_text_is_python_str() -> None:
    assert float_text(pa.array([3.0, 0.1, None, 1e16])).to_pylist() == ["3.0", "0.1", None, "1e+16"]


def test_arrow_csv_reads_back_as_the_row_csv() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["a,1", 'quote "x"', "", None],
            "n": [1, None, -5, 0],
            "ok": [True, False, None, True],
            "text": ["line\nbreak", "Робот: угу", "=1+1", None],
        }
    )
    columns = ["id", "n", "ok", "text"]
    fast = b"".join(csv_batch_chunks(columns, [batch, batch.slice(0, 0), batch]))
    slow = b"".join(csv_chunks(columns, [*batch_rows(batch), *batch_rows(batch)]))
    assert fast.startswith(b"\xef\xbb\xbfid,n,ok,text\r\n")
    assert _read(fast) == _read(slow)
    assert _read(fast)[1] == ["a,1", "1", "true", "line\nbreak"]
    assert _read(fast)[3] == ["", "-5", "", "=1+1"]


def test_xlsx_reads_back() -> None:
    rows = [["a", 1, True, None, 2.5], ["=SUM(A1)", None, False, "http://x.test/y", 0.0]]
    data = b"".join(xlsx_chunks(["id", "n", "ok", "url", "f"], rows, sheet="calls"))
    sheet = load_workbook(io.BytesIO(data), read_only=True)["calls"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values == [
        ["id", "n", "ok", "url", "f"],
        ["a", 1, True, None, 2.5],
        # Text stays text: no formula, no link.
        ["=SUM(A1)", None, False, "http://x.test/y", 0],
    ]
