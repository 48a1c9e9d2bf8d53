"""The failed-authentication limiter (`ccstats.ratelimit`): windows, keys, addresses, memory."""

from __future__ import annotations

import pytest

from ccstats.config import Settings
from ccstats.ratelimit import AuthLimits, FailureLimiter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_blocked_after_its_failures_until_the_window_passes() -> None:
    clock = Clock()
    limiter = FailureLimiter(AuthLimits(per_key=3, per_address=100, window_s=60), clock)
    for second in (0, 10, 20):
        assert limiter.retry_after("k") is None
        clock.now = 1000 + second
        limiter.failed("k")
    # Failures at 1000, 1010, 1020: blocked until the oldest is 60 s old (1060).
    clock.now = 1030
    assert limiter.retry_after("k") == 30
    assert limiter.retry_after("other") is None
    clock.now = 1059.5
    assert limiter.retry_after("k") == 1  # rounded up: never "0 s" while still blocked
    clock.now = 1060
    assert limiter.retry_after("k") is None  # two failures left in the window
    limiter.failed("k")
    assert limiter.retry_after("k") == 10  # 1010 leaves at 1070


def test_an_address_has_its_own_allowance_and_blocks_every_key() -> None:
    clock = Clock()
    limiter = FailureLimiter(AuthLimits(per_key=2, per_address=4, window_s=60), clock)
    for key in ("a", "b", "c", "d"):
        limiter.failed("address:1.2.3.4", key)
    assert limiter.retry_after("address:1.2.3.4", "e") == 60
    assert limiter.retry_after("address:5.6.7.8", "e") is None
    assert limiter.retry_after("a") is None  # one failure each: under the per-key limit


def test_memory_is_bounded_by_the_keys_tracked() -> None:
    limiter = FailureLimiter(AuthLimits(per_key=5), Clock(), max_keys=100)
    for i in range(10_000):
        limiter.failed(f"k{i}", f"k{i}", f"k{i}")
    assert len(limiter) == 100
    assert limiter.retry_after("k9999") is None  # 3 of 5


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCSTATS_AUTH_FAILURES_PER_KEY", "5")
    monkeypatch.setenv("CCSTATS_AUTH_FAILURES_PER_ADDRESS", "50")
    monkeypatch.setenv("CCSTATS_AUTH_WINDOW_S", "90")
    assert Settings().auth_limits == AuthLimits(per_key=5, per_address=50, window_s=90)
    monkeypatch.setenv("CCSTATS_AUTH_WINDOW_S", "-1")
    with pytest.raises(ValueError, match=r"\$CCSTATS_AUTH_WINDOW_S must be a positive number"):
        Settings()
