"""What a metric query asks of an engine: one tenant's measures over a range, bucketed and grouped.

Engines consume an `AggregateRequest` (`storage.Store.aggregate`); the query model builds it
(`metrics.query.compile_query`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccstats.metrics.definitions import Measure

__all__ = ["AggregateRequest", "Filters"]


Filters = tuple[tuple[str, tuple[Any, ...]], ...]
"""(column, allowed values) pairs; a row matches when every column is one of its values."""


@dataclass(frozen=True)
class AggregateRequest:
    """Sums and counts of one tenant's conversations, bucketed by time and grouped.

    `bucket_starts` are UTC instants (from `timebuckets.bucket_starts`); each row falls in the
    bucket of the latest start <= its time. None means one bucket for the whole range.
    """

    tenant_id: str
    start: datetime
    end: datetime
    measures: tuple[Measure, ...]
    time_field: str = "created_at"
    bucket_starts: tuple[datetime, ...] | None = None
    group_by: tuple[str, ...] = ()
    filters: Filters = ()
    max_rows: int | None = None
    """More result rows than this raise `storage.ResultTooLarge` (none of them is kept)."""
