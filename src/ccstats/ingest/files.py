"""Files in: JSON, NDJSON, CSV and Parquet read in chunks of items, or Parquet as Arrow batches."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ccstats.ingest.columns import arrow_rows, check_columns
from ccstats.ingest.rows import PayloadError, ndjson_items, parse_payload

__all__ = [
    "FILE_FORMATS",
    "IMPORT_CHUNK",
    "arrow_rows",
    "detect_format",
    "parquet_tables",
    "read_records",
]

FILE_FORMATS = ("json", "ndjson", "csv", "parquet")


# -- files -------------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """The file format from its extension (.json, .ndjson/.jsonl, .csv, .parquet)."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"jsonl": "ndjson", "pq": "parquet"}.get(suffix, suffix)
    if fmt not in FILE_FORMATS:
        raise PayloadError(
            f"{path.name}: unknown format {suffix!r}; use one of {', '.join(FILE_FORMATS)}"
        )
    return fmt


def _csv_row(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        if key == "messages":
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value  # validation reports it with the row's position
        else:
            out[key] = value
    return out


IMPORT_CHUNK = 50_000
"""Records per upsert of a file imported into a store in process. Each upsert scans the
tenant's keys: at 10M conversations, chunks of 50 000 NDJSON records imported at 33k/s, of
10 000 at 18k/s (bench/NOTES.md, measured when each upsert also scanned its customers)."""


def read_records(path: Path, chunk_size: int = 10_000) -> Iterator[list[Any]]:
    """Items of a JSON, NDJSON, CSV or Parquet file, in chunks (positions continue across chunks).

    NDJSON, CSV and Parquet are read a chunk at a time, whatever the file's size; a JSON
    array is parsed whole.
    """
    fmt = detect_format(path)
    try:
        if fmt == "parquet":
            yield from _read_parquet(path, chunk_size)
        elif fmt == "csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                yield from _chunks((_csv_row(r) for r in csv.DictReader(handle)), chunk_size)
        elif fmt == "ndjson":
            with path.open("rb") as handle:
                yield from _chunks(ndjson_items(handle), chunk_size)
        else:
            data = path.read_bytes()
            items = parse_payload(
                data, "application/x-ndjson" if fmt == "ndjson" else "application/json"
            )
            yield from _chunks(iter(items), chunk_size)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise PayloadError(f"{path.name}: cannot read as {fmt}: {error}") from None


def _read_parquet(path: Path, chunk_size: int) -> Iterator[list[Any]]:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise PayloadError(f"{path.name}: not a Parquet file: {error}") from None
    for batch in parquet.iter_batches(batch_size=chunk_size):
        yield arrow_rows(pa.Table.from_batches([batch]))


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- files ----------------------------------------------------------------------------------------


def _pandas_index_columns(schema: pa.Schema) -> list[str]:
    """Columns pandas wrote for its index (`DataFrame.to_parquet`), which are not fields."""
    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return []
    try:
        names = json.loads(raw).get("index_columns", [])
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)]


def parquet_tables(path: Path, batch_size: int = 200_000) -> Iterator[pa.Table]:
    """A Parquet file's conversations in batches of columns, its columns checked first."""
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise PayloadError(f"{path.name}: not a Parquet file: {error}") from None
    schema = parquet.schema_arrow
    ignored = _pandas_index_columns(schema)
    check_columns(schema, path.name, ignored)
    wanted = [n for n in schema.names if n not in ignored]
    for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted):
        yield pa.Table.from_batches([batch])
