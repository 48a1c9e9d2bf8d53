"""The records users send: the docs/data-model.md contract as typed, validated models.

Times are accepted as ISO 8601 with an offset or as integer epoch milliseconds and are kept as
timezone-aware UTC datetimes. Validation errors name the field and the problem.

Accepted ranges are checked here, once, for every way a record comes in: a time is an instant of
the years 1970-2200 UTC (`MIN_TIME` <= t < `MAX_TIME`); a count or a duration is 0 to
`MAX_COUNT` (2**31-1, so that sums of them fit 64 bits); any other integer fits a signed 64-bit
column (`INT64_MIN`..`INT64_MAX`). A value outside is a rejection of its record, never of its
batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ID_FIELDS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_COUNT",
    "MAX_TIME",
    "MIN_TIME",
    "PRICE_PATTERN",
    "REQUEST_TIMES",
    "RECORD_TIMES",
    "TimeOutOfRange",
    "TimeRange",
    "AgentInterval",
    "Conversation",
    "Message",
    "NamedOption",
    "Agent",
    "Bot",
    "TenantSettings",
    "UtcTime",
    "describe_validation_error",
    "parse_time",
]


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""Integers that are labels (region_id, customer_utc_offset, a message's seq): signed 64-bit."""
MAX_COUNT = 2**31 - 1
"""The largest count or duration a record may carry (bot_turns, duration_s, ...): reports add
them up in 64-bit sums, which then hold 2**32 records of the largest value."""
PRICE_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,9})?$"
"""A price (Twin24's `price`, "the cost of the dialog"): plain decimal text, at least 0, below
10**12, at most 9 decimals. The seed sends it as text ("1.79"); bounded so that the `cost`
metric adds prices exactly (DECIMAL(38,9)) whatever their number."""
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest time a record may carry (epoch 0)."""
MAX_TIME = datetime(2201, 1, 1, tzinfo=UTC)
"""The first instant after the accepted times: the last accepted year is 2200 (UTC)."""


@dataclass(frozen=True)
class TimeRange:
    """Instants accepted by `parse_time`: `start` <= t < `end`."""

    start: datetime
    end: datetime
    label: str = ""

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, datetime) and self.start <= instant < self.end

    def describe(self) -> str:
        """The range as a reader sees it."""
        if self.label:
            return self.label
        last = self.end - timedelta(microseconds=1)
        return f"{_iso(self.start)} to {_iso(last)}"

    def instant(self, convert: Callable[[], datetime], shown: Any) -> datetime:
        """`convert()` as a UTC instant inside the range, else a ValueError quoting `shown`
        (also when the conversion itself overflows, as year 1 moved west of UTC does).

        Example:
            >>> from zoneinfo import ZoneInfo
            >>> local = datetime(1, 1, 1).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
            >>> REQUEST_TIMES.instant(lambda: local.astimezone(UTC), "0001-01-01")
            Traceback (most recent call last):
            ValueError: time '0001-01-01' is outside the accepted range (the years 1970-2200 in any zone)
        """
        try:
            found = convert().astimezone(UTC)
        except (OverflowError, OSError):
            raise _out_of_range(shown, self) from None
        if found not in self:
            raise _out_of_range(shown, self)
        return found


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


RECORD_TIMES = TimeRange(MIN_TIME, MAX_TIME)
"""Times of records: the years 1970-2200 UTC."""
REQUEST_TIMES = TimeRange(
    MIN_TIME - timedelta(days=1), MAX_TIME + timedelta(days=1), "the years 1970-2200 in any zone"
)
"""Times of report requests: the record years in any zone (a tenant at UTC+14 asks for its
1970-01-01 at 1969-12-31T10:00Z), and a range end just after the last accepted time."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DIGITS = 20  # more digits than any int64 of milliseconds: out of range without reading it


def _shown(value: Any) -> str:
    # An error message quotes the value, but never a megabyte of it.
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "...(" + str(len(text)) + " characters)"


class TimeOutOfRange(ValueError):
    """A time that parses but lies outside the accepted range."""


def _out_of_range(value: Any, accepted: TimeRange) -> TimeOutOfRange:
    unit = " (epoch ms)" if isinstance(value, int | float) else ""
    return TimeOutOfRange(
        f"time {_shown(value)}{unit} is outside the accepted range ({accepted.describe()})"
    )


def _from_epoch_ms(value: int | float, accepted: TimeRange) -> datetime:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"time {_shown(value)} is not a finite number of epoch milliseconds")
    low = (accepted.start - _EPOCH) // timedelta(milliseconds=1)
    high = (accepted.end - _EPOCH) // timedelta(milliseconds=1)
    if not low <= value < high:
        raise _out_of_range(value, accepted)
    if isinstance(value, int):
        return _EPOCH + timedelta(milliseconds=value)  # exact, whatever the size
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _in_range(instant: datetime, value: Any, accepted: TimeRange) -> datetime:
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise _out_of_range(value, accepted) from None
    if utc not in accepted:
        raise _out_of_range(value, accepted)
    return utc


def parse_time(value: Any, accepted: TimeRange = RECORD_TIMES) -> datetime:
    """Parse ISO 8601 with an offset, or epoch milliseconds, into an aware UTC datetime.

    A time outside `accepted` (by default the years 1970-2200 UTC) is a ValueError saying so.

    Example:
        >>> parse_time("2024-05-01T10:00:00+08:00")
        datetime.datetime(2024, 5, 1, 2, 0, tzinfo=datetime.timezone.utc)
        >>> parse_time(1e20)
        Traceback (most recent call last):
        ValueError: time 1e+20 (epoch ms) is outside the accepted range (1970-01-01T00:00:00Z to 2200-12-31T23:59:59.999999Z)
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("time has no UTC offset; give ISO 8601 with an offset or epoch ms")
        return _in_range(value, value, accepted)
    if isinstance(value, bool):
        raise ValueError("expected a time (ISO 8601 with offset or epoch milliseconds), got a bool")
    if isinstance(value, int | float):
        return _from_epoch_ms(value, accepted)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            if len(text.lstrip("-")) > _MAX_DIGITS:
                raise _out_of_range(value, accepted)
            return _from_epoch_ms(int(text), accepted)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {_shown(value)}") from None
        if parsed.tzinfo is None:
            raise ValueError(
                f"time {_shown(value)} has no UTC offset (write e.g. 2024-05-01T10:00:00+08:00)"
            )
        return _in_range(parsed, value, accepted)
    raise ValueError(
        f"expected a time (ISO 8601 with offset or epoch milliseconds), got {_shown(value)}"
    )


UtcTime = Annotated[datetime, BeforeValidator(parse_time)]
"""A time field: ISO 8601 with offset or epoch ms in, aware UTC datetime out."""


ID_FIELDS = (
    "id",
    "tenant_id",
    "agent_id",
    "customer_id",
    "queue_id",
    "bot_id",
    "campaign_id",
    "access_code",
    "instance_id",
    "acid",
)
"""Fields whose integer values are taken as text (vendors send numeric ids: Alibaba GroupId)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=False)


class Message(_Record):
    """One line of a transcript."""

    seq: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)
    sender: Literal["customer", "bot", "agent", "system"]
    agent_id: str | None = None
    text: str | None = None
    sent_at: UtcTime | None = None
    bot_outcome: Literal["answered", "unknown"] | None = None


class Conversation(_Record):
    """One call or chat session: the one fact table (`data-model.md`, Conversations)."""

    id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    channel: Literal["voice", "chat"]
    direction: Literal["inbound", "outbound", "transfer"] = "inbound"
    access_code: str | None = None
    # The platform the record came from (`huawei`, `7moor`, `twin24`, `aliyun` or a team's own
    # name): a vendor credential's scope selects on it (issue 20).
    source: str | None = Field(default=None, min_length=1, max_length=64)
    instance_id: str | None = None
    acid: str | None = None
    dialog_id: str | None = None
    bot_id: str | None = None
    bot_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    queue_id: str | None = None
    queue_name: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    calling_number: str | None = None
    called_number: str | None = None
    trunk_number: str | None = None
    short_number: str | None = None
    region_id: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)
    customer_utc_offset: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)
    created_at: UtcTime
    started_at: UtcTime | None = None
    queued_at: UtcTime | None = None
    dequeued_at: UtcTime | None = None
    ring_started_at: UtcTime | None = None
    ring_ended_at: UtcTime | None = None
    answered_at: UtcTime | None = None
    ended_at: UtcTime | None = None
    updated_at: UtcTime | None = None
    duration_s: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    bot_duration_s: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    agent_duration_s: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    ring_duration_s: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    queue_duration_s: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    # Seed 003 lists the statuses "for the old telephony"; the new one has others, so any text is
    # kept (ANSWER, ANSWERED, NOANSWER, BUSY, CANCEL, CONGESTION, CHANUNAVAIL, FAILED, ...).
    dial_status: str | None = None
    end_reason: (
        Literal[
            "normal",
            "touchRouteError",
            "touchInQueue",
            "touchInLoss",
            "userHangup",
            "sysHangup",
            "transferAgent",
            "dailing",
            "TouchRingCallLoss",
            "queueClose",
            "dailingClose",
            "ivrClose",
        ]
        | None
    ) = None
    ended_by: Literal["system", "customer", "agent"] | None = None
    answered_by: Literal["human", "machine"] | None = None
    bot_turns: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    ended_in_bot: bool | None = None
    transferred_to_agent: bool | None = None
    agent_connected: bool | None = None
    invited: bool | None = None
    queued: bool | None = None
    queue_abandoned: bool | None = None
    lost: bool | None = None
    left_message: bool | None = None
    message_handled_by: str | None = None
    transfer_from_agent_id: str | None = None
    transfer_to_agent_id: str | None = None
    transfer_to_number: str | None = None
    transfer_target_type: Literal["agent", "number"] | None = None
    is_final_attempt: bool | None = None
    dialog_result: str | None = None
    nps: str | None = None
    csat_invited: bool | None = None
    csat_invited_by_agent: bool | None = None
    csat_option_id: str | None = None
    csat_level: int | None = Field(default=None, ge=2, le=5)
    csat_score: int | None = Field(default=None, ge=1, le=5)
    bot_feedback: Literal["positive", "negative"] | None = None
    bot_api_requests: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    bot_api_successes: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    price: str | None = None
    recording_url: str | None = None
    log_url: str | None = None
    external_id: str | None = None
    extra: str | None = None
    messages: list[Message] = Field(default_factory=list)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_decimal(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value) if isinstance(value, int | float | str) else ""  # True: "True", refused
        if not re.match(PRICE_PATTERN, text):
            raise ValueError(
                f"price must be a decimal number from 0 to 999999999999.999999999 written "
                f'without exponent (e.g. "1.79"), got {value!r}'
            )
        return text

    @field_validator(*ID_FIELDS, mode="before")
    @classmethod
    def _ids_are_text(cls, value: Any) -> Any:
        # Vendors send numeric ids (Alibaba GroupId is a long); ids are compared as text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class AgentInterval(_Record):
    """Time an agent spent logged in, or in one of the tenant's agent statuses."""

    tenant_id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    kind: Literal["login", "status"]
    status_id: str | None = None
    started_at: UtcTime
    ended_at: UtcTime

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: Any) -> datetime:
        started = info.data.get("started_at")
        if started is not None and value < started:
            raise ValueError("ended_at is before started_at")
        return value


class NamedOption(BaseModel):
    """A tenant's custom satisfaction option or agent status."""

    id: str
    label: str


class Agent(BaseModel):
    """An agent as reports show it (7moor writes `name[number]`)."""

    id: str
    name: str | None = None
    number: str | None = None


class Bot(BaseModel):
    """A bot's display name for an access code."""

    access_code: str
    name: str | None = None


class TenantSettings(BaseModel):
    """Everything about a tenant that is not a record: `data-model.md`, Tenants."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    name: str | None = None
    timezone: str = "UTC"
    satisfaction_options: list[NamedOption] = Field(default_factory=list)
    agent_statuses: list[NamedOption] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    bots: list[Bot] = Field(default_factory=list)
    instances: list[str] = Field(default_factory=list)
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    mask_phones: bool = False
    mask_names: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone."""
        return ZoneInfo(self.timezone)


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "record"
        message = item["msg"]
        if item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
