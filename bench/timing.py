"""Timing helpers: the first (cold) run, then the median and p95 of warm runs, in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Timing", "alternate", "measure", "once", "timing_of"]


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
    return timing_of(cold, [once(fn)[0] for _ in range(max(1, runs))])


def timing_of(cold: float, samples: list[float]) -> Timing:
    """The Timing of a first run and the warm runs' milliseconds."""
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return Timing(cold, statistics.median(samples), p95, samples[0], len(samples))


def alternate(fns: list[Callable[[], Any]], runs: int) -> list[Timing]:
    """Time several functions taking turns (A, B, A, B, ...): each one's first run, then `runs`
    warm runs of each, interleaved, so that a change of the machine's load hits them alike."""
    colds = [once(fn)[0] for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(max(1, runs)):
        for fn, mine in zip(fns, samples, strict=True):
            mine.append(once(fn)[0])
    return [timing_of(cold, mine) for cold, mine in zip(colds, samples, strict=True)]
