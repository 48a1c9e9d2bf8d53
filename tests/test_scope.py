"""Credential scopes (issue 20): built only valid, turned into filters in one place, narrowing
a query's or a search's filters idempotently, kept as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from ccstats.scope import Scope, ScopeError, default_scope


@pytest.mark.parametrize(
    ("kind", "sources"),
    [
        ("huawei", ("huawei", None)),
        ("7moor", ("7moor", None)),
        ("twin24", ("twin24", None)),
        ("aliyun", ("aliyun", None)),
    ],
)
def test_a_vendor_default_is_its_source_and_no_source(
    kind: str, sources: tuple[str | None, ...]
) -> None:
    scope = default_scope(kind)
    assert scope == Scope(sources=sources)
    assert (scope.access_codes, scope.channels, scope.directions) == (None, None, None)


def test_an_api_credential_has_no_default_scope() -> None:
    with pytest.raises(ScopeError, match="whole tenant"):
        default_scope("api")


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"sources": ()}, "scope sources: give at least one value"),
        ({"sources": ("",)}, "must be 1 to 64 characters"),
        ({"sources": ("x" * 65,)}, "must be 1 to 64 characters"),
        ({"sources": "huawei"}, "a list of values, not str"),
        ({"sources": (1,)}, "1 is not a text"),
        (
            {"sources": ("a",), "channels": ("sms",)},
            "unknown channel 'sms' in the scope; use voice or chat",
        ),
        (
            {"sources": ("a",), "directions": ("in",)},
            "unknown direction 'in' in the scope; use inbound, outbound or transfer",
        ),
        ({"sources": ("a",), "access_codes": ()}, "scope access_codes: give at least one"),
        ({"sources": ("a",), "access_codes": (None,)}, "None is not a text"),
        ({"sources": tuple(str(i) for i in range(1001))}, "at most 1000 values, got 1001"),
    ],
)
def test_a_bad_scope_is_refused_with_what_is_wrong(parts: dict[str, Any], message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        Scope(**parts)


def test_repeats_are_kept_once_in_order() -> None:
    scope = Scope(sources=("b", None, "b", "a", None), channels=("chat", "chat"))
    assert scope.sources == ("b", None, "a") and scope.channels == ("chat",)


def test_filters_name_every_restricted_column() -> None:
    scope = Scope(
        sources=("7moor", None),
        access_codes=("A1",),
        channels=("chat",),
        directions=("inbound", "outbound"),
    )
    assert scope.filters() == (
        ("source", ("7moor", None)),
        ("access_code", ("A1",)),
        ("channel", ("chat",)),
        ("direction", ("inbound", "outbound")),
    )
    assert default_scope("twin24").filters() == (("source", ("twin24", None)),)


def test_narrow_keeps_what_both_allow_and_is_idempotent() -> None:
    scope = Scope(sources=("7moor", None), channels=("chat",))
    asked = {"channel": ("voice", "chat"), "agent_id": ("a1",), "source": ("huawei",)}
    narrowed = scope.narrow(asked)
    # channel: chat is allowed by both; source: huawei is outside the scope, so nothing matches.
    assert narrowed == {"channel": ("chat",), "agent_id": ("a1",), "source": ()}
    assert scope.narrow(narrowed) == narrowed
    assert scope.narrow({}) == {"source": ("7moor", None), "channel": ("chat",)}


def test_narrow_pairs_adds_the_scope_once() -> None:
    scope = Scope(sources=("twin24", None))
    pairs = (("channel", ("voice",)),)
    narrowed = scope.narrow_pairs(pairs)
    assert narrowed == (("channel", ("voice",)), ("source", ("twin24", None)))
    assert scope.narrow_pairs(narrowed) == narrowed


def test_json_round_trip() -> None:
    scope = Scope(sources=("huawei", None, "团队"), access_codes=("943370855474270208",))
    text = scope.to_json()
    assert '"sources":["huawei",null,"团队"]' in text
    assert Scope.from_json(text) == scope


def test_parts_left_out_take_the_kind_default() -> None:
    scope = Scope.from_dict({"channels": ["chat"]}, "7moor")
    assert scope == Scope(sources=("7moor", None), channels=("chat",))
    with pytest.raises(ScopeError, match="give at least one source"):
        Scope.from_dict({"channels": ["chat"]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["huawei"], "a scope is an object"),
        ({"source": ["huawei"]}, "unknown scope part source"),
        ({"sources": "huawei"}, "a list of values"),
    ],
)
def test_from_dict_refuses_what_is_not_a_scope(data: Any, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        Scope.from_dict(data, "huawei")


def test_a_scope_is_a_hashable_key() -> None:
    assert len({default_scope("7moor"), Scope(sources=("7moor", None))}) == 1
