"""A vendor credential's scope (issue 20): the records every answer of the credential is
restricted to.

A tenant fed by several platforms (Huawei bots, 7moor chats, Twin24 campaigns, an Alibaba hotline)
keeps them all in one store; each vendor API must answer like that vendor would, over its own
platform's records. A scope names the `source`s a credential sees (`None` standing for records
with no source) and, optionally, the access codes, channels and directions. A new vendor
credential sees its own vendor's source and the records with no source (`default_scope`), so a
tenant that moved from one platform to ccstats keeps its history without labelling it.

The scope is a plain value: registries keep it as JSON text (`to_json`, `from_json`), the service
turns it into the filters of every query (`filters`, `narrow`, `narrow_pairs`).

Example:
    >>> scope = default_scope("7moor")
    >>> scope.as_dict()
    {'sources': ['7moor', None], 'access_codes': None, 'channels': None, 'directions': None}
    >>> scope.narrow({"channel": ("chat",), "source": ("7moor", "huawei")})
    {'channel': ('chat',), 'source': ('7moor',)}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from ccstats.limits import MAX_LIST, MAX_TEXT
from ccstats.records import Conversation

__all__ = [
    "CHANNELS",
    "DIRECTIONS",
    "SOURCE_MAX",
    "VENDOR_SOURCES",
    "Scope",
    "ScopeError",
    "default_scope",
]

CHANNELS: tuple[str, ...] = get_args(Conversation.model_fields["channel"].annotation)
"""The channels a scope may name (the data model's)."""
DIRECTIONS: tuple[str, ...] = get_args(Conversation.model_fields["direction"].annotation)
"""The directions a scope may name (the data model's)."""
SOURCE_MAX = 64
"""Characters of a source name (as `Conversation.source`)."""

VENDOR_SOURCES = {"huawei": "huawei", "7moor": "7moor", "twin24": "twin24", "aliyun": "aliyun"}
"""Credential kind -> the `source` its vendor's records carry (the demo's and the docs' names)."""

Pairs = tuple[tuple[str, tuple[Any, ...]], ...]
"""(column, allowed values) pairs, as `metrics.plan.Filters`."""


class ScopeError(ValueError):
    """A scope that cannot be used: the message says which part and why."""


def _values(name: str, given: Any, allow_none: bool = False) -> tuple[Any, ...]:
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise ScopeError(f"scope {name}: a list of values, not {type(given).__name__}")
    if not given:
        raise ScopeError(f"scope {name}: give at least one value (or leave it out)")
    if len(given) > MAX_LIST:
        raise ScopeError(f"scope {name}: at most {MAX_LIST} values, got {len(given)}")
    for value in given:
        if value is None and allow_none:
            continue
        if not isinstance(value, str):
            raise ScopeError(f"scope {name}: {value!r} is not a text")
    return tuple(dict.fromkeys(given))


def _texts(name: str, values: tuple[Any, ...], limit: int) -> None:
    for value in values:
        if value is not None and not 1 <= len(value) <= limit:
            shown = value[:limit] + ("..." if len(value) > limit else "")
            raise ScopeError(f"scope {name}: {shown!r} must be 1 to {limit} characters")


def _known(name: str, values: tuple[Any, ...], allowed: tuple[str, ...]) -> None:
    choices = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
    for value in values:
        if value not in allowed:
            raise ScopeError(
                f"unknown {name} {str(value)[:MAX_TEXT]!r} in the scope; use {choices}"
            )


@dataclass(frozen=True)
class Scope:
    """What a credential sees: records of one of `sources` (None: records with no source) and,
    when set, of one of `access_codes`, `channels` and `directions` (None: any).

    Built only valid: an unknown channel or direction, an empty list or an over-long name raise
    `ScopeError`; repeated values are kept once.
    """

    sources: tuple[str | None, ...]
    access_codes: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    directions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        sources = _values("sources", self.sources, allow_none=True)
        _texts("sources", sources, SOURCE_MAX)
        object.__setattr__(self, "sources", sources)
        if self.access_codes is not None:
            codes = _values("access_codes", self.access_codes)
            _texts("access_codes", codes, MAX_TEXT)
            object.__setattr__(self, "access_codes", codes)
        for name, allowed in (("channels", CHANNELS), ("directions", DIRECTIONS)):
            given = getattr(self, name)
            if given is not None:
                values = _values(name, given)
                _known(name[:-1], values, allowed)
                object.__setattr__(self, name, values)

    def filters(self) -> Pairs:
        """The scope as (column, allowed values) filters: the one place they are built."""
        pairs: list[tuple[str, tuple[Any, ...]]] = [("source", self.sources)]
        for column, values in (
            ("access_code", self.access_codes),
            ("channel", self.channels),
            ("direction", self.directions),
        ):
            if values is not None:
                pairs.append((column, values))
        return tuple(pairs)

    def narrow(self, filters: Mapping[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        """Column filters (a `MetricQuery`'s) restricted to the scope: on a column both filter,
        the values both allow (none at all: nothing matches). Narrowing twice changes nothing."""
        out = dict(filters)
        for column, allowed in self.filters():
            if column in out:
                out[column] = tuple(v for v in out[column] if v in allowed)
            else:
                out[column] = allowed
        return out

    def narrow_pairs(self, pairs: Pairs) -> Pairs:
        """(column, values) filters (a `SearchRequest`'s, each one must hold) with the scope's
        added. Narrowing twice changes nothing."""
        return (*pairs, *(pair for pair in self.filters() if pair not in pairs))

    def as_dict(self) -> dict[str, list[Any] | None]:
        """The scope as JSON values (what the admin API and the CLI show)."""
        return {
            "sources": list(self.sources),
            "access_codes": None if self.access_codes is None else list(self.access_codes),
            "channels": None if self.channels is None else list(self.channels),
            "directions": None if self.directions is None else list(self.directions),
        }

    def to_json(self) -> str:
        """The scope as JSON text (how registries keep it)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any, kind: str | None = None) -> Scope:
        """A scope from JSON values; a part left out is the default of credential `kind`
        (sources: its vendor's and none; the others: any)."""
        if not isinstance(data, Mapping):
            raise ScopeError("a scope is an object of sources, access_codes, channels, directions")
        unknown = sorted(set(data) - {"sources", "access_codes", "channels", "directions"})
        if unknown:
            shown = ", ".join(str(name)[:MAX_TEXT] for name in unknown[:10])
            raise ScopeError(
                f"unknown scope part {shown}; use sources, access_codes, channels, directions"
            )
        sources = data.get("sources")
        if sources is None:
            if kind is None or kind not in VENDOR_SOURCES:
                raise ScopeError("scope sources: give at least one source")
            sources = default_scope(kind).sources
        return cls(
            sources=sources,
            access_codes=data.get("access_codes"),
            channels=data.get("channels"),
            directions=data.get("directions"),
        )

    @classmethod
    def from_json(cls, text: str) -> Scope:
        """A scope from the JSON text `to_json` wrote."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ScopeError(f"a stored scope is not JSON: {error}") from None
        return cls.from_dict(data)


def default_scope(kind: str) -> Scope:
    """A new credential's scope: its vendor's source and records with no source.

    Example:
        >>> default_scope("huawei").sources
        ('huawei', None)
    """
    if kind not in VENDOR_SOURCES:
        raise ScopeError(f"{kind!r} credentials have no scope: they see their whole tenant")
    return Scope(sources=(VENDOR_SOURCES[kind], None))
