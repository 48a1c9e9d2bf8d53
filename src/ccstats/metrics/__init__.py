"""The metric catalogue and the query model every report and API runs through."""

from __future__ import annotations

import difflib

from ccstats.metrics.catalog import CATALOG, PARAMETRIC, resolve_parametric
from ccstats.metrics.definitions import Measure, Metric, Ratio

__all__ = [
    "CATALOG",
    "Measure",
    "Metric",
    "Ratio",
    "UnknownNameError",
    "get_metric",
    "nearest",
    "PARAMETRIC",
]


class UnknownNameError(KeyError):
    """An unknown metric, field or other name; the message names the nearest valid one."""

    def __init__(self, kind: str, name: str, choices: list[str]) -> None:
        self.kind, self.name = kind, name
        self.suggestion = nearest(name, choices)
        hint = f"; did you mean {self.suggestion!r}?" if self.suggestion else ""
        super().__init__(f"unknown {kind} {name!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


def nearest(name: str, choices: list[str]) -> str | None:
    """The closest valid name, if any is close enough."""
    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return found[0] if found else None


def get_metric(name: str) -> Metric:
    """A metric by name (parametric names such as `service_level_30s` included)."""
    if name in CATALOG:
        return CATALOG[name]
    resolved = resolve_parametric(name)
    if resolved:
        return next(m for m in resolved if m.name == name)
    raise UnknownNameError("metric", name, list(CATALOG))
