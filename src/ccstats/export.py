"""Streaming file renderers shared by every export: CSV, XLSX, NDJSON, Parquet, and a zip wrapper.

Each takes rows as an iterable and yields bytes, so an export of any size holds at most one batch in
memory (XLSX is spooled to a temporary file by openpyxl's write-only mode, then streamed).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

__all__ = [
    "cell_text",
    "csv_chunks",
    "xlsx_chunks",
    "ndjson_chunks",
    "parquet_chunks",
    "zip_chunks",
]

_CHUNK = 64 * 1024


def cell_text(value: Any) -> str:
    """A value as CSV text: nested values as JSON, times as ISO 8601, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _cell_xlsx(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bool):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return cell_text(value)


class _Sink(io.RawIOBase):
    """A write-only, non-seekable byte sink drained by the generator that owns it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def csv_chunks(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool = True
) -> Iterator[bytes]:
    """CSV (UTF-8, optional BOM so Excel reads it as UTF-8) with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    prefix = "\ufeff" if bom else ""
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
        if buffer.tell() >= _CHUNK:
            yield (prefix + buffer.getvalue()).encode()
            prefix = ""
            buffer.seek(0)
            buffer.truncate()
    yield (prefix + buffer.getvalue()).encode()


def xlsx_chunks(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "data"
) -> Iterator[bytes]:
    """An XLSX workbook written in openpyxl's write-only mode to a temp file, then streamed."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(columns))
    for row in rows:
        worksheet.append([_cell_xlsx(v) for v in row])
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk


def ndjson_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One JSON object per line."""
    parts: list[bytes] = []
    size = 0
    for row in rows:
        line = orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS) + b"\n"
        parts.append(line)
        size += len(line)
        if size >= _CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    yield b"".join(parts)


def parquet_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    """A Parquet file written batch by batch to a streaming sink."""
    import pyarrow.parquet as pq

    sink = _Sink()
    with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            yield sink.drain()
    yield sink.drain()


def zip_chunks(name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A zip archive holding one file `name`, compressed and streamed as it is written."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as entry:
            for chunk in chunks:
                entry.write(chunk)
                yield sink.drain()
    yield sink.drain()
