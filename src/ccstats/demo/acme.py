"""Acme US: mixed inbound voice and web chat with queues, service-level waits and CSAT scores."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from random import Random
from typing import Any

from ccstats.demo.clock import Transcript, hex_id, seconds_between, wait_s
from ccstats.demo.huawei import bot_turn
from ccstats.demo.tenants import ACME, ACME_AGENTS
from ccstats.records import Agent

__all__ = ["acme_conversation"]

_PHONE_CODE, _CHAT_CODE = "+18005550100", "acme-web-chat"
_QUEUES = (("billing", "Billing"), ("support", "Tech Support"), ("sales", "Sales"))
_QUEUE_WEIGHTS = (35, 45, 20)
_QUESTIONS = (
    "Where is my order?",
    "I was charged twice this month",
    "How do I reset my router?",
    "Can I upgrade my plan?",
    "What are your store hours?",
)
_ANSWERS = (
    "You can track your order under Account > Orders.",
    "Refunds for duplicate charges arrive within 3-5 business days.",
    "Hold the reset button for 10 seconds, then wait two minutes.",
)
_FALLBACK = "Sorry, I didn't get that. Type 'agent' to chat with a person."
_CUSTOMER = (
    "Thanks",
    "Order #48213",
    "It still doesn't work",
    "Ok, got it",
    "Can you check again?",
)
_AGENT = (
    "Hi, this is {name} from Acme, how can I help?",
    "Let me look into that for you.",
    "I've issued the refund; you'll get an email confirmation.",
    "Is there anything else I can help with?",
)
_SCORE_WEIGHTS = (5, 7, 13, 35, 40)  # CSAT 1..5


def _queue_wait(rng: Random) -> int:
    # Log-normal waits with a median near 15 s: most within a 20 s service level, a long tail.
    return max(0, min(1200, int(rng.lognormvariate(math.log(15), 1.0))))


def _queue(rng: Random, conv: dict[str, Any], at: datetime) -> tuple[Agent, datetime] | None:
    """Queue wait; None when the customer abandons, else the agent and the pick-up time."""
    queue_id, queue_name = rng.choices(_QUEUES, _QUEUE_WEIGHTS)[0]
    wait = _queue_wait(rng)
    out = at + timedelta(seconds=wait)
    conv.update(queue_id=queue_id, queue_name=queue_name, queued=True, queued_at=at)
    conv.update(dequeued_at=out, queue_duration_s=wait)
    if rng.random() < min(0.6, wait / 400):
        conv.update(queue_abandoned=True, lost=True, ended_by="customer")
        return None
    agent = rng.choice(ACME_AGENTS)
    conv.update(agent_id=agent.id, agent_name=agent.name, agent_connected=True)
    return agent, out


def _survey(rng: Random, conv: dict[str, Any], chance: float) -> None:
    if rng.random() < chance:
        conv.update(csat_level=5, csat_score=rng.choices(range(1, 6), _SCORE_WEIGHTS)[0])


def _voice(rng: Random, conv: dict[str, Any], at: datetime) -> datetime:
    """IVR menu, queue, ring and talk; returns the hang-up time."""
    turns = rng.choices((1, 2, 3), (30, 50, 20))[0]
    ivr_s = 5 + 8 * turns
    conv.update(access_code=_PHONE_CODE, bot_id="acme-ivr", bot_name="Acme IVR", bot_turns=turns)
    conv.update(
        bot_duration_s=ivr_s, calling_number=f"+1{rng.randrange(2, 10)}{rng.randrange(10**9):09d}"
    )
    if rng.random() < 0.12:  # self-service in the IVR (balance, order status): never queued
        conv.update(bot_turns=turns + 2, bot_duration_s=ivr_s + 30, ended_in_bot=True)
        conv["ended_by"] = "customer"
        return at + timedelta(seconds=ivr_s + 30)
    queued = at + timedelta(seconds=ivr_s)
    served = _queue(rng, conv, queued)
    if served is None:
        return queued + timedelta(seconds=conv["queue_duration_s"])
    agent, out = served
    ring = rng.randint(2, 8)
    answered = out + timedelta(seconds=ring)
    talk_s = wait_s(rng, 300, 2400, floor=20)
    conv.update(ring_started_at=out, ring_ended_at=answered, ring_duration_s=ring)
    conv.update(answered_at=answered, duration_s=talk_s, agent_duration_s=talk_s)
    conv["ended_by"] = rng.choice(("customer", "agent"))
    _survey(rng, conv, 0.3)
    return answered + timedelta(seconds=talk_s)


def _chat(rng: Random, conv: dict[str, Any], at: datetime) -> datetime:
    """Web chat: the assistant first for some, then the queue and an agent; returns the end."""
    conv["access_code"] = _CHAT_CODE
    talk = Transcript(at)
    if rng.random() < 0.35:
        conv.update(bot_id="acme-assistant", bot_name="Acme Assistant")
        answered = sum(bot_turn(rng, talk, _QUESTIONS, _ANSWERS, _FALLBACK) for _ in range(2))
        if answered and rng.random() < 0.5:
            conv["messages"] = talk.messages
            return talk.wait(rng.randint(10, 60))
        conv["transferred_to_agent"] = True
    talk.say("customer", rng.choice(_QUESTIONS), rng.randint(1, 20))
    served = _queue(rng, conv, talk.at)
    if served is not None:
        agent, out = served
        conv["answered_at"] = talk.at = out
        talk.say("agent", _AGENT[0].format(name=agent.name), rng.randint(3, 30), agent_id=agent.id)
        for line in _AGENT[1 : 1 + rng.randint(1, 3)]:
            talk.say("customer", rng.choice(_CUSTOMER), rng.randint(5, 60))
            talk.say("agent", line, wait_s(rng, 30, 240, floor=3), agent_id=agent.id)
        _survey(rng, conv, 0.35)
    conv["messages"] = talk.messages
    ended = talk.wait(rng.randint(10, 90))
    if served is not None:
        conv["agent_duration_s"] = seconds_between(conv["answered_at"], ended)
    return ended


def acme_conversation(rng: Random, at: datetime, customers: list[str]) -> dict[str, Any]:
    """An Acme call (55%) or chat session, inbound."""
    voice = rng.random() < 0.55
    conv: dict[str, Any] = {
        "id": hex_id(rng, 20),
        "tenant_id": ACME,
        "source": "acme",
        "channel": "voice" if voice else "chat",
        "customer_id": rng.choice(customers),
        "created_at": at,
        "started_at": at,
    }
    ended = (_voice if voice else _chat)(rng, conv, at)
    conv["ended_at"] = ended
    if not voice:
        conv["duration_s"] = seconds_between(at, ended)
    return conv
