"""Files in: JSON, NDJSON, CSV and Parquet read in chunks of items, or Parquet as Arrow batches."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ccstats.ingest.columns import arrow_rows, check_columns
from ccstats.ingest.rows import PayloadError, ndjson_numbered, parse_payload

__all__ = [
    "FILE_FORMATS",
    "IMPORT_CHUNK",
    "UNITS",
    "Chunk",
    "arrow_rows",
    "detect_format",
    "parquet_tables",
    "read_chunks",
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


UNITS = {"json": "record", "ndjson": "line", "csv": "line", "parquet": "row"}
"""What a file's places count: the records of a JSON array, the lines of NDJSON and CSV (the
header is line 1), the rows of Parquet; every number starts at 1."""


@dataclass(frozen=True)
class Chunk:
    """Items read from a file, each with its place in it as a person counts (`UNITS`)."""

    items: list[Any]
    places: list[int]


def read_records(path: Path, chunk_size: int = 10_000) -> Iterator[list[Any]]:
    """Items of a JSON, NDJSON, CSV or Parquet file, in chunks (positions continue across chunks).

    NDJSON, CSV and Parquet are read a chunk at a time, whatever the file's size; a JSON
    array is parsed whole.
    """
    for chunk in read_chunks(path, chunk_size):
        yield chunk.items


def read_chunks(path: Path, chunk_size: int = 10_000) -> Iterator[Chunk]:
    """`read_records` with each item's place in the file (`UNITS`). Raises PayloadError naming
    the file and the place where reading stopped."""
    fmt = detect_format(path)
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_size)
        return
    place = 0
    try:
        for chunk in _chunks(_numbered(path, fmt), chunk_size):
            yield chunk
            place = chunk.places[-1]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        where = f" after {UNITS[fmt]} {place}" if place else ""
        raise PayloadError(f"{path.name}: cannot read as {fmt}{where}: {error}") from None


def _numbered(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, _csv_row(row)  # the line the record ends on
    elif fmt == "ndjson":
        with path.open("rb") as handle:
            yield from ndjson_numbered(handle)
    else:
        try:
            items = parse_payload(path.read_bytes(), "application/json")
        except PayloadError as error:
            raise PayloadError(f"{path.name}: {error}") from None
        yield from enumerate(items, start=1)


def _read_parquet(path: Path, chunk_size: int) -> Iterator[Chunk]:
    place = 0
    for table in _parquet_batches(path, chunk_size, None):
        yield Chunk(arrow_rows(table), list(range(place + 1, place + table.num_rows + 1)))
        place += table.num_rows


def _chunks(items: Iterator[tuple[int, Any]], size: int) -> Iterator[Chunk]:
    chunk = Chunk([], [])
    for place, item in items:
        chunk.items.append(item)
        chunk.places.append(place)
        if len(chunk.items) >= size:
            yield chunk
            chunk = Chunk([], [])
    if chunk.items:
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
    """A Parquet file's conversations in batches of columns, its columns checked first (a column
    that is no field fails the whole file: `check_columns`). Raises PayloadError naming the file
    and the first row it could not read (a damaged file)."""

    def columns(schema: pa.Schema) -> list[str]:
        ignored = _pandas_index_columns(schema)
        check_columns(schema, path.name, ignored)
        return [n for n in schema.names if n not in ignored]

    yield from _parquet_batches(path, batch_size, columns)


def _parquet_batches(
    path: Path, batch_size: int, columns: Callable[[pa.Schema], list[str]] | None
) -> Iterator[pa.Table]:
    try:
        parquet = pq.ParquetFile(path)
        wanted = columns(parquet.schema_arrow) if columns is not None else None
    except PayloadError:
        raise
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise PayloadError(f"{path.name}: not a Parquet file: {error}") from None
    place = 0
    # Row group by row group: a batch never spans two, so a damaged one stops the file after
    # the groups before it, which are whole and good.
    for group in range(parquet.num_row_groups):
        batches = parquet.iter_batches(batch_size=batch_size, row_groups=[group], columns=wanted)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError, ValueError) as error:
                raise PayloadError(
                    f"{path.name}: cannot read the Parquet data from row {place + 1} on "
                    f"(a damaged file?): {' '.join(str(error).split())}"
                ) from None
            if batch is None:
                break
            place += batch.num_rows
            yield pa.Table.from_batches([batch])
