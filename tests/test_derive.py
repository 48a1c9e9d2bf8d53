"""Transcript facts derived at ingest, checked by hand against reports.md's definitions."""

from __future__ import annotations

from typing import Any

from ccstats.derive import derive_facts
from ccstats.records import Conversation


def conv(messages: list[dict[str, Any]], **fields: Any) -> Conversation:
    base = {"id": "c", "tenant_id": "t", "channel": "chat", "created_at": "2024-01-01T10:00:00Z"}
    return Conversation.model_validate({**base, **fields, "messages": messages})


def at(second: int) -> str:
    return f"2024-01-01T10:{second // 60:02d}:{second % 60:02d}Z"


def test_counts_by_sender_and_bot_outcomes() -> None:
    facts = derive_facts(
        conv(
            [
                {"sender": "customer", "sent_at": at(0)},
                {"sender": "bot", "bot_outcome": "answered", "sent_at": at(1)},
                {"sender": "bot", "bot_outcome": "unknown", "sent_at": at(2)},
                {"sender": "bot", "sent_at": at(3)},
                {"sender": "agent", "agent_id": "a1", "sent_at": at(10)},
                {"sender": "agent", "agent_id": "a2", "sent_at": at(11)},
                {"sender": "system", "sent_at": at(12)},
            ],
            agent_id="a1",
        )
    )
    assert (facts.msg_count, facts.customer_msg_count, facts.bot_msg_count) == (7, 1, 3)
    assert (facts.agent_msg_count, facts.own_agent_msg_count) == (2, 1)
    assert (facts.bot_replies, facts.bot_answered, facts.bot_unknown) == (2, 1, 1)


def test_first_response_counts_from_answered_at_else_created_at() -> None:
    messages = [{"sender": "customer", "sent_at": at(5)}, {"sender": "agent", "sent_at": at(30)}]
    assert derive_facts(conv(messages)).first_response_s == 30.0
    answered = derive_facts(conv(messages, answered_at=at(20)))
    assert answered.first_response_s == 10.0
    assert derive_facts(conv([{"sender": "customer", "sent_at": at(5)}])).first_response_s is None


def test_reply_waits_start_at_the_first_message_of_a_customer_run() -> None:
    # Run 1: customer at 0 and 4, agent at 10 -> wait 10. Agent at 12 with no run before: no reply.
    # Run 2: customer at 20, a bot message at 25 ends the run unanswered; customer at 30, agent
    # at 36 -> wait 6. Total 16 over 2 replies.
    facts = derive_facts(
        conv(
            [
                {"sender": "customer", "sent_at": at(0)},
                {"sender": "customer", "sent_at": at(4)},
                {"sender": "agent", "sent_at": at(10)},
                {"sender": "agent", "sent_at": at(12)},
                {"sender": "customer", "sent_at": at(20)},
                {"sender": "bot", "sent_at": at(25)},
                {"sender": "customer", "sent_at": at(30)},
                {"sender": "agent", "sent_at": at(36)},
            ]
        )
    )
    assert (facts.reply_wait_s, facts.reply_count) == (16.0, 2)


def test_messages_are_ordered_by_seq() -> None:
    facts = derive_facts(
        conv(
            [
                {"seq": 2, "sender": "agent", "sent_at": at(9)},
                {"seq": 1, "sender": "customer", "sent_at": at(3)},
            ]
        )
    )
    assert (facts.reply_wait_s, facts.reply_count) == (6.0, 1)
