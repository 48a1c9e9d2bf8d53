"""Per-conversation facts derived once from the transcript at ingest, so reports read one table.

`docs/reports.md` defines what each fact means; every report reads these columns instead of
re-reading messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ccstats.records import Conversation, Message

__all__ = ["TranscriptFacts", "derive_facts", "FACT_COLUMNS"]


@dataclass(frozen=True)
class TranscriptFacts:
    """What reports need from a conversation's messages."""

    msg_count: int = 0
    customer_msg_count: int = 0
    agent_msg_count: int = 0
    bot_msg_count: int = 0
    own_agent_msg_count: int = 0
    """Messages sent by the conversation's own `agent_id` (7moor per-agent counts)."""
    customer_msg_to_agent_count: int = 0
    """Customer messages the own agent received: from `answered_at` on, or, without it, all of them
    when the agent wrote in the conversation (7moor workload 接收消息数: the seed 002 sample counts 0
    for sessions whose agent never took part)."""
    bot_replies: int = 0
    """Bot messages carrying a `bot_outcome` (Huawei consultCount)."""
    bot_answered: int = 0
    bot_unknown: int = 0
    first_response_s: float | None = None
    """Own agent's first message − (`answered_at`, else `created_at`), seconds; None if no reply."""
    reply_wait_s: float = 0.0
    """Sum of the own agent's reply waits (7moor avgMsgResponseLen numerator), seconds."""
    reply_count: int = 0


FACT_COLUMNS: tuple[str, ...] = tuple(TranscriptFacts.__dataclass_fields__)


def _is_own_agent(message: Message, agent_id: str | None) -> bool:
    # A message with no agent_id counts as the conversation's agent: the only agent we know of.
    return message.sender == "agent" and (message.agent_id is None or message.agent_id == agent_id)


def _ordered(messages: list[Message]) -> list[Message]:
    keyed = [(m.seq if m.seq is not None else i, i, m) for i, m in enumerate(messages)]
    return [m for _, _, m in sorted(keyed, key=lambda k: (k[0], k[1]))]


def _reply_waits(messages: list[Message], agent_id: str | None) -> list[float]:
    """Waits of the own agent's replies (reports.md, avgMsgResponseLen).

    A run of customer messages (after the last bot, agent or system message) is answered by the
    next message when that message is the own agent's; any other sender ends the run unanswered.
    """
    waits: list[float] = []
    run_started: datetime | None = None
    in_run = False
    for message in messages:
        if message.sender == "customer":
            if not in_run:
                in_run, run_started = True, message.sent_at
            continue
        if in_run and _is_own_agent(message, agent_id):
            if run_started is not None and message.sent_at is not None:
                waits.append((message.sent_at - run_started).total_seconds())
        in_run, run_started = False, None
    return waits


def derive_facts(conversation: Conversation) -> TranscriptFacts:
    """Count messages by sender, bot outcomes, the own agent's first response and reply waits."""
    messages = _ordered(conversation.messages)
    if not messages:
        return TranscriptFacts()
    agent_id = conversation.agent_id
    own = [m for m in messages if _is_own_agent(m, agent_id)]
    bot = [m for m in messages if m.sender == "bot"]
    first_response: float | None = None
    first_own_times = [m.sent_at for m in own if m.sent_at is not None]
    if first_own_times:
        since = conversation.answered_at or conversation.created_at
        first_response = (min(first_own_times) - since).total_seconds()
    waits = _reply_waits(messages, agent_id)
    customers = [m for m in messages if m.sender == "customer"]
    if conversation.answered_at is not None:
        answered = conversation.answered_at
        to_agent = sum(1 for m in customers if m.sent_at is not None and m.sent_at >= answered)
    else:
        to_agent = len(customers) if own else 0
    return TranscriptFacts(
        msg_count=len(messages),
        customer_msg_count=len(customers),
        customer_msg_to_agent_count=to_agent,
        agent_msg_count=sum(1 for m in messages if m.sender == "agent"),
        bot_msg_count=len(bot),
        own_agent_msg_count=len(own),
        bot_replies=sum(1 for m in bot if m.bot_outcome is not None),
        bot_answered=sum(1 for m in bot if m.bot_outcome == "answered"),
        bot_unknown=sum(1 for m in bot if m.bot_outcome == "unknown"),
        first_response_s=first_response,
        reply_wait_s=sum(waits),
        reply_count=len(waits),
    )
