"""Failed authentications limited per key and per client address, for every dialect.

A failure is a login with a wrong email or password (Twin24), an unknown `appKey` or wrong
`appSecret` (Huawei), a signature that does not check out or an unknown key (7moor, Alibaba), an
unknown API token (native). Each is counted against the key it named (email, appKey, AccessKeyId,
token key id) and against the client address. Once a key or an address has `per_key` or
`per_address` failures within `window_s` seconds, its further attempts are refused, before any
secret is checked, until the oldest failure is `window_s` old: a 429 in the dialect's shape with
`Retry-After`. Successes are not counted and do not reset anything (an attacker cannot clear a
block by interleaving one right guess it has).

Limits are per server process, in memory, and bounded: at most `max_keys` keys and addresses are
tracked, the least recently failed forgotten first. The client address is the connection's peer:
behind a reverse proxy every caller shares the proxy's address, so raise `per_address` there.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthLimits", "FailureLimiter", "limiter_of", "address_key"]


@dataclass(frozen=True)
class AuthLimits:
    """How many failed authentications a key or an address may have within a window."""

    per_key: int = 10
    per_address: int = 100
    window_s: float = 300.0


class FailureLimiter:
    """Failure counts per key in a sliding window; thread-safe and bounded in memory."""

    def __init__(
        self,
        limits: AuthLimits = AuthLimits(),
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        """A limiter with `limits`, reading time from `clock`, tracking at most `max_keys`."""
        self.limits, self._clock, self._max_keys = limits, clock, max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _allowed(self, key: str) -> int:
        return self.limits.per_address if key.startswith("address:") else self.limits.per_key

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until every one of `keys` may try again, or None when none is blocked.

        Example:
            >>> clock = iter([0.0, 1.0, 2.0, 3.0]).__next__
            >>> limiter = FailureLimiter(AuthLimits(per_key=2, window_s=60), clock=clock)
            >>> limiter.failed("twin24:a@b"); limiter.failed("twin24:a@b")
            >>> limiter.retry_after("twin24:a@b")
            58
        """
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if times is None:
                    continue
                self._expire(times, now)
                if len(times) >= self._allowed(key):
                    wait = max(wait, times[-self._allowed(key)] + self.limits.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, *keys: str) -> None:
        """Count one failed attempt against each of `keys`."""
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._failures.pop(key, None) or deque()
                self._expire(times, now)
                times.append(now)
                while len(times) > self._allowed(key):
                    times.popleft()  # only the newest `allowed` failures matter
                self._failures[key] = times  # most recently failed last
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.limits.window_s:
            times.popleft()

    def __len__(self) -> int:
        return len(self._failures)


def address_key(request: Any) -> str:
    """The client address of a Starlette request, as a limiter key."""
    client = getattr(request, "client", None)
    return f"address:{client.host if client is not None else 'unknown'}"


_LOCK = threading.Lock()


def limiter_of(state: Any) -> FailureLimiter:
    """The app's limiter (`state.auth_limiter`), made with `state.settings.auth_limits` on first
    use."""
    with _LOCK:
        found = getattr(state, "auth_limiter", None)
        if found is None:
            settings = getattr(state, "settings", None)
            found = FailureLimiter(getattr(settings, "auth_limits", None) or AuthLimits())
            state.auth_limiter = found
        return found
