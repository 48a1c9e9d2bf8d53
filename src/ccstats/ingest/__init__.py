"""Records in: payloads and files parsed, validated, stored in Arrow batches.

A rejected record is reported with its position and the reason; the rest of the batch is stored.
A batch is atomic in the store: a storage failure stores none of it (`StorageError`).

- `rows`: the reference path (one pydantic validation per record), payloads, results;
- `columns`: the vectorised path every batch takes (the row path judges what it cannot);
- `files`: JSON, NDJSON, CSV and Parquet files read in chunks.
"""

from __future__ import annotations

from ccstats.ingest.columns import (
    arrow_rows,
    check_columns,
    ingest_conversations,
    ingest_table,
    items_to_table,
    normalise_time,
)
from ccstats.ingest.files import (
    FILE_FORMATS,
    IMPORT_CHUNK,
    UNITS,
    Chunk,
    detect_format,
    parquet_tables,
    read_chunks,
    read_records,
)
from ccstats.ingest.rows import (
    IngestResult,
    PayloadError,
    Rejection,
    Unparsable,
    ingest_intervals,
    ingest_rows,
    parse_payload,
    validate,
)

__all__ = [
    "FILE_FORMATS",
    "IMPORT_CHUNK",
    "UNITS",
    "Chunk",
    "IngestResult",
    "PayloadError",
    "Rejection",
    "Unparsable",
    "arrow_rows",
    "check_columns",
    "detect_format",
    "ingest_conversations",
    "ingest_intervals",
    "ingest_rows",
    "ingest_table",
    "items_to_table",
    "normalise_time",
    "parquet_tables",
    "parse_payload",
    "read_chunks",
    "read_records",
    "validate",
]
