"""`ccstats import`: files read in chunks and handed to an `Admin` (the store in process, or the
admin API of the server that holds it), with the same outcome either way.

Every rejection names its file and its place there as a person counts it (`ingest.UNITS`: line,
record or row, from 1); a file that cannot be read further stops the import with a message
that says exactly what was stored before. A Parquet file's columns are checked before anything
of it is stored (a column that is no field fails the whole file), locally and through a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ccstats.admin import SERVER_BATCH, Admin, AdminError
from ccstats.ingest import (
    IMPORT_CHUNK,
    UNITS,
    IngestResult,
    PayloadError,
    Unparsable,
    arrow_rows,
    detect_format,
    parquet_tables,
    read_chunks,
)
from ccstats.storage import StorageError

__all__ = ["FileOutcome", "Rejected", "Totals", "import_file"]


@dataclass(frozen=True)
class Rejected:
    """A record that was not stored: its file, its place there, its id, why, and the record."""

    file: str
    unit: str
    place: int
    id: str | None
    reason: str
    record: Any = None

    def text(self) -> str:
        """One line for the terminal: `calls.ndjson: line 3 (id c-7): channel: ...`."""
        if self.reason.startswith(f"{self.unit} {self.place} "):
            return f"{self.file}: {self.reason}"  # "line 3 is not JSON: ..."
        named = f" (id {self.id})" if self.id is not None else ""
        return f"{self.file}: {self.unit} {self.place}{named}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The `--rejects` line: file, place (`line`, `record` or `row`), id, reason, record."""
        return {
            "file": self.file,
            self.unit: self.place,
            "id": self.id,
            "reason": self.reason,
            "record": self.record,
        }


@dataclass
class FileOutcome:
    """What became of one file: records read and handed over, stored, rejected; and the error
    that stopped it, if one did."""

    file: str
    unit: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    last_place: int = 0
    """The place of the last record handed over (0: none)."""
    error: str | None = None

    def stopped(self, dry_run: bool) -> str:
        """What was stored of a file whose import stopped (`error`)."""
        verb = "would be stored" if dry_run else "were stored"
        if self.read == 0:
            done = f"nothing of {self.file} {'would be' if dry_run else 'was'} stored"
        else:
            done = (
                f"of {self.file}, the {self.read} records up to {self.unit} {self.last_place} "
                f"were read: {self.accepted} {verb}, {self.rejected} rejected; nothing after "
                f"{self.unit} {self.last_place} {'would be' if dry_run else 'was'} stored"
            )
        return f"{self.error} ({done})"


Report = Callable[[Rejected], None]
Advance = Callable[[int], None]


def import_file(
    admin: Admin, file: Path, kind: str, dry_run: bool, report: Report, advance: Advance
) -> FileOutcome:
    """Import one file through `admin`; each rejection goes to `report`, each chunk's size to
    `advance`. Errors end up in the outcome, never as exceptions."""
    try:
        fmt = detect_format(file)
    except PayloadError as error:
        return FileOutcome(file.name, "record", error=str(error))
    outcome = FileOutcome(file.name, UNITS[fmt])
    if not file.is_file():
        outcome.error = f"{file}: no such file"
        return outcome
    try:
        if kind == "conversations" and fmt == "parquet":
            _import_tables(admin, file, dry_run, outcome, report, advance)
        else:
            _import_items(admin, file, kind, dry_run, outcome, report, advance)
    except PayloadError as error:
        outcome.error = str(error)
    except AdminError as error:
        outcome.error = f"{file.name}: {error}"
    except StorageError as error:
        where = f"{outcome.unit} {outcome.last_place + 1}"
        outcome.error = f"{file.name}: the batch from {where} on was not stored: {error}"
    return outcome


def _chunk_size(admin: Admin) -> int:
    # A running server takes requests of `SERVER_BATCH`; in process, bigger upserts are faster
    # (`IMPORT_CHUNK`).
    return SERVER_BATCH if admin.through_server else IMPORT_CHUNK


def _import_items(
    admin: Admin,
    file: Path,
    kind: str,
    dry_run: bool,
    outcome: FileOutcome,
    report: Report,
    advance: Advance,
) -> None:
    for chunk in read_chunks(file, _chunk_size(admin)):
        # Lines that are not JSON never reach the store, nor the server (which would judge the
        # placeholder as a record): they are rejected here, by their line.
        sent: list[int] = []
        for position, item in enumerate(chunk.items):
            if isinstance(item, Unparsable):
                report(Rejected(file.name, outcome.unit, chunk.places[position], None, item.reason))
                outcome.rejected += 1
            else:
                sent.append(position)
        items = [chunk.items[p] for p in sent]
        result = admin.ingest(items, kind, dry_run) if items else IngestResult()
        for rejection in result.rejected:
            position = sent[rejection.index]
            place = chunk.places[position]
            item = chunk.items[position]
            report(Rejected(file.name, outcome.unit, place, rejection.id, rejection.reason, item))
        _count(outcome, len(chunk.items), result)
        outcome.last_place = chunk.places[-1]
        advance(len(chunk.items))


def _import_tables(
    admin: Admin,
    file: Path,
    dry_run: bool,
    outcome: FileOutcome,
    report: Report,
    advance: Advance,
) -> None:
    for table in parquet_tables(file):
        result = admin.ingest_table(table, dry_run)
        if result.rejected:
            indexes = pa.array([r.index for r in result.rejected], pa.int64())
            records = arrow_rows(table.take(indexes))
            for rejection, record in zip(result.rejected, records, strict=True):
                place = outcome.read + rejection.index + 1
                report(Rejected(file.name, "row", place, rejection.id, rejection.reason, record))
        _count(outcome, table.num_rows, result)
        outcome.last_place = outcome.read
        advance(table.num_rows)


def _count(outcome: FileOutcome, handed: int, result: IngestResult) -> None:
    outcome.read += handed
    outcome.accepted += result.accepted
    outcome.rejected += len(result.rejected)


@dataclass
class Totals:
    """Every file's outcome so far."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Records stored (or, in a dry run, that would be)."""
        return sum(f.accepted for f in self.files)

    @property
    def rejected(self) -> int:
        """Records rejected."""
        return sum(f.rejected for f in self.files)

    @property
    def failed(self) -> FileOutcome | None:
        """The file whose import stopped, if one did."""
        return next((f for f in self.files if f.error is not None), None)
