"""`POST /v1/agent-summary`: one row per agent, conversation metrics beside agent time.

Conversation metrics come from the catalogue, grouped by `agent_id` (default: sessions, AHT, first
response, CSAT); agent time from the agent intervals, each clipped to the range: seconds logged in
and seconds in each of the tenant's statuses. Occupancy is handle time (`agent_handle_time`, the
conversations matching the filters) over logged-in time. `?format=csv|xlsx` gives the same table
as a file.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ccstats.api.deps import ServiceDep, TenantDep
from ccstats.api.errors import ApiError
from ccstats.api.exports import cell, table_file, table_format
from ccstats.api.native import _json_value as json_value  # one JSON shape for metric values
from ccstats.api.native import data_as_of_iso, query_filters
from ccstats.api.summary import MAX_FILTERS, MAX_METRICS
from ccstats.api.timeparams import parse_request_time
from ccstats.metrics import Ratio, UnknownNameError, get_metric
from ccstats.metrics.query import MetricQuery, QueryError, RatioValue
from ccstats.records import TenantSettings
from ccstats.service import Service
from ccstats.storage import IntervalTotal

__all__ = ["router", "AgentSummaryBody", "DEFAULT_METRICS", "agent_rows"]

router = APIRouter(prefix="/v1", tags=["native"])

DEFAULT_METRICS = ("agent_sessions", "avg_handle_time", "avg_first_response", "csat")
"""The metrics of an agent summary that names none."""
_HANDLE = "agent_handle_time"


class AgentSummaryBody(BaseModel):
    """An agent summary request: the range, filters on the conversations, the metrics."""

    from_: str | int = Field(alias="from")
    to: str | int
    filters: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FILTERS)
    metrics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METRICS), max_length=MAX_METRICS
    )


def _metric_rows(
    service: Service,
    tenant: TenantSettings,
    body: AgentSummaryBody,
    span: tuple[datetime, datetime],
) -> dict[str, dict[str, Any]]:
    try:
        query = MetricQuery(
            tenant_id=tenant.id,
            metrics=tuple(dict.fromkeys([*body.metrics, _HANDLE])),
            start=span[0],
            end=span[1],
            timezone=tenant.timezone,
            group_by=("agent_id",),
            filters=query_filters(body.filters),
        )
        rows = service.run_query(query).rows
    except UnknownNameError as error:
        raise ApiError(
            400, "unknown_name", str(error), {"name": error.name, "did_you_mean": error.suggestion}
        ) from None
    except QueryError as error:
        raise ApiError(400, "invalid_query", str(error)) from None
    return {row["agent_id"]: row for row in rows if row["agent_id"] is not None}


def _agent_time(
    totals: tuple[IntervalTotal, ...],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    login: dict[str, float] = defaultdict(float)
    status: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for total in totals:
        if total.kind == "login":
            login[total.agent_id] += total.seconds
        else:
            status[total.agent_id][total.status_id or ""] += total.seconds
    return login, status


def agent_rows(
    service: Service, tenant: TenantSettings, body: AgentSummaryBody
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Rows of every agent with conversations or intervals in the range (by name, then id), and the
    statuses they spent time in ({id, label}: the tenant's labels, else the id)."""
    span = (
        parse_request_time(body.from_, tenant.zone, "from"),
        parse_request_time(body.to, tenant.zone, "to"),
    )
    if span[1] <= span[0]:
        raise ApiError(
            400, "invalid_range", "the range ends before it starts: to must be after from"
        )
    metrics = _metric_rows(service, tenant, body, span)
    login, status = _agent_time(service.interval_totals(tenant.id, *span))
    known = {a.id: a for a in tenant.agents}
    rows = []
    for agent_id in set(metrics) | set(login) | set(status):
        row = metrics.get(agent_id, {})
        agent = known.get(agent_id)
        handle = row.get(_HANDLE, 0)
        rows.append(
            {
                "agent_id": agent_id,
                "agent_name": agent.name if agent else None,
                "agent_number": agent.number if agent else None,
                **{m: row[m] if row else _empty(m) for m in body.metrics},
                "logged_in_s": login.get(agent_id, 0.0),
                "occupancy": RatioValue(handle, login.get(agent_id, 0.0)),
                "status_s": dict(status.get(agent_id, {})),
            }
        )
    rows.sort(key=lambda r: (r["agent_name"] is None, r["agent_name"] or "", r["agent_id"]))
    labels = {s.id: s.label for s in tenant.agent_statuses}
    seen = {s for r in rows for s in r["status_s"]}
    order = [s.id for s in tenant.agent_statuses if s.id in seen] + sorted(seen - set(labels))
    return rows, [{"id": s, "label": labels.get(s, s)} for s in order]


def _empty(metric: str) -> Any:
    # An agent with intervals but no conversation: what the query gives a group with no rows.
    found = get_metric(metric)
    if isinstance(found, Ratio):
        return RatioValue(0, 0)
    return None if found.kind == "max" else 0


def _file(
    service: Service,
    tenant: TenantSettings,
    body: AgentSummaryBody,
    rows: list[dict[str, Any]],
    statuses: list[dict[str, str]],
    fmt: str,
) -> StreamingResponse:
    columns = ["agent_id", "agent_name", "agent_number", *body.metrics, "logged_in_s", "occupancy"]
    columns += [f"status: {s['label']}" for s in statuses]
    table = [
        [cell(r[c]) for c in columns[: len(columns) - len(statuses)]]
        + [r["status_s"].get(s["id"], 0.0) for s in statuses]
        for r in rows
    ]
    return table_file(service, tenant, "agents", fmt, columns, table)


@router.post("/agent-summary", summary="Per agent: conversation metrics and agent time")
def post_agent_summary(
    body: AgentSummaryBody, service: ServiceDep, tenant: TenantDep, format: str = "json"
) -> Any:
    """Every agent's metrics, logged-in seconds, seconds per status and occupancy over [from, to);
    `format=csv|xlsx` for the table as a file."""
    rows, statuses = agent_rows(service, tenant, body)
    if format.lower() != "json":
        return _file(service, tenant, body, rows, statuses, table_format(format))
    return {
        "metrics": list(body.metrics),
        "statuses": statuses,
        "rows": [{k: json_value(v) for k, v in r.items()} for r in rows],
        "data_as_of": data_as_of_iso(service, tenant.id),
    }
