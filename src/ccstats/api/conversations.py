"""Detail search: `GET /v1/conversations` (keyset pages, or the whole result as a file) and
`GET /v1/conversations/{id}` with its transcript (`docs/native.md`).

Query parameters are the controls in `CONTROLS`; any other parameter is an equality filter on a
conversation field (`agent_id=a1`, repeated for a list; an empty value matches null).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ccstats.api.deps import ServiceDep, TenantDep
from ccstats.api.errors import ApiError
from ccstats.api.filters import filter_text
from ccstats.api.native import data_as_of_iso, kept_since_iso
from ccstats.api.timeparams import parse_request_time
from ccstats.export import (
    batch_rows,
    csv_batch_chunks,
    float_text,
    iso_text,
    ndjson_chunks,
    parquet_chunks,
    xlsx_chunks,
)
from ccstats.limits import MAX_FILTERS, MAX_TEXT, TooLarge, check_list, check_text
from ccstats.masking import maskers
from ccstats.metrics import Measure, UnknownNameError, get_metric
from ccstats.metrics.query import GROUPABLE
from ccstats.records import TenantSettings
from ccstats.responses import UTCJSON
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    TIME_COLUMNS,
    column_type,
    conversation_schema,
)
from ccstats.service import Service
from ccstats.storage import SearchPage, SearchRequest

__all__ = [
    "router",
    "CONTROLS",
    "FORMATS",
    "SearchParams",
    "parse_search",
    "encode_cursor",
    "decode_cursor",
    "file_chunks",
]

router = APIRouter(prefix="/v1", tags=["native"])

CONTROLS = ("from", "to", "time_basis", "sort", "limit", "cursor", "format", "fields", "metric")
"""Query parameters that are not field filters."""
FILTERABLE = GROUPABLE
SORTABLE = tuple(CONVERSATION_COLUMNS)
DEFAULT_SORT = "-created_at"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000

FORMATS: dict[str, str] = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
"""`format=` values and their media types; every one but json streams the whole result."""

Sort = tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class SearchParams:
    """A parsed detail-search request: the store request, the output format and columns."""

    request: SearchRequest
    format: str
    fields: tuple[str, ...]
    limit: int


# -- parsing ----------------------------------------------------------------------------------


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _unknown(kind: str, name: str, choices: tuple[str, ...] | list[str]) -> ApiError:
    error = UnknownNameError(kind, name, list(choices))
    return ApiError(
        400, "unknown_name", str(error), {"name": name, "did_you_mean": error.suggestion}
    )


_MAX_CONTROL = 4096
"""Characters of a control parameter (`fields` names up to 86 columns, a cursor a few values)."""


def _too_large(error: TooLarge) -> ApiError:
    return ApiError(400, "value_too_large", str(error))


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise _bad("invalid_parameter", f"{name}: give it once, got {len(values)} values")
    try:
        check_text(name, values[0] if values else None, _MAX_CONTROL)
    except TooLarge as error:
        raise _too_large(error) from None
    return values[0] if values else None


_SPACED_OFFSET = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


def _time(value: str, tenant: TenantSettings, name: str) -> datetime:
    # An unencoded "+08:00" in a query string arrives as " 08:00"; read it as the offset it was.
    return parse_request_time(_SPACED_OFFSET.sub(r"\1+\2", value), tenant.zone, name)


def _filters(request: Request) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    found: dict[str, list[Any]] = {}
    for name, text in request.query_params.multi_items():
        if name in CONTROLS:
            continue
        if name in TIME_COLUMNS:
            raise _bad(
                "invalid_filter",
                f"{name} is a time field: select a range with from/to and time_basis={name}",
            )
        if name not in FILTERABLE:
            raise _unknown("parameter or field", name[:MAX_TEXT], (*CONTROLS, *FILTERABLE))
        values = found.setdefault(name, [])
        try:
            check_text(name, text)
            check_list(name, [*values, text])
            check_list("filters", found, MAX_FILTERS)
        except TooLarge as error:
            raise _too_large(error) from None
        values.append(filter_text(name, text))
    return tuple((name, tuple(values)) for name, values in found.items())


def parse_sort(text: str) -> Sort:
    """`-created_at,agent_id` -> (("created_at", True), ("agent_id", False))."""
    sort: list[tuple[str, bool]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name = item.lstrip("+-")
        if name not in SORTABLE:
            raise _unknown("sort field", name, SORTABLE)
        if name not in (s[0] for s in sort):
            sort.append((name, item.startswith("-")))
    if not sort:
        raise _bad("invalid_sort", "sort: name at least one field, e.g. sort=-created_at")
    return tuple(sort)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise _bad("invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}, got {text!r}")
    return value


def _fields(text: str | None) -> tuple[str, ...]:
    if text is None:
        return tuple(CONVERSATION_COLUMNS)
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    for name in names:
        if name not in CONVERSATION_COLUMNS:
            raise _unknown("field", name, SORTABLE)
    if not names:
        raise _bad("invalid_fields", "fields: name at least one field")
    return names


def _format(text: str | None) -> str:
    fmt = (text or "json").lower()
    if fmt not in FORMATS:
        raise _unknown("format", fmt, list(FORMATS))
    return fmt


def _range(request: Request, tenant: TenantSettings) -> tuple[datetime | None, datetime | None]:
    start_text, end_text = _single(request, "from"), _single(request, "to")
    start = _time(start_text, tenant, "from") if start_text else None
    end = _time(end_text, tenant, "to") if end_text else None
    if start is not None and end is not None and end <= start:
        raise _bad(
            "invalid_range",
            f"the range ends (to={end.isoformat()}) before it starts (from={start.isoformat()})",
        )
    return start, end


def _counted_by(name: str | None) -> Measure | None:
    """The measure of `metric=`: the conversations a count or sum measure reads."""
    if name is None:
        return None
    metric = get_metric(name)
    if not isinstance(metric, Measure):
        raise _bad(
            "invalid_metric",
            f"metric: {name} is a ratio; name its numerator ({metric.numerator}) "
            f"or its denominator ({metric.denominator})",
        )
    if metric.kind == "max":
        raise _bad("invalid_metric", f"metric: {name} is a maximum, not a set of conversations")
    return metric


def parse_search(request: Request, tenant: TenantSettings) -> SearchParams:
    """Validate every query parameter of a detail search; errors are 400s naming the problem."""
    start, end = _range(request, tenant)
    basis = _single(request, "time_basis") or "created_at"
    if basis not in TIME_COLUMNS:
        raise _unknown("time field", basis, TIME_COLUMNS)
    sort = parse_sort(_single(request, "sort") or DEFAULT_SORT)
    masked = maskers(tenant.mask_phones, tenant.mask_names)
    for name, _ in sort:
        if name in masked:  # a cursor would carry the masked value: pages would go wrong
            raise _bad(
                "invalid_sort",
                f"sort: {name} is masked for this tenant (mask_phones, mask_names): sort by "
                "another field",
            )
    cursor = _single(request, "cursor")
    fields = _fields(_single(request, "fields"))
    needed = [c for c in (*(s[0] for s in sort), "id") if c not in fields]
    search = SearchRequest(
        tenant_id=tenant.id,
        start=start,
        end=end,
        time_field=basis,
        filters=_filters(request),
        sort=sort,
        after=decode_cursor(cursor, sort) if cursor else None,
        columns=(*fields, *needed),
    )
    try:
        counted_by = _counted_by(_single(request, "metric"))
    except UnknownNameError as error:
        raise ApiError(
            400, "unknown_name", str(error), {"name": error.name, "did_you_mean": error.suggestion}
        ) from None
    search = replace(search, counted_by=counted_by)
    limit = _limit(_single(request, "limit"))
    return SearchParams(search, _format(_single(request, "format")), fields, limit)


# -- the keyset cursor ------------------------------------------------------------------------


def _cursor_value(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: Sort, row: dict[str, Any]) -> str:
    """base64url(JSON) of the sort spec and the last row's sort values and id."""
    payload = {
        "sort": [[name, desc] for name, desc in sort],
        "after": [_cursor_value(row[name]) for name, _ in sort] + [row["id"]],
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def _invalid_cursor(problem: str) -> ApiError:
    return _bad("invalid_cursor", f"cursor: {problem}; start again without a cursor")


def _typed(name: str, value: Any) -> Any:
    """A cursor value checked against its column's type (times back to aware datetimes)."""
    if value is None:
        return None
    kind = column_type(name)
    ok = {
        "text": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "time": isinstance(value, str),
    }[kind or "text"]
    if ok and kind == "time":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        ok = parsed is not None and parsed.tzinfo is not None
        value = parsed
    if not ok:
        raise _invalid_cursor(f"its value for {name} is not a {kind}")
    return value


def decode_cursor(text: str, sort: Sort) -> tuple[Any, ...]:
    """The keyset of a cursor made for `sort`; 400 if it is malformed or made for another sort."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise _invalid_cursor("not a cursor of this API (bad base64url or JSON)") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("after"), list):
        raise _invalid_cursor("not a cursor of this API (no sort values)")
    made_for = payload.get("sort")
    if made_for != [[name, desc] for name, desc in sort]:
        raise _invalid_cursor(
            f"it was made for sort={_sort_text(made_for)}, this request has sort={_sort_text(sort)}"
        )
    after = payload["after"]
    if len(after) != len(sort) + 1 or not isinstance(after[-1], str):
        raise _invalid_cursor("its sort values do not match its sort")
    return tuple(_typed(name, value) for (name, _), value in zip(sort, after, strict=False)) + (
        after[-1],
    )


def _sort_text(sort: Any) -> str:
    try:
        return ",".join(("-" if desc else "") + str(name) for name, desc in sort)
    except (TypeError, ValueError):
        return repr(sort)


# -- answers ----------------------------------------------------------------------------------


def _json_row(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _cursor_value(row[name]) for name in fields}


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _dict_rows(
    batches: Iterator[pa.RecordBatch], fields: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    for batch in batches:
        for row in batch.to_pylist():
            yield {name: _cursor_value(_aware(row[name])) for name in fields}


def _parquet_schema(fields: tuple[str, ...]) -> pa.Schema:
    # Times are stored as UTC instants; say so in the file, so readers do not take them as local.
    base = conversation_schema()
    return pa.schema(
        [
            pa.field(n, pa.timestamp("us", tz="UTC"))
            if pa.types.is_timestamp(base.field(n).type)
            else base.field(n)
            for n in fields
        ]
    )


def _utc_batches(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        arrays = [batch.column(f.name).cast(f.type) for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _text_batches(
    batches: Iterator[pa.RecordBatch], fields: tuple[str, ...], floats_as_text: bool
) -> Iterator[pa.RecordBatch]:
    """Batches with times as `cell_text` writes them (and floats as Python's `str`, for CSV)."""
    for batch in batches:
        arrays = []
        for name in fields:
            column = batch.column(name)
            if pa.types.is_timestamp(column.type):
                column = iso_text(column)
            elif floats_as_text and pa.types.is_floating(column.type):
                column = float_text(column)
            arrays.append(column)
        yield pa.RecordBatch.from_arrays(arrays, names=list(fields))


def _file_chunks(service: Service, params: SearchParams) -> Iterator[bytes]:
    # Files carry the whole result (from the cursor on, if one was given), not one page.
    search = replace(params.request, limit=None, columns=params.fields)
    return file_chunks(service, search, params.format)


def file_chunks(service: Service, search: SearchRequest, fmt: str) -> Iterator[bytes]:
    """The rows of `search` (its `columns`, every column when None) as a file: `csv`, `xlsx`,
    `ndjson` or `parquet`, streamed from the engine's Arrow batches."""
    fields = search.columns or tuple(CONVERSATION_COLUMNS)
    batches = service.iter_search(replace(search, columns=fields))
    if fmt == "ndjson":
        return ndjson_chunks(_dict_rows(batches, fields))
    if fmt == "csv":
        return csv_batch_chunks(fields, _text_batches(batches, fields, floats_as_text=True))
    if fmt == "xlsx":
        rows = (
            row
            for batch in _text_batches(batches, fields, floats_as_text=False)
            for row in batch_rows(batch)
        )
        return xlsx_chunks(fields, rows, sheet="conversations")
    schema = _parquet_schema(fields)
    return parquet_chunks(_utc_batches(batches, schema), schema)


def _file_response(
    service: Service, tenant: TenantSettings, params: SearchParams
) -> StreamingResponse:
    safe_tenant = re.sub(r"[^A-Za-z0-9_.-]", "_", tenant.id)
    headers = {
        "content-disposition": f'attachment; filename="conversations-{safe_tenant}.{params.format}"',
        "x-data-as-of": data_as_of_iso(service, tenant.id) or "",
    }
    return StreamingResponse(
        _file_chunks(service, params), media_type=FORMATS[params.format], headers=headers
    )


def _page(service: Service, tenant: TenantSettings, params: SearchParams) -> UTCJSON:
    # One row more than asked tells whether another page exists, so the last page has no cursor.
    request = replace(params.request, limit=params.limit + 1)
    fields = params.fields

    def rows_and_cursor(page: SearchPage) -> tuple[list[dict[str, Any]], str | None]:
        values = page.values[: params.limit]
        more = len(page.values) > params.limit
        # The search selects the fields first (`parse_search`): zip stops before the sort
        # columns added after them. Naive UTC datetimes go to orjson as they are: `UTCJSON`
        # writes them as `isoformat()` writes aware ones, without a Python call per cell.
        assert page.columns[: len(fields)] == fields
        rows = [dict(zip(fields, row, strict=False)) for row in values]
        last = page.row(len(values) - 1) if more else None
        return rows, encode_cursor(request.sort, last) if last else None

    # Built once per kept page (`ccstats.answers`); other fields may select the same columns.
    key = ("native", fields)
    _, (rows, cursor) = service.search_formatted(request, False, key, rows_and_cursor)
    body = {
        "rows": rows,
        "next_cursor": cursor,
        "data_as_of": data_as_of_iso(service, tenant.id),
        "data_kept_since": kept_since_iso(service, tenant),
    }
    return UTCJSON(body)


@router.get("/conversations", summary="Search conversations (detail rows, cursor, exports)")
def search_conversations(request: Request, service: ServiceDep, tenant: TenantDep) -> Any:
    """A page of matching conversations with `next_cursor`, or every match as a file (`format`)."""
    params = parse_search(request, tenant)
    if params.format == "json":
        return _page(service, tenant, params)
    return _file_response(service, tenant, params)


def _message_json(message: dict[str, Any]) -> dict[str, Any]:
    return {name: _cursor_value(value) for name, value in message.items()}


@router.get("/conversations/{conversation_id}", summary="One conversation with its transcript")
def get_conversation(
    conversation_id: str, service: ServiceDep, tenant: TenantDep
) -> dict[str, Any]:
    """The tenant's conversation with `messages`; 404 if the tenant has no such id."""
    try:
        check_text("conversation id", conversation_id)
    except TooLarge as error:
        raise _too_large(error) from None
    found = service.search(
        SearchRequest(tenant_id=tenant.id, filters=(("id", (conversation_id,)),), limit=1)
    )
    if not found.rows:
        raise ApiError(
            404, "not_found", f"no conversation with id {conversation_id!r} in this tenant"
        )
    record = _json_row(found.rows[0], tuple(CONVERSATION_COLUMNS))
    messages = service.messages_for(tenant.id, [conversation_id])[conversation_id]
    record["messages"] = [_message_json(m) for m in messages]
    return {"conversation": record, "data_as_of": data_as_of_iso(service, tenant.id)}
