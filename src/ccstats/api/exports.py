"""`POST /v1/query/export`: a metric query's table as a CSV or XLSX file, through the renderers of
the detail-search exports (`ccstats.export`). The dashboard's "CSV"/"XLSX" buttons use it.

A ratio's cell is its value (null, an empty cell, over nothing); buckets are tenant-local ISO 8601
with their offset, as in `POST /v1/query`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ccstats.api.deps import ServiceDep, TenantDep
from ccstats.api.errors import ApiError
from ccstats.api.native import QueryBody, build_query, data_as_of_iso
from ccstats.api.timeparams import local_iso
from ccstats.export import csv_chunks, xlsx_chunks
from ccstats.metrics import UnknownNameError
from ccstats.metrics.query import QueryError, RatioValue
from ccstats.numbers import round_half_up
from ccstats.records import TenantSettings
from ccstats.service import Service

__all__ = ["router", "TABLE_FORMATS", "table_format", "table_file", "cell"]

router = APIRouter(prefix="/v1", tags=["native"])

TABLE_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""File formats of table exports and their media types."""


def table_format(text: str) -> str:
    """A checked `format` of a table export (400 naming the choices otherwise)."""
    fmt = text.lower()
    if fmt not in TABLE_FORMATS:
        raise ApiError(
            400,
            "unknown_name",
            f"unknown format {text!r}; use one of {', '.join(TABLE_FORMATS)}",
            {"name": text, "did_you_mean": None},
        )
    return fmt


def cell(value: Any) -> Any:
    """A value as a table cell: a ratio as its value rounded half up to 6 decimals (as the JSON
    answers write it), None as an empty cell."""
    if isinstance(value, RatioValue):
        v = value.value
        return None if v is None else float(round_half_up(v, 6))
    return value


def table_file(
    service: Service,
    tenant: TenantSettings,
    name: str,
    fmt: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> StreamingResponse:
    """A table as a download named `<name>-<tenant>.<format>`, with `X-Data-As-Of`."""
    safe_tenant = re.sub(r"[^A-Za-z0-9_.-]", "_", tenant.id)
    chunks = csv_chunks(columns, rows) if fmt == "csv" else xlsx_chunks(columns, rows, sheet=name)
    headers = {
        "content-disposition": f'attachment; filename="{name}-{safe_tenant}.{fmt}"',
        "x-data-as-of": data_as_of_iso(service, tenant.id) or "",
    }
    return StreamingResponse(chunks, media_type=TABLE_FORMATS[fmt], headers=headers)


@router.post("/query/export", summary="A metric query's table as CSV or XLSX")
def export_query(
    body: QueryBody, service: ServiceDep, tenant: TenantDep, format: str = "csv"
) -> StreamingResponse:
    """The rows `POST /v1/query` answers for the same body, as a file (`format=csv|xlsx`)."""
    fmt = table_format(format)
    try:
        result = service.run_query(build_query(tenant, body))
    except UnknownNameError as error:
        raise ApiError(
            400, "unknown_name", str(error), {"name": error.name, "did_you_mean": error.suggestion}
        ) from None
    except QueryError as error:
        raise ApiError(400, "invalid_query", str(error)) from None
    zone = tenant.zone
    rows = [
        [
            local_iso(row[c], zone) if c == "bucket" and row[c] is not None else cell(row[c])
            for c in result.columns
        ]
        for row in result.rows
    ]
    return table_file(service, tenant, "query", fmt, result.columns, rows)
