"""Demo Bank's Huawei OIFDE traffic: IVR voice calls (seed 000) and chatbot sessions (seed 001)."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random
from typing import Any

from ccstats.demo.clock import Transcript, seconds_between, wait_s
from ccstats.demo.tenants import BANK, CHATBOT_CODE, IVR_CODE

__all__ = [
    "QUESTIONS",
    "ANSWERS",
    "FALLBACK",
    "bot_turn",
    "ivr_call",
    "chatbot_session",
    "mobile_cn",
]

QUESTIONS = (
    "信用卡账单怎么查询？",
    "我的卡被锁了怎么办",
    "转账限额是多少",
    "怎么修改手机银行登录密码",
    "理财产品到期了钱什么时候到账",
    "附近的网点几点下班",
    "境外刷卡有手续费吗",
    "贷款利率现在是多少",
    "积分可以兑换什么",
    "我要挂失",
)
ANSWERS = (
    "您可以在手机银行“信用卡-账单查询”中查看本期账单。",
    "请通过手机银行“安全中心”进行解锁，或携带身份证到网点办理。",
    "手机银行单笔转账限额为5万元，日累计限额为20万元。",
    "请在登录页点击“忘记密码”，按提示验证身份后重置。",
    "理财产品到期后一般在1-2个工作日内到账。",
    "网点营业时间为工作日9:00-17:00，周末部分网点营业。",
    "境外消费免收货币转换费，取现按1%收取手续费。",
    "目前一年期贷款市场报价利率为3.10%，具体以审批结果为准。",
)
FALLBACK = "抱歉，我没有理解您的问题，您可以换个说法或输入“转人工”。"
_GREETING = "您好，我是智能助手小华，请问有什么可以帮您？"
_IVR_BOT = ("ivr-943370855474270208", "语音导航机器人")
_CHATBOT = ("chatbot-950964151029600256", "智能问答机器人")
# Huawei call-report buckets (reports.md, seed 000): 1 turn, 2-3 turns, more than 3.
_TURNS = (1, 2, 3, 4, 5, 6, 7, 8)
_TURN_WEIGHTS = (22, 17, 16, 14, 11, 9, 6, 5)


def mobile_cn(rng: Random) -> str:
    """A mainland China mobile number."""
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def bot_turn(
    rng: Random,
    talk: Transcript,
    questions: tuple[str, ...],
    answers: tuple[str, ...],
    fallback: str,
) -> bool:
    """One customer question and the bot's reply with its outcome; True when answered."""
    talk.say("customer", rng.choice(questions), rng.randint(4, 40))
    answered = rng.random() < 0.8
    text = rng.choice(answers) if answered else fallback
    talk.say("bot", text, rng.randint(1, 3), bot_outcome="answered" if answered else "unknown")
    return answered


def _api_calls(rng: Random, turns: int) -> dict[str, int]:
    # Backend interface calls the flow made (Huawei interface*Count): about one per turn.
    requests = rng.randint(0, turns + 1)
    successes = sum(rng.random() < 0.95 for _ in range(requests))
    return {"bot_api_requests": requests, "bot_api_successes": successes}


def ivr_call(rng: Random, at: datetime) -> dict[str, Any]:
    """An inbound IVR call on the bank's voice access code."""
    turns = rng.choices(_TURNS, _TURN_WEIGHTS)[0]
    # One turn means the caller hung up at the menu (seed 000 exitNoConsultCount).
    in_bot = turns == 1 or rng.random() < 0.45
    bot_s = 6 + sum(rng.randint(6, 20) for _ in range(turns))
    call: dict[str, Any] = {
        "id": str(rng.getrandbits(62)),
        "tenant_id": BANK,
        "source": "huawei",
        "channel": "voice",
        "access_code": IVR_CODE,
        "bot_id": _IVR_BOT[0],
        "bot_name": _IVR_BOT[1],
        "calling_number": mobile_cn(rng),
        "called_number": "95566",
        "created_at": at,
        "started_at": at,
        "answered_at": at,
        "bot_turns": turns,
        "ended_in_bot": in_bot,
        "transferred_to_agent": not in_bot,
        "bot_duration_s": bot_s,
        **_api_calls(rng, turns),
    }
    agent_s = 0
    if not in_bot:
        call["agent_connected"] = connected = rng.random() < 0.88
        agent_s = wait_s(rng, 240, 1800, floor=20) if connected else 0
        call["agent_duration_s"] = agent_s
    call["ended_at"] = at + timedelta(seconds=bot_s + agent_s)
    call["duration_s"] = bot_s + agent_s
    return call


def chatbot_session(rng: Random, at: datetime) -> dict[str, Any]:
    """A chatbot session: answered/unknown replies, sometimes the customer's feedback."""
    talk = Transcript(at)
    talk.say("bot", _GREETING, 0)
    turns = rng.choices(_TURNS[:7], _TURN_WEIGHTS[:7])[0]
    answered = sum(bot_turn(rng, talk, QUESTIONS, ANSWERS, FALLBACK) for _ in range(turns))
    all_answered = answered == turns
    to_agent = rng.random() < (0.12 if all_answered else 0.4)
    session: dict[str, Any] = {
        "id": str(rng.getrandbits(62)),
        "tenant_id": BANK,
        "source": "huawei",
        "channel": "chat",
        "access_code": CHATBOT_CODE,
        "bot_id": _CHATBOT[0],
        "bot_name": _CHATBOT[1],
        "created_at": at,
        "started_at": at,
        "bot_turns": turns,
        "ended_in_bot": not to_agent,
        "transferred_to_agent": to_agent,
        **_api_calls(rng, turns),
    }
    if to_agent:
        session["agent_connected"] = rng.random() < 0.85
        talk.say("customer", "转人工", rng.randint(3, 15))
    if rng.random() < 0.35:  # seed 001 feedbackCount: the customer rated the bot
        positive = rng.random() < (0.85 if all_answered else 0.3)
        session["bot_feedback"] = "positive" if positive else "negative"
    ended = talk.wait(rng.randint(5, 60))
    session.update(ended_at=ended, duration_s=seconds_between(at, ended), messages=talk.messages)
    return session
