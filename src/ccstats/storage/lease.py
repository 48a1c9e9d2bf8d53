"""Writer leases: one process writes a tenant at a time.

An engine several processes can open at once (ClickHouse) must not let two of them write one
tenant together: both would cancel the same row and every sum of its range would be off until
the key is written again. Before it writes a tenant, a store holds the tenant's lease: a value
`<until> <holder>` under `lease:writer:<tenant>` in the registry's server state, taken and
renewed with the registry's compare-and-set (atomic across processes). A lease another holder
has and that has not expired refuses the write (`WriterBusy`, nothing written); an expired one
is taken over, as is one whose holder was a process of this machine that no longer runs (a
server killed and restarted). A store lets its leases go when it closes.

The expiry is in UTC from each process's clock: the machines' clocks must agree to well within
`LEASE_SECONDS`. A lease is renewed when less than half of it is left before a write, so a
write that starts within its lease finishes within it unless it takes longer than half of it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from ccstats.storage.base import StorageError
from ccstats.storage.registry import Registry

__all__ = ["LEASE_PREFIX", "LEASE_SECONDS", "WriterBusy", "WriterLease", "default_holder"]

log = logging.getLogger(__name__)

LEASE_PREFIX = "lease:writer:"
LEASE_SECONDS = 60.0
"""How long a lease lasts after it is taken or renewed."""
_TRIES = 5


class WriterBusy(StorageError):
    """Another process holds the tenant's writer lease: nothing was written."""


def default_holder() -> str:
    """This process's name in leases: `host:pid:random`, new for every store object."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(value: str) -> tuple[datetime, str]:
    """(until, holder) of a lease value; an unreadable one has long expired."""
    until, _, holder = value.partition(" ")
    try:
        return datetime.fromisoformat(until), holder
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC), holder


def _gone(holder: str) -> bool:
    """Whether the holder was a process of this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, as another user
        return False
    return False


class WriterLease:
    """The writer leases of one store object (see the module docstring)."""

    def __init__(
        self,
        registry: Registry,
        holder: str | None = None,
        seconds: float = LEASE_SECONDS,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Leases in `registry` held as `holder` (default: `default_holder()`) for `seconds`;
        `clock` gives the time (tests pass their own)."""
        self.registry = registry
        self.holder = holder or default_holder()
        self.seconds = seconds
        self.clock = clock
        self._held: dict[str, tuple[str, datetime]] = {}
        """Per tenant, the lease value this holder wrote and its expiry."""
        self._lock = threading.Lock()

    def hold(self, tenant_ids: Iterable[str]) -> None:
        """Hold the lease of every tenant, taking or renewing it; WriterBusy (naming the
        holder and until when) if another holder has one."""
        with self._lock:
            for tenant_id in sorted(set(tenant_ids)):
                kept = self._held.get(tenant_id)
                left = self.seconds / 2
                if kept is None or kept[1] - self.clock() < timedelta(seconds=left):
                    self._take(tenant_id)

    def holds(self, tenant_id: str) -> bool:
        """Whether this holder's lease of the tenant is current (as it last wrote it)."""
        kept = self._held.get(tenant_id)
        return kept is not None and kept[1] > self.clock()

    def _take(self, tenant_id: str) -> None:
        key = LEASE_PREFIX + tenant_id
        for _ in range(_TRIES):
            now = self.clock()
            current = self.registry.get_meta(key)
            if current is not None:
                until, holder = _parse(current)
                if holder != self.holder and until > now and not _gone(holder):
                    raise WriterBusy(
                        f"tenant {tenant_id!r} is being written by another process ({holder})"
                        f" until {_iso(until)} at least: send the records through that process"
                        " (its admin API), or stop it; only one process writes a tenant"
                    )
            until = now + timedelta(seconds=self.seconds)
            value = f"{_iso(until)} {self.holder}"
            if self.registry.compare_and_set(key, current, value):
                self._held[tenant_id] = (value, until)
                return
        raise WriterBusy(f"tenant {tenant_id!r}: its writer lease changed hands {_TRIES} times")

    def release(self) -> None:
        """Let every lease this holder has go (best effort: an unreachable registry leaves
        them to expire)."""
        with self._lock:
            held, self._held = self._held, {}
        for tenant_id, (value, _) in held.items():
            try:
                self.registry.compare_and_set(LEASE_PREFIX + tenant_id, value, None)
            except StorageError as error:
                log.warning("writer lease of %r left to expire: %s", tenant_id, error)
