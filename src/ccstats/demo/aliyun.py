"""Demo Bank's Alibaba AICCS hotline calls (seed 004): queues, rings, pick-up, transfers, CSAT."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random
from typing import Any

from ccstats.demo.clock import hex_id, seconds_between, wait_s
from ccstats.demo.huawei import mobile_cn
from ccstats.demo.tenants import BANK, BANK_AGENTS, HOTLINE_INSTANCE
from ccstats.records import Agent

__all__ = ["hotline_call", "MEMBER_NAMES"]

_HOTLINE = "057188880000"
_TRUNK = "057128880000"
# GroupId is a long in seed 004; stored as text (data-model.md, queue_id).
_QUEUES = (("123456", "信用卡技能组"), ("123457", "理财技能组"), ("123458", "自动化技能组"))
_QUEUE_WEIGHTS = (50, 30, 20)
MEMBER_NAMES = ("匿名会员", "张先生", "李女士", "王先生", "赵女士", "陈先生")


def _pick(rng: Random, besides: Agent | None = None) -> Agent:
    while True:
        agent = rng.choice(BANK_AGENTS)
        if agent != besides:
            return agent


def _talk(rng: Random, call: dict[str, Any], agent: Agent, answered: datetime) -> datetime:
    """Pick-up and talk by `agent`; returns the hang-up time."""
    talk_s = wait_s(rng, 180, 1800, floor=15)
    ended_by = rng.choices(("customer", "agent", "system"), (60, 38, 2))[0]
    call.update(
        agent_id=agent.id,
        agent_name=agent.name,
        agent_connected=True,
        answered_at=answered,
        duration_s=talk_s,  # CallContinueTime: talk time only
        end_reason="normal",
        ended_by=ended_by,
    )
    return answered + timedelta(seconds=talk_s)


def _csat(rng: Random, call: dict[str, Any]) -> None:
    # Seed 004: no evaluation for outbound or unanswered calls.
    if rng.random() < 0.45:
        level = 5 if rng.random() < 0.85 else 4
        weights = (4, 6, 12, 38, 40)[:level]
        call.update(csat_level=level, csat_score=rng.choices(range(1, level + 1), weights)[0])


def _transfer(rng: Random, call: dict[str, Any], agent: Agent) -> None:
    """The agent hands the call to a colleague (type 1) or an outside number (type 2)."""
    call["transfer_from_agent_id"] = agent.id
    if rng.random() < 0.7:
        call.update(transfer_to_agent_id=_pick(rng, agent).id, transfer_target_type="agent")
    else:
        call.update(transfer_to_number="4008895558", transfer_target_type="number")


def _inbound(rng: Random, call: dict[str, Any], at: datetime) -> datetime:
    """IVR, queue, ring, pick-up; returns the hang-up time."""
    queued = at + timedelta(seconds=rng.randint(5, 40))
    if rng.random() < 0.05:  # hung up in the IVR menu
        call.update(end_reason=rng.choice(("ivrClose", "userHangup")), ended_by="customer")
        return queued
    queue_id, queue_name = rng.choices(_QUEUES, _QUEUE_WEIGHTS)[0]
    wait = wait_s(rng, 30, 900)
    out = queued + timedelta(seconds=wait)
    call.update(queue_id=queue_id, queue_name=queue_name, queued=True, queued_at=queued)
    call.update(dequeued_at=out, queue_duration_s=wait)
    if rng.random() < min(0.5, wait / 450):
        reason = rng.choice(("touchInQueue", "queueClose"))
        call.update(end_reason=reason, ended_by="customer", queue_abandoned=True, lost=True)
        return out
    agent, ring = _pick(rng), rng.randint(2, 15)
    rang = out + timedelta(seconds=ring)
    call.update(ring_started_at=out, ring_ended_at=rang, ring_duration_s=ring)
    if rng.random() < 0.04:  # nobody picked up
        call.update(agent_id=agent.id, agent_name=agent.name, lost=True, ended_by="system")
        call["end_reason"] = rng.choice(("TouchRingCallLoss", "dailingClose"))
        return rang
    ended = _talk(rng, call, agent, rang)
    if rng.random() < 0.06:
        _transfer(rng, call, agent)
    _csat(rng, call)
    return ended


def _outbound(rng: Random, call: dict[str, Any], at: datetime) -> datetime:
    """An agent calls a customer: no queue and no ringing fields (seed 004)."""
    agent = _pick(rng)
    call.update(calling_number=_HOTLINE, called_number=call["calling_number"])
    if rng.random() < 0.7:
        return _talk(rng, call, agent, at + timedelta(seconds=rng.randint(5, 30)))
    call.update(agent_id=agent.id, agent_name=agent.name, ended_by="agent")
    call["end_reason"] = rng.choice(("dailing", "dailingClose"))
    return at + timedelta(seconds=rng.randint(15, 45))


def _received_transfer(rng: Random, call: dict[str, Any], at: datetime) -> datetime:
    """The leg a colleague transferred to this agent (CallType 3)."""
    giver = _pick(rng)
    agent = _pick(rng, besides=giver)
    call.update(transfer_from_agent_id=giver.id, transfer_to_agent_id=agent.id)
    call["transfer_target_type"] = "agent"
    ring = rng.randint(2, 10)
    rang = at + timedelta(seconds=ring)
    call.update(ring_started_at=at, ring_ended_at=rang, ring_duration_s=ring)
    return _talk(rng, call, agent, rang)


def hotline_call(rng: Random, at: datetime, members: list[str]) -> dict[str, Any]:
    """One hotline call on the bank's AICCS instance."""
    direction = rng.choices(("inbound", "outbound", "transfer"), (80, 15, 5))[0]
    member = rng.choice(members)
    call: dict[str, Any] = {
        "id": hex_id(rng, 32),
        "tenant_id": BANK,
        "source": "aliyun",
        "channel": "voice",
        "direction": direction,
        "instance_id": HOTLINE_INSTANCE,
        "acid": str(rng.randrange(10**6, 10**9)),
        "calling_number": mobile_cn(rng),
        "called_number": _HOTLINE,
        "trunk_number": _TRUNK,
        "customer_id": member,
        "customer_name": MEMBER_NAMES[int(member) % len(MEMBER_NAMES)],
        "created_at": at,
        "started_at": at,
    }
    build = {"inbound": _inbound, "outbound": _outbound, "transfer": _received_transfer}[direction]
    ended = build(rng, call, at)
    call["ended_at"] = ended
    if "duration_s" in call:  # seed 004: unanswered calls have no CallContinueTime
        call["agent_duration_s"] = call["duration_s"]
    if direction == "inbound":  # the IVR part before the queue
        call["bot_duration_s"] = seconds_between(at, call.get("queued_at", ended))
    return call
