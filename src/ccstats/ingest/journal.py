"""The ingest journal: a batch acknowledged once it is durable on disk, stored soon after.

A request's upsert costs a transaction whatever its size (tens of milliseconds: the statements'
planning and the commit; bench/NOTES.md), so a client sending one finished conversation at a
time waits for it, and 16 clients wait for each other even when their requests share one
transaction (`commits`). With a journal (`ccstats serve --journal DIR`), a validated batch is
appended to the journal's current segment file and synced (`os.fsync`, shared by the batches
that arrive meanwhile): the request is then answered. A background thread takes everything
appended so far, switches the writers to a new segment, stores what it took in groups as large
as `commits.GROUP_ROWS` (one transaction each, a key never twice in a group, in arrival order),
records each change in the service's change log, and only then deletes the old segment.

What this promises:

- **Nothing acknowledged is lost.** A batch is answered once synced; a process killed before its
  batches were stored leaves their segments, which the next `Journal` on the directory stores
  first (`replay`), in order. A torn frame (a write cut short by the kill, never acknowledged)
  ends a segment's replay; a frame is checked by its length and CRC-32.
- **Nothing counts twice.** Storing is an upsert by (tenant, id): a segment stored again after a
  kill between its transaction and its deletion writes the same rows (their `stored_at` is in
  the frame).
- **Bounded.** Appends wait while `max_rows` rows are acknowledged but not yet stored.
- **Reads do not wait.** An answer reflects what is stored: a batch shows in reports once the
  background thread has stored it (usually well under a second; `lag` says how much waits).
  The thread also settles what the store deferred (next contacts) after each round, so that an
  FCR read seldom has any left to finish first, behind the thread's next transaction.
  Whatever must see every acknowledged batch first (an erasure, a tenant's deletion, a backup,
  a bulk import) calls `drain`.

A storage failure while storing keeps the batches (in memory and in their segment) and retries
them, logged, every `RETRY_S` seconds.
"""

from __future__ import annotations

import atexit
import logging
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ccstats.ingest.commits import GROUP_ROWS, Upsert, take_group
from ccstats.storage import Changes, StorageError

__all__ = ["JOURNAL_ROWS", "Journal", "RETRY_S"]

log = logging.getLogger("ccstats.journal")

JOURNAL_ROWS = 200_000
"""Rows acknowledged but not yet stored at most: appends wait beyond it."""
RETRY_S = 2.0
"""Seconds between attempts to store a group the store refused."""
_MAGIC = b"CCJ1"
_HEADER = struct.Struct("<4sQQI")
"""A frame's header: magic, the two Arrow streams' lengths, the CRC-32 of both."""
_SUFFIX = ".segment"


@dataclass(eq=False)
class _Entry:
    """An acknowledged batch, waiting to be stored."""

    number: int
    conversations: pa.Table
    messages: pa.Table

    def keys(self) -> set[tuple[str, str]]:
        """The batch's (tenant_id, id) keys."""
        tenants = self.conversations.column("tenant_id").to_pylist()
        return set(zip(tenants, self.conversations.column("id").to_pylist(), strict=True))


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def encode_frame(conversations: pa.Table, messages: pa.Table) -> bytes:
    """A batch as one journal frame: header, then both tables as Arrow IPC streams."""
    first, second = _stream(conversations), _stream(messages)
    crc = zlib.crc32(second, zlib.crc32(first))
    return _HEADER.pack(_MAGIC, len(first), len(second), crc) + first + second


def read_frames(path: Path) -> list[tuple[pa.Table, pa.Table]]:
    """The whole frames of a segment file, in order; reading stops at a torn or corrupt one."""
    data = path.read_bytes()
    frames: list[tuple[pa.Table, pa.Table]] = []
    at = 0
    while at + _HEADER.size <= len(data):
        magic, first, second, crc = _HEADER.unpack_from(data, at)
        start, middle, end = (
            at + _HEADER.size,
            at + _HEADER.size + first,
            at + _HEADER.size + first + second,
        )
        if magic != _MAGIC or end > len(data):
            break
        body = memoryview(data)[start:end]
        if zlib.crc32(body[first:], zlib.crc32(body[:first])) != crc:
            break
        frames.append(
            (
                pa.ipc.open_stream(pa.py_buffer(data[start:middle])).read_all(),
                pa.ipc.open_stream(pa.py_buffer(data[middle:end])).read_all(),
            )
        )
        at = end
    if at < len(data):
        log.warning(
            "journal segment %s: %d bytes after the last whole frame ignored (a write "
            "cut short: never acknowledged)",
            path.name,
            len(data) - at,
        )
    return frames


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{_SUFFIX}"))


class Journal:
    """Batches acknowledged once synced to a segment file, stored by a background thread."""

    def __init__(
        self,
        directory: Path,
        store: Upsert,
        committed: Callable[[Changes], None],
        max_rows: int = JOURNAL_ROWS,
        group_rows: int = GROUP_ROWS,
        settle: Callable[[], None] | None = None,
    ) -> None:
        """Open the journal in `directory` (made if missing): store the segments a previous
        process left (`replay`, before anything else), then start the background thread.
        `store` stores a group in one transaction (`Store.upsert_conversations`);
        `committed` hears of each stored group's change; `settle`, called after each round of
        groups, finishes the store's deferred work (`Service.flush`), so that a read that
        needs it (an FCR rate) seldom finds any left to wait for."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._store = store
        self._committed = committed
        self._max_rows = max_rows
        self._group_rows = group_rows
        self._settle = settle
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._sync_lock = threading.Lock()
        self._waiting: list[_Entry] = []
        self._unstored_rows = 0
        self._appended = self._synced = self._stored = 0
        self._closing = False
        self.error: BaseException | None = None
        """The last storage failure while storing, until a later group is stored."""
        self.replayed = self.replay()
        """Batches the previous process had acknowledged but not stored, stored on opening."""
        left = _segments(directory)
        self._segment_number = int(left[-1].stem) + 1 if left else 1
        self._path, self._fd = self._new_segment()
        self._offset = 0
        self._thread = threading.Thread(target=self._run, name="ccstats-journal", daemon=True)
        self._thread.start()
        # A journal left open at exit is closed first: its thread, killed inside the engine at
        # the interpreter's end, aborted the process (measured: `terminate called without an
        # active exception`, exit code 134).
        atexit.register(self.close)

    # -- writers ------------------------------------------------------------------------------
    def append(self, conversations: pa.Table, messages: pa.Table) -> Changes:
        """Append a batch and return once it is durable (synced), before it is stored: the
        change is recorded when it is (so this returns no change). Waits while the journal is
        full. Raises StorageError when the batch could not be written (nothing of it is)."""
        frame = encode_frame(conversations, messages)
        rows = conversations.num_rows
        with self._changed:
            while self._unstored_rows and self._unstored_rows + rows > self._max_rows:
                if self._closing:
                    break
                self._changed.wait()
            if self._closing:
                raise StorageError("the server is stopping: the batch was not taken")
            try:
                _write_all(self._fd, frame)
            except OSError as error:
                os.ftruncate(self._fd, self._offset)  # no torn frame before later ones
                raise StorageError(f"the journal could not be written: {error}") from None
            self._offset += len(frame)
            self._appended += 1
            number = self._appended
            self._waiting.append(_Entry(number, conversations, messages))
            self._unstored_rows += rows
            self._changed.notify_all()
        self._sync(number)
        return Changes()

    def _sync(self, number: int) -> None:
        """Return once frame `number` is synced; one `fsync` serves every frame written before
        it (the writers that arrive meanwhile wait on the lock, then find theirs done)."""
        with self._sync_lock:
            with self._lock:
                if self._synced >= number:
                    return
                fd, upto = self._fd, self._appended
            os.fsync(fd)
            with self._lock:
                self._synced = max(self._synced, upto)

    def drain(self, timeout: float = 300.0) -> None:
        """Return once every batch appended before the call is stored. Raises StorageError when
        that takes longer than `timeout` seconds (the store keeps refusing: see `error`)."""
        with self._changed:
            target = self._appended
            if not self._changed.wait_for(lambda: self._stored >= target, timeout):
                raise StorageError(
                    f"the ingest journal could not store its batches within {timeout:g} s"
                    + (f": {self.error}" if self.error is not None else "")
                )

    def lag(self) -> tuple[int, int]:
        """(batches, rows) acknowledged and not yet stored."""
        with self._lock:
            return self._appended - self._stored, self._unstored_rows

    def close(self) -> None:
        """Store what waits (while the store takes it), stop the thread, remove the empty
        segment. Segments whose batches could not be stored stay for the next opening."""
        with self._changed:
            if self._closing:
                return  # closed before
            atexit.unregister(self.close)
            self._closing = True
            self._changed.notify_all()
        self._thread.join()
        with self._sync_lock, self._lock:
            os.close(self._fd)
            if self._offset == 0:
                self._path.unlink(missing_ok=True)

    # -- the background thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._waiting) or self._closing)
                if not self._waiting:
                    return
            try:
                entries, old = self._switch()
            except OSError:  # no new segment (a full disk): nothing taken, try again later
                log.exception("the journal could not start a new segment; retrying")
                with self._changed:
                    if self._changed.wait_for(lambda: self._closing, RETRY_S):
                        return  # what waits is in the current segment, for the next opening
                continue
            if not self._store_all(entries):
                return  # closing while the store refuses: the segment stays for a replay
            old.unlink(missing_ok=True)
            with self._changed:
                self._stored = entries[-1].number
                self._unstored_rows -= sum(e.conversations.num_rows for e in entries)
                self._changed.notify_all()
            self._settled()

    def _settled(self) -> None:
        if self._settle is None:
            return
        try:
            self._settle()
        except Exception:  # deferred work only: the background upkeep settles it later
            log.exception("settling after the journal's round failed")

    def _switch(self) -> tuple[list[_Entry], Path]:
        """Take what waits and give the writers a new segment (opened first: if that fails,
        nothing is taken); the old one synced and closed."""
        with self._sync_lock:
            path, fd = self._new_segment()
            with self._lock:
                entries, self._waiting = self._waiting, []
                old_path, old_fd = self._path, self._fd
                self._path, self._fd = path, fd
                self._offset = 0
            try:
                os.fsync(old_fd)
            except OSError:  # its batches are stored next: the store's commit makes them durable
                log.exception("the journal could not sync segment %s", old_path.name)
            os.close(old_fd)
            with self._lock:
                self._synced = max(self._synced, entries[-1].number)
        return entries, old_path

    def _store_all(self, entries: Sequence[_Entry]) -> bool:
        """Store the entries in groups, in order, retrying a refused group until it is stored
        (False: the journal closed meanwhile)."""
        queue = deque(entries)
        while queue:
            group = take_group(queue, self._group_rows)
            while not self._stored_group(group):
                with self._changed:
                    if self._changed.wait_for(lambda: self._closing, RETRY_S):
                        return False
        return True

    def _store_group(self, group: Sequence[_Entry]) -> None:
        """Store a group in one upsert and record its change."""
        changes = self._store(
            pa.concat_tables([e.conversations for e in group]),
            pa.concat_tables([e.messages for e in group]),
        )
        self._committed(changes)

    def _stored_group(self, group: Sequence[_Entry]) -> bool:
        try:
            self._store_group(group)
        except Exception as error:  # kept and retried: the batches were acknowledged
            log.exception("the journal could not store %d batches; retrying", len(group))
            self.error = error
            return False
        self.error = None
        return True

    # -- segments -----------------------------------------------------------------------------
    def _new_segment(self) -> tuple[Path, int]:
        path = self.directory / f"{self._segment_number:012d}{_SUFFIX}"
        self._segment_number += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return path, fd

    def replay(self) -> int:
        """Store the batches of the segments in the directory, oldest first, deleting each once
        stored; the number of batches. Raises StorageError when the store refuses them (they
        stay)."""
        replayed = 0
        for path in _segments(self.directory):
            frames = read_frames(path)
            queue = deque(_Entry(i, c, m) for i, (c, m) in enumerate(frames))
            while queue:
                self._store_group(take_group(queue, self._group_rows))
            path.unlink()
            replayed += len(frames)
        if replayed:
            log.info("ingest journal: stored %d batches acknowledged before a stop", replayed)
        return replayed


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
