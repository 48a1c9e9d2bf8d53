"""Demo Retail's Twin24 outbound bot campaigns (seed 003): dial results, bot dialogs, operators."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any

from ccstats.demo.clock import Transcript, seconds_between, uuid_id, wait_s
from ccstats.demo.tenants import RETAIL

__all__ = ["bot_call", "CAMPAIGNS", "BOTS"]

BOTS = (
    ("c837b555-5d79-4c9a-940d-84814a0d6fb9", "Скрипт_тест"),  # seed 003's bot
    ("5f0d7a52-3c1e-4a8b-9d2f-6b7e1c0a4d93", "Анна — опрос NPS"),
)
CAMPAIGNS = (
    ("71c30c27-4211-4e96-8ce7-fbb459aee6fe", "Напоминание о заказе", 0),
    ("0b6f4c1e-8a2d-4f7b-b3c9-2e5d8a1f6c40", "Акция: скидка 20% на осеннюю коллекцию", 0),
    ("9a3e5d7c-1b2f-4c6a-8e0d-7f4b2a9c5e13", "Опрос удовлетворённости (NPS)", 1),
    ("e4c2a8f6-0d1b-4e3c-9a5f-3b7d6c2e8a01", "Возврат брошенных корзин", 0),
)
# (regionId, timezone offset in hours): Moscow, St Petersburg, Kaliningrad, Samara, Yekaterinburg,
# Novosibirsk, Vladivostok; most customers in Moscow time.
_REGIONS = ((5026, 3), (78, 3), (39, 2), (63, 4), (66, 5), (54, 7), (25, 10))
_REGION_WEIGHTS = (45, 20, 5, 8, 10, 7, 5)
_STATUSES = (
    "ANSWERED",
    "ANSWER",
    "NOANSWER",
    "BUSY",
    "CANCEL",
    "CONGESTION",
    "CHANUNAVAIL",
    "FAILED",
    "BLACKLIST",
    "INVALID",
    "UNAVAILABLE",
    "FZ230",
)
# "ANSWER" is the old telephony's spelling of ANSWERED (dialects.md, Twin24 status alias).
_STATUS_WEIGHTS = (56, 2, 18, 9, 3, 3, 3, 2, 1, 1, 1, 1)
_GREETING = "Ало! Здравствуйте, меня хорошо слышно?"
_BOT_LINES = (
    "Отлично! Меня зовут Анна, я из интернет-магазина. Вам удобно сейчас разговаривать?",
    "У вас в корзине остались товары. Хотите оформить заказ со скидкой?",
    "Подскажите, пожалуйста, оцените нашу работу от 0 до 10.",
    "Спасибо! Передам вашу оценку коллегам.",
)
_FIRST_REPLIES = ("угу", "да, слышно", "да")
_USER_LINES = ("да", "а что за скидка?", "нет, спасибо", "девять", "давайте позже")
# What the bot says and records when the customer ends the dialog early.
_ENDINGS = {
    "нет, спасибо": ("Хорошо, извините за беспокойство. До свидания!", "Отказ"),
    "давайте позже": ("Понимаю вас. Перезвоню в более удобное время.", "Перезвонить позже"),
}
_RESULTS = ("Согласие", "Интерес к предложению", "Приветствие")
_OPERATOR_LINES = ("Здравствуйте, оператор Мария, чем могу помочь?", "Сейчас оформлю заказ.")


def _customer(rng: Random) -> dict[str, Any]:
    region, offset = rng.choices(_REGIONS, _REGION_WEIGHTS)[0]
    return {
        "customer_phone": f"79{rng.randrange(10**9):09d}",
        "region_id": region,
        "customer_utc_offset": offset,
    }


def _dialog(rng: Random, call: dict[str, Any], talk: Transcript) -> None:
    """A human answered: bot lines and replies, maybe a transfer to an operator."""
    talk.say("customer", rng.choice(_FIRST_REPLIES), rng.randint(2, 8))
    call["dialog_result"] = rng.choice(_RESULTS)
    for line in _BOT_LINES[: rng.randint(1, 4)]:
        talk.say("bot", line, rng.randint(1, 4))
        reply = rng.choice(_USER_LINES)
        talk.say("customer", reply, rng.randint(3, 15))
        if reply in _ENDINGS:
            goodbye, call["dialog_result"] = _ENDINGS[reply]
            talk.say("bot", goodbye, rng.randint(1, 3))
            break
    if rng.random() < 0.25:
        call["nps"] = str(rng.choices(range(11), (2, 1, 1, 2, 2, 4, 5, 8, 14, 20, 25))[0])
    call["transferred_to_agent"] = rng.random() < 0.1
    if call["transferred_to_agent"]:
        call["dialog_result"] = "Перевод на оператора"
        call["bot_duration_s"] = seconds_between(call["answered_at"], talk.at)
        call["agent_connected"] = connected = rng.random() < 0.9
        if connected:
            start = talk.at
            for line in _OPERATOR_LINES:
                talk.say("agent", line, rng.randint(5, 40))
                talk.say("customer", rng.choice(_USER_LINES), rng.randint(3, 20))
            talk.wait(wait_s(rng, 60, 600, floor=5))
            call["agent_duration_s"] = seconds_between(start, talk.at)


def _answered(rng: Random, call: dict[str, Any], started: datetime) -> datetime:
    """Pick-up, the bot's greeting and, with a human, the dialog; returns the hang-up time."""
    answered = started + timedelta(seconds=rng.randint(5, 25))
    call.update(answered_at=answered, dialog_id=uuid_id(rng), is_final_attempt=True)
    talk = Transcript(answered)
    talk.say("bot", _GREETING, rng.randint(1, 13))
    if rng.random() < 0.2:  # an answering machine: the greeting only, and another attempt later
        call.update(answered_by="machine", dialog_result="Начало диалога", is_final_attempt=False)
    else:
        call["answered_by"] = "human"
        _dialog(rng, call, talk)
    ended = talk.wait(rng.randint(1, 6))
    call["messages"] = talk.messages
    call["duration_s"] = duration = seconds_between(answered, ended)
    call.setdefault("bot_duration_s", duration - call.get("agent_duration_s", 0))
    call["recording_url"] = (
        f"https://records.twin24.local/1758/{answered:%Y/%m/%d}/{call['id']}.mp3"
    )
    return ended


def _price(duration: int) -> str:
    # A connection fee plus a per-second rate, as a decimal string like seed 003's "1.79".
    if duration == 0:
        return "0.00"
    return str((Decimal("0.35") + Decimal(duration) * Decimal("0.08")).quantize(Decimal("0.01")))


def bot_call(rng: Random, at: datetime) -> dict[str, Any]:
    """One dial attempt of an outbound campaign (created when the campaign list was loaded)."""
    campaign_id, campaign_name, bot = rng.choice(CAMPAIGNS)
    status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
    started = at + timedelta(seconds=rng.randint(60, 3 * 3600))
    call: dict[str, Any] = {
        "id": uuid_id(rng),
        "tenant_id": RETAIL,
        "source": "twin24",
        "channel": "voice",
        "direction": "outbound",
        "campaign_id": campaign_id,
        "campaign_name": campaign_name,
        "bot_id": BOTS[bot][0],
        "bot_name": BOTS[bot][1],
        "dial_status": status,
        "created_at": at,
        "started_at": started,
        "log_url": f"/{uuid_id(rng)}/general.log",
        **_customer(rng),
    }
    if status in ("ANSWERED", "ANSWER"):
        ended = _answered(rng, call, started)
    else:
        ended = started + timedelta(seconds=rng.randint(5, 40))
        call.update(duration_s=0, is_final_attempt=rng.random() < 0.35)
    call.update(ended_at=ended, updated_at=ended + timedelta(seconds=rng.randint(5, 40)))
    call["price"] = _price(call["duration_s"])
    if rng.random() < 0.5:  # passed through from the customer list the campaign was loaded with
        call.update(external_id=f"CRM-{rng.randrange(10**6):06d}", extra='{"segment": "loyal"}')
    return call
