"""Narrow-window-first paging: find a page's rows in the newest (or oldest) slice of the range.

A page sorted by its time field needs only the first `offset + limit` rows of the range. Sorting
the keys of a tenant's whole month to keep 1000 reads every row of it (12 ms at 10M, bench/NOTES.md);
the same keys of its last day take 2 ms. So the store first searches a narrow window at the sorting
end of the range and widens it only when the window holds fewer rows than the page needs.

Why this is exact: for a descending sort, the window is [anchor - span, end). If it holds at least
`offset + limit` rows, every row left out is strictly older than the window's start, hence older
than every row in the window, so it sorts after all of them and the page is the same. The ascending
case is the mirror image. `id` ties never cross the boundary, because they need equal times.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ccstats.storage.requests import SearchRequest

__all__ = ["FIRST_SPAN", "narrowed", "next_span"]

FIRST_SPAN = timedelta(days=1)
"""The first window: a busy tenant's day holds more than a page (5 000 calls at 10M, bench)."""

_MAX_GROWTH = 64


def _anchor(request: SearchRequest, descending: bool) -> datetime | None:
    """Where the page starts in time: the range end (descending) or start, or the cursor's time."""
    bound = request.end if descending else request.start
    cursor = request.after[0] if request.after else None
    if isinstance(cursor, datetime) and bound is not None:
        return min(bound, cursor) if descending else max(bound, cursor)
    return bound


def narrowed(request: SearchRequest, span: timedelta) -> SearchRequest | None:
    """The request restricted to `span` at the sorting end of its range, or None when the
    window would hold the whole range (or the request does not sort by its time field)."""
    if request.limit is None or not request.sort or request.sort[0][0] != request.time_field:
        return None
    if request.start is None or request.end is None:
        return None
    descending = request.sort[0][1]
    anchor = _anchor(request, descending)
    if anchor is None:
        return None
    if descending:
        start = anchor - span
        return replace(request, start=start) if start > request.start else None
    end = anchor + span
    return replace(request, end=end, end_inclusive=False) if end < request.end else None


def next_span(span: timedelta, request: SearchRequest, found: int) -> timedelta:
    """A wider window, sized from the rows the last one held (`found` of the page's limit)."""
    need = request.offset + (request.limit or 0)
    held = request.offset + found if found else 0
    growth = 2 * need / held if held else _MAX_GROWTH
    return span * max(2.0, min(float(_MAX_GROWTH), growth))
