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
