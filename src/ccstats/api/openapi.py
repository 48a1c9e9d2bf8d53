"""The OpenAPI document (`/openapi.json`) with what FastAPI cannot see: every path's error
responses in its dialect's shape, and the parameters, bodies and file types of routes that read
the raw request (the vendor wire formats are not pydantic models).

FastAPI documents a 422 `HTTPValidationError` for routes with parameters; ccstats answers a bad
request with a 400 in the caller's dialect instead (a 422 on Twin24 paths, in Twin24's shape), so
that entry is replaced.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["install", "dialect_of_path", "allowed_methods", "ERROR_SHAPES", "ERROR_STATUSES"]

_ANY: dict[str, Any] = {}

ERROR_SHAPES: dict[str, dict[str, Any]] = {
    "native": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": _ANY,
                },
            }
        },
    },
    "huawei": {
        "type": "object",
        "required": ["errorCode", "errorMsg"],
        "properties": {"errorCode": {"type": "integer"}, "errorMsg": {"type": "string"}},
    },
    "7moor": {
        "type": "object",
        "required": ["success", "code", "message", "data", "requestInfo"],
        "properties": {
            "success": {"type": "boolean", "const": False},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "data": {"type": "null"},
            "requestInfo": {"type": "object"},
        },
    },
    "twin24": {
        "type": "object",
        "required": ["error", "details"],
        "properties": {"error": {"type": "string"}, "details": {"type": ["object", "null"]}},
    },
    "aliyun": {
        "type": "object",
        "required": ["RequestId", "HostId", "Code", "Message", "Recommend"],
        "properties": {
            name: {"type": "string"} for name in ("RequestId", "HostId", "Code", "Message")
        }
        | {"Recommend": {"type": "string"}},
    },
}
"""The JSON Schema of each dialect's error body (docs/native.md and each vendor's doc)."""

_TEXTS = {
    400: "A bad request: a malformed body, a bad or out-of-range parameter.",
    401: "No credentials, or credentials that are not valid.",
    403: "Credentials of another tenant, or a tenant token on an admin path.",
    404: "No such path or record.",
    413: "The request body is over this path's limit.",
    422: "A bad parameter (Twin24 answers them with 422).",
    429: "Too many failed authentications from this address or for this key; see Retry-After.",
}
ERROR_STATUSES: dict[str, tuple[int, ...]] = {
    "native": (400, 401, 403, 404, 413, 429),
    "huawei": (400, 401, 403, 404, 413, 429),
    "7moor": (400, 401, 404, 413, 429),
    "twin24": (401, 404, 413, 422, 429),
    "aliyun": (400, 403, 404, 413, 429),
}
"""The error statuses each dialect's paths answer with."""


def dialect_of_path(path: str) -> str:
    """Which dialect a documented path belongs to (`dialects/*.matches` by path)."""
    if path.startswith("/oifde/"):
        return "huawei"
    if path.startswith("/openapi/im-report/"):
        return "7moor"
    if path.startswith("/api/v1/"):
        return "twin24"
    if path == "/":
        return "aliyun"
    return "native"


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_TEXT = {"type": "string", "maxLength": 256}
_JSON_BODY_OBJECT = {"type": "object"}
_FILES = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_MOOR_BODY = {
    "type": "object",
    "required": ["createTime"],
    "properties": {
        "createTime": {
            "type": "array",
            "items": {"type": "string", "example": "2021-08-05 00:00:00"},
            "minItems": 2,
            "maxItems": 2,
        },
        "dimension": {"type": "string", "enum": ["half_hour", "hour", "day", "month", "year"]},
        "accessIds": {"type": "array", "items": _TEXT, "maxItems": 1000},
        "agentList": {"type": "array", "items": _TEXT, "maxItems": 1000},
    },
}
_INGEST_BODY = {"type": "array", "items": {"type": "object"}, "description": "Records."}

EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/v1/conversations"): {
        "parameters": [
            _query("from", {"type": "string"}, "Range start (inclusive)."),
            _query("to", {"type": "string"}, "Range end (exclusive)."),
            _query("time_basis", {"type": "string"}, "The time field of the range."),
            _query("sort", {"type": "string"}, "Fields, `-` for descending."),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
            _query("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
            _query(
                "format",
                {"type": "string", "enum": ["json", "ndjson", "csv", "xlsx", "parquet"]},
                "A page (json) or the whole result as a file.",
            ),
            _query("fields", {"type": "string"}, "Columns, comma-separated."),
        ],
        "200": _FILES | {"application/vnd.apache.parquet": {"schema": {"type": "string"}}},
    },
    ("post", "/v1/conversations"): {"requestBody": _body(_INGEST_BODY)},
    ("post", "/v1/agent-intervals"): {"requestBody": _body(_INGEST_BODY)},
    ("post", "/v1/admin/conversations"): {"requestBody": _body(_INGEST_BODY)},
    ("post", "/v1/admin/agent-intervals"): {"requestBody": _body(_INGEST_BODY)},
    ("put", "/v1/tenants/{tenant_id}"): {"requestBody": _body(_JSON_BODY_OBJECT)},
    ("post", "/openapi/im-report/session/time"): {"requestBody": _body(_MOOR_BODY)},
    ("post", "/openapi/im-report/agent/workload"): {"requestBody": _body(_MOOR_BODY)},
    ("post", "/openapi/im-report/agent/quality"): {"requestBody": _body(_MOOR_BODY)},
    ("post", "/api/v1/auth/login"): {
        "requestBody": _body(
            {
                "type": "object",
                "required": ["email", "password"],
                "properties": {
                    "email": {"type": "string"},
                    "password": {"type": "string"},
                    "ttl": {"type": "integer", "minimum": 1, "maximum": 2592000},
                },
            }
        )
    },
    ("get", "/api/v1/auth/refresh"): {
        "parameters": [
            _query("refreshToken", {"type": "string"}, "The refresh token of the last login."),
            _query("ttl", {"type": "integer"}, "Lifetime of the new token, seconds."),
        ]
    },
    ("get", "/api/v1/search/cis/calls"): {
        "parameters": [
            _query("from", {"type": "string"}, "Period start."),
            _query("to", {"type": "string"}, "Period end."),
            _query(
                "filterPeriodBy",
                {"type": "string", "enum": ["createdAt", "startedAt", "updatedAt"]},
                "The time field of the period.",
            ),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
            _query("offset", {"type": "integer", "minimum": 0}, "First row."),
            _query("page", {"type": "integer", "minimum": 0}, "Page number (from 0)."),
            _query("sort", {"type": "string"}, "Fields, `-` for descending."),
            _query("fields", {"type": "string"}, "Item fields, comma-separated."),
            _query("output", {"type": "string", "enum": ["CSV", "EXCEL"]}, "A file instead."),
            _query("filename", {"type": "string"}, "The file's name."),
            _query("archive", {"type": "boolean"}, "Zip the file."),
        ],
        "200": _FILES | {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    },
    ("get", "/"): {"200": {"text/html": {"schema": {"type": "string"}}}},
}
"""Per operation: parameters and bodies the route reads by hand, and its 200 file types."""


def _document(operation: dict[str, Any], dialect: str, extra: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError: never answered (see the module)
    shape = {"application/json": {"schema": ERROR_SHAPES[dialect]}}
    for status in ERROR_STATUSES[dialect]:
        responses[str(status)] = {"description": _TEXTS[status], "content": shape}
    if "parameters" in extra:
        operation["parameters"] = [*operation.get("parameters", []), *extra["parameters"]]
    if "requestBody" in extra and "requestBody" not in operation:
        operation["requestBody"] = extra["requestBody"]
    if "200" in extra:
        success = responses.setdefault("200", {"description": "Successful Response"})
        success.setdefault("content", {}).update(extra["200"])


def install(app: FastAPI) -> None:
    """Serve an OpenAPI document with the error responses, parameters and bodies added."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                extra = EXTRAS.get((method, path), {})
                _document(operation, dialect_of_path(path), extra)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the app serves on `path`, for the `Allow` header of a 405 (RFC 9110).

    Read from the OpenAPI document, which lists every route of every router, whatever the
    framework's routing internals; HEAD goes with GET.
    """
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        if _template(template).match(path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))
