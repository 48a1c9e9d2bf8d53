"""Records: validation names the field and the problem; times become UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ccstats.records import Conversation, TenantSettings, describe_validation_error, parse_time

BASE = {
    "id": "c1",
    "tenant_id": "t1",
    "channel": "voice",
    "created_at": "2024-05-01T10:00:00+08:00",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00+08:00", datetime(2024, 5, 1, 2, 0, tzinfo=UTC)),
        ("2024-05-01T02:00:00Z", datetime(2024, 5, 1, 2, 0, tzinfo=UTC)),
        (1714528800000, datetime(2024, 5, 1, 2, 0, tzinfo=UTC)),
        ("1714528800000", datetime(2024, 5, 1, 2, 0, tzinfo=UTC)),
    ],
)
def test_times_are_utc_instants(value: object, expected: datetime) -> None:
    assert parse_time(value) == expected
    assert Conversation.model_validate({**BASE, "created_at": value}).created_at == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"created_at": "2024-05-01T10:00:00"},
            "created_at: time '2024-05-01T10:00:00' has no UTC offset",
        ),
        ({"created_at": "yesterday"}, "created_at: not an ISO 8601 time"),
        ({"channel": "fax"}, "channel: Input should be 'voice' or 'chat'"),
        ({"bot_turns": "many"}, "bot_turns: Input should be a valid integer"),
        ({"duration_s": -1}, "duration_s: Input should be greater than or equal to 0"),
        ({"price": "1,5"}, "price: price must be a decimal number"),
        ({"price": "1e3"}, "written without exponent"),  # bounded: `cost` adds prices exactly
        ({"price": "-0.40"}, "price must be a decimal number from 0"),
        ({"price": "1000000000000"}, "to 999999999999.999999999"),
        ({"price": "0.0000000001"}, "to 999999999999.999999999"),
        ({"price": True}, "got True"),
        ({"colour": "red"}, "colour: unknown field"),
        ({"messages": [{"sender": "robot"}]}, "messages.0.sender: Input should be"),
    ],
)
def test_validation_names_field_and_problem(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Conversation.model_validate({**BASE, **change})
    assert message in describe_validation_error(caught.value)


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Conversation.model_validate({"id": "x"})
    text = describe_validation_error(caught.value)
    for field in ("tenant_id", "channel", "created_at"):
        assert f"{field}: required field is missing" in text


def test_numeric_ids_are_text() -> None:
    record = Conversation.model_validate({**BASE, "queue_id": 123456})
    assert record.queue_id == "123456"


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TenantSettings(id="t", timezone="Mars/Olympus")
    assert "unknown IANA time zone 'Mars/Olympus'" in describe_validation_error(caught.value)


RANGE = "outside the accepted range (1970-01-01T00:00:00Z to 2200-12-31T23:59:59.999999Z)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        ("1970-01-01T08:00:00+08:00", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2200-12-31T23:59:59.999999Z", datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        # Past 2**32 s: exact to the millisecond (no float rounding).
        (7289654399999, datetime(2200, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_times_at_the_edges_of_the_range_are_accepted(value: object, expected: datetime) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "1969-12-31T23:59:59Z",
        "2201-01-01T00:00:00Z",
        "1970-01-01T07:59:59+08:00",
        1e20,
        1e300,
        -1,
        7289654400000,
        2**64 - 1,
        "99999999999999999999999",
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_times_out_of_range_are_a_value_error_saying_so(value: object) -> None:
    # Issue 15: these were OverflowErrors (a 500 for the whole batch).
    with pytest.raises(ValueError, match=r"outside the accepted range \(1970"):
        parse_time(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_times_that_are_not_finite_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        parse_time(value)


def test_a_huge_value_is_quoted_shortened() -> None:
    with pytest.raises(ValueError) as caught:
        parse_time("x" * 100_000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bot_turns": 2**63}, "bot_turns: Input should be less than or equal to 2147483647"),
        ({"duration_s": 2**31}, "duration_s: Input should be less than or equal to 2147483647"),
        ({"region_id": -(2**63) - 1}, "region_id: Input should be greater than or equal to -9223"),
        ({"customer_utc_offset": 2**63}, "customer_utc_offset: Input should be less than or"),
        ({"messages": [{"sender": "bot", "seq": 2**63}]}, "messages.0.seq: Input should be less"),
        (
            {"messages": [{"sender": "bot", "sent_at": 1e300}]},
            f"messages.0.sent_at: time 1e+300 (epoch ms) is {RANGE}",
        ),
        (
            {"created_at": "0001-01-01T00:00:00+01:00"},
            f"created_at: time '0001-01-01T00:00:00+01:00' is {RANGE}",
        ),
    ],
)
def test_values_out_of_range_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Conversation.model_validate({**BASE, **change})
    assert message in describe_validation_error(caught.value)


def test_integer_edges_are_accepted() -> None:
    # Counts and durations are summed in 64 bits: 2**31-1 each leaves room for 2**32 records.
    record = Conversation.model_validate(
        {**BASE, "bot_turns": 2**31 - 1, "region_id": -(2**63), "customer_utc_offset": 2**63 - 1}
    )
    assert (record.bot_turns, record.region_id) == (2**31 - 1, -(2**63))
