"""The Twin24 dialect (seed 003): JWT login and refresh, and the call statistics search with exports.

Paths and behaviour are fixed by `docs/dialects.md` (Twin24) and `docs/reports.md` (field mapping).
The search maps every Twin24 field to one data-model column and asks the store for the rows
(`Store.search` for a JSON page, `Store.iter_search` for a streamed file); it computes nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

import jwt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import StreamingResponse

from ccstats.auth import match_credential, still_valid
from ccstats.export import batch_rows, csv_batch_chunks, utc_z_text, xlsx_chunks, zip_chunks
from ccstats.limits import MAX_LIST, MAX_SECRET, MAX_TEXT, TooLarge, check_text
from ccstats.ratelimit import address_key, limiter_of
from ccstats.records import (
    INT64_MAX,
    INT64_MIN,
    REQUEST_TIMES,
    TenantSettings,
    TimeOutOfRange,
    parse_time,
)
from ccstats.responses import JSON
from ccstats.service import SearchPage, SearchRequest, Service, StorageError
from ccstats.timebuckets import local_midnight, parse_local

__all__ = ["NAME", "router", "matches", "render_error", "FIELDS", "Twin24Error"]

NAME = "twin24"
router = APIRouter(tags=["twin24"])

WINDOW = 50_000
"""Seed 003: "не более 50 000 записей" per period; no row past this position is returned: a page
starting at or past it is empty (with the true `count`, so a client's paging loop ends), a file
holds the first `WINDOW` rows."""
TRUNCATED_HEADER = "X-Truncated-At"
"""Set to `WINDOW` on an answer that would have held rows past the window."""
TOTAL_HEADER = "X-Total-Count"
"""A file's true number of matching calls (a JSON page has it as `count`)."""
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
DEFAULT_TTL, MAX_TTL = 604_800, 30 * 86_400
REFRESH_TTL = MAX_TTL
"""A refresh token lives as long as the longest access token may (our choice; dialects.md is silent)."""

_SECRET_KEY = "twin24.jwt_secret"
_REFRESH_PREFIX = "twin24.refresh."
_secret_lock = threading.Lock()

Kind = Literal["text", "int", "bool", "time", "status", "responder", "messages", "messages_text"]


class FieldSpec(NamedTuple):
    """A Twin24 response field: the data-model column it shows and how it is written."""

    column: str | None
    kind: Kind


# reports.md, Twin24 table; in the seed's item order, then the two fields the seed's sample lacks.
FIELDS: dict[str, FieldSpec] = {
    "timezone": FieldSpec("customer_utc_offset", "int"),
    "additional": FieldSpec("extra", "text"),
    "startedAt": FieldSpec("started_at", "time"),
    "transferredToOperator": FieldSpec("transferred_to_agent", "bool"),
    "dialogId": FieldSpec("dialog_id", "text"),
    "duration": FieldSpec("duration_s", "int"),
    "createdAt": FieldSpec("created_at", "time"),
    "price": FieldSpec("price", "text"),
    "dialogResults": FieldSpec("dialog_result", "text"),
    "id": FieldSpec("id", "text"),
    "botId": FieldSpec("bot_id", "text"),
    "recordPath": FieldSpec("recording_url", "text"),
    "updatedAt": FieldSpec("updated_at", "time"),
    "botName": FieldSpec("bot_name", "text"),
    "externalId": FieldSpec("external_id", "text"),
    "responder": FieldSpec("answered_by", "responder"),
    "isFinished": FieldSpec("is_final_attempt", "bool"),
    "nps": FieldSpec("nps", "text"),
    "shortNumber": FieldSpec("short_number", "text"),
    "phone": FieldSpec("customer_phone", "text"),
    "regionId": FieldSpec("region_id", "int"),
    "taskName": FieldSpec("campaign_name", "text"),
    "taskId": FieldSpec("campaign_id", "text"),
    "linkToLog": FieldSpec("log_url", "text"),
    "status": FieldSpec("dial_status", "status"),
    "messages": FieldSpec(None, "messages"),
    "messagesAsString": FieldSpec(None, "messages_text"),
    "botDuration": FieldSpec("bot_duration_s", "int"),
    "operatorDuration": FieldSpec("agent_duration_s", "int"),
}

# Seed 003 lists the statuses "for the old telephony" (CANCEL, ANSWER, NOANSWER, BUSY, ...); the
# new telephony has others, so any status is stored and filtered as it is. The seed's sample rows
# say ANSWERED where its list says ANSWER: both name one value.
_ANSWERED = ("ANSWER", "ANSWERED")
RESPONDERS = {"human": "Human", "machine": "AnsweringMachine"}
AUTHORS = {"bot": "robot", "customer": "user", "agent": "operator"}
SPEAKERS = {"bot": "Робот", "customer": "Человек", "agent": "Оператор"}
PERIOD_FIELDS = ("createdAt", "startedAt", "updatedAt")
OUTPUTS = ("CSV", "EXCEL")
CONTROL_PARAMS = (
    "fields", "from", "to", "filterPeriodBy", "limit", "offset", "page", "sort", "output",
    "filename", "archive",
)  # fmt: skip
IGNORED_HEADER = "X-Ignored-Parameters"
"""Names the query parameters a search ignored: neither a control parameter nor a field."""
MAX_IGNORED_LISTED = 50


class Twin24Error(Exception):
    """An error answered as Twin24 does: non-2xx with `{"error": ..., "details": ...}`."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details
        self.retry_after = retry_after


def _bad(parameter: str, message: str, allowed: Sequence[str] | None = None) -> Twin24Error:
    details: dict[str, Any] = {"parameter": parameter}
    if allowed is not None:
        details["allowed"] = list(allowed)
        message += f"; allowed: {', '.join(allowed)}"
    return Twin24Error(422, f"{parameter}: {message}", details)


def _error_response(error: Twin24Error) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    body = {"error": error.message, "details": error.details}
    return JSON(body, status_code=error.status, headers=headers)


def _refuse_if_blocked(request: Request, keys: tuple[str, ...]) -> None:
    """429 while the caller's address or the login has failed too often (`ccstats.ratelimit`)."""
    wait = limiter_of(request.app.state).retry_after(*keys)
    if wait is not None:
        raise Twin24Error(
            429,
            f"Too many failed attempts. Try again in {wait} seconds.",
            {"retryAfter": wait},
            retry_after=wait,
        )


def matches(request: Request) -> bool:
    """Requests under /api/v1/ (Twin24's IAM and analyse paths)."""
    return request.url.path.startswith("/api/v1/")


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error in Twin24's shape (bad parameters are 422 there, not 400)."""
    return JSON({"error": message, "details": None}, status_code=422 if status == 400 else status)


# -- tokens ------------------------------------------------------------------------------------


def _signing_secret(request: Request) -> str:
    """The HS256 secret: kept in the store's meta table so tokens survive a restart."""
    cached: str | None = getattr(request.app.state, "twin24_secret", None)
    if cached is not None:
        return cached
    service: Service = request.app.state.service
    with _secret_lock:
        secret = service.registry.get_meta(_SECRET_KEY)
        if secret is None:
            secret = secrets.token_urlsafe(48)
            service.registry.put_meta(_SECRET_KEY, secret)
    request.app.state.twin24_secret = secret
    return secret


def _refresh_key(refresh_token: str) -> str:
    # Only a hash is stored: the table never holds a usable refresh token.
    return _REFRESH_PREFIX + hashlib.sha256(refresh_token.encode()).hexdigest()


def _issue(request: Request, tenant_id: str, email: str, cid: str, ttl: int) -> dict[str, str]:
    """A new access token (JWT) and refresh token (opaque, one use) for a Twin24 login (`cid`:
    the credential it is issued for; revoked, its tokens are refused)."""
    now = datetime.now(UTC)
    claims = {
        "sub": email,
        "tenant": tenant_id,
        "cid": cid,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": secrets.token_hex(8),  # two tokens issued in one second still differ
    }
    token = jwt.encode(claims, _signing_secret(request), algorithm="HS256")
    refresh = secrets.token_urlsafe(32)
    expires = int((now + timedelta(seconds=REFRESH_TTL)).timestamp())
    record = orjson.dumps({"sub": email, "tenant": tenant_id, "cid": cid, "exp": expires}).decode()
    request.app.state.service.registry.put_meta(_refresh_key(refresh), record)
    return {"token": token, "refreshToken": refresh}


def _token_response(tokens: dict[str, str], ttl: int) -> Response:
    response = JSON(tokens)
    # Third-party Twin24 scripts read these cookies after login (public third-party Twin24 client scripts).
    response.set_cookie("token", tokens["token"], max_age=ttl, httponly=True, samesite="lax")
    response.set_cookie(
        "refresh_token", tokens["refreshToken"], max_age=REFRESH_TTL, httponly=True, samesite="lax"
    )
    return response


def _ttl(value: Any) -> int:
    """The token lifetime in seconds: default one week, at most 30 days (dialects.md, Twin24)."""
    if value is None or value == "":
        return DEFAULT_TTL
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        raise _bad("ttl", f"must be a whole number of seconds, got {value!r}")
    ttl = int(value)
    if not 0 < ttl <= MAX_TTL:
        raise _bad("ttl", f"must be between 1 and {MAX_TTL} seconds (30 days), got {ttl}")
    return ttl


def _login_body(raw: bytes) -> tuple[str, str, int]:
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise _bad("body", 'must be a JSON object {"email": ..., "password": ..., "ttl": ...}')
    for name, limit in (("email", MAX_TEXT), ("password", MAX_SECRET)):
        if not isinstance(body.get(name), str) or not body[name]:
            raise _bad(name, "is required (a non-empty string)")
        _bounded(name, body[name], limit)
    return body["email"].strip().lower(), body["password"], _ttl(body.get("ttl"))


@router.post("/api/v1/auth/login", summary="Twin24: token by email and password")
async def login(request: Request) -> Response:
    """`{email, password, ttl}` → `{token, refreshToken}`; 401 "Invalid credentials."."""
    service: Service = request.app.state.service
    try:
        _refuse_if_blocked(request, (address_key(request),))
        email, password, ttl = _login_body(await request.body())
        keys = (address_key(request), f"twin24:{email}")
        _refuse_if_blocked(request, keys)
        # scrypt is slow on purpose: off the event loop. An unknown email costs one scrypt too
        # (`match_credential`), so the answer's time does not tell which emails exist.
        _, credential = await run_in_threadpool(
            match_credential, service.registry, "twin24", email, password
        )
        if credential is None:
            limiter_of(request.app.state).failed(*keys)
            raise Twin24Error(401, "Invalid credentials.")
        tokens = await run_in_threadpool(
            _issue, request, credential.tenant_id, email, credential.id, ttl
        )
    except Twin24Error as error:
        return _error_response(error)
    return _token_response(tokens, ttl)


@router.get("/api/v1/auth/refresh", summary="Twin24: new tokens for a refresh token")
def refresh(request: Request) -> Response:
    """`?refreshToken=&ttl=` → a new `{token, refreshToken}`; the old refresh token is used up."""
    service: Service = request.app.state.service
    try:
        _refuse_if_blocked(request, (address_key(request),))
        given = request.query_params.get("refreshToken") or ""
        if not given:
            raise _bad("refreshToken", "is required")
        _bounded("refreshToken", given, MAX_SECRET)
        ttl = _ttl(request.query_params.get("ttl"))
        record = service.registry.put_meta(_refresh_key(given), None)
        owner = orjson.loads(record) if record else None
        # Not "Token is expired.": clients answer that by refreshing, which would loop.
        if owner is None:
            limiter_of(request.app.state).failed(address_key(request))  # a guessed token
            raise Twin24Error(401, "Unauthorized.")
        if owner["exp"] < datetime.now(UTC).timestamp():
            raise Twin24Error(401, "Unauthorized.")
        if not _login_valid(service, owner["tenant"], owner["sub"], owner.get("cid")):
            raise Twin24Error(401, "Unauthorized.")
        tokens = _issue(request, owner["tenant"], owner["sub"], _cid(service, owner), ttl)
    except Twin24Error as error:
        return _error_response(error)
    return _token_response(tokens, ttl)


def _caller_tenant(request: Request) -> TenantSettings:
    """The tenant of the request's Bearer JWT: 401 "Token is expired." or "Unauthorized."."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Twin24Error(401, "Unauthorized.")
    _refuse_if_blocked(request, (address_key(request),))
    try:
        claims = jwt.decode(
            token.strip(),
            _signing_secret(request),
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "tenant"]},
        )
    except jwt.ExpiredSignatureError:
        # Exact text: the Twin24 SDK refreshes and retries on it (the official PHP SDK, `HttpClient::processResponse`).
        raise Twin24Error(401, "Token is expired.") from None
    except jwt.InvalidTokenError:
        limiter_of(request.app.state).failed(address_key(request))  # a forged signature
        raise Twin24Error(401, "Unauthorized.") from None
    service: Service = request.app.state.service
    tenant: TenantSettings | None = service.tenant(str(claims["tenant"]))
    if tenant is None or not _login_valid(
        service, tenant.id, str(claims["sub"]), claims.get("cid")
    ):
        raise Twin24Error(401, "Unauthorized.")
    return tenant


def _login_valid(service: Service, tenant_id: str, email: str, cid: Any) -> bool:
    """Whether the login a token was issued for is still there (a revoked one is refused at
    once); tokens from before credential ids (no `cid`) need the email's login of the tenant."""
    if isinstance(cid, str):
        return still_valid(service.registry, "twin24", email, tenant_id, cid)
    return any(c.tenant_id == tenant_id for c in service.registry.find_credentials("twin24", email))


def _cid(service: Service, owner: dict[str, Any]) -> str:
    """The credential of a refresh record (an old record without one: the email's login)."""
    if isinstance(owner.get("cid"), str):
        return str(owner["cid"])
    found = service.registry.find_credentials("twin24", owner["sub"])
    return next(c.id for c in found if c.tenant_id == owner["tenant"])


# -- the search request ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSearch:
    """A parsed `GET /api/v1/search/cis/calls`: what to select, which rows, which page or file."""

    fields: tuple[str, ...]
    request: SearchRequest
    first_row: int
    limit: int
    output: str | None
    archive: bool
    filename: str
    ignored: tuple[str, ...] = ()


def _int(params: QueryParams, name: str, default: int, low: int, high: int | None = None) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(name, f"must be an integer, got {text[:60]!r}") from None
    if value < low or (high is not None and value > high):
        limits = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _bad(name, f"must be {limits}, got {value}")
    return value


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _bad(name, f"must be true or false, got {text!r}", ["true", "false"])


_UNENCODED_PLUS = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$"
)


def _time(name: str, text: str, zone: Any) -> datetime:
    """ISO 8601 with an offset; without one, tenant-local wall time (data-model.md, Tenants)."""
    # Seed 003 asks clients to URL-encode `+`; one that forgot sends a space instead.
    text = _UNENCODED_PLUS.sub(r"\1+\2", text.strip())

    def instant() -> datetime:
        if len(text) == 10 and text[4] == "-":
            return local_midnight(datetime.fromisoformat(text).date(), zone)
        if text.lstrip("-").isdigit():
            return parse_time(text, REQUEST_TIMES)
        return parse_local(text.replace("Z", "+00:00"), zone)

    try:
        return REQUEST_TIMES.instant(instant, text)
    except TimeOutOfRange as error:
        raise _bad(name, str(error)) from None
    except ValueError:
        raise _bad(
            name, f"must be an ISO 8601 date-time such as 2022-03-01T21:30:54+00:00, got {text!r}"
        ) from None


def _fields(params: QueryParams) -> tuple[str, ...]:
    names = [n.strip() for v in params.getlist("fields") for n in v.split(",") if n.strip()]
    for name in names:
        if name not in FIELDS:
            raise _bad("fields", f"unknown field {name!r}", list(FIELDS))
    return tuple(dict.fromkeys(names)) or tuple(FIELDS)


def _sort(params: QueryParams) -> tuple[tuple[str, bool], ...]:
    """`sort=a,-b`: `-` is descending (twin24 autoCall list page: `sort=-status`)."""
    keys: dict[str, bool] = {}
    for part in params.get("sort", "").split(","):
        part = part.strip()
        descending = part.startswith("-")
        name = part.lstrip("-+ ")
        if not name:
            continue
        spec = FIELDS.get(name)
        if spec is None or spec.column is None:
            sortable = [n for n, s in FIELDS.items() if s.column]
            raise _bad("sort", f"cannot sort by {name!r}", sortable)
        keys.setdefault(spec.column, descending)
    return tuple(keys.items()) or (("created_at", True),)


FREE_TEXT = frozenset(
    {
        "additional",
        "dialogResults",
        "nps",
        "botName",
        "taskName",
        "externalId",
        "recordPath",
        "linkToLog",
    }
)
"""Fields of free text (names, notes, links): a comma there is part of the value."""


def _filter_texts(name: str, texts: list[str]) -> list[str]:
    """The single values of a filter's query values: `status=NOANSWER,BUSY` is either status
    (ids, phones, numbers, statuses never hold a comma); free text is taken whole. Blank values
    filter nothing."""
    if name in FREE_TEXT:
        return [text for text in texts if text.strip()]
    return [part.strip() for text in texts for part in text.split(",") if part.strip()]


def _int_value(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _bad(name, f"must be an integer, got {text[:60]!r}") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise _bad(name, f"must be a 64-bit integer, got {value}")
    return value


def _filter_values(name: str, spec: FieldSpec, texts: list[str], zone: Any) -> tuple[Any, ...]:
    """The stored values that a filter's query values stand for."""
    if spec.kind in ("messages", "messages_text"):
        raise _bad(name, "the transcript cannot be filtered by")
    values: list[Any] = []
    for text in _filter_texts(name, texts):
        if spec.kind == "int":
            values.append(_int_value(name, text))
        elif spec.kind == "bool":
            # A missing bool shows as false (reports.md, common rules), so false matches it too.
            values += [True] if _bool(name, text) else [False, None]
        elif spec.kind == "time":
            values.append(_time(name, text, zone))
        elif spec.kind == "status":
            # Any status (see _ANSWERED), as sent and upper-cased.
            status = text.strip()
            values += _ANSWERED if status.upper() in _ANSWERED else [status, status.upper()]
        elif spec.kind == "responder":
            wanted = {v.lower(): k for k, v in RESPONDERS.items()}.get(text.strip().lower())
            if wanted is None:
                raise _bad(name, f"unknown responder {text!r}", list(RESPONDERS.values()))
            values.append(wanted)
        else:
            values.append(text)
    return tuple(dict.fromkeys(values))


Filters = tuple[tuple[str, tuple[Any, ...]], ...]


def _filters(params: QueryParams, zone: Any) -> tuple[Filters, tuple[str, ...]]:
    """Equality on any response field given as a parameter (empty values filter nothing), and
    the parameters that are neither a field nor a control parameter: a Twin24 client may send
    parameters ccstats does not know (`withoutCount=true`), and keeps working when they are
    ignored rather than refused."""
    filters: list[tuple[str, tuple[Any, ...]]] = [("channel", ("voice",))]
    ignored: list[str] = []
    for name in dict.fromkeys(params.keys()):
        if name in CONTROL_PARAMS:
            continue
        spec = FIELDS.get(name)
        if spec is None:
            ignored.append(name)
            continue
        values = _filter_values(name, spec, params.getlist(name), zone)
        if values:
            filters.append((str(spec.column), values))
    return tuple(filters), tuple(ignored)


def _period(params: QueryParams, zone: Any) -> tuple[datetime | None, datetime | None, str]:
    by = params.get("filterPeriodBy", "").strip() or "createdAt"
    if by not in PERIOD_FIELDS:
        raise _bad("filterPeriodBy", f"unknown field {by!r}", PERIOD_FIELDS)
    start = _time("from", params["from"], zone) if params.get("from", "").strip() else None
    end = _time("to", params["to"], zone) if params.get("to", "").strip() else None
    if start is not None and end is not None and start > end:
        raise _bad("to", "must not be before from")
    return start, end, str(FIELDS[by].column)


def _output(params: QueryParams) -> str | None:
    output = params.get("output", "").strip().upper()
    if output in ("", "JSON"):
        return None
    if output not in OUTPUTS:
        raise _bad("output", f"unknown format {params['output']!r}", OUTPUTS)
    return output


def _bounded(name: str, value: Any, limit: int = MAX_TEXT) -> None:
    try:
        check_text(name, value, limit)
    except TooLarge as error:
        raise Twin24Error(422, str(error), {"parameter": name[:MAX_TEXT]}) from None


def _check_sizes(params: QueryParams) -> None:
    """Every parameter bounded (`ccstats.limits`): names, values, repeats."""
    counts: dict[str, int] = {}
    for name, value in params.multi_items():
        _bounded("parameter name", name)
        _bounded(name, value, _MAX_LIST_TEXT if name in ("fields", "sort") else MAX_TEXT)
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > MAX_LIST:
            raise _bad(name, f"at most {MAX_LIST} values")


_MAX_LIST_TEXT = 4096
"""Characters of `fields` or `sort` (comma lists of field names)."""


def parse_search(params: QueryParams, tenant_id: str, zone: Any) -> CallSearch:
    """A Twin24 query string as a search of the tenant's voice conversations."""
    _check_sizes(params)
    fields = _fields(params)
    start, end, time_field = _period(params, zone)
    limit = _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    first_row = _int(params, "offset", 0, 0) + _int(params, "page", 0, 0) * limit
    columns = {"id": None} | {FIELDS[f].column: None for f in fields if FIELDS[f].column}
    filters, ignored = _filters(params, zone)
    request = SearchRequest(
        tenant_id=tenant_id,
        start=start,
        end=end,
        time_field=time_field,
        filters=filters,
        sort=_sort(params),
        # Rows past the window are never returned (seed 003): the page stops at it.
        limit=max(0, min(limit, WINDOW - first_row)),
        offset=min(first_row, WINDOW),
        columns=tuple(str(c) for c in columns),
    )
    archive = _bool("archive", params["archive"]) if params.get("archive", "").strip() else False
    return CallSearch(
        fields,
        request,
        first_row,
        limit,
        _output(params),
        archive,
        params.get("filename", ""),
        ignored,
    )


# -- items -------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # Arrow batches and `SearchPage.values` carry naive UTC times; transcripts aware ones.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime | None, timespec: str = "microseconds") -> str | None:
    """Seed 003 item times: `2022-06-29T08:44:26.000000Z` (UTC)."""
    # isoformat, not strftime: several times faster, and a file export writes 150 000 of them.
    if value is None:
        return None
    if value.tzinfo is None:  # rows of `Store.search` (`SearchPage.values`): naive UTC
        return value.isoformat(timespec=timespec) + "Z"
    if value.tzinfo is UTC:  # transcripts (`messages_for`): cut "+00:00" (no datetime copies)
        return value.isoformat(timespec=timespec)[:-6] + "Z"
    return _utc(value).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _message(message: dict[str, Any]) -> dict[str, Any]:
    sent = message["sent_at"]
    return {
        "text": message["text"],
        "author": AUTHORS[message["sender"]],
        # Seed 003 message times have no fraction: `2022-06-29T08:44:39Z`.
        "created_at": format_time(sent, "seconds"),
    }


def messages_as_string(transcript: list[dict[str, Any]]) -> str:
    """Seed 003 `messagesAsString`: `Робот: …` / `Человек: …` / `Оператор: …` lines."""
    return "\n".join(
        f"{SPEAKERS[m['sender']]}: {m['text'] or ''}" for m in transcript if m["sender"] in SPEAKERS
    )


def _column(
    spec: FieldSpec, page: SearchPage, transcripts: list[list[dict[str, Any]]]
) -> list[Any]:
    """One field of every row, as seed 003 writes it (a column at a time: one branch per field,
    not per cell; a 1000-row page is 29 000 values)."""
    if spec.kind == "messages_text":
        return [messages_as_string(t) for t in transcripts]
    if spec.kind == "messages":
        # System lines have no Twin24 author (robot, user, operator); they are left out.
        return [[_message(m) for m in t if m["sender"] in AUTHORS] for t in transcripts]
    values = page.column(str(spec.column))
    if spec.kind == "time":
        return [format_time(v) for v in values]
    if spec.kind == "bool":
        return [bool(v) for v in values]  # a missing bool shows as false (reports.md)
    if spec.kind == "status":
        return ["ANSWERED" if v in _ANSWERED else v for v in values]
    if spec.kind == "responder":
        return [RESPONDERS.get(v) if v else None for v in values]
    return values


def items(
    fields: Sequence[str],
    page: SearchPage,
    transcripts: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Calls as seed 003 writes them, with the requested fields in the requested order."""
    texts = [transcripts.get(i, []) for i in page.column("id")]
    columns = [_column(FIELDS[name], page, texts) for name in fields]
    return [dict(zip(fields, values, strict=True)) for values in zip(*columns, strict=True)]


def _needs_transcript(fields: Sequence[str]) -> bool:
    return any(FIELDS[f].kind in ("messages", "messages_text") for f in fields)


# -- the search endpoint -----------------------------------------------------------------------


def _page(service: Service, search: CallSearch) -> Response:
    def page_items(page: SearchPage) -> list[dict[str, Any]]:
        transcripts: dict[str, list[dict[str, Any]]] = {}
        if _needs_transcript(search.fields):
            transcripts = service.messages_for(search.request.tenant_id, page.column("id"))
        return items(search.fields, page, transcripts)

    # Built once per kept page (`ccstats.answers`): transcripts change only with their call.
    page, built = service.search_formatted(
        search.request, True, ("twin24", search.fields), page_items
    )
    total = page.total or 0
    response = JSON({"count": total, "items": built})
    if min(search.first_row + search.limit, total) > WINDOW:
        response.headers[TRUNCATED_HEADER] = str(WINDOW)
    return response


_RESPONDER_CODES = pa.array(list(RESPONDERS))
_RESPONDER_NAMES = pa.array(list(RESPONDERS.values()))
_ANSWERED_CODES = pa.array(_ANSWERED)


def _file_column(spec: FieldSpec, batch: pa.RecordBatch, transcript_texts: pa.Array) -> pa.Array:
    """One field of a file batch, formatted for the whole column as `_value` formats a cell
    (JSON items), except `messages`, which a file writes as `messagesAsString` text."""
    if spec.kind in ("messages", "messages_text"):
        return transcript_texts  # dialects.md: in a file, `messages` is `messagesAsString`
    values = batch.column(str(spec.column))
    if spec.kind == "time":
        return utc_z_text(values)
    if spec.kind == "bool":
        return pc.fill_null(values, False)
    if spec.kind == "status":
        return pc.if_else(pc.is_in(values, value_set=_ANSWERED_CODES), "ANSWERED", values)
    if spec.kind == "responder":
        return pc.take(_RESPONDER_NAMES, pc.index_in(values, value_set=_RESPONDER_CODES))
    return values


def _file_batches(service: Service, search: CallSearch) -> Iterator[pa.RecordBatch]:
    """Every matching call as a batch of file cells, one Arrow batch (and its transcripts) at a time."""
    request = replace(search.request, limit=WINDOW, offset=0)
    with_transcript = _needs_transcript(search.fields)
    for batch in service.iter_search(request, batch_size=1000):
        texts = pa.nulls(batch.num_rows, pa.string())
        if with_transcript:
            ids = batch.column("id").to_pylist()
            transcripts = service.messages_for(request.tenant_id, ids)
            texts = pa.array([messages_as_string(transcripts.get(i, [])) for i in ids], pa.string())
        arrays = [_file_column(FIELDS[name], batch, texts) for name in search.fields]
        yield pa.RecordBatch.from_arrays(arrays, names=list(search.fields))


def _file_rows(service: Service, search: CallSearch) -> Iterator[list[Any]]:
    """Every matching call as a row of file cells, one batch at a time."""
    for batch in _file_batches(service, search):
        yield from batch_rows(batch)


def ignored_header(names: Sequence[str]) -> str:
    """`X-Ignored-Parameters`: the names URL-encoded (a header is latin-1), comma-separated, at
    most `MAX_IGNORED_LISTED` of them."""
    listed = [quote(name, safe="") for name in names[:MAX_IGNORED_LISTED]]
    if len(names) > MAX_IGNORED_LISTED:
        listed.append(f"... ({len(names) - MAX_IGNORED_LISTED} more)")
    return ", ".join(listed)


def _file_stem(filename: str) -> str:
    """The `filename` parameter made safe for a header and a zip entry; `calls` by default."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", filename).strip(" .")[:120] or "calls"


def _disposition(name: str, extension: str) -> str:
    """`attachment; filename="<name>.<ext>"`, with an RFC 6266 `filename*` for non-ASCII names."""
    # A header is latin-1: a non-ASCII name goes in `filename*`, `calls` is the plain fallback.
    ascii_name = name if name.isascii() else "calls"
    header = f'attachment; filename="{ascii_name}.{extension}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name + '.' + extension)}"
    return header


_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


def _file(service: Service, search: CallSearch) -> Response:
    """The whole result as a streamed CSV or XLSX file, zipped on request: its first `WINDOW`
    rows in the requested sort (seed 003), the headers saying how many matched and where the
    file was cut."""
    total = service.search(replace(search.request, limit=0, offset=0), count=True).total or 0
    extension = "csv" if search.output == "CSV" else "xlsx"
    chunks = (
        csv_batch_chunks(search.fields, _file_batches(service, search))
        if extension == "csv"
        else xlsx_chunks(search.fields, _file_rows(service, search), "calls")
    )
    stem = _file_stem(search.filename)
    if search.archive:
        chunks, extension = zip_chunks(f"{stem}.{extension}", chunks), "zip"
    headers = {"Content-Disposition": _disposition(stem, extension), TOTAL_HEADER: str(total)}
    if total > WINDOW:
        headers[TRUNCATED_HEADER] = str(WINDOW)
    return StreamingResponse(chunks, media_type=_MEDIA[extension], headers=headers)


@router.get("/api/v1/search/cis/calls", summary="Twin24: call statistics (seed 003)")
def search_calls(request: Request) -> Response:
    """`{"count", "items"}` of the caller's voice calls, or the whole result as a CSV/XLSX file."""
    service: Service = request.app.state.service
    try:
        tenant = _caller_tenant(request)
        search = parse_search(request.query_params, tenant.id, tenant.zone)
        response = _file(service, search) if search.output else _page(service, search)
        if search.ignored:
            response.headers[IGNORED_HEADER] = ignored_header(search.ignored)
        return response
    except Twin24Error as error:
        return _error_response(error)
    except StorageError as error:
        return _error_response(Twin24Error(503, f"The statistics service failed: {error}"))
