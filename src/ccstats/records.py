"""The records users send: the docs/data-model.md contract as typed, validated models.

Times are accepted as ISO 8601 with an offset or as integer epoch milliseconds and are kept as
timezone-aware UTC datetimes. Validation errors name the field and the problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ID_FIELDS",
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


def parse_time(value: Any) -> datetime:
    """Parse ISO 8601 with an offset, or epoch milliseconds, into an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("time has no UTC offset; give ISO 8601 with an offset or epoch ms")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError("expected a time (ISO 8601 with offset or epoch milliseconds), got a bool")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(
                f"time {value!r} has no UTC offset (write e.g. 2024-05-01T10:00:00+08:00)"
            )
        return parsed.astimezone(UTC)
    raise ValueError(f"expected a time (ISO 8601 with offset or epoch milliseconds), got {value!r}")


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

    seq: int | None = None
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
    region_id: int | None = None
    customer_utc_offset: int | None = None
    created_at: UtcTime
    started_at: UtcTime | None = None
    queued_at: UtcTime | None = None
    dequeued_at: UtcTime | None = None
    ring_started_at: UtcTime | None = None
    ring_ended_at: UtcTime | None = None
    answered_at: UtcTime | None = None
    ended_at: UtcTime | None = None
    updated_at: UtcTime | None = None
    duration_s: int | None = Field(default=None, ge=0)
    bot_duration_s: int | None = Field(default=None, ge=0)
    agent_duration_s: int | None = Field(default=None, ge=0)
    ring_duration_s: int | None = Field(default=None, ge=0)
    queue_duration_s: int | None = Field(default=None, ge=0)
    dial_status: (
        Literal[
            "ANSWER",
            "ANSWERED",
            "NOANSWER",
            "BUSY",
            "CANCEL",
            "CONGESTION",
            "CHANUNAVAIL",
            "FAILED",
            "BLACKLIST",
            "DIAL",
            "INPROGRESS",
            "FZ230",
            "INVALID",
            "UNAVAILABLE",
        ]
        | None
    ) = None
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
    bot_turns: int | None = Field(default=None, ge=0)
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
    bot_api_requests: int | None = Field(default=None, ge=0)
    bot_api_successes: int | None = Field(default=None, ge=0)
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
        try:
            Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"price must be a decimal number, got {value!r}") from None
        return str(value)

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
