"""Equality filter values of native requests, checked against their column's type.

`POST /v1/query` sends them as JSON (`"filters": {"channel": ["voice"], "bot_turns": 3}`),
`GET /v1/conversations` as query text (`bot_turns=3`); both end here, so a value of the wrong type
is a 400 `invalid_filter` naming the field, never a value the engine has to make sense of.
"""

from __future__ import annotations

import re
from typing import Any

from ccstats.api.errors import ApiError
from ccstats.records import INT64_MAX, INT64_MIN
from ccstats.schema import column_type

__all__ = ["filter_value", "filter_text"]

_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_filter", f"{name}: {message}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:50] + "..."


def _int(name: str, value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise _bad(name, f"expected an integer, got {_shown(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise _bad(name, f"{number} is out of range (a 64-bit integer)")
    return number


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.lower() if isinstance(value, str) else None
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise _bad(name, f"expected true or false, got {_shown(value)}")


def _text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids are compared as text (`records.ID_FIELDS`)
    raise _bad(name, f"expected a string, got {_shown(value)}")


def filter_value(name: str, value: Any) -> Any:
    """A filter value as its column holds it; None matches a missing value.

    Example:
        >>> filter_value("bot_turns", "3"), filter_value("queued", "true"), filter_value("agent_id", 7)
        (3, True, '7')
    """
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise _bad(
            name, f"each value must be a string, number, boolean or null, got {_shown(value)}"
        )
    kind = column_type(name)
    if kind == "int":
        return _int(name, value)
    if kind == "bool":
        return _bool(name, value)
    return _text(name, value)


def filter_text(name: str, text: str) -> Any:
    """A filter value given as query text (`bot_turns=3`); an empty value matches null."""
    return None if text == "" else filter_value(name, text)
