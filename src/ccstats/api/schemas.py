"""What the OpenAPI schema says of the `/v1` and admin routes: the answer models, the error model
and its codes, the security schemes, the request bodies the routes read themselves (ingest) and the
detail search's query parameters.

The routes return plain dicts through orjson (fast, exact); these models document those answers
(`amend_openapi` puts them into the schema) and are never run over a response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from ccstats.records import AgentInterval, Conversation, Message, TenantSettings

__all__ = [
    "ERROR_CODES",
    "ERROR_STATUSES",
    "API_TOKEN_SCHEME",
    "ADMIN_TOKEN_SCHEME",
    "ErrorBody",
    "ErrorResponse",
    "Rejected",
    "IngestAnswer",
    "MetricEntry",
    "MetricCatalogue",
    "RatioCell",
    "QueryAnswer",
    "SearchAnswer",
    "StoredConversation",
    "ConversationAnswer",
    "TenantList",
    "CreatedCredential",
    "DemoSummary",
    "StoreInfo",
    "Erasure",
    "CredentialInfo",
    "CredentialList",
    "Revoked",
    "BackupAnswer",
    "CONTROLS_DOCUMENTED",
    "RouteDoc",
    "ROUTE_DOCS",
    "amend_openapi",
    "document",
]

API_TOKEN_SCHEME = "apiToken"
ADMIN_TOKEN_SCHEME = "adminToken"

ERROR_CODES: dict[str, str] = {
    "invalid_request": "The body or a parameter does not match the operation (a wrong type, a "
    "missing field); the message names it.",
    "malformed_payload": "The body is not JSON / NDJSON, or not the shape asked for.",
    "invalid_query": "A metric query that cannot run (e.g. a granularity that does not exist).",
    "invalid_time": "`from` or `to` is not a time (ISO 8601, epoch ms, or a local date).",
    "invalid_range": "`to` is not after `from`.",
    "invalid_parameter": "A parameter given twice that takes one value.",
    "invalid_filter": "A filter value of the wrong type, or a filter on a time field.",
    "invalid_sort": "`sort` names no field.",
    "invalid_limit": "`limit` is not an integer from 1 to 1000.",
    "invalid_fields": "`fields` names no field.",
    "invalid_cursor": "`cursor` is not one this API made for this sort; start again without it.",
    "unknown_name": "An unknown metric, field, parameter or format; `details.did_you_mean` "
    "suggests the closest name.",
    "invalid_settings": "Tenant settings that do not validate (e.g. an unknown time zone).",
    "invalid_credential": "An unknown credential kind or tenant, or a key id already taken.",
    "invalid_metric": "`metric=` names a ratio or a maximum, not a set of conversations.",
    "missing_header": "A dashboard sign-in request without the dashboard's `X-CCStats-Client` "
    "header (a page of another site cannot add it).",
    "ambiguous": "A key that several credentials share: name one by its id.",
    "unauthorized": "No token, or a token that is not valid (401).",
    "forbidden": "A tenant's API token on an admin route (403).",
    "not_found": "No such tenant, conversation, credential or path (404).",
    "method_not_allowed": "The path exists, with another method (405).",
    "value_too_large": "A value, list or filter count over its bound (`limits`); the message "
    "names the parameter and the bound.",
    "payload_too_large": "The request body is over the server's limit (413; "
    "`CCSTATS_MAX_BODY_BYTES`, `CCSTATS_MAX_QUERY_BODY_BYTES`).",
    "too_many_requests": "Too many failed authentications from this address or for this key; "
    "`Retry-After` says when to try again (429).",
    "storage_failed": "The store failed; nothing of the batch was stored: send it again (503).",
    "internal_error": "A bug; the server log has the details, under the response's X-Request-ID "
    "(500).",
}
"""Every `error.code` of the native API and what it means."""

ERROR_STATUSES: dict[int, tuple[str, ...]] = {
    400: (
        "invalid_request",
        "malformed_payload",
        "invalid_query",
        "invalid_time",
        "invalid_range",
        "invalid_parameter",
        "invalid_filter",
        "invalid_sort",
        "invalid_limit",
        "invalid_fields",
        "invalid_cursor",
        "unknown_name",
        "invalid_settings",
        "invalid_credential",
        "invalid_metric",
        "missing_header",
        "value_too_large",
        "ambiguous",
    ),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    413: ("payload_too_large",),
    429: ("too_many_requests",),
    500: ("internal_error",),
    503: ("storage_failed",),
}
"""Which codes come with which HTTP status."""


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str = Field(
        description="A stable code for programs (see the list below).",
        json_schema_extra={"enum": list(ERROR_CODES)},
    )
    message: str = Field(description="For people: what is wrong and, where it helps, what to do.")
    details: Any = Field(
        None, description="Structured details (`unknown_name`: `{name, did_you_mean}`), or null."
    )


class ErrorResponse(BaseModel):
    """Every `/v1` error: a 4xx (or 5xx) status and this body."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Every `/v1` error: a 4xx (or 5xx) status and this body. Codes: "
            + "; ".join(f"`{code}`: {meaning}" for code, meaning in ERROR_CODES.items())
        }
    )

    error: ErrorBody


class Rejected(BaseModel):
    """A record that was not stored, and why."""

    index: int = Field(description="0-based position of the record in the batch.")
    id: str | None = Field(description="The record's `id`, when it had one.")
    reason: str = Field(description="Each bad field and what is wrong with it.")


class IngestAnswer(BaseModel):
    """The result of an ingest batch: the valid records are stored (upserted), the others listed."""

    accepted: int = Field(description="Records stored (inserted or replaced).")
    rejected: list[Rejected]


class MetricEntry(BaseModel):
    """A metric of the catalogue."""

    name: str
    description: str
    unit: str
    kind: Literal["count", "sum", "ratio"] | str = Field(
        description="`ratio`: numerator / denominator, computed in Python with half-up rounding."
    )
    numerator: str | None = Field(None, description="Ratios: the numerator metric.")
    denominator: str | None = Field(None, description="Ratios: the denominator metric.")
    expression: str | None = Field(None, description="Counts and sums: what is added up.")
    condition: str | None = Field(None, description="Counts and sums: which conversations count.")


class MetricCatalogue(BaseModel):
    """Every metric, and the name patterns resolved on demand."""

    metrics: list[MetricEntry]
    parametric: list[str] = Field(description="`service_level_<N>s`, `fcr_<N>h`.")


class RatioCell(BaseModel):
    """A ratio's value with its parts (value null when the denominator is 0)."""

    value: float | None
    numerator: float | int
    denominator: float | int


class QueryAnswer(BaseModel):
    """Rows of a metric query: `bucket` (tenant-local ISO 8601) when bucketed, the group-by
    fields, then one value per metric (a number, or a `RatioCell` for ratios)."""

    columns: list[str]
    rows: list[dict[str, int | float | str | RatioCell | None]]
    data_as_of: str | None = Field(description="When the tenant's newest record was stored (UTC).")
    data_kept_since: str | None = Field(
        description="With the tenant's `retention_days`: records created before this time (UTC) "
        "are deleted, so a range that starts earlier counts only what is kept; null without "
        "retention."
    )
    explain: dict[str, Any] | None = Field(
        None, description="With `?explain=1`: `metrics`, `measures` and the `sql` that ran."
    )


class StoredConversation(Conversation):
    """A conversation as stored and returned: the record's fields (times in UTC), the transcript
    facts derived at ingest, and when it was stored. `messages` only in the one-conversation
    answer."""

    model_config = ConfigDict(extra="allow")

    msg_count: int = 0
    customer_msg_count: int = 0
    agent_msg_count: int = 0
    bot_msg_count: int = 0
    own_agent_msg_count: int = 0
    customer_msg_to_agent_count: int = 0
    bot_replies: int = 0
    bot_answered: int = 0
    bot_unknown: int = 0
    first_response_s: float | None = None
    reply_wait_s: float = 0.0
    reply_count: int = 0
    stored_at: str | None = None


class SearchAnswer(BaseModel):
    """A page of the detail search; `next_cursor` fetches the next one (null on the last)."""

    rows: list[StoredConversation]
    next_cursor: str | None
    data_as_of: str | None
    data_kept_since: str | None = Field(
        description="With the tenant's `retention_days`: records created before this time (UTC) "
        "are deleted; null without retention."
    )


class ConversationAnswer(BaseModel):
    """One conversation with its transcript."""

    conversation: StoredConversation
    data_as_of: str | None


class TenantList(BaseModel):
    """Every tenant's settings."""

    tenants: list[TenantSettings]


class CreatedCredential(BaseModel):
    """A new credential: its kind, tenant and what the client needs, shown once. By kind: `api`
    `token`; `huawei` `appKey`, `appSecret`; `7moor` `appkey`, `secret`; `twin24` `email`,
    `password`; `aliyun` `accessKeyId`, `accessKeySecret`."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["api", "huawei", "7moor", "twin24", "aliyun"]
    tenant_id: str


class SessionAnswer(BaseModel):
    """Who is signed in to the dashboard (`/v1/session`)."""

    signed_in: bool
    fresh_install: bool | None = Field(None, description="No tenant exists yet (signed out only).")
    tenant: TenantSettings | None = None
    data_as_of: str | None = None


class PeriodValues(BaseModel):
    """One period of a summary: its bounds (tenant-local ISO) and each metric's value."""

    from_: str = Field(alias="from")
    to: str
    values: dict[str, Any]


class SummaryAnswer(BaseModel):
    """Metric totals of a period beside the previous period of the same length."""

    metrics: list[str]
    current: PeriodValues
    previous: PeriodValues
    change: dict[str, dict[str, float | None]] = Field(
        description="Per metric: `difference` and `relative` change (None when not defined)."
    )
    data_as_of: str | None


class AgentSummaryAnswer(BaseModel):
    """Per agent: the metrics asked for, time logged in and in each status, occupancy."""

    metrics: list[str]
    statuses: list[Any]
    rows: list[dict[str, Any]]
    data_as_of: str | None


class DemoSummary(BaseModel):
    """What the demo created: its seed and dates, how many conversations and agent intervals,
    per tenant the channels and sources, and the demo credentials (docs/demo.md)."""

    model_config = ConfigDict(extra="allow")

    seed: int
    today: str
    conversations: int
    tenants: list[dict[str, Any]]
    credentials: list[dict[str, Any]]


class StoreInfo(BaseModel):
    """The versions of the code and of the store the server holds."""

    version: str = Field(description="The ccstats version serving.")
    engine: str = Field(description="The store's engine (`duckdb`).")
    schema_version: int = Field(description="The schema version of the store.")
    code_schema_version: int = Field(description="The schema version this code writes.")


class BackupAnswer(BaseModel):
    """A finished backup."""

    destination: str
    bytes: int | None = Field(description="The backup file's size.")
    seconds: float = Field(description="How long the copy took.")
    schema_version: int = Field(description="The schema version of the copy.")


class Erasure(BaseModel):
    """What an erasure deleted."""

    tenant_id: str
    customer_id: str | None = Field(None, description="The customer erased (customer routes).")
    conversations: int = Field(description="Conversations deleted.")
    messages: int = Field(description="Transcript messages deleted with them.")
    agent_intervals: int = Field(description="Agent intervals deleted (a tenant's deletion).")
    credentials: int | None = Field(None, description="Credentials deleted (a tenant's).")


class CredentialInfo(BaseModel):
    """A stored credential, without its secret."""

    id: str = Field(description="Its name among the tenant's (`kind-` and 10 hex digits).")
    tenant_id: str
    kind: Literal["api", "huawei", "7moor", "twin24", "aliyun"]
    key: str = Field(
        description="The key id: the API token's key, the Huawei appKey, the 7moor appkey, "
        "the Twin24 email, the Alibaba AccessKeyId."
    )
    created_at: str | None


class CredentialList(BaseModel):
    """A tenant's credentials, oldest first."""

    credentials: list[CredentialInfo]


class Revoked(BaseModel):
    """The credential deleted."""

    revoked: CredentialInfo


@dataclass(frozen=True)
class RouteDoc:
    """What the schema says of one operation: its answer, its error statuses, its body."""

    answer: type[BaseModel] | None
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    body_many: bool = False
    """The body is one record, an array of them, or NDJSON (the ingest routes)."""
    admin: bool = False
    body_note: str = ""


_TENANT_ERRORS = (400, 401, 413, 429)
_ADMIN_ERRORS = (400, 401, 403, 413, 429)

ROUTE_DOCS: dict[tuple[str, str], RouteDoc] = {
    ("post", "/v1/conversations"): RouteDoc(
        IngestAnswer, (*_TENANT_ERRORS, 503), Conversation, body_many=True
    ),
    ("post", "/v1/agent-intervals"): RouteDoc(
        IngestAnswer, (*_TENANT_ERRORS, 503), AgentInterval, body_many=True
    ),
    ("get", "/v1/metrics"): RouteDoc(MetricCatalogue, ()),
    ("post", "/v1/query"): RouteDoc(QueryAnswer, _TENANT_ERRORS),
    ("get", "/v1/conversations"): RouteDoc(SearchAnswer, _TENANT_ERRORS),
    ("get", "/v1/conversations/{conversation_id}"): RouteDoc(
        ConversationAnswer, (400, 401, 404, 429)
    ),
    ("get", "/v1/tenants"): RouteDoc(TenantList, (401, 403, 429), admin=True),
    ("get", "/v1/tenants/{tenant_id}"): RouteDoc(TenantSettings, (401, 403, 404, 429), admin=True),
    ("put", "/v1/tenants/{tenant_id}"): RouteDoc(
        TenantSettings,
        _ADMIN_ERRORS,
        TenantSettings,
        admin=True,
        body_note="The settings to set; those not given keep their values (a new tenant: the "
        "defaults). `id` is taken from the path.",
    ),
    ("post", "/v1/tenants/{tenant_id}/credentials"): RouteDoc(
        CreatedCredential, _ADMIN_ERRORS, admin=True
    ),
    ("get", "/v1/tenants/{tenant_id}/credentials"): RouteDoc(
        CredentialList, (401, 403, 404), admin=True
    ),
    ("delete", "/v1/tenants/{tenant_id}/credentials/{credential}"): RouteDoc(
        Revoked, (*_ADMIN_ERRORS, 404), admin=True
    ),
    ("delete", "/v1/tenants/{tenant_id}"): RouteDoc(Erasure, (401, 403, 404, 503), admin=True),
    ("delete", "/v1/tenants/{tenant_id}/customers/{customer_id}"): RouteDoc(
        Erasure, (401, 403, 404, 503), admin=True
    ),
    ("delete", "/v1/customers/{customer_id}"): RouteDoc(Erasure, (401, 503)),
    ("post", "/v1/admin/demo"): RouteDoc(DemoSummary, _ADMIN_ERRORS, admin=True),
    ("post", "/v1/admin/backup"): RouteDoc(BackupAnswer, (*_ADMIN_ERRORS, 503), admin=True),
    ("get", "/v1/admin/store"): RouteDoc(StoreInfo, (401, 403), admin=True),
    ("post", "/v1/admin/conversations"): RouteDoc(
        IngestAnswer, (*_ADMIN_ERRORS, 503), Conversation, body_many=True, admin=True
    ),
    ("post", "/v1/admin/agent-intervals"): RouteDoc(
        IngestAnswer, (*_ADMIN_ERRORS, 503), AgentInterval, body_many=True, admin=True
    ),
    # The dashboard's (`docs/dashboard.md`); public API like the rest.
    ("get", "/v1/session"): RouteDoc(SessionAnswer, (400,)),
    ("post", "/v1/session"): RouteDoc(SessionAnswer, (400, 401, 413)),
    ("delete", "/v1/session"): RouteDoc(SessionAnswer, (400,)),
    ("post", "/v1/summary"): RouteDoc(SummaryAnswer, _TENANT_ERRORS),
    ("post", "/v1/agent-summary"): RouteDoc(AgentSummaryAnswer, _TENANT_ERRORS),
    ("post", "/v1/query/export"): RouteDoc(None, _TENANT_ERRORS),
}
"""Every `/v1` operation (a test checks that none is missing)."""

_SEARCH_PARAMETERS = [
    ("from", "Start of the range, inclusive (ISO 8601 with offset, epoch ms, or a local date)."),
    ("to", "End of the range, exclusive."),
    ("time_basis", "The time field of the range (default `created_at`)."),
    ("sort", "Fields, `-` for descending, comma-separated (default `-created_at`)."),
    ("limit", "Rows per page, 1-1000 (default 100; JSON only)."),
    ("cursor", "`next_cursor` of the previous page."),
    (
        "format",
        "`json` (a page, default), or the whole result as `ndjson`, `csv`, `xlsx`, `parquet`.",
    ),  # fmt: skip
    ("fields", "The fields to return, comma-separated (default: all)."),
    ("metric", "Only the conversations a count or sum measure of the catalogue counts."),
]

CONTROLS_DOCUMENTED = tuple(name for name, _ in _SEARCH_PARAMETERS)
"""The detail search's query parameters as documented (a test compares them with the code's)."""

_FILE_TYPES = (
    "application/x-ndjson",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.apache.parquet",
)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _add_model(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
        if components.setdefault(name, definition) != definition:
            raise RuntimeError(f"two different OpenAPI schemas named {name}")


def _error_response(status: int) -> dict[str, Any]:
    codes = ", ".join(f"`{code}`" for code in ERROR_STATUSES[status])
    return {
        "description": f"Error ({codes}).",
        "content": {"application/json": {"schema": _ref(ErrorResponse)}},
    }


def _body(doc: RouteDoc) -> dict[str, Any]:
    assert doc.body is not None
    one = _ref(doc.body)
    if not doc.body_many:
        content = {"application/json": {"schema": one}}
        return {"required": True, "description": doc.body_note, "content": content}
    return {
        "required": True,
        "description": "A JSON array of records, one record, or NDJSON (one record a line). "
        "Admin routes: each record names its tenant (`tenant_id`); tenant routes: the token's.",
        "content": {
            "application/json": {"schema": {"anyOf": [{"type": "array", "items": one}, one]}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }


def amend_openapi(schema: dict[str, Any]) -> None:
    """Put the answer and error models, bodies, search parameters and security into `schema`;
    drop FastAPI's 422 responses (our errors are 400s in our shape, or the vendor's)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, Message, Conversation, AgentInterval):
        _add_model(components, model)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            doc = ROUTE_DOCS.get((method, path))
            if doc is None:
                continue  # a vendor path: its dialect's statuses (`openapi`), Twin24's 422 too
            operation.get("responses", {}).pop("422", None)
            responses = operation.setdefault("responses", {})
            if doc.answer is not None:
                _add_model(components, doc.answer)
                ok = responses.setdefault("200", {"description": "OK"})
                ok["content"] = {"application/json": {"schema": _ref(doc.answer)}}
            for status in [s for s in responses if s.startswith(("4", "5"))]:
                del responses[status]  # the dialect-wide list (`openapi`): this route's own here
            for status in doc.errors:
                responses[str(status)] = _error_response(status)
            if doc.body is not None:
                operation["requestBody"] = _body(doc)
            if (method, path) == ("get", "/v1/conversations"):
                _document_search(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _document_search(operation: dict[str, Any]) -> None:
    parameters = [
        {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in _SEARCH_PARAMETERS
    ]  # fmt: skip
    parameters.append(
        {
            "name": "<field>",
            "in": "query",
            "required": False,
            "description": "Any other parameter filters on a conversation field by equality "
            "(`agent_id=a1`; repeat it for a list; empty matches a missing value).",
            "schema": {"type": "string"},
        }
    )
    operation["parameters"] = parameters
    files = {media: {"schema": {"type": "string", "format": "binary"}} for media in _FILE_TYPES}
    operation["responses"]["200"]["content"].update(files)


def document(app: FastAPI) -> None:
    """Make `app.openapi()` return the amended schema (built once, on first use)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            amend_openapi(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
