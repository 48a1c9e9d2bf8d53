"""Writer leases (`storage.lease`) on every engine's registry: one holder writes a tenant at a
time; a lease expires, is renewed before half of it is left, is let go, and is taken over from
a process of this machine that no longer runs. Time comes from a clock the test moves."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ccstats.storage import Store
from ccstats.storage.lease import LEASE_PREFIX, WriterBusy, WriterLease, default_holder

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test sets."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _pair(store: Store, clock: Clock) -> tuple[WriterLease, WriterLease]:
    return (
        WriterLease(store.registry, "host-a:1:aa", seconds=60, clock=clock),
        WriterLease(store.registry, "host-b:2:bb", seconds=60, clock=clock),
    )


def test_one_holder_at_a_time_until_expiry(engine_store: Store) -> None:
    clock = Clock()
    a, b = _pair(engine_store, clock)
    a.hold(["t1"])
    assert a.holds("t1") and not b.holds("t1")
    with pytest.raises(WriterBusy, match=r"'t1' is being written by another process \(host-a"):
        b.hold(["t1", "t2"])
    b.hold(["t2"])  # another tenant is free
    clock.now = T0 + timedelta(seconds=59)
    with pytest.raises(WriterBusy):
        b.hold(["t1"])
    clock.now = T0 + timedelta(seconds=61)  # a's lease ran out: b takes it over
    b.hold(["t1"])
    assert b.holds("t1") and not a.holds("t1")
    with pytest.raises(WriterBusy, match="host-b"):
        a.hold(["t1"])


def test_a_lease_is_renewed_before_half_of_it_is_left(engine_store: Store) -> None:
    clock = Clock()
    a, b = _pair(engine_store, clock)
    a.hold(["t1"])
    first = engine_store.registry.get_meta(LEASE_PREFIX + "t1")
    clock.now = T0 + timedelta(seconds=29)  # more than half left: nothing written
    a.hold(["t1"])
    assert engine_store.registry.get_meta(LEASE_PREFIX + "t1") == first
    clock.now = T0 + timedelta(seconds=31)  # less than half left: renewed until 91 s
    a.hold(["t1"])
    renewed = engine_store.registry.get_meta(LEASE_PREFIX + "t1")
    assert (
        renewed == f"{(T0 + timedelta(seconds=91)).isoformat(timespec='microseconds')} host-a:1:aa"
    )
    clock.now = T0 + timedelta(seconds=89)
    with pytest.raises(WriterBusy):
        b.hold(["t1"])


def test_a_released_lease_is_free(engine_store: Store) -> None:
    clock = Clock()
    a, b = _pair(engine_store, clock)
    a.hold(["t1", "t2"])
    a.release()
    assert engine_store.registry.get_meta(LEASE_PREFIX + "t1") is None
    b.hold(["t1", "t2"])
    a.release()  # a holds nothing now: b's leases stay
    with pytest.raises(WriterBusy):
        a.hold(["t2"])


def test_the_lease_of_a_process_that_no_longer_runs_is_taken_over(engine_store: Store) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(ended.stdout)
    host = default_holder().split(":")[0]
    clock = Clock()
    dead = WriterLease(engine_store.registry, f"{host}:{pid}:cc", clock=clock)
    dead.hold(["t1"])
    WriterLease(engine_store.registry, clock=clock).hold(["t1"])  # within its minute
    # A process of another machine is never judged: its lease holds until it expires.
    remote = WriterLease(engine_store.registry, f"elsewhere:{pid}:dd", clock=clock)
    remote.hold(["t2"])
    with pytest.raises(WriterBusy):
        WriterLease(engine_store.registry, clock=clock).hold(["t2"])
