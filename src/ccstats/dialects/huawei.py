"""The Huawei Cloud AICC OIFDE dialect: `gettoken` and the two bot reports (seeds 000 and 001).

Wire protocol and error codes: `docs/dialects.md` (Huawei OIFDE) and Huawei's OIAP documentation;
what each number means: `docs/reports.md`. This module parses,
authenticates, maps a request to one `MetricQuery` and renames the catalogue metrics to Huawei's
fields; every count comes from `metrics/catalog.py`, every rate string from `numbers.rate_string`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ccstats.auth import match_credential, still_valid
from ccstats.limits import MAX_SECRET, MAX_TEXT
from ccstats.metrics.query import MetricQuery, MetricResult, RatioValue
from ccstats.numbers import rate_string
from ccstats.ratelimit import FailureLimiter, address_key, limiter_of
from ccstats.records import REQUEST_TIMES, TenantSettings, parse_time
from ccstats.responses import JSON
from ccstats.service import Registry, Service
from ccstats.timebuckets import local_date_of, local_midnight

__all__ = [
    "NAME",
    "router",
    "matches",
    "render_error",
    "HuaweiError",
    "TokenStore",
    "Field",
    "CALL_STATISTICS_FIELDS",
    "CHATBOT_FIELDS",
    "TOKEN_TTL_S",
    "DAY_WINDOW",
]

NAME = "huawei"
router = APIRouter(prefix="/oifde/rest/api", tags=["huawei"])

TOKEN_TTL_S = 3600
"""Token lifetime in seconds: the vendor's default `expireTime` (Huawei OIAP gettoken documentation)."""
DAY_WINDOW = 30
"""`type=day` covers the 30 local dates ending with the query date (seed 000: 三十日内)."""
MEDIA_TYPE = "application/json;charset=UTF-8"

# docs/dialects.md, Huawei OIFDE: the codes, HTTP statuses and the one message the spec fixes.
UNKNOWN_APP_KEY = 200800001
WRONG_SECRET = 200800002
NO_TOKEN = 900001
TOKEN_CHECK_FAILED = 900002
INTERNAL_ERROR = 10000001
BAD_VALUE = 10000002
MISSING_FIELD = 10000003
NO_TOKEN_MESSAGE = "No token information exists or the token has expired."


TOO_MANY_FAILURES = 200800003
"""ccstats's code for a 429 after too many failed authentications (the OIAP table has none; the
2008000xx family is gettoken's)."""


class HuaweiError(Exception):
    """An error answered as Huawei's `{"errorCode", "errorMsg"}` with an HTTP status."""

    def __init__(
        self, status: int, code: int, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


def error_response(
    status: int, code: int, message: str, retry_after: int | None = None
) -> Response:
    """A Huawei error body: always an object, so clients tell it from a report (a bare array)."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    body = {"errorCode": code, "errorMsg": message}
    return JSON(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _failed(error: HuaweiError) -> Response:
    return error_response(error.status, error.code, error.message, error.retry_after)


def _refuse_if_blocked(limiter: FailureLimiter, keys: tuple[str, ...]) -> None:
    wait = limiter.retry_after(*keys)
    if wait is not None:
        raise HuaweiError(
            429,
            TOO_MANY_FAILURES,
            f"Too many failed authentications. Try again in {wait} seconds.",
            retry_after=wait,
        )


def matches(request: Request) -> bool:
    """Requests under /oifde/."""
    return request.url.path.startswith("/oifde/")


def _code_for_status(status: int) -> int:
    # The OIAP code table (Huawei's OIAP documentation) has no "not found" / "method not allowed" code: an unknown
    # path or method is a bad request parameter (10000002), a crash the internal error (10000001).
    if status == 401:
        return NO_TOKEN
    if status == 403:
        return TOKEN_CHECK_FAILED
    if status >= 500:
        return INTERNAL_ERROR
    return BAD_VALUE


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error (unknown path, wrong method, crash) in Huawei's shape."""
    if status == 404:
        message = f"Not Found: no interface {request.url.path}"
    elif status == 405:
        message = f"Method Not Allowed: {request.method} {request.url.path}; use POST"
    return error_response(status, _code_for_status(status), message)


# --- tokens ---------------------------------------------------------------------------------------


class TokenStore:
    """authTokens issued by `gettoken`: random, tied to one tenant, valid `ttl` seconds.

    Kept in the registry (only a hash of each token), so that a token outlives a restart of the
    server and works on every process serving the same store; several tokens of a tenant are
    valid at once. Expired tokens are deleted now and then. Before, tokens lived in process
    memory and clients got 900001 after every restart (issue 15, item 5).
    """

    def __init__(
        self, registry: Registry, ttl: int = TOKEN_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        """Tokens in `registry`, each valid `ttl` seconds of `clock`."""
        self.ttl, self._clock, self._registry = ttl, clock, registry
        self._next_purge = 0.0

    @staticmethod
    def _key(token: str) -> str:
        return _TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()

    def issue(self, tenant_id: str, credential_id: str | None = None) -> str:
        """A new token for a tenant (>= 32 characters), issued for one of its appSecrets."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        if now >= self._next_purge:
            self._next_purge = now + 60
            self._registry.delete_meta_before(_TOKEN_PREFIX, _iso(now))
        # The expiry first: values sort as times, so expired ones are deleted by prefix.
        value = f"{_iso(now + self.ttl)}|{tenant_id}|{credential_id or ''}"
        self._registry.put_meta(self._key(token), value)
        return token

    def tenant_of(self, token: str) -> str | None:
        """The tenant of a live token, or None when unknown or expired."""
        found = self._live(token)
        return found[0] if found is not None else None

    def issuer_of(self, token: str) -> str | None:
        """The credential a live token was issued for (`Credential.id`), or None."""
        found = self._live(token)
        return found[1] or None if found is not None else None

    def _live(self, token: str) -> tuple[str, str] | None:
        """(tenant id, credential id or "") of a live token."""
        found = self._registry.get_meta(self._key(token))
        if found is None:
            return None
        expiry, _, rest = found.partition("|")
        tenant_id, _, credential_id = rest.partition("|")
        return (tenant_id, credential_id) if expiry > _iso(self._clock()) else None


_TOKEN_PREFIX = "huawei-token:"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def tokens_of(request: Request) -> TokenStore:
    """The app's token store (created on first use, in the event loop, so only once)."""
    state = request.app.state
    if getattr(state, "huawei_tokens", None) is None:
        state.huawei_tokens = TokenStore(state.service.registry)
    found: TokenStore = state.huawei_tokens
    return found


# --- request parsing ------------------------------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HuaweiError(400, BAD_VALUE, "The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise HuaweiError(400, BAD_VALUE, "The request body must be a JSON object.")
    return parsed


def _text(body: Mapping[str, Any], name: str) -> str:
    """A required string field; numbers are taken as their digits (Huawei's Java side coerces)."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise HuaweiError(
            400, MISSING_FIELD, f"The parameter {name} does not exist; it is required."
        )
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise HuaweiError(400, BAD_VALUE, f"The parameter {name} must be a string.")
    limit = MAX_SECRET if name in ("appSecret", "authToken") else MAX_TEXT
    if len(str(value)) > limit:
        raise HuaweiError(
            400, BAD_VALUE, f"The parameter {name} is too long: at most {limit} characters."
        )
    return str(value)


_DIGITS = re.compile(r"-?[0-9]{1,19}")  # a Java long at most; int() of a huge string would raise


def _timestamp(body: Mapping[str, Any]) -> datetime:
    value = body.get("timestamp")
    if value is None or value == "":
        raise HuaweiError(
            400, MISSING_FIELD, "The parameter timestamp does not exist; it is required."
        )
    millis: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        millis = value
    elif isinstance(value, float) and value.is_integer():
        millis = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        millis = int(value.strip())
    if millis is None:
        raise HuaweiError(
            400,
            BAD_VALUE,
            f"The parameter timestamp must be an integer of milliseconds: {value!r}.",
        )
    try:
        return parse_time(millis, REQUEST_TIMES)
    except ValueError:
        raise HuaweiError(
            400,
            BAD_VALUE,
            f"The parameter timestamp is out of range: {millis} (the years 1970-2200 are accepted).",
        ) from None


ReportType = Literal["hour", "day"]


@dataclass(frozen=True)
class ReportRequest:
    """A parsed report request of an authenticated tenant."""

    tenant: TenantSettings
    type: ReportType
    access_code: str
    timestamp: datetime


def _report_type(body: Mapping[str, Any]) -> ReportType:
    value = _text(body, "type")
    if value == "hour":
        return "hour"
    if value == "day":
        return "day"
    raise HuaweiError(400, BAD_VALUE, f"The parameter type must be hour or day, not {value!r}.")


def _authenticate(
    service: Service,
    tokens: TokenStore,
    body: Mapping[str, Any],
    limiter: FailureLimiter,
    address: str,
) -> TenantSettings:
    # The token is checked before anything else, so an unauthenticated caller learns nothing.
    _refuse_if_blocked(limiter, (address,))
    token = body.get("authToken")
    usable = isinstance(token, str) and 0 < len(token) <= MAX_SECRET
    owner = tokens.tenant_of(str(token)) if usable else None
    tenant = service.tenant(owner) if owner is not None else None
    issuer = tokens.issuer_of(token) if tenant is not None and isinstance(token, str) else None
    if issuer is not None and owner is not None:
        # A token dies with the appSecret it was issued for (`ccstats credentials revoke`).
        if not still_valid(service.registry, "huawei", owner, owner, issuer):
            tenant = None
    if tenant is None:
        if usable:
            limiter.failed(address)  # a token that was never issued, or has expired
        raise HuaweiError(401, NO_TOKEN, NO_TOKEN_MESSAGE)
    if _text(body, "tenantId") != tenant.id:
        # dialects.md: a token used for another tenant than its own is refused (tenant wall).
        raise HuaweiError(
            403, TOKEN_CHECK_FAILED, "Failed to check the token: it is not for this tenantId."
        )
    return tenant


def parse_report(
    service: Service,
    tokens: TokenStore,
    body: Mapping[str, Any],
    limiter: FailureLimiter,
    address: str,
) -> ReportRequest:
    """Authenticate and validate a report body (errors as HuaweiError; a token never issued
    counts as a failed authentication of `address`)."""
    tenant = _authenticate(service, tokens, body, limiter, address)
    access_code = _text(body, "accessCode")
    report_type = _report_type(body)
    return ReportRequest(tenant, report_type, access_code, _timestamp(body))


# --- reports --------------------------------------------------------------------------------------

Format = Literal["count", "rate4", "rate2"]


@dataclass(frozen=True)
class Field:
    """One report field: its Huawei name, the catalogue metric behind it, how it is written."""

    name: str
    metric: str
    format: Format = "count"


# Field order is the seed's sample order (seed 000 / 001 response samples).
CALL_STATISTICS_FIELDS: tuple[Field, ...] = (
    Field("callCount", "conversations"),
    Field("exitNoConsultCount", "bot_exit_no_consult"),
    Field("callStaffNoConsultCount", "bot_to_agent_no_consult"),
    Field("callStaffConsultCount", "bot_to_agent_after_consult"),
    Field("exitConsultingCount", "bot_consult_only"),
    Field("interactCount", "bot_turns"),
    Field("autonomyRate", "autonomy_rate", "rate4"),
    Field("averageInteractPerCall", "avg_bot_turns", "rate2"),
    Field("interfaceRequestCount", "bot_api_requests"),
    Field("interfaceSuccessCount", "bot_api_successes"),
    Field("interfaceSuccessRate", "bot_api_success_rate", "rate4"),
)
"""`queryCallStatisticsReport` (seed 000; `reports.md`)."""

CHATBOT_FIELDS: tuple[Field, ...] = (
    Field("consultCount", "bot_replies"),
    Field("responseSuccessCount", "bot_answered"),
    Field("unknowCount", "bot_unknown"),
    Field("responseRate", "bot_response_rate", "rate4"),
    Field("feedbackCount", "bot_feedback"),
    Field("positiveFeedbackCount", "bot_positive_feedback"),
    Field("positiveFeedbackRate", "bot_positive_feedback_rate", "rate4"),
)
"""`queryChatbotReport` (seed 001; `reports.md`)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(instant: datetime) -> int:
    """A UTC instant as integer epoch milliseconds."""
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def _format(field: Field, value: Any) -> Any:
    if field.format == "count":
        return int(value or 0)
    assert isinstance(value, RatioValue)
    # reports.md: rates have 4 decimals, half up, "-1.0000" on a zero denominator;
    # averageInteractPerCall 2 decimals (its denominator, callCount, is never 0 in a returned row).
    decimals = 4 if field.format == "rate4" else 2
    return rate_string(value.numerator, value.denominator, decimals)


def report_window(report: ReportRequest) -> tuple[datetime, datetime]:
    """[start, end) as UTC instants: the local date of `timestamp`, or the 30 dates ending with it."""
    zone = report.tenant.zone
    try:
        day = local_date_of(report.timestamp, zone)
        first = day - timedelta(days=DAY_WINDOW - 1) if report.type == "day" else day
        return local_midnight(first, zone), local_midnight(day + timedelta(days=1), zone)
    except (OverflowError, ValueError):
        raise HuaweiError(400, BAD_VALUE, "The parameter timestamp is out of range.") from None


def _query(report: ReportRequest, fields: tuple[Field, ...]) -> MetricQuery:
    start, end = report_window(report)
    metrics = dict.fromkeys(("conversations", *(f.metric for f in fields)))
    return MetricQuery(
        tenant_id=report.tenant.id,
        metrics=tuple(metrics),
        start=start,
        end=end,
        timezone=report.tenant.timezone,
        granularity=report.type,
        filters={"access_code": (report.access_code,)},
    )


def _call_statistics_row(
    report: ReportRequest, bucket: datetime, values: dict[str, Any]
) -> dict[str, Any]:
    record_time = epoch_ms(bucket)
    row: dict[str, Any] = {
        "recordTime": record_time,
        "tenantId": report.tenant.id,
        "accessCode": report.access_code,
    }
    for field in CALL_STATISTICS_FIELDS:
        row[field.name] = values[field.name]
        if field.name == "averageInteractPerCall":
            # Seed 000: dbRecordTime (数据库记录日期, the date the report row is recorded under)
            # equals recordTime in its sample; then `type`. (docs/huawei.md)
            row["dbRecordTime"] = record_time
            row["type"] = report.type
    return row


def _chatbot_row(report: ReportRequest, bucket: datetime, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenantId": report.tenant.id,
        "accessCode": report.access_code,
        "recordTime": epoch_ms(bucket),
        "type": report.type,
        **values,
    }


RowMaker = Callable[[ReportRequest, datetime, dict[str, Any]], dict[str, Any]]


def build_report(
    service: Service, report: ReportRequest, fields: tuple[Field, ...], make_row: RowMaker
) -> list[dict[str, Any]]:
    """Report rows: one per bucket with at least one conversation, ascending by recordTime.

    Built once per cached answer (`run_formatted`); the rows are shared, not to be changed.
    """

    def rows_of(result: MetricResult) -> list[dict[str, Any]]:
        rows = sorted((r for r in result.rows if r["conversations"]), key=lambda r: r["bucket"])
        return [
            make_row(report, r["bucket"], {f.name: _format(f, r[f.metric]) for f in fields})
            for r in rows
        ]

    # Everything a row takes from the request besides the answer (`_call_statistics_row`).
    key = (
        "huawei",
        make_row.__qualname__,
        fields,
        report.tenant.id,
        report.type,
        report.access_code,
    )
    return service.run_formatted(_query(report, fields), key, rows_of)


# --- routes ---------------------------------------------------------------------------------------


def _json_schema(properties: dict[str, str], required: list[str]) -> dict[str, Any]:
    props = {name: {"type": kind} for name, kind in properties.items()}
    schema = {"type": "object", "properties": props, "required": required}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_REPORT_BODY = _json_schema(
    {
        "type": "string",
        "tenantId": "string",
        "accessCode": "string",
        "timestamp": "integer",
        "authToken": "string",
    },
    ["type", "tenantId", "accessCode", "timestamp", "authToken"],
)


def _issue_token(
    service: Service,
    tokens: TokenStore,
    body: Mapping[str, Any],
    limiter: FailureLimiter,
    address: str,
) -> dict[str, Any]:
    _refuse_if_blocked(limiter, (address,))
    app_key, app_secret = _text(body, "appKey"), _text(body, "appSecret")
    keys = (address, f"huawei:{app_key}")
    _refuse_if_blocked(limiter, keys)
    known, credential = match_credential(service.registry, "huawei", app_key, app_secret)
    tenant_id = credential.tenant_id if credential is not None else None
    if not known or (tenant_id is not None and service.tenant(tenant_id) is None):
        limiter.failed(*keys)
        raise HuaweiError(401, UNKNOWN_APP_KEY, "The appKey does not exist.")
    if credential is None or tenant_id is None:
        limiter.failed(*keys)
        raise HuaweiError(401, WRONG_SECRET, "The appSecret is incorrect.")
    token = tokens.issue(tenant_id, credential.id)
    return {"errorCode": 0, "errorMsg": "", "authToken": token, "expireTime": tokens.ttl}


@router.post(
    "/gettoken",
    summary="Huawei OIFDE: get an authToken",
    openapi_extra=_json_schema(
        {"appKey": "string", "appSecret": "string"}, ["appKey", "appSecret"]
    ),
)
async def gettoken(request: Request) -> Response:
    """Exchange `appKey` (tenant id) and `appSecret` for an authToken valid `expireTime` seconds."""
    state = request.app.state
    try:
        body = await _json_body(request)
        answer = await run_in_threadpool(
            _issue_token,
            state.service,
            tokens_of(request),
            body,
            limiter_of(state),
            address_key(request),
        )
    except HuaweiError as error:
        return _failed(error)
    return JSON(answer, media_type=MEDIA_TYPE)


async def _report(request: Request, fields: tuple[Field, ...], make_row: RowMaker) -> Response:
    service: Service = request.app.state.service
    tokens = tokens_of(request)
    limiter, address = limiter_of(request.app.state), address_key(request)

    def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
        report = parse_report(service, tokens, body, limiter, address)
        return build_report(service, report, fields, make_row)

    try:
        rows = await run_in_threadpool(answer, await _json_body(request))
    except HuaweiError as error:
        return _failed(error)
    return JSON(rows, media_type=MEDIA_TYPE)


@router.post(
    "/queryCallStatisticsReport",
    summary="Huawei OIFDE: call statistics report (seed 000)",
    openapi_extra=_REPORT_BODY,
)
async def query_call_statistics_report(request: Request) -> Response:
    """IVR/bot call statistics per local hour of a date, or per local date over 30 dates."""
    return await _report(request, CALL_STATISTICS_FIELDS, _call_statistics_row)


@router.post(
    "/queryChatbotReport",
    summary="Huawei OIFDE: chatbot report (seed 001)",
    openapi_extra=_REPORT_BODY,
)
async def query_chatbot_report(request: Request) -> Response:
    """Chatbot replies and feedback per local hour of a date, or per local date over 30 dates."""
    return await _report(request, CHATBOT_FIELDS, _chatbot_row)
