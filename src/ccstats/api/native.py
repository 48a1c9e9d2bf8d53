"""ccstats's own API under `/v1`: ingest, the metric catalogue, metric queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from ccstats.api.deps import ServiceDep, TenantDep
from ccstats.api.errors import ApiError
from ccstats.api.filters import filter_value
from ccstats.api.ingest_threads import in_ingest_thread
from ccstats.api.timeparams import local_iso, parse_request_time
from ccstats.ingest import IngestResult, PayloadError, parse_payload
from ccstats.limits import MAX_FILTERS, MAX_GROUP_BY, MAX_LIST, MAX_TEXT, TooLarge, check_list
from ccstats.metrics import CATALOG, PARAMETRIC, Metric, Ratio, UnknownNameError, get_metric
from ccstats.metrics.query import GROUPABLE, MetricQuery, QueryError, RatioValue
from ccstats.numbers import round_half_up
from ccstats.observability import telemetry_of
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.storage import StorageError

__all__ = ["router", "ingest_body", "describe_metric", "data_as_of_iso", "kept_since_iso"]

router = APIRouter(prefix="/v1", tags=["native"])


def ingest_body(
    service: Service,
    body: bytes,
    content_type: str,
    kind: str,
    tenant_id: str | None,
    request: Request | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Parse and ingest a request body; errors become ApiErrors. With the `request`, the records
    are counted in the app's metrics; `dry_run` validates and stores nothing."""
    try:
        items = parse_payload(body, content_type)
    except PayloadError as error:
        raise ApiError(400, "malformed_payload", str(error)) from None
    ingest = service.ingest_conversations if kind == "conversations" else service.ingest_intervals
    try:
        result: IngestResult = ingest(items, tenant_id, dry_run=dry_run)
    except StorageError as error:
        raise ApiError(503, "storage_failed", f"nothing of the batch was stored: {error}") from None
    if dry_run:
        return result.as_dict()
    telemetry = telemetry_of(request.app) if request is not None else None
    if telemetry is not None:
        telemetry.count_ingest(kind, result.accepted, len(result.rejected))
    return result.as_dict()


_INGEST_DOC = "A JSON array, one object, or NDJSON (`application/x-ndjson`)."


@router.post("/conversations", summary="Ingest conversations", description=_INGEST_DOC)
async def post_conversations(
    request: Request, service: ServiceDep, tenant: TenantDep
) -> dict[str, Any]:
    """Upsert conversations of the token's tenant; answers accepted and rejected records."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    # In an ingest worker thread: reads are served meanwhile (`ingest_threads`).
    return await in_ingest_thread(
        request, ingest_body, service, body, content_type, "conversations", tenant.id, request
    )


@router.post("/agent-intervals", summary="Ingest agent intervals", description=_INGEST_DOC)
async def post_intervals(
    request: Request, service: ServiceDep, tenant: TenantDep
) -> dict[str, Any]:
    """Upsert agent login/status intervals of the token's tenant."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await in_ingest_thread(
        request, ingest_body, service, body, content_type, "intervals", tenant.id, request
    )


def describe_metric(metric: Metric) -> dict[str, Any]:
    """A catalogue entry as the API shows it."""
    out: dict[str, Any] = {
        "name": metric.name,
        "description": metric.description,
        "unit": metric.unit,
    }
    if isinstance(metric, Ratio):
        out.update(kind="ratio", numerator=metric.numerator, denominator=metric.denominator)
    else:
        out.update(kind=metric.kind, expression=metric.expr, condition=metric.where)
        if metric.within_hours is not None:
            out["within_hours"] = metric.within_hours  # no other contact within that many hours
    return out


@router.get("/metrics", summary="The metric catalogue")
def get_metrics() -> dict[str, Any]:
    """Every metric's name, description, unit and, for ratios, numerator and denominator."""
    return {
        "metrics": [describe_metric(m) for m in CATALOG.values()],
        "parametric": list(PARAMETRIC),
    }


Name = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
"""A metric, field or granularity name (bounded: an unknown name is quoted in the error)."""
TimeValue = Annotated[str, StringConstraints(max_length=64)] | int


class QueryBody(BaseModel):
    """A metric query (`docs/native.md`); every list and text is bounded
    (`ccstats.limits`)."""

    metrics: list[Name] = Field(max_length=MAX_LIST)
    from_: TimeValue = Field(alias="from")
    to: TimeValue
    granularity: Name = "total"
    group_by: list[Name] = Field(default_factory=list, max_length=MAX_GROUP_BY)
    filters: dict[Name, Any] = Field(default_factory=dict, max_length=MAX_FILTERS)
    time_basis: Name = "created_at"
    fill_empty: bool = False


def _json_value(value: Any) -> Any:
    if isinstance(value, RatioValue):
        v = value.value
        return {
            "value": None if v is None else float(round_half_up(v, 6)),
            "numerator": value.numerator,
            "denominator": value.denominator,
        }
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def query_filters(raw: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """`{"channel": ["voice"], "bot_turns": 3}`: a value or a list of values per field, each
    checked against its column (a 400 `invalid_filter`, or `UnknownNameError` for a field that
    is none): the native query, summary and agent summary bodies."""
    filters = {}
    for name, value in raw.items():
        if name not in GROUPABLE:
            raise UnknownNameError("field", name, list(GROUPABLE))
        values = value if isinstance(value, list) else [value]
        try:
            check_list(f"filters.{name}", values)
        except TooLarge as error:
            raise ApiError(400, "value_too_large", str(error)) from None
        filters[name] = tuple(filter_value(name, v) for v in values)
    return filters


def build_query(tenant: TenantSettings, body: QueryBody) -> MetricQuery:
    """The MetricQuery of a request body, in the tenant's zone."""
    zone = tenant.zone
    filters = query_filters(body.filters)
    return MetricQuery(
        tenant_id=tenant.id,
        metrics=tuple(body.metrics),
        start=parse_request_time(body.from_, zone, "from"),
        end=parse_request_time(body.to, zone, "to"),
        timezone=tenant.timezone,
        granularity=body.granularity,
        time_field=body.time_basis,
        group_by=tuple(body.group_by),
        filters=filters,
        fill_empty=body.fill_empty,
    )


@router.post("/query", summary="Run a metric query")
def post_query(
    body: QueryBody, service: ServiceDep, tenant: TenantDep, explain: bool = False
) -> dict[str, Any]:
    """Metrics by bucket and group; `?explain=1` adds definitions and the SQL that ran."""
    try:
        query = build_query(tenant, body)
        result = service.run_query(query)
    except UnknownNameError as error:
        raise ApiError(
            400, "unknown_name", str(error), {"name": error.name, "did_you_mean": error.suggestion}
        ) from None
    except QueryError as error:
        raise ApiError(400, "invalid_query", str(error)) from None
    rows = []
    for row in result.rows:
        out = {k: _json_value(v) for k, v in row.items()}
        if "bucket" in row:
            out["bucket"] = local_iso(row["bucket"], tenant.zone)
        rows.append(out)
    answer: dict[str, Any] = {
        "columns": result.columns,
        "rows": rows,
        "data_as_of": data_as_of_iso(service, tenant.id),
        "data_kept_since": kept_since_iso(service, tenant),
    }
    if explain:
        answer["explain"] = {
            "metrics": [describe_metric(get_metric(m)) for m in body.metrics],
            "measures": [describe_metric(m) for m in result.measures],
            "sql": result.sql,
        }
    return answer


def data_as_of_iso(service: Service, tenant_id: str) -> str | None:
    """When the tenant's newest record was stored, ISO 8601 UTC."""
    as_of = service.data_as_of(tenant_id)
    return as_of.isoformat() if as_of else None


def kept_since_iso(service: Service, tenant: TenantSettings) -> str | None:
    """With `retention_days`: the oldest time the tenant keeps (records created before it are
    deleted by upkeep), ISO 8601 UTC; None without retention."""
    since = service.kept_since(tenant)
    return since.isoformat() if since else None


@router.delete("/customers/{customer_id}", summary="Erase a customer's data")
def delete_customer(customer_id: str, service: ServiceDep, tenant: TenantDep) -> dict[str, Any]:
    """Delete every conversation of one customer of the token's tenant (by `customer_id`), with
    its transcript and everything derived from it (reports, next contacts of the other
    conversations): a data-protection erasure. Answers how many records went (0 when the
    customer has none)."""
    try:
        return service.erase_customer(tenant.id, customer_id)
    except StorageError as error:
        raise ApiError(503, "storage_failed", f"nothing was erased: {error}") from None
