"""Timing helpers: the first (cold) run, then the median and p95 of warm runs, in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "measure", "once"]


@dataclass(frozen=True)
class Timing:
    """Milliseconds: the first run, then the median, p95 and minimum of the warm runs."""

    cold_ms: float
    median_ms: float
    p95_ms: float
    min_ms: float
    runs: int

    def as_dict(self) -> dict[str, float]:
        """For the JSON results."""
        return {
            "cold_ms": self.cold_ms,
            "median_ms": self.median_ms,
            "p95_ms": self.p95_ms,
            "min_ms": self.min_ms,
            "runs": self.runs,
        }


def once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def measure(fn: Callable[[], Any], runs: int, cold: float | None = None) -> Timing:
    """Time `fn`: its first call (unless `cold` is already known), then `runs` warm calls."""
    if cold is None:
        cold, _ = once(fn)
    samples = sorted(once(fn)[0] for _ in range(max(1, runs)))
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return Timing(cold, statistics.median(samples), p95, samples[0], len(samples))
