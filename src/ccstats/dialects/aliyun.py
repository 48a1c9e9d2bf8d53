"""The Alibaba Cloud AICCS dialect: `HotlineSessionQuery` (seed 004), callable by the official SDK.

Wire protocol (`docs/dialects.md`, Alibaba AICCS; Alibaba's OpenAPI signature documentation): RPC
style, `POST /` (also `GET /`) with every parameter in the query string, lists flattened as
`AcidList.1=..&AcidList.2=..`. Requests are signed with ACS3-HMAC-SHA256 (the SDK default) or the
legacy HMAC-SHA1 query signature (`Config(signature_algorithm='v2')`). Errors are the POP JSON shape
`{RequestId, HostId, Code, Message, Recommend}`: the SDK turns a 4xx into `ClientException(code=Code)`.

One module by design (a dialect is one module), in sections: errors, signatures (V3, V2,
nonce cache), request parameters, the record, the endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ccstats.dialects.signing import NonceCache, nonce_cache
from ccstats.limits import MAX_SECRET, MAX_TEXT, TooLarge, check_list, check_text
from ccstats.ratelimit import FailureLimiter, address_key, limiter_of
from ccstats.records import REQUEST_TIMES, TenantSettings, parse_time
from ccstats.responses import JSON
from ccstats.service import SearchRequest, Service

__all__ = [
    "NAME",
    "AcsError",
    "canonical_query",
    "canonical_request_v3",
    "matches",
    "precheck",
    "render_error",
    "router",
    "signature_v2",
    "signature_v3",
    "string_to_sign_v2",
]

NAME = "aliyun"
router = APIRouter(tags=["aliyun"])

VERSION = "2019-10-15"
ACTIONS = ("HotlineSessionQuery",)
V3_ALGORITHM = "ACS3-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
"""Clock skew allowed between client and server; also how long a nonce is remembered."""
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 20, 1000
"""Seed 004 sets no maximum page size ("取值大于 0"); ours bounds one answer (docs/aliyun.md)."""
SECONDS_BELOW = 10**11
"""Seed 004 says QueryStartTime/QueryEndTime are milliseconds but its own example values
(1614828721) are seconds: a value below this (1973-03-03 in ms, year 5138 in seconds) is seconds."""
_INT32_MAX = 2**31 - 1
_JSON_TYPE = "application/json;charset=utf-8"


class AcsError(Exception):
    """An error answered in Alibaba's POP shape (`Code` is what the SDK's exception carries)."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after


# -- errors -----------------------------------------------------------------------------------------


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _error(request: Request, error: AcsError) -> Response:
    """The POP error body (`dialects.md`), as `application/json;charset=utf-8` (never XML)."""
    request_id = _request_id()
    body = {
        "RequestId": request_id,
        "HostId": request.headers.get("host", "aiccs.aliyuncs.com"),
        "Code": error.code,
        "Message": error.message,
        "Recommend": "",
    }
    headers = {"x-acs-request-id": request_id}
    if error.retry_after:
        # The SDK raises ThrottlingException on `x-acs-retry-after` (milliseconds, its backoff unit).
        headers["Retry-After"] = str(error.retry_after)
        headers["x-acs-retry-after"] = str(error.retry_after * 1000)
    return JSON(body, status_code=error.status, media_type=_JSON_TYPE, headers=headers)


_FRAMEWORK_CODES = {
    400: "InvalidParameter",
    404: "InvalidApi.NotFound",
    405: "UnsupportedHTTPMethod",
}


def matches(request: Request) -> bool:
    """RPC requests: `/` carrying an `x-acs-action` header or an `Action` query parameter."""
    return request.url.path == "/" and (
        "x-acs-action" in request.headers or "Action" in request.query_params
    )


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error (bad request, wrong method, crash) in the POP error shape."""
    code = _FRAMEWORK_CODES.get(status, "InternalError" if status >= 500 else "InvalidParameter")
    if status >= 500:
        message = "The request processing has failed due to some unknown error."
    return _error(request, AcsError(status, code, message))


# -- signatures -------------------------------------------------------------------------------------


def _pct(text: str) -> str:
    # RFC 3986: everything but unreserved characters is percent-encoded (space -> %20, * -> %2A).
    return quote(text, safe="~", encoding="utf-8")


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """Decoded query pairs re-encoded per RFC 3986, sorted by name then value, joined by `&`."""
    encoded = sorted((_pct(k), _pct(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request_v3(
    method: str,
    path: str,
    pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    signed_headers: Sequence[str],
    payload_sha256: str,
) -> str:
    """The ACS3 canonical request over the headers the client listed in `SignedHeaders`."""
    names = sorted(name.lower() for name in signed_headers)
    lines = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in headers.get(name, ())))}\n" for name in names
    )
    return "\n".join(
        [method, path or "/", canonical_query(pairs), lines, ";".join(names), payload_sha256]
    )


def signature_v3(secret: str, canonical_request: str) -> str:
    """Lowercase hex HMAC-SHA256 of `ACS3-HMAC-SHA256\\n<hex sha256(canonical request)>`."""
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{V3_ALGORITHM}\n{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def string_to_sign_v2(method: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The legacy RPC string to sign: `METHOD&%2F&pct(sorted k=v pairs)`, `Signature` excluded."""
    signed = [(k, v) for k, v in pairs if k != "Signature"]
    return f"{method.upper()}&{_pct('/')}&{_pct(canonical_query(signed))}"


def signature_v2(secret: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA1 keyed with `secret + "&"` (the legacy signature version 1.0)."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class _Wire:
    """What authentication needs from a request, read once."""

    method: str
    query: list[tuple[str, str]]
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        """The first value of a header, stripped ("" when absent)."""
        values = self.headers.get(name)
        return values[0].strip() if values else ""


def _incomplete(what: str) -> AcsError:
    return AcsError(400, "IncompleteSignature", f"The request signature is incomplete: {what}.")


def _check_clock(stamp: str | None, name: str) -> None:
    if not stamp:
        raise _incomplete(f"{name} is missing")
    try:
        instant = datetime.fromisoformat(stamp)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise AcsError(
            400, "InvalidTimeStamp.Format", f"Specified time stamp {stamp!r} is malformed."
        )
    if abs(datetime.now(UTC) - instant) > MAX_SKEW:
        raise AcsError(
            400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )


def _secrets_of(service: Service, key_id: str) -> list[tuple[str, str]]:
    found = [
        (c.tenant_id, c.secret or "") for c in service.registry.find_credentials("aliyun", key_id)
    ]
    if not found:
        raise AcsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return found


def _tenant_if_signed(
    candidates: list[tuple[str, str]], sign: Callable[[str], str], got: str
) -> str:
    for tenant_id, secret in candidates:
        if hmac.compare_digest(sign(secret).encode(), got.encode()):
            return tenant_id
    raise AcsError(
        400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
    )


def _parse_authorization(header: str) -> tuple[str, str, list[str], str]:
    algorithm, _, rest = header.strip().partition(" ")
    parts = dict(p.strip().partition("=")[::2] for p in rest.split(",") if "=" in p)
    key_id, signed, signature = (
        parts.get(k, "") for k in ("Credential", "SignedHeaders", "Signature")
    )
    if not (key_id and signed and signature):
        raise _incomplete("Authorization needs Credential, SignedHeaders and Signature")
    return algorithm, key_id, [h.strip().lower() for h in signed.split(";") if h.strip()], signature


def _authenticate_v3(service: Service, wire: _Wire, nonces: NonceCache) -> str:
    algorithm, key_id, signed, signature = _parse_authorization(wire.header("authorization"))
    if algorithm != V3_ALGORITHM:
        raise AcsError(
            400, "InvalidSignatureMethod", f"Signature algorithm {algorithm!r} is not supported."
        )
    # Alibaba's V3 rule: every x-acs-* header present must be signed (research, section 4).
    unsigned = [h for h in wire.headers if h.startswith("x-acs-") and h not in signed]
    required = [h for h in ("host", "x-acs-date", "x-acs-signature-nonce") if h not in signed]
    if unsigned or required:
        raise _incomplete(f"these headers must be signed: {', '.join(unsigned + required)}")
    payload = hashlib.sha256(wire.body).hexdigest()
    if (wire.header("x-acs-content-sha256") or payload).lower() != payload:
        raise AcsError(
            400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body."
        )
    nonce = wire.header("x-acs-signature-nonce")
    if not nonce:
        raise _incomplete("x-acs-signature-nonce is missing")
    candidates = _secrets_of(service, key_id)
    _check_clock(wire.header("x-acs-date"), "x-acs-date")
    canonical = canonical_request_v3(wire.method, "/", wire.query, wire.headers, signed, payload)
    tenant_id = _tenant_if_signed(
        candidates, lambda s: signature_v3(s, canonical), signature.lower()
    )
    _use_nonce(nonces, key_id, nonce)
    return tenant_id


def _authenticate_v2(
    service: Service, wire: _Wire, params: list[tuple[str, str]], nonces: NonceCache
) -> str:
    values = dict(params)
    for name in ("AccessKeyId", "SignatureNonce", "Timestamp"):
        if not values.get(name):
            raise _incomplete(f"{name} is missing")
    if values.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise AcsError(
            400,
            "InvalidSignatureMethod",
            f"SignatureMethod {values['SignatureMethod']!r} is not supported.",
        )
    candidates = _secrets_of(service, values["AccessKeyId"])
    _check_clock(values["Timestamp"], "Timestamp")
    text = string_to_sign_v2(wire.method, params)
    tenant_id = _tenant_if_signed(candidates, lambda s: signature_v2(s, text), values["Signature"])
    _use_nonce(nonces, values["AccessKeyId"], values["SignatureNonce"])
    return tenant_id


def _use_nonce(nonces: NonceCache, key_id: str, nonce: str) -> None:
    # Recorded only after the signature checked out, so a forger cannot burn a client's nonces.
    now = time.time()
    if not nonces.first_use(f"{key_id}:{nonce}", now + MAX_SKEW.total_seconds(), now):
        raise AcsError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def precheck(service: Service, query: list[tuple[str, str]], headers: dict[str, list[str]]) -> None:
    """What authentication can check before the body is read: the access key and the clock
    (V3 `Authorization` header, or a V2 signature in the query). An unknown key or a stale
    request is refused without its body being read; the signature is checked with it after."""
    wire = _Wire("", query, headers, b"")
    if wire.header("authorization"):
        algorithm, key_id, _, _ = _parse_authorization(wire.header("authorization"))
        if algorithm != V3_ALGORITHM:
            raise AcsError(
                400,
                "InvalidSignatureMethod",
                f"Signature algorithm {algorithm!r} is not supported.",
            )
        _secrets_of(service, key_id)
        _check_clock(wire.header("x-acs-date"), "x-acs-date")
        return
    values = dict(query)
    if values.get("Signature") and values.get("AccessKeyId") and values.get("Timestamp"):
        _secrets_of(service, values["AccessKeyId"])
        _check_clock(values["Timestamp"], "Timestamp")


def authenticate(
    service: Service, wire: _Wire, params: list[tuple[str, str]], nonces: NonceCache
) -> str:
    """The tenant of a correctly signed request (V3 `Authorization` header, else V2 `Signature`)."""
    if wire.header("authorization"):
        return _authenticate_v3(service, wire, nonces)
    if any(k == "Signature" for k, _ in params):
        return _authenticate_v2(service, wire, params, nonces)
    raise _incomplete("send an ACS3-HMAC-SHA256 Authorization header or a Signature parameter")


# -- HotlineSessionQuery: parameters ----------------------------------------------------------------


@dataclass(frozen=True)
class _Filter:
    """A request filter: its scalar parameter, its list twin, the conversation column."""

    param: str
    list_param: str | None
    column: str
    kind: str = "text"  # text | long | call_type


_FILTERS = (
    _Filter("Id", None, "id"),
    _Filter("Acid", "AcidList", "acid"),
    _Filter("CallType", "CallTypeList", "direction", "call_type"),
    _Filter("CallingNumber", "CallingNumberList", "calling_number"),
    _Filter("CalledNumber", "CalledNumberList", "called_number"),
    _Filter("GroupId", "GroupIdList", "queue_id", "long"),
    _Filter("GroupName", None, "queue_name"),
    _Filter("MemberId", "MemberIdList", "customer_id"),
    _Filter("MemberName", None, "customer_name"),
    _Filter("ServicerId", "ServicerIdList", "agent_id"),
    _Filter("ServicerName", None, "agent_name"),
    _Filter("CallResult", "CallResultList", "end_reason"),
)
# reports.md: CallType 1 outbound, 2 inbound, 3 transfer.
_DIRECTION_OF = {"1": "outbound", "2": "inbound", "3": "transfer"}
_CALL_TYPE_OF = {v: int(k) for k, v in _DIRECTION_OF.items()}
_LONG = re.compile(r"-?\d{1,19}")


def _invalid(param: str, why: str) -> AcsError:
    return AcsError(400, "InvalidParameter", f"The parameter {param} is invalid: {why}.")


def _list_values(params: Mapping[str, str], name: str) -> list[str] | None:
    """`Name.1=a&Name.2=b` in index order (the SDK's flattening), or a JSON array in `Name`."""
    indexed = []
    for key, value in params.items():
        prefix, dot, index = key.partition(".")
        if prefix == name and dot:
            if not index.isdigit():
                raise _invalid(key, "a list item index must be a positive integer")
            indexed.append((int(index), value))
    values = [v for _, v in sorted(indexed)]
    if params.get(name, "").strip():
        values += _json_list(name, params[name])
    values = [v for v in values if v != ""]
    try:
        check_list(name, values)
    except TooLarge as error:
        raise _invalid(name, str(error)) from None
    return values or None


def _json_list(name: str, text: str) -> list[str]:
    # Defensive (research, section 4): some clients send a list as a JSON array string.
    try:
        parsed = json.loads(text)
    except ValueError:
        return [text]
    items = parsed if isinstance(parsed, list) else [parsed]
    if any(isinstance(item, dict | list) for item in items):
        raise _invalid(name, "list items must be scalars")
    return [str(item) for item in items if item is not None]


def _coerce(f: _Filter, param: str, value: str) -> str:
    value = value.strip()
    if f.kind == "call_type":
        if value not in _DIRECTION_OF:
            raise _invalid(param, "CallType is 1 (outbound), 2 (inbound) or 3 (transfer)")
        return _DIRECTION_OF[value]
    if f.kind == "long":
        if not _LONG.fullmatch(value):
            raise _invalid(param, f"{value!r} is not an integer")
        return str(int(value))  # GroupId is a long on the wire, text in the service
    return value


def _filters(params: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every scalar filter and its list twin: each narrows the result (a list matches any item)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for f in _FILTERS:
        if params.get(f.param, ""):
            out.append((f.column, (_coerce(f, f.param, params[f.param]),)))
        items = _list_values(params, f.list_param) if f.list_param else None
        if items:
            out.append((f.column, tuple(_coerce(f, f.list_param or "", v) for v in items)))
    return out


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not re.fullmatch(r"-?\d{1,19}", text):
        raise _invalid(name, f"{text!r} is not an integer")
    value = int(text)
    if not low <= value <= high:
        raise _invalid(name, f"it must be between {low} and {high}")
    return value


def _instant(params: Mapping[str, str], name: str, end: bool = False) -> datetime | None:
    """An epoch time in milliseconds (reports.md), or in seconds below `SECONDS_BELOW`; an end
    in seconds takes in its whole second, since the range includes its end."""
    text = params.get(name, "").strip()
    if not text:
        return None
    if not _LONG.fullmatch(text):
        raise _invalid(name, f"{text!r} is not an epoch time in milliseconds")
    value = int(text)
    try:
        # reports.md: epoch ms; seed 004's own example values (1614828721) are seconds.
        if value >= SECONDS_BELOW:
            return parse_time(value, REQUEST_TIMES)
        instant = parse_time(value * 1000, REQUEST_TIMES)
        return instant + timedelta(seconds=1, microseconds=-1) if end else instant
    except (ValueError, OverflowError, OSError):
        raise _invalid(name, f"{text} is out of range (the years 1970-2200 are accepted)") from None


@dataclass(frozen=True)
class _Page:
    number: int
    size: int


def _search_request(tenant_id: str, params: Mapping[str, str]) -> tuple[SearchRequest, _Page]:
    """The store search a HotlineSessionQuery asks for (reports.md, seed 004)."""
    start, end = _instant(params, "QueryStartTime"), _instant(params, "QueryEndTime", end=True)
    if start and end and end < start:
        raise _invalid("QueryEndTime", "it is before QueryStartTime")
    page = _Page(
        _int_param(params, "PageNo", 1, 1, _INT32_MAX),
        _int_param(params, "PageSize", PAGE_SIZE_DEFAULT, 1, PAGE_SIZE_MAX),
    )
    filters = [
        ("channel", ("voice",)),
        ("instance_id", (params["InstanceId"],)),
        *_filters(params),
    ]
    request = SearchRequest(
        tenant_id=tenant_id,
        start=start,
        end=end,
        end_inclusive=True,  # [QueryStartTime, QueryEndTime]
        filters=tuple(filters),
        sort=(("created_at", True),),  # newest first
        limit=page.size,
        offset=(page.number - 1) * page.size,
        columns=_COLUMNS,
    )
    return request, page


# -- HotlineSessionQuery: the record ----------------------------------------------------------------

Row = Mapping[str, Any]
Field = Callable[[Row, ZoneInfo], Any]


def _text(column: str) -> Field:
    return lambda row, zone: None if row.get(column) is None else str(row[column])


def _int(column: str) -> Field:
    return lambda row, zone: None if row.get(column) is None else int(row[column])


def _time(column: str) -> Field:
    # Tenant-local wall clock, as the seed writes it ("2020-10-02 22:32:55").
    def local(row: Row, zone: ZoneInfo) -> str | None:
        value = row.get(column)
        return None if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return local


def _code(column: str, codes: Mapping[str, Any]) -> Field:
    return lambda row, zone: codes.get(row.get(column) or "")


def _group_id(row: Row, zone: ZoneInfo) -> int | None:
    # The seed types GroupId as a long; a queue id that is not an integer has no GroupId.
    value = row.get("queue_id")
    return int(value) if value is not None and _LONG.fullmatch(value) else None


def _passive_transfer_id(row: Row, zone: ZoneInfo) -> str | None:
    # reports.md: PassiveTransferId is the agent transferred to, else the number transferred to.
    value = row.get("transfer_to_agent_id") or row.get("transfer_to_number")
    return None if value is None else str(value)


# In the seed's key order. reports.md gives each field's data-model source; string codes are strings
# and counts integers exactly as the seed's sample types them (HangUpRole "2", CallType 1).
RECORD: tuple[tuple[str, Field], ...] = (
    ("CallResult", _text("end_reason")),
    ("TrunkCall", _text("trunk_number")),
    ("ServicerName", _text("agent_name")),
    ("OutQueueTime", _time("dequeued_at")),
    ("CallContinueTime", _int("duration_s")),
    ("CreateTime", _time("created_at")),
    ("PickUpTime", _time("answered_at")),
    ("RingContinueTime", _int("ring_duration_s")),
    ("CalledNumber", _text("called_number")),
    ("ServicerId", _text("agent_id")),
    ("HangUpTime", _time("ended_at")),
    ("EvaluationLevel", _int("csat_level")),
    ("PassiveTransferId", _passive_transfer_id),
    ("ActiveTransferId", _text("transfer_from_agent_id")),
    ("HangUpRole", _code("ended_by", {"system": "1", "customer": "2", "agent": "3"})),
    ("PassiveTransferIdType", _code("transfer_target_type", {"agent": "1", "number": "2"})),
    ("MemberName", _text("customer_name")),
    ("EvaluationScore", _int("csat_score")),
    ("Acid", _text("acid")),
    ("RingStartTime", _time("ring_started_at")),
    ("CallType", _code("direction", _CALL_TYPE_OF)),
    ("GroupName", _text("queue_name")),
    ("GroupId", _group_id),
    ("RingEndTime", _time("ring_ended_at")),
    ("InQueueTime", _time("queued_at")),
    ("CallingNumber", _text("calling_number")),
    ("MemberId", _text("customer_id")),
    ("QueueUpContinueTime", _int("queue_duration_s")),
    ("Id", _text("id")),
)

_COLUMNS = (
    "id", "acid", "direction", "end_reason", "trunk_number", "calling_number", "called_number",
    "agent_id", "agent_name", "queue_id", "queue_name", "customer_id", "customer_name",
    "created_at", "queued_at", "dequeued_at", "ring_started_at", "ring_ended_at", "answered_at",
    "ended_at", "duration_s", "ring_duration_s", "queue_duration_s", "csat_level", "csat_score",
    "ended_by", "transfer_from_agent_id", "transfer_to_agent_id", "transfer_to_number",
    "transfer_target_type",
)  # fmt: skip


def call_detail_record(row: Row, zone: ZoneInfo) -> dict[str, Any]:
    """One `CallDetailRecord` (absent values are null, as the seed's notes say: "数据为 Null")."""
    return {name: field(row, zone) for name, field in RECORD}


# -- the endpoint -----------------------------------------------------------------------------------


def _tenant(service: Service, tenant_id: str) -> TenantSettings:
    tenant = service.tenant(tenant_id)
    if tenant is None:  # a credential whose tenant was removed
        raise AcsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return tenant


def hotline_session_query(
    service: Service, tenant_id: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """The success body of HotlineSessionQuery for a tenant (`dialects.md`, Success)."""
    instance = params.get("InstanceId", "").strip()
    if not instance:
        raise AcsError(400, "MissingInstanceId", "InstanceId is mandatory for this action.")
    tenant = _tenant(service, tenant_id)
    search, page = _search_request(tenant_id, {**params, "InstanceId": instance})
    if instance not in tenant.instances and not service.owns_instance(tenant_id, instance):
        raise AcsError(
            403,
            "Forbidden.NoPermission",
            f"You are not authorized to operate on the specified resource: instance {instance}.",
        )
    result = service.search(search, count=True)
    data = {
        "PageNumber": page.number,
        "PageSize": page.size,
        "TotalCount": result.total or 0,
        "CallDetailRecord": [call_detail_record(row, tenant.zone) for row in result.rows],
    }
    return {"Success": True, "Code": "Success", "Message": "Success", "Data": data}


def _check_action(request: Request, params: Mapping[str, str]) -> None:
    action = request.headers.get("x-acs-action") or params.get("Action", "")
    if action not in ACTIONS:
        raise AcsError(
            404, "InvalidApi.NotFound", f"Specified api {action!r} is not found in aiccs {VERSION}."
        )
    version = request.headers.get("x-acs-version") or params.get("Version", "")
    if not version:
        raise AcsError(400, "MissingVersion", "Version is mandatory for this action.")
    if version != VERSION:
        raise AcsError(
            404, "InvalidApi.NotFound", f"Specified api is not found in version {version!r}."
        )


def _params(query: list[tuple[str, str]], body: bytes, content_type: str) -> list[tuple[str, str]]:
    """Query pairs plus form-body pairs (RPC `formData`); `+` decodes to a space."""
    pairs = list(query)
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        pairs += _decode(body.decode("utf-8", errors="replace"))
    return pairs


def _decode(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=2000)
    except ValueError:
        raise AcsError(400, "InvalidParameter", "The request has too many parameters.") from None


def _check_sizes(params: list[tuple[str, str]]) -> None:
    """Every parameter name and value bounded (`ccstats.limits`); list items are checked with
    their list (`_list_values`)."""
    for name, value in params:
        try:
            check_text("a parameter name", name)
            check_text(name, value, MAX_SECRET if name == "Signature" else MAX_TEXT)
        except TooLarge as error:
            raise _invalid(name[:MAX_TEXT], str(error)) from None


def _answer(request: Request, service: Service, wire: _Wire) -> dict[str, Any]:
    params = _params(wire.query, wire.body, request.headers.get("content-type", ""))
    _check_sizes(params)
    values = dict(params)
    _check_action(request, values)
    tenant_id = authenticate(service, wire, params, nonce_cache(request.app.state, "aliyun"))
    return hotline_session_query(service, tenant_id, values)


_GUESSES = ("SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound")
"""Authentication failures that guess a secret: counted per access key and address."""


def _key_id(query: list[tuple[str, str]], headers: dict[str, list[str]]) -> str:
    """The AccessKeyId a request names (V3 `Credential=`, else the V2 parameter)."""
    authorization = _Wire("", query, headers, b"").header("authorization")
    for part in authorization.partition(" ")[2].split(","):
        name, _, value = part.strip().partition("=")
        if name == "Credential":
            return value
    return dict(query).get("AccessKeyId", "")


def _refuse_if_blocked(limiter: FailureLimiter, keys: tuple[str, ...]) -> None:
    wait = limiter.retry_after(*keys)
    if wait is not None:
        # Alibaba's code and message for a caller throttled (research, section 4); 429 here.
        message = "Request was denied due to user flow control."
        raise AcsError(429, "Throttling.User", message, retry_after=wait)


# `GET /` is shared with the dashboard: the app routes it here when the request carries an action.
@router.post("/", summary="Alibaba AICCS RPC endpoint", operation_id="rpc_post")
async def rpc(request: Request) -> Response:
    """Alibaba RPC calls (`x-acs-action` or `Action`): HotlineSessionQuery."""
    if not matches(request):
        return _error(
            request, AcsError(400, "MissingAction", "Action is mandatory for this action.")
        )
    service: Service = request.app.state.service
    limiter = limiter_of(request.app.state)
    keys: tuple[str, ...] = (address_key(request),)
    try:
        query = _decode(request.url.query)
        received = {k: request.headers.getlist(k) for k in request.headers.keys()}
        keys = (address_key(request), f"aliyun:{_key_id(query, received)[:MAX_TEXT]}")
        _refuse_if_blocked(limiter, keys)
        await run_in_threadpool(precheck, service, query, received)
        wire = _Wire(request.method, query, received, await request.body())
        data = await run_in_threadpool(_answer, request, service, wire)
    except AcsError as error:
        if error.code in _GUESSES:
            limiter.failed(*keys)
        return _error(request, error)
    request_id = _request_id()
    headers = {"x-acs-request-id": request_id}
    return JSON({"RequestId": request_id, **data}, media_type=_JSON_TYPE, headers=headers)
