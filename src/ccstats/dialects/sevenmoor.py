"""The 7moor (七陌) v7 IM reports dialect: session report, agent workload, agent quality (seed 002).

Wire protocol, auth and error codes: `docs/dialects.md` (7moor) and 7moor's open-API signing
documentation; what each number means: `docs/reports.md`. This module
parses, authenticates, maps a request to `MetricQuery`s and renames catalogue metrics to 7moor's
fields; every count comes from `metrics/catalog.py`, every rounding from `numbers.py`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ccstats.dialects.signing import NonceCache, nonce_cache
from ccstats.limits import MAX_TEXT, TooLarge, check_list
from ccstats.metrics import Metric, Ratio, get_metric
from ccstats.metrics.query import MetricQuery, MetricResult, RatioValue
from ccstats.numbers import average_int, percent, round_half_up
from ccstats.ratelimit import address_key, limiter_of
from ccstats.records import REQUEST_TIMES, TenantSettings
from ccstats.responses import JSON
from ccstats.service import Link, Service

__all__ = [
    "NAME",
    "router",
    "matches",
    "render_error",
    "sign",
    "SevenMoorError",
    "Column",
    "SESSION_COLUMNS",
    "WORKLOAD_COLUMNS",
    "QUALITY_COLUMNS",
    "kept_workload_report",
    "kept_quality_report",
    "CLOCK_WINDOW_S",
]

NAME = "7moor"
PREFIX = "/openapi/im-report"
router = APIRouter(prefix=PREFIX, tags=["7moor"])

clock: Callable[[], float] = time.time
"""The server clock the timestamp check uses (tests set it to check the doc's test vector)."""
CLOCK_WINDOW_S = 300
"""Allowed distance between `m7-timestamp` and the server clock (7moor's signing documentation: 时间差>5min 拒绝)."""
DIMENSIONS = ("half_hour", "hour", "day", "month", "year")
_LINKS = ("agent_id", "message_handled_by", "transfer_from_agent_id", "transfer_to_agent_id")
RECEIVED = "received"
"""The link of an agent row's own conversations: `agent_id` = the agent, leave-messages excluded
(reports.md, 7moor workload: its received sessions, 接待会话; the seed 002 workload sample shows
an agent with 4 leave-messages and initCount 0)."""
_LINK_QUERIES: dict[str, Link] = {
    RECEIVED: Link("agent_id", {"left_message": (False, None)}),
    **{link: Link(link) for link in _LINKS},
}
"""How an agent row's conversations are attributed to it, per column link (reports.md, 7moor
agent reports: received sessions are the agent's own but left messages)."""
_AUTH_HEADERS = ("m7-appkey", "m7-nonce", "m7-timestamp", "m7-sign")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_LABEL_FORMATS = {
    "half_hour": "%Y-%m-%d %H:%M",
    "hour": "%Y-%m-%d %H:%M",
    "day": "%Y-%m-%d",
    "month": "%Y-%m",
    "year": "%Y",
}


class SevenMoorError(Exception):
    """An error answered in the 7moor envelope with `success: false`; HTTP status = code."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def _param_error(detail: str) -> SevenMoorError:
    # dialects.md: 400 paramError "with a message that says which": the key, then the problem.
    return SevenMoorError(400, f"paramError: {detail}")


# --- envelope ------------------------------------------------------------------------------------


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Span:
    """Real timings of one request; "proxy" is our report work (seed 002 `requestInfo.span`)."""

    request_start: int = field(default_factory=_now_ms)
    work_start: int | None = None
    work_end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The `span` object: bizSpan = the report work, latency = everything else."""
        end = _now_ms()
        work_start = self.work_start if self.work_start is not None else end
        work_end = self.work_end if self.work_end is not None else work_start
        biz = work_end - work_start
        return {
            "requestStartTime": self.request_start,
            "proxyStartTime": work_start,
            "proxyEndTime": work_end,
            "reqEndTime": end,
            "bizSpan": f"{biz}ms",
            "latency": f"{end - self.request_start - biz}ms",
        }


def _envelope(
    request: Request, body: Any, span: _Span, code: int, message: str, data: Any
) -> dict[str, Any]:
    # Seed 002: every response carries requestInfo, in this key order. `proxyUrl` is where 7moor's
    # gateway passed the request on; ccstats has no gateway, so it is the request's own URL.
    return {
        "success": code == 200,
        "code": str(code),
        "message": message,
        "data": data,
        "requestInfo": {
            "requestId": uuid.uuid4().hex,
            "url": request.url.path,
            "proxyUrl": str(request.url),
            "body": body,
            "span": span.as_dict(),
        },
    }


def matches(request: Request) -> bool:
    """Requests under /openapi/im-report/."""
    return request.url.path.startswith(PREFIX + "/")


_STATUS_KEYS = {
    400: "paramError",
    401: "unauthorized",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
}


def render_error(request: Request, status: int, message: str) -> Response:
    """A framework-level error (unknown path, wrong method, crash) in the 7moor envelope."""
    key = _STATUS_KEYS.get(status, "serverError" if status >= 500 else "requestError")
    payload = _envelope(request, None, _Span(), status, f"{key}: {message}", None)
    return JSON(payload, status_code=status)


# --- signature and replay ------------------------------------------------------------------------


def sign(secret: str, appkey: str, timestamp: str, nonce: str) -> str:
    """`m7-sign`: base64(HMAC-SHA256(key=secret, msg=appkey + timestamp + nonce)).

    Example:
        >>> sign("HWHp9xFVlbboxIU2S6DHA7sf9sGzt3", "2000103", "1608119594", "123221")
        'ybCwXrg9CMo39xv1kdfVLemqFmk+2Elz+vXYu1CyHlo='
    """
    # Headers reach us decoded as latin-1, so encoding back as latin-1 signs the bytes as sent.
    message = (appkey + timestamp + nonce).encode("latin-1", "replace")
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _timestamp_seconds(text: str) -> float | None:
    # dialects.md: 13 digits are ms (every curl example in seed 002), 10 digits seconds (the doc).
    if re.fullmatch(r"[0-9]{13}", text):
        return int(text) / 1000
    if re.fullmatch(r"[0-9]{10}", text):
        return float(int(text))
    return None


def _secret_matches(
    service: Service, appkey: str, sent: str, timestamp: str, nonce: str
) -> str | None:
    """The tenant id whose 7moor secret produced `sent`; raises appkeyNotFound."""
    credentials = service.registry.find_credentials("7moor", appkey)
    if not credentials:
        raise SevenMoorError(401, "appkeyNotFound")
    for credential in credentials:
        expected = sign(credential.secret or "", appkey, timestamp, nonce)
        if hmac.compare_digest(expected.encode(), sent.encode()):
            return credential.tenant_id
    return None


def authenticate(
    service: Service, headers: Mapping[str, str], replay: NonceCache, now: float
) -> TenantSettings:
    """The tenant of a signed request (7moor's signing documentation: clock first, then key, sign, replay)."""
    values = {name: headers.get(name, "").strip() for name in _AUTH_HEADERS}
    if not all(values.values()):
        raise SevenMoorError(401, "missingAuthHeader")
    appkey, nonce, timestamp, sent = (values[name] for name in _AUTH_HEADERS)
    seconds = _timestamp_seconds(timestamp)
    if seconds is None or abs(now - seconds) > CLOCK_WINDOW_S:
        raise SevenMoorError(401, "timestampExpired")
    tenant_id = _secret_matches(service, appkey, sent, timestamp, nonce)
    if tenant_id is None:
        raise SevenMoorError(401, "signError")
    # A pair stays refused until its timestamp leaves the clock window too; otherwise a request
    # stamped up to 5 min ahead could be replayed once the 5-minute memory had passed.
    if not replay.first_use(f"{sent}:{nonce}", max(now, seconds) + CLOCK_WINDOW_S, now):
        raise SevenMoorError(401, "nonceRepeated")
    tenant = service.tenant(tenant_id)
    if tenant is None:
        raise SevenMoorError(401, "appkeyNotFound")
    return tenant


# --- request parameters --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportParams:
    """A parsed report request: [start, end) as UTC instants, in the tenant's zone."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    dimension: str = "hour"
    access_ids: tuple[str, ...] = ()
    agent_list: tuple[str, ...] = ()


def _local_time(text: Any, which: str) -> datetime:
    if not isinstance(text, str):
        raise _param_error(f"createTime {which} must be a string 'YYYY-MM-DD HH:MM:SS'")
    if len(text) > 64:
        raise _param_error(f"createTime {which} is not a time 'YYYY-MM-DD HH:MM:SS'")
    try:
        return datetime.strptime(text, _TIME_FORMAT)
    except ValueError:
        raise _param_error(
            f"createTime {which} {text!r} is not a time 'YYYY-MM-DD HH:MM:SS'"
        ) from None


def _one_year_after(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 29 February: a year later is 1 March
        return moment.replace(year=moment.year + 1, month=3, day=1)


def _range(body: Mapping[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """createTime as UTC instants; seed 002: at most one year (最长时间不能超过一年)."""
    value = body.get("createTime")
    if value is None:
        raise _param_error("createTime is required")
    if not isinstance(value, list) or len(value) != 2:
        raise _param_error("createTime must be a list [start, end] of two time strings")
    start, end = _local_time(value[0], "start"), _local_time(value[1], "end")
    instants = _instant(start, zone, "start"), _instant(end, zone, "end")
    if end <= start:
        raise _param_error(f"createTime end {value[1]} is not after its start {value[0]}")
    if end > _one_year_after(start):
        raise _param_error("createTime range is over one year")
    return instants


def _instant(local: datetime, zone: ZoneInfo, which: str) -> datetime:
    """A tenant-local time as a UTC instant, within the years ccstats accepts (1970-2200)."""
    try:
        return REQUEST_TIMES.instant(
            lambda: local.replace(tzinfo=zone).astimezone(UTC), local.isoformat(sep=" ")
        )
    except ValueError as error:
        raise _param_error(f"createTime {which}: {error}") from None


def _id_list(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _param_error(f"{name} must be a list of strings")
    try:
        check_list(name, value)
    except TooLarge as error:
        raise _param_error(str(error)) from None
    return tuple(dict.fromkeys(value))


def parse_params(body: Any, zone: ZoneInfo, with_dimension: bool) -> ReportParams:
    """Validate a report body; paramError names the problem."""
    if not isinstance(body, dict):
        raise _param_error("the body must be a JSON object")
    start, end = _range(body, zone)
    dimension = "hour"
    if with_dimension:
        dimension = body.get("dimension") or "hour"
        if dimension not in DIMENSIONS:
            shown = repr(dimension)[:MAX_TEXT]
            raise _param_error(f"unknown dimension {shown}; use one of {', '.join(DIMENSIONS)}")
    return ReportParams(
        start=start,
        end=end,
        zone=zone,
        dimension=dimension,
        access_ids=_id_list(body, "accessIds"),
        agent_list=_id_list(body, "agentList"),
    )


# --- formatting catalogue values -----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A report field: its header, the catalogue metric, and the agent link it is grouped by
    (`_LINK_QUERIES`; in an agent row, by default the agent's received sessions)."""

    prop: str
    label: str
    metric: str
    show: bool = True
    link: str = RECEIVED


def _format(metric: Metric, value: Any) -> int | float:
    """A catalogue value as 7moor writes it (reports.md, common rules)."""
    if isinstance(metric, Ratio):
        parts = value if isinstance(value, RatioValue) else RatioValue(0, 0)
        if metric.unit == "ratio":
            return percent(parts.numerator, parts.denominator)
        return average_int(parts.numerator, parts.denominator)
    # Counts are integers already; second totals are rounded half up.
    return int(round_half_up(value or 0))


def _query(
    tenant: TenantSettings,
    params: ReportParams,
    metrics: Iterable[str],
    granularity: str = "total",
    group_by: tuple[str, ...] = (),
    filters: Mapping[str, tuple[Any, ...]] | None = None,
) -> MetricQuery:
    """A query over the tenant's chat conversations created in the range."""
    return MetricQuery(
        tenant_id=tenant.id,
        metrics=tuple(dict.fromkeys(metrics)),
        start=params.start,
        end=params.end,
        timezone=tenant.timezone,
        granularity=granularity,
        group_by=group_by,
        filters={"channel": ("chat",), **(filters or {})},
        fill_empty=granularity != "total",
    )


# --- session report ------------------------------------------------------------------------------

# Seed 002 part 1: the header, in order, with its `show` flags; reports.md gives the metrics.
SESSION_COLUMNS: tuple[Column, ...] = (
    Column("initCount", "总会话数", "conversations"),
    Column("validCount", "有效会话数", "valid_sessions"),
    Column("robotCount", "机器人会话数", "bot_sessions"),
    Column("robotOnlyCount", "机器人独立接待会话数", "bot_only_sessions"),
    Column("robotManualSucCount", "机器人转人工成功数", "bot_to_agent_sessions"),
    Column("manualCount", "人工服务数", "agent_sessions"),
    Column("queueUpCount", "排队数", "queued", show=False),
    Column("queueGiveUpCount", "排队放弃数", "queue_abandoned"),
    Column("lossCount", "流失会话数", "lost"),
    Column("finishCount", "完成会话数", "finished"),
    Column("inviteCount", "主动会话数", "invited"),
    Column("transferCount", "转接会话数", "agent_transfers", show=False),
    Column("leavingCount", "留言数", "left_messages", show=False),
    Column("noVisitorMsgCount", "访客无消息会话数", "no_customer_message", show=False),
    Column("noReplyCount", "未回复会话数", "no_agent_message", show=False),
    Column("msgCount", "总消息数", "messages", show=False),
    Column("agentSendMsgCount", "座席消息数", "agent_messages", show=False),
    Column("visitorSendMsgCount", "访客消息数", "customer_messages", show=False),
    Column("evaluateCount", "评价数", "evaluated"),
    Column("sessionTimeLen", "平均会话时长", "avg_duration"),
    Column("pushCsrCount", "邀评数", "csat_invited", show=False),
)


def _header(prop: str, label: str, show: bool = True, custom: bool = False) -> dict[str, Any]:
    return {"isCustomHeader": custom, "prop": prop, "show": show, "width": 120, "label": label}


def session_header() -> list[dict[str, Any]]:
    """The session report header exactly as seed 002 writes it (the first width is a string)."""
    first = {"isCustomHeader": False, "prop": "time", "show": True, "width": "200", "label": "时间"}
    return [first, *(_header(c.prop, c.label, c.show) for c in SESSION_COLUMNS)]


def _time_label(bucket: datetime, params: ReportParams) -> str:
    return bucket.astimezone(params.zone).strftime(_LABEL_FORMATS[params.dimension])


def session_report(
    service: Service, tenant: TenantSettings, params: ReportParams
) -> dict[str, Any]:
    """One row per bucket of the range, empty buckets as zeros (reports.md, 7moor session)."""
    filters = {"access_code": params.access_ids} if params.access_ids else {}
    query = _query(
        tenant, params, (c.metric for c in SESSION_COLUMNS), params.dimension, filters=filters
    )
    metrics = [(c.prop, c.metric, get_metric(c.metric)) for c in SESSION_COLUMNS]

    def rows_of(result: MetricResult) -> list[dict[str, Any]]:
        rows = []
        for row in result.rows:
            values = {prop: _format(metric, row[name]) for prop, name, metric in metrics}
            rows.append({"time": _time_label(row["bucket"], params), **values})
        return rows

    # Built once per cached answer; labels take the zone and dimension from `params`.
    rows = service.run_formatted(query, ("7moor-session", params), rows_of)
    return {"header": session_header(), "list": rows}


# --- agent reports -------------------------------------------------------------------------------

# Seed 002 part 2; every count over the agent's own conversations is over its received sessions
# (reports.md: so finishCount, noVisitorMsgCount, ... are at most initCount); receiveLeavingCount
# counts its leave-messages, and the other links count what they name.
_COMMON_AGENT_COLUMNS: tuple[Column, ...] = (
    Column("initCount", "接待会话总数", "received_sessions"),
    Column("assignCount", "分配会话数", "routed_sessions"),
    Column("invalidCount", "有效会话数", "valid_sessions"),
    Column("inviteCount", "主动会话数", "invited"),
)
WORKLOAD_COLUMNS: tuple[Column, ...] = (
    *_COMMON_AGENT_COLUMNS,
    Column("receiveLeavingCount", "接入留言数", "left_messages", link="agent_id"),
    Column("delLeavingCount", "处理留言数", "left_messages", link="message_handled_by"),
    Column("transferOutCount", "转出会话数", "conversations", link="transfer_from_agent_id"),
    Column("transferInCount", "转入会话数", "conversations", link="transfer_to_agent_id"),
    Column("replyCount", "响应会话数", "replied"),
    Column("noVisitorMsgCount", "访客无消息会话数", "no_customer_message"),
    Column("finishCount", "完成会话数", "finished"),
    Column("agentSendMsgCount", "回复消息数", "own_agent_messages"),
    Column("visitorSendMsgCount", "接收消息数", "customer_messages_to_agent"),
)
# Seed 002 part 3.
QUALITY_COLUMNS: tuple[Column, ...] = (
    *_COMMON_AGENT_COLUMNS,
    Column("replyCount", "响应会话数", "replied"),
    Column("firstResponseNotIncludeLen", "首响总时长", "first_response_total"),
    Column("sessionNotIncludeTimeLen", "会话总时长", "handle_time_total"),
    Column("avgFirstResponseNotIncludeLen", "平均首响时长", "avg_first_response"),
    Column("avgSessionNotIncludeTimeLen", "平均会话时长", "avg_handle_time_per_received"),
    Column("avgMsgResponseLen", "平均响应时长", "avg_reply_wait"),
    Column("pushCsrCount", "邀评数", "csat_invited"),
    Column("agentPushCsrCount", "座席主动邀评数", "csat_invited_by_agent"),
    Column("pushCsrRate", "邀评率", "csat_invite_rate"),
    Column("evaluateCount", "参评数", "evaluated"),
    Column("evaluateRate", "参评率", "evaluate_rate"),
    Column("quesAndAnswerRate", "答问比", "answer_ratio"),
    Column("twentyFourHourSolutionRate", "24h一次性解决率", "fcr_24h"),
    Column("fortyEightHourSolutionRate", "48h一次性解决率", "fcr_48h"),
)


def workload_header(tenant: TenantSettings) -> list[dict[str, Any]]:
    """Seed 002 part 2: fixed columns, login time, then one custom column per agent status."""
    return [
        _header("agentId", "座席姓名"),
        *(_header(c.prop, c.label) for c in WORKLOAD_COLUMNS),
        _header("loginTotalTimeLength", "登录总时长"),
        *(_header(s.id, s.label, custom=True) for s in tenant.agent_statuses),
    ]


def quality_header(tenant: TenantSettings) -> list[dict[str, Any]]:
    """Seed 002 part 3: fixed columns (its key order), then one column per satisfaction option."""

    def fixed(prop: str, label: str) -> dict[str, Any]:
        return {"isCustomHeader": False, "prop": prop, "width": 120, "show": True, "label": label}

    options = [
        {"prop": o.id, "label": o.label, "show": True, "width": 120, "customHeader": False}
        for o in tenant.satisfaction_options
    ]
    return [
        fixed("agentId", "座席姓名"),
        *(fixed(c.prop, c.label) for c in QUALITY_COLUMNS),
        *options,
    ]


def agent_label(tenant: TenantSettings, agent_id: str) -> str:
    """`name[number]` from the tenant's agents; the id when the agent is unknown."""
    for agent in tenant.agents:
        if agent.id == agent_id:
            name = agent.name or agent.id
            return f"{name}[{agent.number}]" if agent.number else name
    return agent_id


def _ordered_agents(tenant: TenantSettings, ids: Iterable[str]) -> list[str]:
    """The tenant's agents order first, then unknown ids sorted."""
    position = {agent.id: i for i, agent in enumerate(tenant.agents)}
    unique = set(ids)
    return sorted(unique, key=lambda a: (a not in position, position.get(a, 0), a))


def _metrics_by_link(columns: Sequence[Column]) -> dict[str, list[str]]:
    by_link: dict[str, list[str]] = {}
    for column in columns:
        by_link.setdefault(column.link, []).append(column.metric)
    return by_link


def _agent_rows(
    service: Service,
    tenant: TenantSettings,
    params: ReportParams,
    columns: Sequence[Column],
    interval_agents: Iterable[str],
) -> tuple[list[str], list[dict[str, Any]]]:
    """Agent ids in report order and their rows of formatted column values."""
    by_link = _metrics_by_link(columns)
    base = _query(tenant, params, ())
    grouped = service.attribute(base, by_link, _LINK_QUERIES, params.agent_list)
    if params.agent_list:
        ids: Iterable[str] = params.agent_list
    else:  # reports.md: rows for agents with any conversation via any link
        seen = {_LINK_QUERIES[link].column for link in by_link if not _LINK_QUERIES[link].filters}
        others = [link for link in _LINKS if link not in seen]
        ids = {a for values in grouped.values() for a in values} | set(interval_agents)
        ids |= service.agents_linked(base, others)
    agents = _ordered_agents(tenant, ids)
    rows = []
    for agent in agents:
        row: dict[str, Any] = {"agentId": agent_label(tenant, agent)}
        for c in columns:
            value = grouped[c.link].get(agent, {}).get(c.metric)
            row[c.prop] = _format(get_metric(c.metric), value)
        rows.append(row)
    return agents, rows


def _seconds(value: float) -> int:
    return int(round_half_up(value))


def _time_lengths(
    service: Service, tenant: TenantSettings, params: ReportParams
) -> dict[str, dict[str, int]]:
    """everyTimeLength per agent: login seconds always, a status when it has an interval."""
    agents = params.agent_list or None
    totals = service.interval_totals(tenant.id, params.start, params.end, agents)
    order = {s.id: i for i, s in enumerate(tenant.agent_statuses)}
    out: dict[str, dict[str, int]] = {}
    for total in sorted(
        totals, key=lambda t: (order.get(t.status_id or "", len(order)), t.status_id or "")
    ):
        lengths = out.setdefault(total.agent_id, {"loginTotalTimeLength": 0})
        if total.kind == "login":
            lengths["loginTotalTimeLength"] += _seconds(total.seconds)
        elif total.status_id is not None and total.intervals > 0:
            lengths[total.status_id] = lengths.get(total.status_id, 0) + _seconds(total.seconds)
    return out


def workload_report(
    service: Service, tenant: TenantSettings, params: ReportParams
) -> dict[str, Any]:
    """Seed 002 part 2: one row per agent with its counts and `everyTimeLength`."""
    lengths = _time_lengths(service, tenant, params)
    agents, rows = _agent_rows(service, tenant, params, WORKLOAD_COLUMNS, lengths)
    for agent, row in zip(agents, rows, strict=True):
        row["everyTimeLength"] = lengths.get(agent, {"loginTotalTimeLength": 0})
    return {"header": workload_header(tenant), "list": rows}


def _option_counts(
    service: Service, tenant: TenantSettings, params: ReportParams
) -> dict[str, dict[str, int]]:
    """Per agent: satisfaction option id -> its evaluated received sessions with that option."""
    received = _LINK_QUERIES[RECEIVED]
    agents = {received.column: params.agent_list} if params.agent_list else {}
    filters = {**received.filters, **agents}
    query = _query(
        tenant, params, ("evaluated",), group_by=("agent_id", "csat_option_id"), filters=filters
    )
    counts: dict[str, dict[str, int]] = {}
    for row in service.run_query(query).rows:
        if row["agent_id"] is not None and row["csat_option_id"] is not None:
            counts.setdefault(row["agent_id"], {})[row["csat_option_id"]] = row["evaluated"]
    return counts


def _satisfaction(
    tenant: TenantSettings, by_option: Mapping[str, int], evaluated: int
) -> dict[str, int | float]:
    """Option id -> share of the agent's evaluated conversations, percent; zeros left out.

    The denominator is the agent's `evaluated` (a score without an option counts there too).
    """
    order = {o.id: i for i, o in enumerate(tenant.satisfaction_options)}
    chosen = sorted(
        (o for o, n in by_option.items() if n > 0), key=lambda o: (order.get(o, len(order)), o)
    )
    return {o: percent(by_option[o], evaluated) for o in chosen}


def quality_report(
    service: Service, tenant: TenantSettings, params: ReportParams
) -> dict[str, Any]:
    """Seed 002 part 3: one row per agent with its quality figures and `satisfaction`."""
    interval_agents: Iterable[str] = ()
    if not params.agent_list:  # rows as in workload: agents with intervals count too
        totals = service.interval_totals(tenant.id, params.start, params.end)
        interval_agents = {t.agent_id for t in totals}
    counts = _option_counts(service, tenant, params)
    agents, rows = _agent_rows(service, tenant, params, QUALITY_COLUMNS, interval_agents)
    for agent, row in zip(agents, rows, strict=True):
        row["satisfaction"] = _satisfaction(tenant, counts.get(agent, {}), row["evaluateCount"])
    return {"header": quality_header(tenant), "list": rows}


# --- routes --------------------------------------------------------------------------------------

Report = Callable[[Service, TenantSettings, ReportParams], dict[str, Any]]


def _kept(report: Report) -> Report:
    """`report`, kept until an upsert of conversations or intervals touches its range: it reads
    nothing else (metric queries and interval totals of [start, end)) but the tenant's settings,
    a change of which counts as a change of everything (`Store.put_tenant`). Before, a repeated
    quality report re-read its four kept parts and formatted them again (6.5 ms at 10M)."""

    @functools.wraps(report)
    def kept_report(
        service: Service, tenant: TenantSettings, params: ReportParams
    ) -> dict[str, Any]:
        key = (report.__qualname__, params)  # `kept` adds the tenant
        span = (tenant.id, params.start, params.end)
        return service.kept(key, span, lambda: report(service, tenant, params))

    return kept_report


kept_workload_report = _kept(workload_report)
kept_quality_report = _kept(quality_report)


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return None


_GUESSES = ("appkeyNotFound", "signError")
"""Authentication failures that guess a secret: counted per appkey and address."""


def _tenant(state: Any, headers: Mapping[str, str], address: str) -> TenantSettings:
    """The signed request's tenant: the m7-* headers alone (the signature does not cover the
    body), so an unsigned caller never gets its body read. Unknown appkeys and bad signatures
    count as failures of the appkey and of the address (`ccstats.ratelimit`)."""
    limiter = limiter_of(state)
    keys = (address, f"7moor:{headers.get('m7-appkey', '').strip()[:MAX_TEXT]}")
    wait = limiter.retry_after(*keys)
    if wait is not None:
        raise SevenMoorError(429, "tooManyRequests", retry_after=wait)
    try:
        return authenticate(state.service, headers, nonce_cache(state, "7moor"), clock())
    except SevenMoorError as error:
        if error.message in _GUESSES:
            limiter.failed(*keys)
        raise


def _answer(
    service: Service,
    tenant: TenantSettings,
    raw: bytes,
    report: Report,
    with_dimension: bool,
    span: _Span,
) -> tuple[int, str, Any, Any]:
    """(status, message, data, body echo) of an authenticated request, off the event loop."""
    body = _decode(raw)
    try:
        params = parse_params(body, tenant.zone, with_dimension)
        span.work_start = _now_ms()
        data = report(service, tenant, params)
        span.work_end = _now_ms()
    except SevenMoorError as error:
        return error.status, error.message, None, body
    return 200, "requestSuccess", data, body


async def _serve(request: Request, report: Report, with_dimension: bool = False) -> Response:
    span = _Span()
    state = request.app.state
    try:
        tenant = await run_in_threadpool(_tenant, state, request.headers, address_key(request))
    except SevenMoorError as error:
        payload = _envelope(request, None, span, error.status, error.message, None)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return JSON(payload, status_code=error.status, headers=headers)
    raw = await request.body()
    status, message, data, body = await run_in_threadpool(
        _answer, state.service, tenant, raw, report, with_dimension, span
    )
    payload = _envelope(request, body, span, status, message, data)
    return JSON(payload, status_code=status)


_DOC = "7moor v7 IM report (seed 002); signed with the m7-* headers."


@router.post("/session/time", summary="7moor session report", description=_DOC)
async def session_time(request: Request) -> Response:
    """会话报表: chat sessions per time bucket."""
    return await _serve(request, session_report, with_dimension=True)


@router.post("/agent/workload", summary="7moor agent workload report", description=_DOC)
async def agent_workload(request: Request) -> Response:
    """坐席工作量报表: per-agent session counts and time per status."""
    return await _serve(request, kept_workload_report)


@router.post("/agent/quality", summary="7moor agent quality report", description=_DOC)
async def agent_quality(request: Request) -> Response:
    """坐席工作质量报表: per-agent response times, survey and resolution rates."""
    return await _serve(request, kept_quality_report)
