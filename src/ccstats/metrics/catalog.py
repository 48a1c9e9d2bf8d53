"""Every metric, defined once. Reports are presets over these names; dialects only rename them.

Conditions follow `docs/reports.md` ("a missing count field counts as 0, a missing bool as false").
Expressions are portable SQL over the conversation columns (alias `c`); `storage/` compiles them.
"""

from __future__ import annotations

import re

from ccstats.metrics.definitions import Measure, Metric, Ratio

__all__ = ["CATALOG", "PARAMETRIC", "resolve_parametric"]


def _true(column: str) -> str:
    return f"coalesce({column}, false)"


def _false(column: str) -> str:
    return f"NOT coalesce({column}, false)"


_BOT = "(bot_id IS NOT NULL OR coalesce(bot_msg_count, 0) > 0)"
_FINISHED = f"(ended_at IS NOT NULL AND {_false('lost')})"
_VALID = "(coalesce(customer_msg_count, 0) > 0 AND coalesce(agent_msg_count, 0) > 0)"
_EVALUATED = "(csat_option_id IS NOT NULL OR csat_score IS NOT NULL)"
_RECEIVED = _false("left_message")
_FROM_QUEUE = f"({_true('queued')} AND {_true('agent_connected')})"
_FINISHED_WITH_CUSTOMER = f"({_FINISHED} AND customer_id IS NOT NULL)"


def _count(name: str, description: str, where: str | None = None) -> Measure:
    return Measure(name, description, "conversations", "count", where=where)


def _sum(
    name: str, description: str, expr: str, unit: str = "conversations", where: str | None = None
) -> Measure:
    return Measure(name, description, unit, "sum", expr=expr, where=where)  # type: ignore[arg-type]


_MEASURES: list[Measure] = [
    # Volume
    _count("conversations", "Conversations (calls and chat sessions)."),
    _count("inbound", "Inbound conversations.", "direction = 'inbound'"),
    _count("outbound", "Outbound conversations.", "direction = 'outbound'"),
    # Bot / IVR (Huawei seed 000)
    _count(
        "bot_exit_no_consult",
        "Customer left after one IVR interaction (bot_turns = 1).",
        "bot_turns = 1",
    ),
    _count(
        "bot_to_agent_no_consult",
        "More than 1 and at most 3 bot interactions, not ended in the bot.",
        f"bot_turns > 1 AND bot_turns <= 3 AND {_false('ended_in_bot')}",
    ),
    _count(
        "bot_to_agent_after_consult",
        "More than 3 bot interactions, not ended in the bot.",
        f"bot_turns > 3 AND {_false('ended_in_bot')}",
    ),
    _count(
        "bot_consult_only",
        "More than 1 bot interaction and ended in the bot (self-served).",
        f"bot_turns > 1 AND {_true('ended_in_bot')}",
    ),
    _count(
        "bot_usage",
        "Conversations that really used the bot: more than 1 interaction.",
        "bot_turns > 1",
    ),
    _sum("bot_turns", "Total user-bot interactions.", "bot_turns", "turns"),
    _sum(
        "bot_api_requests",
        "Backend interface calls made by bot flows.",
        "bot_api_requests",
        "requests",
    ),
    _sum(
        "bot_api_successes", "Successful backend interface calls.", "bot_api_successes", "requests"
    ),
    Measure(
        "last_stored_at", "When the newest record was stored.", "epoch_ms", "max", expr="stored_at"
    ),
    # Chatbot answers and feedback (Huawei seed 001)
    _sum("bot_replies", "Bot replies with an outcome.", "bot_replies", "messages"),
    _sum("bot_answered", "Bot replies that recognised and answered.", "bot_answered", "messages"),
    _sum("bot_unknown", "Bot fallback replies (not understood).", "bot_unknown", "messages"),
    _count(
        "bot_feedback",
        "Conversations where the customer rated the bot.",
        "bot_feedback IS NOT NULL",
    ),
    _count("bot_positive_feedback", "Positive bot ratings.", "bot_feedback = 'positive'"),
    # Sessions (7moor seed 002)
    _count("valid_sessions", "The customer and a human agent each sent a message.", _VALID),
    _count("bot_sessions", "Sessions with a bot (bot_id set or a bot message).", _BOT),
    _count(
        "bot_only_sessions",
        "Bot sessions no human agent took.",
        f"{_BOT} AND {_false('agent_connected')}",
    ),
    _count(
        "bot_to_agent_sessions",
        "Bot sessions handed to an agent who took them.",
        f"{_BOT} AND {_true('transferred_to_agent')} AND {_true('agent_connected')}",
    ),
    _count("agent_sessions", "Conversations a human agent took.", _true("agent_connected")),
    _count("queued", "Conversations that waited in an agent queue.", _true("queued")),
    _count("queue_abandoned", "Customer gave up while queued.", _true("queue_abandoned")),
    _count("lost", "Ended without being served.", _true("lost")),
    _count("finished", "Ended and not lost.", _FINISHED),
    _count("invited", "Agent-initiated (proactive) sessions.", _true("invited")),
    _count(
        "agent_transfers",
        "Transferred between agents.",
        "(transfer_from_agent_id IS NOT NULL OR transfer_to_agent_id IS NOT NULL)",
    ),
    _count("left_messages", "Became a leave-message.", _true("left_message")),
    _count("no_customer_message", "No customer message.", "coalesce(customer_msg_count, 0) = 0"),
    _count("no_agent_message", "No agent message.", "coalesce(agent_msg_count, 0) = 0"),
    _sum("messages", "All transcript messages.", "msg_count", "messages"),
    _sum("agent_messages", "Messages sent by agents.", "agent_msg_count", "messages"),
    _sum("customer_messages", "Messages sent by customers.", "customer_msg_count", "messages"),
    _sum(
        "customer_messages_to_agent",
        "Customer messages the conversation's own agent received (7moor agent reports).",
        "customer_msg_to_agent_count",
        "messages",
    ),
    _sum(
        "own_agent_messages",
        "Messages sent by the conversation's own agent.",
        "own_agent_msg_count",
        "messages",
    ),
    _count(
        "evaluated", "Conversations the customer rated (satisfaction option or score).", _EVALUATED
    ),
    _count("csat_invited", "A satisfaction survey was pushed.", _true("csat_invited")),
    _count("csat_invited_by_agent", "The agent pushed the survey.", _true("csat_invited_by_agent")),
    _sum("duration_total", "Sum of duration_s.", "duration_s", "seconds"),
    _count("with_duration", "Conversations with a duration.", "duration_s IS NOT NULL"),
    # Per-agent work (7moor workload/quality)
    _count(
        "received_sessions",
        "Conversations served (leave-messages excluded: seed 002 workload).",
        _RECEIVED,
    ),
    _count(
        "routed_sessions",
        "Served conversations routed to the agent: not invited, not transferred in.",
        f"{_RECEIVED} AND {_false('invited')} AND transfer_from_agent_id IS NULL",
    ),
    _count(
        "replied",
        "The own agent sent at least one message.",
        "coalesce(own_agent_msg_count, 0) > 0",
    ),
    _sum(
        "first_response_total",
        "Sum over replied conversations of the own agent's first reply time.",
        "first_response_s",
        "seconds",
        where="coalesce(own_agent_msg_count, 0) > 0",
    ),
    _sum(
        "handle_time_total",
        "Sum of agent_duration_s, else duration_s.",
        "coalesce(agent_duration_s, duration_s)",
        "seconds",
    ),
    _sum("reply_wait_total", "Sum of the own agent's reply waits.", "reply_wait_s", "seconds"),
    _sum("replies", "Agent replies to a run of customer messages.", "reply_count", "messages"),
    _count(
        "finished_with_customer",
        "Finished conversations with a customer_id.",
        _FINISHED_WITH_CUSTOMER,
    ),
    # Queue and service (standard KPIs)
    _count("answered_from_queue", "Queued conversations an agent took.", _FROM_QUEUE),
    _sum(
        "queue_wait_answered",
        "Queue seconds of conversations answered from the queue.",
        "queue_duration_s",
        "seconds",
        where=_FROM_QUEUE,
    ),
    _sum(
        "agent_handle_time",
        "Handle seconds of agent-served conversations.",
        "coalesce(agent_duration_s, duration_s)",
        "seconds",
        where=_true("agent_connected"),
    ),
    _count("csat_rated", "Conversations with a CSAT score.", "csat_score IS NOT NULL"),
    _count("csat_satisfied", "CSAT score 4 or 5.", "csat_score >= 4"),
    _count(
        "transferred_to_agent", "The bot handed over to a human.", _true("transferred_to_agent")
    ),
    # Outbound dialing (Twin24 seed 003: call status)
    _count("dialed", "Calls with a dial result (status).", "dial_status IS NOT NULL"),
    _count(
        "dial_answered",
        "Calls the callee picked up (status ANSWERED, or ANSWER, its older spelling).",
        "dial_status IN ('ANSWERED', 'ANSWER')",
    ),
    _sum(
        "cost",
        'The cost of the calls: their prices added exactly (Twin24 `price`, "the cost of the '
        'dialog"; a call without a price adds nothing).',
        "price",
        "currency",
    ),
]

_RATIOS: list[Ratio] = [
    Ratio(
        "autonomy_rate",
        "Self-service rate: bot_consult_only / bot_usage (Huawei autonomyRate).",
        "bot_consult_only",
        "bot_usage",
    ),
    Ratio(
        "avg_bot_turns",
        "Average bot interactions per conversation.",
        "bot_turns",
        "conversations",
        "turns",
    ),
    Ratio(
        "bot_api_success_rate",
        "Successful share of backend interface calls.",
        "bot_api_successes",
        "bot_api_requests",
    ),
    Ratio("bot_response_rate", "Answered share of bot replies.", "bot_answered", "bot_replies"),
    Ratio(
        "bot_positive_feedback_rate",
        "Positive share of bot ratings.",
        "bot_positive_feedback",
        "bot_feedback",
    ),
    Ratio(
        "avg_duration",
        "Average duration_s over conversations with one.",
        "duration_total",
        "with_duration",
        "seconds",
    ),
    Ratio(
        "avg_first_response",
        "Average first reply time of the own agent.",
        "first_response_total",
        "replied",
        "seconds",
    ),
    Ratio(
        "avg_handle_time_per_received",
        "Handle time per served conversation (7moor avgSessionNotIncludeTimeLen).",
        "handle_time_total",
        "received_sessions",
        "seconds",
    ),
    Ratio(
        "avg_reply_wait",
        "Average wait of an agent reply (7moor avgMsgResponseLen).",
        "reply_wait_total",
        "replies",
        "seconds",
    ),
    Ratio(
        "csat_invite_rate",
        "Surveys pushed per served conversation.",
        "csat_invited",
        "received_sessions",
    ),
    Ratio(
        "evaluate_rate", "Rated share of served conversations.", "evaluated", "received_sessions"
    ),
    Ratio(
        "answer_ratio",
        "Own-agent messages per customer message it received (7moor quesAndAnswerRate).",
        "own_agent_messages",
        "customer_messages_to_agent",
    ),
    Ratio(
        "bot_containment",
        "Bot sessions that never reached an agent.",
        "bot_only_sessions",
        "bot_sessions",
    ),
    Ratio(
        "bot_transfer_rate",
        "Bot sessions handed to an agent.",
        "bot_to_agent_sessions",
        "bot_sessions",
    ),
    Ratio("abandonment_rate", "Queued conversations abandoned.", "queue_abandoned", "queued"),
    Ratio(
        "transfer_rate",
        "Agent-served conversations transferred between agents.",
        "agent_transfers",
        "agent_sessions",
    ),
    Ratio(
        "avg_speed_of_answer",
        "Average queue wait of answered conversations (ASA).",
        "queue_wait_answered",
        "answered_from_queue",
        "seconds",
    ),
    Ratio(
        "avg_handle_time",
        "Average handle time of agent-served conversations (AHT).",
        "agent_handle_time",
        "agent_sessions",
        "seconds",
    ),
    Ratio(
        "dial_answer_rate",
        "Answered share of calls with a dial result.",
        "dial_answered",
        "dialed",
    ),
    Ratio(
        "csat",
        "Satisfied share (score 4-5) of CSAT-rated conversations.",
        "csat_satisfied",
        "csat_rated",
    ),
]


def _parametric(name: str) -> list[Metric] | None:
    """Metrics with a parameter in their name: service_level_<N>s and fcr_<N>h."""
    if match := re.fullmatch(r"(?:service_level|answered_within)_(\d+)s", name):
        seconds = int(match.group(1))
        within = _count(
            f"answered_within_{seconds}s",
            f"Queued conversations an agent took within {seconds} s.",
            f"{_FROM_QUEUE} AND coalesce(queue_duration_s, 0) <= {seconds}",
        )
        level = Ratio(
            f"service_level_{seconds}s",
            f"Service level: share of queued conversations answered within {seconds} s.",
            within.name,
            "queued",
        )
        return [within, level]
    if match := re.fullmatch(r"(?:fcr|resolved_within)_(\d+)h", name):
        hours = int(match.group(1))
        # reports.md, 7moor quality: the customer opened no other conversation of the tenant
        # within `hours` after this one ended.
        resolved = Measure(
            f"resolved_within_{hours}h",
            f"Finished conversations whose customer came back in no conversation within {hours} h.",
            "conversations",
            "no_repeat_within",
            where=_FINISHED_WITH_CUSTOMER,
            within_hours=hours,
        )
        rate = Ratio(
            f"fcr_{hours}h",
            f"First-contact resolution: finished conversations with no repeat contact in {hours} h.",
            resolved.name,
            "finished_with_customer",
        )
        return [resolved, rate]
    return None


PARAMETRIC = ("service_level_<N>s", "answered_within_<N>s", "fcr_<N>h", "resolved_within_<N>h")
"""Name patterns resolved on demand; `/v1/metrics` lists them with their default parameters."""

_ALL: list[Metric] = [*_MEASURES, *_RATIOS]
CATALOG: dict[str, Metric] = {m.name: m for m in _ALL}
for _default in ("service_level_20s", "fcr_24h", "fcr_48h"):
    for _metric in _parametric(_default) or []:
        CATALOG[_metric.name] = _metric


def resolve_parametric(name: str) -> list[Metric] | None:
    """The metrics a parametric name stands for (itself and its numerator), or None."""
    return _parametric(name)
