"""The measured reports: each over HTTP (the vendor's own request), in process (the query layer the
dialect runs on), as the SQL our store generates, and as hand-written SQL for the same numbers.

Windows are fixed on the demo calendar (`generate.END_DAY`): the hourly report is the day before
"today", the day reports the 30 days ending with it, the monthly reports October 2026. The hand-written
SQL is a plain GROUP BY with the same filters, using the fixed UTC offsets of the bench tenants
(Asia/Shanghai has no DST), so it needs no bucket table; every figure it returns is the same number.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from bench.clients import Clients
from bench.generate import (
    CHATBOT_CODE,
    DEMO_BANK,
    DEMO_RETAIL,
    END_DAY,
    IM_CODES,
    INSTANCE,
    IVR_CODE,
    utc_day_start,
)
from ccstats.metrics.query import MetricQuery, compile_query
from ccstats.service import Service
from ccstats.storage import SearchRequest, Store
from ccstats.storage.duckdb import sql as q

__all__ = ["Case", "Window", "cases", "window"]

SQL = tuple[str, list[Any]]


@dataclass(frozen=True)
class Window:
    """The time windows every case uses (UTC instants and the local strings vendors send)."""

    day: date
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime
    days30_start: datetime
    export_start: datetime
    """Twin24 export window start: at most 50 000 calls of twin24-demo from here to `export_end`."""
    export_end: datetime


def window(export_start: datetime | None = None) -> Window:
    """The bench windows; `export_start` is found on the store (see `bench.run`)."""
    day = END_DAY - timedelta(days=1)
    end = utc_day_start(END_DAY + timedelta(days=1), 3)
    return Window(
        day=day,
        day_start=utc_day_start(day, 8),
        day_end=utc_day_start(END_DAY, 8),
        month_start=utc_day_start(date(2026, 10, 1), 8),
        month_end=utc_day_start(date(2026, 11, 1), 8),
        days30_start=utc_day_start(day - timedelta(days=29), 8),
        export_start=export_start or utc_day_start(END_DAY - timedelta(days=364), 3),
        export_end=end,
    )


@dataclass(frozen=True)
class Case:
    """One report measured four ways."""

    name: str
    title: str
    target_ms: float | None
    inproc: Callable[[Store], Any]
    """The report through the query layer, computed (no answer cache)."""
    ours_sql: list[SQL]
    raw_sql: list[SQL]
    http: Callable[[Clients], httpx.Response] | None = None
    ok: Callable[[httpx.Response], bool] = field(default=lambda r: r.status_code == 200)
    cached: Callable[[Store], Any] | None = None
    """The same through the service as shipped (`Service.run_query`, `Service.search`), which
    answers a repeated request from its kept answers."""


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _iso(instant: datetime, offset_h: int) -> str:
    local = (_naive(instant) + timedelta(hours=offset_h)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{local}{'+' if offset_h >= 0 else '-'}{abs(offset_h):02d}:00"


def _local(instant: datetime, offset_h: int) -> str:
    return (_naive(instant) + timedelta(hours=offset_h)).strftime("%Y-%m-%d %H:%M:%S")


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _metric_sql(query: MetricQuery) -> SQL:
    request, _ = compile_query(query)
    sql: SQL = q.aggregate_sql(request)
    return sql


def _search_sql(request: SearchRequest, count: bool) -> list[SQL]:
    out = [q.search_sql(request)]
    if count:
        out.append(q.count_sql(request))
    return out


# --- metric lists: the catalogue metrics each vendor report asks for --------------------------------

HUAWEI_CALLS = (
    "conversations",
    "bot_exit_no_consult",
    "bot_to_agent_no_consult",
    "bot_to_agent_after_consult",
    "bot_consult_only",
    "bot_turns",
    "autonomy_rate",
    "avg_bot_turns",
    "bot_api_requests",
    "bot_api_successes",
    "bot_api_success_rate",
)
HUAWEI_CHATBOT = (
    "conversations",
    "bot_replies",
    "bot_answered",
    "bot_unknown",
    "bot_response_rate",
    "bot_feedback",
    "bot_positive_feedback",
    "bot_positive_feedback_rate",
)
MOOR_SESSION = (
    "conversations",
    "valid_sessions",
    "bot_sessions",
    "bot_only_sessions",
    "bot_to_agent_sessions",
    "agent_sessions",
    "queued",
    "queue_abandoned",
    "lost",
    "finished",
    "invited",
    "agent_transfers",
    "left_messages",
    "no_customer_message",
    "no_agent_message",
    "messages",
    "agent_messages",
    "customer_messages",
    "evaluated",
    "avg_duration",
    "csat_invited",
)
MOOR_QUALITY = (
    "conversations",
    "routed_sessions",
    "valid_sessions",
    "invited",
    "replied",
    "avg_first_response",
    "avg_handle_time_per_received",
    "avg_reply_wait",
    "csat_invited",
    "csat_invited_by_agent",
    "csat_invite_rate",
    "evaluate_rate",
    "answer_ratio",
    "fcr_24h",
    "fcr_48h",
)
MOOR_WORKLOAD = (
    "conversations",
    "routed_sessions",
    "valid_sessions",
    "invited",
    "left_messages",
    "replied",
    "no_customer_message",
    "finished",
    "own_agent_messages",
    "customer_messages_to_agent",
)
NATIVE = ("conversations", "avg_handle_time", "abandonment_rate", "service_level_20s")

# --- hand-written SQL --------------------------------------------------------------------------------

_NB = "NOT coalesce(ended_in_bot, false)"
_RAW_HUAWEI = f"""
SELECT date_trunc('{{unit}}', created_at + INTERVAL 8 HOUR) AS b, count(*),
  count(*) FILTER (WHERE bot_turns = 1),
  count(*) FILTER (WHERE bot_turns > 1 AND bot_turns <= 3 AND {_NB}),
  count(*) FILTER (WHERE bot_turns > 3 AND {_NB}),
  count(*) FILTER (WHERE bot_turns > 1 AND coalesce(ended_in_bot, false)),
  count(*) FILTER (WHERE bot_turns > 1),
  sum(bot_turns), max(stored_at), sum(bot_api_requests), sum(bot_api_successes)
FROM conversations
WHERE tenant_id = ? AND access_code = ? AND created_at >= ? AND created_at < ?
GROUP BY 1 ORDER BY 1"""
_RAW_CHATBOT = """
SELECT date_trunc('day', created_at + INTERVAL 8 HOUR) AS b, count(*),
  sum(bot_replies), sum(bot_answered), sum(bot_unknown),
  count(*) FILTER (WHERE bot_feedback IS NOT NULL), count(*) FILTER (WHERE bot_feedback = 'positive')
FROM conversations
WHERE tenant_id = ? AND access_code = ? AND created_at >= ? AND created_at < ?
GROUP BY 1 ORDER BY 1"""
_RAW_SESSION = """
SELECT date_trunc('day', created_at + INTERVAL 8 HOUR) AS b, count(*),
  count(*) FILTER (WHERE customer_msg_count > 0 AND agent_msg_count > 0),
  count(*) FILTER (WHERE bot_id IS NOT NULL OR bot_msg_count > 0),
  count(*) FILTER (WHERE (bot_id IS NOT NULL OR bot_msg_count > 0) AND NOT coalesce(agent_connected, false)),
  count(*) FILTER (WHERE (bot_id IS NOT NULL OR bot_msg_count > 0) AND transferred_to_agent AND agent_connected),
  count(*) FILTER (WHERE agent_connected), count(*) FILTER (WHERE queued),
  count(*) FILTER (WHERE queue_abandoned), count(*) FILTER (WHERE lost),
  count(*) FILTER (WHERE ended_at IS NOT NULL AND NOT coalesce(lost, false)),
  count(*) FILTER (WHERE invited),
  count(*) FILTER (WHERE transfer_from_agent_id IS NOT NULL OR transfer_to_agent_id IS NOT NULL),
  count(*) FILTER (WHERE left_message),
  count(*) FILTER (WHERE coalesce(customer_msg_count, 0) = 0),
  count(*) FILTER (WHERE coalesce(agent_msg_count, 0) = 0),
  sum(msg_count), sum(agent_msg_count), sum(customer_msg_count),
  count(*) FILTER (WHERE csat_option_id IS NOT NULL OR csat_score IS NOT NULL),
  sum(duration_s), count(duration_s), count(*) FILTER (WHERE csat_invited)
FROM conversations
WHERE tenant_id = ? AND channel = 'chat' AND access_code IN (?, ?)
  AND created_at >= ? AND created_at < ?
GROUP BY 1 ORDER BY 1"""
_RECEIVED = "NOT coalesce(left_message, false)"
_FINISHED_CUSTOMER = (
    "c.ended_at IS NOT NULL AND NOT coalesce(c.lost, false) AND c.customer_id IS NOT NULL"
)
_RAW_QUALITY = f"""
WITH c AS (
  SELECT * FROM conversations
  WHERE tenant_id = ? AND channel = 'chat' AND created_at >= ? AND created_at < ?),
nxt AS (
  SELECT customer_id, created_at AS next_at FROM conversations
  WHERE tenant_id = ? AND customer_id IS NOT NULL AND created_at >= ? AND created_at < ?)
SELECT c.agent_id, count(*),
  count(*) FILTER (WHERE {_RECEIVED}),
  count(*) FILTER (WHERE {_RECEIVED} AND NOT coalesce(invited, false) AND transfer_from_agent_id IS NULL),
  count(*) FILTER (WHERE customer_msg_count > 0 AND agent_msg_count > 0),
  count(*) FILTER (WHERE invited), count(*) FILTER (WHERE own_agent_msg_count > 0),
  sum(first_response_s) FILTER (WHERE own_agent_msg_count > 0),
  sum(coalesce(agent_duration_s, duration_s)), sum(reply_wait_s), sum(reply_count),
  count(*) FILTER (WHERE csat_invited), count(*) FILTER (WHERE csat_invited_by_agent),
  count(*) FILTER (WHERE csat_option_id IS NOT NULL OR csat_score IS NOT NULL),
  sum(own_agent_msg_count), sum(customer_msg_to_agent_count),
  count(*) FILTER (WHERE {_FINISHED_CUSTOMER}),
  count(*) FILTER (WHERE {_FINISHED_CUSTOMER} AND (next_at IS NULL OR next_at > c.ended_at + INTERVAL 24 HOUR)),
  count(*) FILTER (WHERE {_FINISHED_CUSTOMER} AND (next_at IS NULL OR next_at > c.ended_at + INTERVAL 48 HOUR))
FROM c ASOF LEFT JOIN nxt ON c.customer_id = nxt.customer_id AND nxt.next_at > c.ended_at
GROUP BY 1 ORDER BY 1"""
_RAW_SATISFACTION = """
SELECT agent_id, csat_option_id, count(*) FROM conversations
WHERE tenant_id = ? AND channel = 'chat' AND created_at >= ? AND created_at < ?
  AND (csat_option_id IS NOT NULL OR csat_score IS NOT NULL)
GROUP BY ALL ORDER BY ALL"""
_RAW_WORKLOAD = """
SELECT agent_id, message_handled_by, transfer_from_agent_id, transfer_to_agent_id, count(*),
  count(*) FILTER (WHERE NOT coalesce(left_message, false) AND NOT coalesce(invited, false)
                   AND transfer_from_agent_id IS NULL),
  count(*) FILTER (WHERE customer_msg_count > 0 AND agent_msg_count > 0),
  count(*) FILTER (WHERE invited), count(*) FILTER (WHERE left_message),
  count(*) FILTER (WHERE own_agent_msg_count > 0), count(*) FILTER (WHERE customer_msg_count = 0),
  count(*) FILTER (WHERE ended_at IS NOT NULL AND NOT coalesce(lost, false)),
  sum(own_agent_msg_count), sum(customer_msg_to_agent_count)
FROM conversations
WHERE tenant_id = ? AND channel = 'chat' AND created_at >= ? AND created_at < ?
GROUP BY GROUPING SETS ((agent_id), (message_handled_by), (transfer_from_agent_id), (transfer_to_agent_id))"""
_RAW_INTERVALS = """
SELECT agent_id, kind, status_id,
  sum(greatest(0, epoch(least(ended_at, ?)) - epoch(greatest(started_at, ?)))), count(*)
FROM agent_intervals WHERE tenant_id = ? AND started_at < ? AND ended_at >= ?
GROUP BY ALL ORDER BY ALL"""
_RAW_NATIVE = """
SELECT date_trunc('day', created_at + INTERVAL 8 HOUR) AS b, count(*),
  sum(coalesce(agent_duration_s, duration_s)) FILTER (WHERE agent_connected),
  count(*) FILTER (WHERE agent_connected), count(*) FILTER (WHERE queue_abandoned),
  count(*) FILTER (WHERE queued),
  count(*) FILTER (WHERE queued AND agent_connected AND coalesce(queue_duration_s, 0) <= 20)
FROM conversations WHERE tenant_id = ? AND created_at >= ? AND created_at < ?
GROUP BY 1 ORDER BY 1"""
_RAW_PAGE = """
SELECT * FROM conversations
WHERE tenant_id = ? {where} AND created_at >= ? AND created_at {end_op} ?
ORDER BY created_at DESC, id LIMIT {limit}"""
_RAW_COUNT = """
SELECT count(*) FROM conversations
WHERE tenant_id = ? {where} AND created_at >= ? AND created_at {end_op} ?"""


def _page_sql(
    where: str, params: list[Any], limit: int, count: bool, end_op: str = "<"
) -> list[SQL]:
    out = [(_RAW_PAGE.format(where=where, limit=limit, end_op=end_op), params)]
    if count:
        out.append((_RAW_COUNT.format(where=where, end_op=end_op), params))
    return out


# --- the cases ------------------------------------------------------------------------------------


def _metric_case(
    name: str,
    title: str,
    target: float | None,
    queries: list[MetricQuery],
    raw: list[SQL],
    http: Callable[[Clients], httpx.Response] | None,
    ok: Callable[[httpx.Response], bool],
    extra: Callable[[Store], Any] | None = None,
) -> Case:
    def run(store: Store, runner: Callable[[Store, MetricQuery], Any]) -> Any:
        out = [runner(store, query) for query in queries]
        if extra is not None:
            out.append(extra(store))
        return out

    return Case(
        name,
        title,
        target,
        lambda store: run(store, lambda s, query: Service(s).compute_query(query)),
        [_metric_sql(x) for x in queries],
        raw,
        http,
        ok,
        cached=lambda store: run(store, lambda s, query: service_of(s).run_query(query)),
    )


@functools.cache
def service_of(store: Store) -> Service:
    """One service per store, so that its kept answers outlive a run."""
    return Service(store)


def _is_list(response: httpx.Response) -> bool:
    return response.status_code == 200 and isinstance(response.json(), list)


def _is_7moor(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("success") is True


def _is_twin24(response: httpx.Response) -> bool:
    return response.status_code == 200 and "items" in response.json()


def _is_aliyun(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("Success") is True


def _is_native_query(response: httpx.Response) -> bool:
    return response.status_code == 200 and "rows" in response.json()


def cases(w: Window) -> list[Case]:
    """Every measured report, on the windows `w`."""
    bank, shanghai = DEMO_BANK, "Asia/Shanghai"
    hour_q = MetricQuery(
        bank,
        HUAWEI_CALLS,
        w.day_start,
        w.day_end,
        shanghai,
        "hour",
        filters={"access_code": (IVR_CODE,)},
    )
    day_q = MetricQuery(
        bank,
        HUAWEI_CALLS,
        w.days30_start,
        w.day_end,
        shanghai,
        "day",
        filters={"access_code": (IVR_CODE,)},
    )
    chatbot_q = MetricQuery(
        bank,
        HUAWEI_CHATBOT,
        w.days30_start,
        w.day_end,
        shanghai,
        "day",
        filters={"access_code": (CHATBOT_CODE,)},
    )
    chat = {"channel": ("chat",)}
    session_q = MetricQuery(
        bank,
        MOOR_SESSION,
        w.month_start,
        w.month_end,
        shanghai,
        "day",
        filters={**chat, "access_code": IM_CODES},
        fill_empty=True,
    )
    quality_q = MetricQuery(
        bank,
        MOOR_QUALITY,
        w.month_start,
        w.month_end,
        shanghai,
        group_by=("agent_id",),
        filters=chat,
    )
    satisfaction_q = MetricQuery(
        bank,
        ("evaluated",),
        w.month_start,
        w.month_end,
        shanghai,
        group_by=("agent_id", "csat_option_id"),
        filters=chat,
    )
    workload_q = MetricQuery(
        bank,
        MOOR_WORKLOAD,
        w.month_start,
        w.month_end,
        shanghai,
        group_by=("agent_id",),
        filters=chat,
    )
    links = [
        MetricQuery(
            bank, (metric,), w.month_start, w.month_end, shanghai, group_by=(link,), filters=chat
        )
        for link, metric in (
            ("message_handled_by", "left_messages"),
            ("transfer_from_agent_id", "conversations"),
            ("transfer_to_agent_id", "conversations"),
        )
    ]
    native_q = MetricQuery(bank, NATIVE, w.days30_start, w.day_end, shanghai, "day")
    huawei_ts = _ms(w.day_start + timedelta(hours=12))
    month = [_local(w.month_start, 8), _local(w.month_end, 8)]
    retail_page = SearchRequest(
        DEMO_RETAIL,
        utc_day_start(w.day - timedelta(days=29), 3),
        utc_day_start(END_DAY, 3),
        filters=(("channel", ("voice",)),),
        limit=1000,
    )
    aliyun_page = SearchRequest(
        bank,
        w.days30_start,
        w.day_end,
        end_inclusive=True,
        filters=(("channel", ("voice",)), ("instance_id", (INSTANCE,))),
        limit=100,
    )
    native_page = SearchRequest(bank, w.days30_start, w.day_end, limit=1000)

    def huawei_body(kind: str, code: str) -> dict[str, Any]:
        return {"type": kind, "tenantId": bank, "accessCode": code, "timestamp": huawei_ts}

    window_params = [_naive(w.day_start), _naive(w.day_end)]
    d30 = [_naive(w.days30_start), _naive(w.day_end)]
    mon = [_naive(w.month_start), _naive(w.month_end)]
    return [
        _metric_case(
            "huawei_hour",
            "Huawei queryCallStatisticsReport, type=hour (one bot-day)",
            3.0,
            [hour_q],
            [(_RAW_HUAWEI.format(unit="hour"), [bank, IVR_CODE, *window_params])],
            lambda c: c.huawei("queryCallStatisticsReport", huawei_body("hour", IVR_CODE)),
            _is_list,
        ),
        _metric_case(
            "huawei_day",
            "Huawei queryCallStatisticsReport, type=day (30 days)",
            5.0,
            [day_q],
            [(_RAW_HUAWEI.format(unit="day"), [bank, IVR_CODE, *d30])],
            lambda c: c.huawei("queryCallStatisticsReport", huawei_body("day", IVR_CODE)),
            _is_list,
        ),
        _metric_case(
            "huawei_chatbot",
            "Huawei queryChatbotReport, type=day (30 days)",
            None,
            [chatbot_q],
            [(_RAW_CHATBOT, [bank, CHATBOT_CODE, *d30])],
            lambda c: c.huawei("queryChatbotReport", huawei_body("day", CHATBOT_CODE)),
            _is_list,
        ),
        _metric_case(
            "moor_session",
            "7moor session/time, a month by day",
            10.0,
            [session_q],
            [(_RAW_SESSION, [bank, *IM_CODES, *mon])],
            lambda c: c.sevenmoor(
                "session/time",
                {"createTime": month, "dimension": "day", "accessIds": list(IM_CODES)},
            ),
            _is_7moor,
        ),
        _metric_case(
            "moor_quality",
            "7moor agent/quality, a month",
            15.0,
            [quality_q, satisfaction_q],
            [
                (_RAW_QUALITY, [bank, *mon, bank, mon[0], mon[1] + timedelta(days=3)]),
                (_RAW_SATISFACTION, [bank, *mon]),
            ],
            lambda c: c.sevenmoor("agent/quality", {"createTime": month}),
            _is_7moor,
        ),
        _metric_case(
            "moor_workload",
            "7moor agent/workload, a month",
            None,
            [workload_q, *links],
            [
                (_RAW_WORKLOAD, [bank, *mon]),
                (_RAW_INTERVALS, [mon[1], mon[0], bank, mon[1], mon[0]]),
            ],
            lambda c: c.sevenmoor("agent/workload", {"createTime": month}),
            _is_7moor,
            extra=lambda s: s.interval_totals(bank, w.month_start, w.month_end),
        ),
        Case(
            "twin24_page",
            "Twin24 search/cis/calls, page of 1000 (30 days)",
            15.0,
            lambda s: s.search(retail_page, count=True),
            _search_sql(retail_page, True),
            _page_sql(
                "AND channel = 'voice'",
                [DEMO_RETAIL, _naive(retail_page.start), _naive(retail_page.end)],  # type: ignore[arg-type]
                1000,
                True,
            ),
            lambda c: c.twin24(
                {
                    "from": _iso(retail_page.start, 3),  # type: ignore[arg-type]
                    "to": _iso(retail_page.end, 3),  # type: ignore[arg-type]
                    "limit": 1000,
                    "sort": "-createdAt",
                }
            ),
            _is_twin24,
            cached=lambda s: service_of(s).search(retail_page, count=True),
        ),
        Case(
            "aliyun_page",
            "Alibaba HotlineSessionQuery, page of 100 (30 days)",
            None,
            lambda s: s.search(aliyun_page, count=True),
            _search_sql(aliyun_page, True),
            _page_sql(
                f"AND channel = 'voice' AND instance_id = '{INSTANCE}'",
                [bank, *d30],
                100,
                True,
                "<=",
            ),
            lambda c: c.aliyun(
                "HotlineSessionQuery",
                {
                    "InstanceId": INSTANCE,
                    "PageNo": "1",
                    "PageSize": "100",
                    "QueryStartTime": str(_ms(w.days30_start)),
                    "QueryEndTime": str(_ms(w.day_end)),
                },
            ),
            _is_aliyun,
            cached=lambda s: service_of(s).search(aliyun_page, count=True),
        ),
        _metric_case(
            "native_query",
            "native POST /v1/query, 4 metrics by day (30 days)",
            None,
            [native_q],
            [(_RAW_NATIVE, [bank, *d30])],
            lambda c: c.native(
                "POST",
                "/v1/query",
                bank,
                json={
                    "metrics": list(NATIVE),
                    "from": _iso(w.days30_start, 8),
                    "to": _iso(w.day_end, 8),
                    "granularity": "day",
                },
            ),
            _is_native_query,
        ),
        Case(
            "native_page",
            "native GET /v1/conversations, page of 1000 (30 days)",
            15.0,
            lambda s: s.search(native_page),
            _search_sql(native_page, False),
            _page_sql("", [bank, *d30], 1000, False),
            lambda c: c.native(
                "GET",
                "/v1/conversations",
                bank,
                params={
                    "from": _iso(w.days30_start, 8),
                    "to": _iso(w.day_end, 8),
                    "limit": 1000,
                },
            ),
            cached=lambda s: service_of(s).search(native_page),
        ),
    ]
