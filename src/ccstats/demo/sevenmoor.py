"""Demo Bank's 7moor IM sessions (seed 002): bot, queue, agents, transfers, leave-messages, CSAT.

Each session is one path through a web chat: an agent invites the visitor, or the visitor talks to
the bot and maybe asks for a human, waits in the queue (or gives up), is served by an agent (and
maybe transferred to another), or, out of hours, leaves a message that an agent handles later.
"""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from ccstats.demo.clock import Transcript, hex_id, seconds_between, wait_s
from ccstats.demo.huawei import ANSWERS, QUESTIONS, bot_turn
from ccstats.demo.tenants import BANK, BANK_AGENTS, MOOR_ACCESS_IDS, SATISFACTION_OPTIONS
from ccstats.records import Agent

__all__ = ["im_session"]

_ZONE = ZoneInfo("Asia/Shanghai")
_OPEN_HOURS = range(8, 21)  # agents online 08:00-21:00 local; otherwise leave a message
_BOT = ("moor-bot-xiaoqi", "智能客服小七")
_FALLBACK = "小七没有理解您的意思，您可以输入“人工”联系在线客服。"
_CUSTOMER = (
    "好的",
    "我想咨询一下信用卡分期",
    "还款日可以改吗",
    "我上个月的账单有一笔不认识的消费",
    "请问需要带什么材料",
    "嗯嗯，明白了",
    "那手续费怎么算？",
    "谢谢",
)
_AGENT = (
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "好的，我帮您查询一下，请稍等。",
    "已为您查到，这笔消费是3月12日在线上商户的交易。",
    "分期手续费按每期0.6%收取，具体以页面显示为准。",
    "还款日可以在手机银行“信用卡-还款设置”中修改，每年可改一次。",
    "请问还有其他可以帮您的吗？",
    "感谢您的耐心等待。",
)
_OPTION_WEIGHTS = (15, 5, 25, 45, 10)  # 一般, 很不满意, 超级满意1, 满意, 不满意
# Some agents take more sessions than others, so per-agent reports differ.
_AGENT_WEIGHTS = (12, 11, 10, 10, 9, 9, 8, 8, 7, 6, 5, 5)


def _agent(rng: Random, besides: Agent | None = None) -> Agent:
    while True:
        agent = rng.choices(BANK_AGENTS, _AGENT_WEIGHTS)[0]
        if agent != besides:
            return agent


def _serve(session: dict[str, Any], agent: Agent) -> None:
    session.update(agent_connected=True, agent_id=agent.id, agent_name=agent.name)


def _bot_part(rng: Random, session: dict[str, Any], talk: Transcript) -> bool:
    """The bot answers first; True when the visitor then asks for a human."""
    session["bot_id"], session["bot_name"] = _BOT
    talk.say("bot", "您好，我是智能客服小七，请问有什么可以帮您？", 1)
    turns = rng.choices((1, 2, 3, 4), (35, 30, 20, 15))[0]
    answered = sum(bot_turn(rng, talk, QUESTIONS, ANSWERS, _FALLBACK) for _ in range(turns))
    wants_agent = rng.random() < (0.35 if answered else 0.75)
    if wants_agent:
        session["transferred_to_agent"] = True
        talk.say("customer", "人工", rng.randint(3, 20))
    elif not answered:
        session["lost"] = True  # no bot answer and no agent: not served (reports.md lossCount)
    return wants_agent


def _dialog(rng: Random, session: dict[str, Any], talk: Transcript, agent: Agent) -> None:
    """Rounds of customer messages, each answered by the agent; sometimes a transfer."""
    talk.say("agent", _AGENT[0], rng.randint(3, 40), agent_id=agent.id)
    rounds = rng.randint(1, 6)
    transfer_round = rng.randrange(rounds) if rng.random() < 0.07 else -1
    for number in range(rounds):
        if number == transfer_round:
            agent = _transfer(rng, session, talk, agent)
        for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
            talk.say("customer", rng.choice(_CUSTOMER), rng.randint(5, 60))
        talk.say("agent", rng.choice(_AGENT[1:]), wait_s(rng, 25, 240, floor=3), agent_id=agent.id)


def _transfer(rng: Random, session: dict[str, Any], talk: Transcript, agent: Agent) -> Agent:
    """Agent-to-agent transfer: the session now belongs to the receiving agent."""
    receiver = _agent(rng, besides=agent)
    session.update(transfer_from_agent_id=agent.id, transfer_to_agent_id=receiver.id)
    _serve(session, receiver)
    talk.say("system", f"会话已由{agent.name}转接给{receiver.name}", rng.randint(2, 10))
    hello = f"您好，我是专员{receiver.name}，接下来由我为您服务。"
    talk.say("agent", hello, rng.randint(5, 30), agent_id=receiver.id)
    return receiver


def _queue_then_agent(rng: Random, session: dict[str, Any], talk: Transcript) -> None:
    """Wait in the queue; give up (more likely the longer the wait) or get an agent."""
    queued = talk.wait(rng.randint(1, 3))
    wait = wait_s(rng, 35, 900)
    left = talk.wait(wait)
    session.update(queued=True, queued_at=queued, dequeued_at=left, queue_duration_s=wait)
    if rng.random() < min(0.5, wait / 500):
        session.update(queue_abandoned=True, lost=True)
        return
    agent = _agent(rng)
    session["answered_at"] = left
    _serve(session, agent)
    if rng.random() < 0.03:  # the visitor left just as the agent took it: no reply
        return
    _dialog(rng, session, talk, agent)
    _csat(rng, session)


def _leave_message(rng: Random, session: dict[str, Any], talk: Transcript) -> None:
    """Out of hours: an offline message, usually assigned to and handled by an agent later."""
    session["left_message"] = True
    if rng.random() < 0.6:
        talk.say("customer", "留言：请明天上班后回电，谢谢。", rng.randint(10, 90))
    talk.say("system", "访客留言已提交", 1)
    if rng.random() < 0.75:
        agent = _agent(rng)
        session.update(agent_id=agent.id, agent_name=agent.name)
        if rng.random() < 0.85:
            handler = agent if rng.random() < 0.8 else _agent(rng, besides=agent)
            session["message_handled_by"] = handler.id


def _invited(rng: Random, session: dict[str, Any], talk: Transcript) -> None:
    """The agent opens the chat (proactive invitation); the visitor may not answer."""
    agent = _agent(rng)
    session.update(invited=True, answered_at=talk.at)
    _serve(session, agent)
    talk.say("agent", "您好，看到您在浏览信用卡页面，需要帮您介绍一下吗？", 0, agent_id=agent.id)
    if rng.random() < 0.55:
        _dialog(rng, session, talk, agent)
        _csat(rng, session)


def _csat(rng: Random, session: dict[str, Any]) -> None:
    """A satisfaction survey pushed (by the agent or automatically) and maybe answered."""
    if rng.random() >= 0.65:
        return
    session.update(csat_invited=True, csat_invited_by_agent=rng.random() < 0.55)
    if rng.random() < 0.6:
        option = rng.choices(SATISFACTION_OPTIONS, _OPTION_WEIGHTS)[0]
        session["csat_option_id"] = option.id


def im_session(rng: Random, at: datetime, customers: list[str]) -> dict[str, Any]:
    """One IM session on one of the bank's two access ids."""
    session: dict[str, Any] = {
        "id": hex_id(rng, 24),
        "tenant_id": BANK,
        "source": "7moor",
        "channel": "chat",
        "access_code": rng.choices(MOOR_ACCESS_IDS, (3, 2))[0],
        "customer_id": rng.choice(customers),
        "created_at": at,
        "started_at": at,
    }
    talk = Transcript(at)
    open_now = at.astimezone(_ZONE).hour in _OPEN_HOURS
    if open_now and rng.random() < 0.05:
        _invited(rng, session, talk)
    else:
        wants_agent = True
        if rng.random() < 0.6:
            wants_agent = _bot_part(rng, session, talk)
        else:
            talk.say("customer", "你好，在吗？", 0)
        if wants_agent:
            (_queue_then_agent if open_now else _leave_message)(rng, session, talk)
    return _close(rng, session, talk)


def _close(rng: Random, session: dict[str, Any], talk: Transcript) -> dict[str, Any]:
    ended = talk.wait(rng.randint(10, 120))
    session.update(ended_at=ended, duration_s=seconds_between(session["created_at"], ended))
    if "answered_at" in session:
        session["agent_duration_s"] = seconds_between(session["answered_at"], ended)
    session["messages"] = talk.messages
    return session
