"""A JSON response rendered with orjson (fast, and datetimes/Decimals handled)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JSON", "UTCJSON"]


class JSON(Response):
    """`application/json` rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialize with orjson (non-str keys and numpy values allowed)."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class UTCJSON(JSON):
    """`JSON` for bodies whose naive datetimes are UTC: written with `+00:00`, as aware ones are."""

    def render(self, content: Any) -> bytes:
        """Serialize with orjson, naive datetimes as UTC."""
        return orjson.dumps(
            content,
            option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC,
        )
