"""Bounds of the values a request carries: every id, text, list and filter count a caller sends
has a size limit, checked where the request is parsed and refused with a 4xx that names the
parameter (issue 15: kept answers are keyed by request values, so an unbounded value was memory
kept per request).

The limits are far above what any report request needs: an access code, agent id or filter value
is a short identifier, a list names agents or access codes of one tenant.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

__all__ = [
    "MAX_TEXT",
    "MAX_SECRET",
    "MAX_LIST",
    "MAX_FILTERS",
    "MAX_GROUP_BY",
    "MAX_BUCKETS",
    "MAX_QUERY_ROWS",
    "TooLarge",
    "check_text",
    "check_list",
]

MAX_TEXT = 256
"""Characters of one id or text value (an access code, an agent id, a filter value, a name)."""
MAX_SECRET = 1024
"""Characters of a password, secret or token."""
MAX_LIST = 1000
"""Values of one list (accessIds, agentList, AcidList.N, a filter's values, metrics)."""
MAX_FILTERS = 32
"""Distinct fields filtered on in one request."""
MAX_GROUP_BY = 8
"""Fields grouped by in one query."""
MAX_BUCKETS = 100_000
"""Time buckets of one query (hour buckets of 11 years, day buckets of 273)."""
MAX_QUERY_ROWS = 100_000
"""Rows of one metric query's answer (buckets times groups)."""


class TooLarge(ValueError):
    """A request value over its limit; the message names the parameter, the limit and the size."""


def check_text(name: str, value: Any, limit: int = MAX_TEXT) -> None:
    """Raise TooLarge when `value` is a text longer than `limit` characters.

    Example:
        >>> check_text("accessCode", "x" * 300)
        Traceback (most recent call last):
        ccstats.limits.TooLarge: accessCode: at most 256 characters, got 300
    """
    if isinstance(value, str) and len(value) > limit:
        raise TooLarge(f"{name}: at most {limit} characters, got {len(value)}")


def check_list(name: str, values: Any, limit: int = MAX_LIST, text: int = MAX_TEXT) -> None:
    """Raise TooLarge for a list of more than `limit` values, or with a text over `text`."""
    if isinstance(values, Sized) and not isinstance(values, str) and len(values) > limit:
        raise TooLarge(f"{name}: at most {limit} values, got {len(values)}")
    if isinstance(values, list | tuple):
        for value in values:
            check_text(name, value, text)
