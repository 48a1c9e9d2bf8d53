"""Synthetic stores for the benchmarks: millions of conversations, generated column-wise with numpy.

The distributions follow the demo data (`make run`): the three demo tenants with their traffic
(Huawei IVR and chatbot, 7moor IM, Alibaba hotline, Twin24 outbound) plus synthetic tenants of
Zipf-skewed sizes, a year of history ending on the demo's "today" (2026-11-21), business-hour peaks
in each tenant's zone. Every column of `storage.schema.CONVERSATION_COLUMNS` is filled the way ingest
would fill it, the transcript facts included (set consistently with each other, transcripts omitted).
Rows are generated in arrival order (time slices, each sorted by `created_at`) and loaded through
`Store.upsert_conversations` in batches of up to a million rows: into a DuckDB file
(`ensure_store`) or, the same rows, into a chDB directory (`ensure_chdb_store`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ccstats.records import Agent, Bot, NamedOption, TenantSettings
from ccstats.schema import (
    CONVERSATION_COLUMNS,
    INTERVAL_COLUMNS,
    conversation_schema,
    empty_messages,
)
from ccstats.storage import DuckDBStore, Store

__all__ = [
    "DATA_DIR",
    "END_DAY",
    "SPAN_DAYS",
    "TenantSpec",
    "tenant_specs",
    "conversation_batches",
    "interval_table",
    "ensure_store",
    "ensure_chdb_store",
    "store_path",
    "chdb_store_path",
    "chdb_url",
    "copy_store",
    "remove_store",
    "DEMO_BANK",
    "DEMO_RETAIL",
    "ACME",
    "IVR_CODE",
    "CHATBOT_CODE",
    "IM_CODES",
    "INSTANCE",
    "import_records",
    "demo_bank_table",
    "utc_day_start",
    "settle",
]

DATA_DIR = Path(__file__).parent / "data"
END_DAY = date(2026, 11, 21)
"""The demo's "today": data ends with this local date."""
SPAN_DAYS = 365
BATCH_ROWS = 1_000_000

DEMO_BANK, DEMO_RETAIL, ACME = "202104237142", "twin24-demo", "acme-us"
IVR_CODE, CHATBOT_CODE = "943370855474270208", "950964151029600256"
IM_CODES = ("XhRRVj3VLLVYsoNA", "jT5AH3dA7dtMNjAQ")
INSTANCE = "ccc_xp_pre-cn-demo"

# Traffic kinds: which vendor's flow a conversation comes from.
IVR, CHATBOT, IM, HOTLINE, OUTBOUND = range(5)
KINDS = 5

_US = 1_000_000
_DAY_US = 86_400 * _US
_EPOCH_DAY = date(1970, 1, 1)

# Share of a day's inbound traffic per local hour (a contact center's usual double hump).
_INBOUND_HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 19, 17, 13, 15, 18, 17, 15, 12, 9, 7, 5, 4, 2, 1], float
)
# Outbound campaigns dial from 9:00 to 21:00 local.
_OUTBOUND_HOURS = np.array([0] * 9 + [10, 12, 12, 9, 10, 12, 12, 11, 10, 9, 8, 6] + [0] * 3, float)


@dataclass(frozen=True)
class TenantSpec:
    """A tenant of the synthetic store: its zone, traffic mix and relative size."""

    id: str
    name: str
    timezone: str
    utc_offset_h: int
    """Fixed offset used to place local business hours (DST ignored: synthetic data)."""
    mix: tuple[float, float, float, float, float]
    """Share of IVR, chatbot, IM, hotline, outbound traffic."""
    agents: int = 40
    weight: float = 1.0
    statuses: tuple[str, ...] = field(default=("1", "2", "3", "4"))


def tenant_specs(size: int) -> list[TenantSpec]:
    """The demo tenants plus synthetic ones (more as the store grows), Zipf-skewed sizes."""
    specs = [
        TenantSpec(
            DEMO_BANK, "Demo Bank", "Asia/Shanghai", 8, (0.30, 0.15, 0.35, 0.20, 0.0), agents=40
        ),
        TenantSpec(DEMO_RETAIL, "Demo Retail", "Europe/Moscow", 3, (0, 0, 0, 0, 1.0), agents=0),
        TenantSpec(ACME, "Acme US", "America/New_York", -5, (0, 0, 0.5, 0.5, 0), agents=25),
    ]
    zones = [("Asia/Shanghai", 8), ("Europe/Moscow", 3), ("America/New_York", -5), ("UTC", 0)]
    rng = np.random.default_rng(size)
    for k in range(max(5, size // 100_000)):
        zone, offset = zones[k % len(zones)]
        raw = rng.dirichlet(np.ones(KINDS) * 0.6)
        mix = tuple(float(x) for x in raw)
        agents = int(rng.integers(5, 60))
        specs.append(TenantSpec(f"bench-t{k:03d}", f"Bench tenant {k}", zone, offset, mix, agents))  # type: ignore[arg-type]
    return [
        TenantSpec(s.id, s.name, s.timezone, s.utc_offset_h, s.mix, s.agents, 1.0 / rank)
        for rank, s in enumerate(specs, start=1)
    ]


def tenant_settings(spec: TenantSpec) -> TenantSettings:
    """The tenant's settings: agents, statuses, satisfaction options, bots, instances."""
    return TenantSettings(
        id=spec.id,
        name=spec.name,
        timezone=spec.timezone,
        agents=[
            Agent(id=_agent_id(i), name=f"Agent {i}", number=str(1000 + i))
            for i in range(spec.agents)
        ],
        agent_statuses=[NamedOption(id=s, label=f"status {s}") for s in spec.statuses],
        satisfaction_options=[NamedOption(id=str(i), label=f"option {i}") for i in range(1, 6)],
        bots=[Bot(access_code=IVR_CODE, name="IVR"), Bot(access_code=CHATBOT_CODE, name="Chatbot")],
        instances=[INSTANCE] if spec.mix[HOTLINE] else [],
    )


def _agent_id(i: int) -> str:
    return f"8{i:04d}"


# --- column helpers --------------------------------------------------------------------------------


def _strings(pool: list[str] | np.ndarray, index: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Strings from a small pool by index; null where not valid."""
    return pa.array(pool, pa.string()).take(pa.array(index.astype(np.int64), mask=~valid))


def _numbered(prefix: str, numbers: np.ndarray, valid: np.ndarray, suffix: str = "") -> pa.Array:
    """Unique strings `prefix<number>suffix`; null where not valid."""
    text = pc.cast(pa.array(numbers.astype(np.int64)), pa.string())
    joined = pc.binary_join_element_wise(prefix, text, suffix, "")
    return pc.if_else(pa.array(valid), joined, pa.scalar(None, pa.string()))


def _ints(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), pa.int64(), mask=~valid)


def _floats(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.float64), pa.float64(), mask=~valid)


def _bools(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values.astype(bool), pa.bool_(), mask=~valid)


def _times(micros: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(micros.astype(np.int64), pa.timestamp("us"), mask=~valid)


def _pick(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _day_us(day: date) -> int:
    return (day - _EPOCH_DAY).days * _DAY_US


# --- conversations -----------------------------------------------------------------------------------


def _batch(
    rng: np.random.Generator,
    specs: list[TenantSpec],
    n: int,
    first_day: date,
    days: int,
    first_number: int,
) -> pa.Table:
    """`n` conversations created on local dates [first_day, first_day + days), sorted by time."""
    weights = np.array([s.weight for s in specs])
    tenant = rng.choice(len(specs), size=n, p=weights / weights.sum())
    cum = np.cumsum(np.array([s.mix for s in specs]), axis=1)
    cum = cum / cum[:, -1:]
    kind = (rng.random(n)[:, None] > cum[tenant]).sum(axis=1)
    offsets = np.array([s.utc_offset_h for s in specs])[tenant]
    outbound = kind == OUTBOUND
    hour = np.where(
        outbound,
        _pick(rng, n, list(_OUTBOUND_HOURS)),
        _pick(rng, n, list(_INBOUND_HOURS)),
    )
    day = rng.integers(0, days, n)
    created = (
        _day_us(first_day)
        + day * _DAY_US
        + (hour - offsets) * 3600 * _US
        + rng.integers(0, 3600 * _US, n)
    )
    order = np.argsort(created, kind="stable")
    tenant, kind, created, offsets = tenant[order], kind[order], created[order], offsets[order]
    columns = _columns(rng, specs, tenant, kind, created, first_number)
    schema = conversation_schema()
    arrays = [
        columns[name] if name in columns else pa.nulls(n, schema.field(name).type)
        for name in CONVERSATION_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=conversation_schema())


def _columns(
    rng: np.random.Generator,
    specs: list[TenantSpec],
    tenant: np.ndarray,
    kind: np.ndarray,
    created: np.ndarray,
    first_number: int,
) -> dict[str, pa.Array]:
    n = len(kind)
    yes = np.ones(n, bool)
    ivr, cbot, im, hot, outb = (kind == k for k in range(KINDS))
    chat = cbot | im
    u = rng.random  # shorthand: u(n) uniform draws
    number = first_number + np.arange(n)
    out: dict[str, pa.Array] = {}
    out["id"] = _numbered("c", number, yes)
    out["tenant_id"] = _strings([s.id for s in specs], tenant, yes)
    out["channel"] = _strings(["voice", "chat"], chat.astype(int), yes)
    direction = np.where(outb, 1, np.where(hot, _pick(rng, n, [80, 15, 5]), 0))
    out["direction"] = _strings(["inbound", "outbound", "transfer"], direction, yes)
    im_code = (u(n) < 0.3).astype(int)
    code = np.where(ivr, 0, np.where(cbot, 1, 2 + im_code))
    out["access_code"] = _strings([IVR_CODE, CHATBOT_CODE, *IM_CODES], code, ivr | cbot | im)
    out["instance_id"] = _strings([INSTANCE], np.zeros(n), hot)
    out["acid"] = _numbered("7000", number, hot, "@ccc-demo")
    out["dialog_id"] = _numbered("dlg-", number, outb)

    # Bots: the IVR and chatbot always, 30% of IM sessions start with a bot, campaigns use bots.
    im_bot = im & (u(n) < 0.3)
    campaign = rng.integers(0, 20, n)
    bot_index = np.where(ivr, 0, np.where(cbot, 1, np.where(im, 2, 3 + campaign % 5)))
    has_bot = ivr | cbot | im_bot | outb
    bot_ids = ["ivr-main", "chatbot-1", "im-bot", *(f"campaign-bot-{i}" for i in range(5))]
    bot_names = ["IVR main menu", "Smart assistant", "IM greeter", *(f"Bot {i}" for i in range(5))]
    out["bot_id"] = _strings(bot_ids, bot_index, has_bot)
    out["bot_name"] = _strings(bot_names, bot_index, has_bot)
    out["campaign_id"] = _strings([f"task-{i}" for i in range(20)], campaign, outb)
    out["campaign_name"] = _strings([f"Campaign {i}" for i in range(20)], campaign, outb)

    # Bot conversation: turns, whether it ended there or went to a human.
    bot_turns = 1 + rng.geometric(0.35, n)
    bot_turns = np.where(u(n) < 0.25, 1, bot_turns)
    dial_answered = outb & (u(n) < 0.55)
    turns_valid = ivr | cbot | im_bot | dial_answered
    wants_agent = (bot_turns > 1) & (u(n) < np.where(ivr, 0.45, np.where(cbot, 0.2, 0.5)))
    ended_in_bot = (ivr | cbot | im_bot | dial_answered) & ~wants_agent
    transferred = (ivr | cbot | im_bot) & wants_agent

    # Queue and agent: IM sessions and hotline calls; bot transfers reach a queue too.
    reaches_queue = (im & ~im_bot) | transferred | (hot & (direction != 1))
    queued = reaches_queue & (u(n) < 0.7)
    abandoned = queued & (u(n) < 0.1)
    connected = (reaches_queue & ~abandoned & (u(n) < 0.93)) | (hot & (direction == 1))
    connected &= ~cbot  # the Huawei chatbot hands over to another system
    left_message = im & ~connected & (u(n) < 0.4)
    invited = im & connected & (u(n) < 0.05)
    lost = (im | hot) & ~connected & ~left_message & ~ended_in_bot
    agents = np.array([max(1, s.agents) for s in specs])[tenant]
    agent = np.minimum((rng.pareto(1.2, n) * agents / 6).astype(int), agents - 1)
    agent_ids = [_agent_id(i) for i in range(int(agents.max()))]
    agent_names = [f"Agent {i}" for i in range(int(agents.max()))]
    has_agent = connected & (im | hot | ivr)
    out["agent_id"] = _strings(agent_ids, agent, has_agent)
    out["agent_name"] = _strings(agent_names, agent, has_agent)
    queue = rng.integers(0, 6, n)
    out["queue_id"] = _strings([str(1001 + i) for i in range(6)], queue, queued | (hot & connected))
    out["queue_name"] = _strings(
        [f"Skill group {i}" for i in range(6)], queue, queued | (hot & connected)
    )
    handled_by = left_message & (u(n) < 0.8)
    out["message_handled_by"] = _strings(agent_ids, agent, handled_by)
    transfer = connected & (im | hot) & (u(n) < 0.03)
    other = (agent + 1 + rng.integers(0, 3, n)) % agents
    half = u(n) < 0.5
    out["transfer_from_agent_id"] = _strings(agent_ids, other, transfer & half)
    out["transfer_to_agent_id"] = _strings(agent_ids, other, transfer & ~half)
    to_number = hot & connected & (u(n) < 0.01)
    out["transfer_to_number"] = _numbered(
        "+86138", rng.integers(10_000_000, 99_999_999, n), to_number
    )
    out["transfer_target_type"] = _strings(
        ["agent", "number"], to_number.astype(int), (transfer & ~half & hot) | to_number
    )

    # Customers: a pool per tenant sized so some come back within a day or two.
    pool = np.maximum(200, np.bincount(tenant, minlength=len(specs))[tenant] * 50)
    customer = (rng.pareto(0.8, n) * pool / 50).astype(np.int64) % pool
    has_customer = im | hot
    out["customer_id"] = _numbered("m", customer, has_customer)
    out["customer_name"] = _numbered("Customer ", customer, hot & (u(n) < 0.6))
    phone = 79_000_000_000 + rng.integers(0, 999_999_999, n)
    out["customer_phone"] = _numbered("", phone, outb)
    out["calling_number"] = _numbered("1", 3_000_000_000 + customer, hot | ivr)
    out["called_number"] = _strings(["4008001234", "4008005678"], im_code, hot | ivr)
    out["trunk_number"] = _strings(["02160001234"], np.zeros(n), hot)
    out["short_number"] = _strings(["0250"], np.zeros(n), outb)
    out["region_id"] = _ints(rng.integers(1, 86, n), outb)
    out["customer_utc_offset"] = _ints(np.where(u(n) < 0.8, 3, rng.integers(2, 13, n)), outb)

    # Times: a bot part, a queue wait, ringing, then the agent part.
    bot_s = np.where(turns_valid, bot_turns * rng.integers(8, 25, n), 0)
    queue_s = np.where(queued, rng.exponential(35, n).astype(int), 0)
    ring_s = np.where(hot & connected, rng.integers(2, 20, n), 0)
    agent_s = np.where(connected, rng.lognormal(5.2, 0.7, n).astype(int) + 10, 0)
    tail_s = np.where(lost | left_message, rng.integers(5, 120, n), 0)
    dial_s = np.where(outb, rng.integers(5, 30, n), 0)
    total_s = dial_s + bot_s + queue_s + ring_s + agent_s + tail_s
    sec = _US
    queued_at = created + (dial_s + bot_s) * sec
    dequeued_at = queued_at + queue_s * sec
    ring_start = dequeued_at
    ring_end = ring_start + ring_s * sec
    answered = (ivr | dial_answered | connected) & ~cbot
    answered_at = np.where(ivr, created, np.where(outb, created + dial_s * sec, ring_end))
    ended = created + total_s * sec
    out["created_at"] = _times(created, yes)
    out["started_at"] = _times(created, yes)
    out["queued_at"] = _times(queued_at, queued)
    out["dequeued_at"] = _times(dequeued_at, queued)
    out["ring_started_at"] = _times(ring_start, hot & connected)
    out["ring_ended_at"] = _times(ring_end, hot & connected)
    out["answered_at"] = _times(answered_at, answered)
    out["ended_at"] = _times(ended, yes)
    out["updated_at"] = _times(ended + rng.integers(0, 5, n) * sec, outb | hot)
    # Ingest runs every minute: a record is stored within a minute or two of its end.
    stored = (ended // (60 * sec) + 1 + rng.integers(0, 2, n)) * 60 * sec
    out["stored_at"] = _times(stored, yes)
    has_duration = ~(outb & ~dial_answered)
    out["duration_s"] = _ints(total_s - dial_s, has_duration)
    out["bot_duration_s"] = _ints(bot_s, turns_valid)
    out["agent_duration_s"] = _ints(agent_s, connected)
    out["ring_duration_s"] = _ints(ring_s, hot & connected)
    out["queue_duration_s"] = _ints(queue_s, queued)

    # Outcomes.
    dial_codes = ["ANSWERED", "NOANSWER", "BUSY", "CANCEL", "FAILED", "CONGESTION", "INVALID"]
    dial = np.where(dial_answered, 0, 1 + _pick(rng, n, [40, 25, 12, 12, 7, 4]))
    out["dial_status"] = _strings(dial_codes, dial, outb)
    reasons = [
        "normal",
        "userHangup",
        "touchInQueue",
        "TouchRingCallLoss",
        "sysHangup",
        "transferAgent",
    ]
    reason = np.where(
        connected, _pick(rng, n, [85, 10, 0.1, 0.1, 3, 2]), _pick(rng, n, [5, 40, 30, 20, 5, 0.1])
    )
    out["end_reason"] = _strings(reasons, reason, hot)
    out["ended_by"] = _strings(
        ["system", "customer", "agent"], _pick(rng, n, [5, 55, 40]), hot | ivr
    )
    out["answered_by"] = _strings(["human", "machine"], (u(n) < 0.15).astype(int), dial_answered)
    out["bot_turns"] = _ints(bot_turns, turns_valid)
    out["ended_in_bot"] = _bools(ended_in_bot, turns_valid)
    out["transferred_to_agent"] = _bools(transferred, turns_valid & ~outb)
    out["agent_connected"] = _bools(connected, im | hot | transferred)
    out["invited"] = _bools(invited, im)
    out["queued"] = _bools(queued, im | hot | transferred)
    out["queue_abandoned"] = _bools(abandoned, queued)
    out["lost"] = _bools(lost, im | hot)
    out["left_message"] = _bools(left_message, im)
    out["is_final_attempt"] = _bools(dial_answered | (u(n) < 0.3), outb)
    results = ["agreed", "refused", "callback", "wrong person", "no decision", "voicemail"]
    out["dialog_result"] = _strings(results, rng.integers(0, 6, n), dial_answered)
    out["nps"] = _strings(
        [str(i) for i in range(11)], rng.integers(0, 11, n), dial_answered & (u(n) < 0.1)
    )
    out["price"] = _strings([f"{c / 100:.2f}" for c in range(300)], rng.integers(0, 300, n), outb)
    out["recording_url"] = _numbered(
        "https://rec.example.com/r/", number, (hot & connected) | dial_answered, ".mp3"
    )

    # Satisfaction: 7moor options on IM, Alibaba level/score on hotline calls.
    csat_invited = connected & (im | hot) & (u(n) < 0.5)
    by_agent = csat_invited & im & (u(n) < 0.6)
    rated = csat_invited & (u(n) < 0.6)
    out["csat_invited"] = _bools(csat_invited, im | hot)
    out["csat_invited_by_agent"] = _bools(by_agent, im)
    out["csat_option_id"] = _strings(
        [str(i) for i in range(1, 6)], _pick(rng, n, [50, 25, 12, 8, 5]), rated & im
    )
    out["csat_level"] = _ints(np.full(n, 5), rated & hot)
    out["csat_score"] = _ints(5 - _pick(rng, n, [55, 25, 10, 5, 5]), rated & hot)
    out["bot_feedback"] = _strings(
        ["positive", "negative"], (u(n) < 0.3).astype(int), cbot & (u(n) < 0.3)
    )
    api_req = rng.poisson(bot_turns * 0.8)
    out["bot_api_requests"] = _ints(api_req, ivr)
    out["bot_api_successes"] = _ints(rng.binomial(api_req, 0.95), ivr)

    # Transcript facts (what `derive.derive_facts` computes at ingest), for chat and outbound bots.
    has_transcript = chat | dial_answered
    bot_msgs = np.where(turns_valid & has_transcript, bot_turns, 0)
    customer_msgs = np.where(
        has_transcript, bot_msgs + np.where(connected, rng.poisson(5, n), 0), 0
    )
    customer_msgs = np.where(im & (u(n) < 0.05), 0, customer_msgs)
    agent_msgs = np.where(connected & chat, rng.poisson(6, n) + (u(n) < 0.95), 0)
    own = np.where(transfer & half, np.maximum(agent_msgs - 2, 0), agent_msgs)
    answered_ok = rng.binomial(bot_msgs, 0.8)
    replies = np.minimum(own, np.maximum(customer_msgs - bot_msgs, 0))
    # Customer messages from `answered_at` on (derive.py): those after the bot part of a chat.
    to_agent = np.where(answered & has_transcript, customer_msgs - np.where(chat, bot_msgs, 0), 0)
    facts = {
        "msg_count": bot_msgs + customer_msgs + agent_msgs,
        "customer_msg_to_agent_count": np.maximum(to_agent, 0),
        "customer_msg_count": customer_msgs,
        "agent_msg_count": agent_msgs,
        "bot_msg_count": bot_msgs,
        "own_agent_msg_count": own,
        "bot_replies": bot_msgs,
        "bot_answered": answered_ok,
        "bot_unknown": bot_msgs - answered_ok,
        "reply_count": replies,
    }
    for name, values in facts.items():
        out[name] = _ints(values, yes)  # ingest writes 0, never null, for a fact count
    first_response = rng.exponential(25, n) + 2
    out["first_response_s"] = _floats(first_response, own > 0)
    out["reply_wait_s"] = _floats(np.where(replies > 0, replies * rng.exponential(30, n), 0.0), yes)
    return out


def conversation_batches(size: int, seed: int) -> Iterator[pa.Table]:
    """`size` conversations in arrival order: consecutive time slices of at most BATCH_ROWS rows."""
    rng = np.random.default_rng(seed)
    specs = tenant_specs(size)
    slices = max(1, -(-size // BATCH_ROWS))
    first = END_DAY - timedelta(days=SPAN_DAYS - 1)
    done = 0
    for k in range(slices):
        day0 = k * SPAN_DAYS // slices
        day1 = (k + 1) * SPAN_DAYS // slices
        rows = (k + 1) * size // slices - done
        yield _batch(rng, specs, rows, first + timedelta(days=day0), day1 - day0, done)
        done += rows


def interval_table(specs: list[TenantSpec], seed: int, tenants: int = 3) -> pa.Table:
    """Agent login and status intervals: each agent of the first tenants, every day of the span."""
    rng = np.random.default_rng(seed + 1)
    parts: dict[str, list[pa.Array]] = {name: [] for name in INTERVAL_COLUMNS}
    first = END_DAY - timedelta(days=SPAN_DAYS - 1)
    for spec in specs[:tenants]:
        if not spec.agents:
            continue
        agent = np.repeat(np.arange(spec.agents), SPAN_DAYS)
        day = np.tile(np.arange(SPAN_DAYS), spec.agents)
        start = _day_us(first) + day * _DAY_US + (8 - spec.utc_offset_h) * 3600 * _US
        start += rng.integers(0, 3600 * _US, len(day))
        length = rng.integers(6 * 3600, 9 * 3600, len(day)) * _US
        n = len(day)
        for name, kind, status, lo, hi in (
            ("login", "login", None, 0.0, 1.0),
            *((f"s{s}", "status", s, i / 4, (i + 1) / 4) for i, s in enumerate(spec.statuses)),
        ):
            del name
            s0 = start + (length * lo).astype(np.int64)
            s1 = start + (length * hi).astype(np.int64)
            yes = np.ones(n, bool)
            parts["tenant_id"].append(_strings([spec.id], np.zeros(n), yes))
            parts["agent_id"].append(
                _strings([_agent_id(i) for i in range(spec.agents)], agent, yes)
            )
            parts["kind"].append(_strings([kind], np.zeros(n), yes))
            parts["status_id"].append(
                _strings([status or ""], np.zeros(n), np.full(n, status is not None))
            )
            parts["started_at"].append(_times(s0, yes))
            parts["ended_at"].append(_times(s1, yes))
            parts["stored_at"].append(_times(s1 + 60 * _US, yes))
    arrays = [pa.concat_arrays(parts[name]) for name in INTERVAL_COLUMNS]
    return pa.Table.from_arrays(arrays, names=list(INTERVAL_COLUMNS))


# --- stores ------------------------------------------------------------------------------------------


def store_path(size: int, seed: int, layout: str) -> Path:
    """Where the cached store of a size, seed, layout and table schema lives."""
    schema = hashlib.sha256(repr(list(CONVERSATION_COLUMNS.items())).encode()).hexdigest()[:8]
    return DATA_DIR / f"store-{size}-s{seed}-{layout}-{schema}.duckdb"


@dataclass
class BuildInfo:
    """How a cached store was built."""

    path: Path
    rows: int
    seconds: float
    """Generation + upsert time (0 when taken from the cache)."""
    upsert_seconds: float
    cached: bool
    batches: int = 0
    compact_seconds: float | None = None
    """`DuckDBStore.compact()` of the whole store (layout "compact", when built)."""


def ensure_store(
    size: int, seed: int, layout: str = "arrival", log: Callable[[str], Any] = print
) -> BuildInfo:
    """The cached store of `size` conversations, built on first use.

    `layout` "arrival" keeps insertion (time) order; "compact" is the arrival store after
    `DuckDBStore.compact()` (from a copy of the cached arrival store when there is one).
    """
    path = store_path(size, seed, layout)
    if path.exists():
        return BuildInfo(path, size, 0.0, 0.0, True, compact_seconds=_compact_seconds(path))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    for stale in (partial, Path(str(partial) + ".wal")):
        stale.unlink(missing_ok=True)
    arrival = store_path(size, seed, "arrival")
    if layout == "compact" and arrival.exists():
        shutil.copyfile(arrival, partial)
        return _compacted(partial, path, size)
    started = time.perf_counter()
    store = DuckDBStore(str(partial))
    upsert, batches = _fill(store, size, seed, log)
    store.close()
    seconds = time.perf_counter() - started
    if layout == "compact":
        built = _compacted(partial, path, size)
        return BuildInfo(path, size, seconds, upsert, False, batches, built.compact_seconds)
    shutil.move(str(partial), str(path))
    return BuildInfo(path, size, seconds, upsert, False, batches)


def _fill(store: Store, size: int, seed: int, log: Callable[[str], Any]) -> tuple[float, int]:
    """Tenants, `size` generated conversations (`upsert_conversations` of Arrow batches of up
    to a million rows), agent intervals, then `settle`. Returns (upsert seconds, batches)."""
    specs = tenant_specs(size)
    for spec in specs:
        store.registry.put_tenant(tenant_settings(spec))
    upsert = 0.0
    batches = 0
    for table in conversation_batches(size, seed):
        t0 = time.perf_counter()
        store.upsert_conversations(table, empty_messages())
        upsert += time.perf_counter() - t0
        batches += 1
        log(
            f"  built {size}: batch {batches}, {table.num_rows} rows, upsert {time.perf_counter() - t0:.1f}s"
        )
    store.upsert_intervals(interval_table(specs, seed))
    t0 = time.perf_counter()
    settle(store)
    log(f"  built {size}: next contacts and rollups settled in {time.perf_counter() - t0:.1f}s")
    return upsert, batches


def chdb_store_path(size: int, seed: int) -> Path:
    """Where the cached chDB store (a directory) of a size, seed and table schema lives: the
    conversations of `store_path`'s DuckDB store, loaded the same way (no compaction: the
    engine merges its parts by itself)."""
    duckdb_file = store_path(size, seed, "arrival")
    return duckdb_file.with_name(duckdb_file.stem.replace("-arrival-", "-chdb-"))


def ensure_chdb_store(size: int, seed: int, log: Callable[[str], Any] = print) -> BuildInfo:
    """The cached chDB store of `size` conversations, built on first use (`_fill`, as the
    DuckDB store), then closed: chDB holds one directory per process at a time, so callers
    work on a copy (`copy_store`)."""
    from ccstats.storage.clickhouse import ClickHouseStore

    path = chdb_store_path(size, seed)
    if path.exists():
        return BuildInfo(path, size, 0.0, 0.0, True)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".building")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    store = ClickHouseStore(chdb_url(partial))
    upsert, batches = _fill(store, size, seed, log)
    store.close()
    partial.rename(path)
    return BuildInfo(path, size, time.perf_counter() - started, upsert, False, batches)


def chdb_url(path: Path) -> str:
    """The `--db` URL of a chDB directory."""
    return f"chdb://{path.resolve()}"


def copy_store(source: Path, target: Path) -> None:
    """Copy a cached store (a DuckDB file or a chDB directory) over `target`."""
    remove_store(target)
    if source.is_dir():  # chDB's tables are relative links into its store/ folder: kept as links
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copyfile(source, target)


def remove_store(path: Path) -> None:
    """Remove a store copy: a DuckDB file and its WAL, or a chDB directory."""
    if path.is_dir():
        shutil.rmtree(path)
    for stale in (path, Path(str(path) + ".wal")):
        stale.unlink(missing_ok=True)


def settle(store: Store) -> None:
    """Finish what bulk upserts deferred, as `ccstats import` does before it exits: next contacts
    settled and (DuckDB) stale rollups rebuilt, so that reads take the rollups and live ingest
    refreshes them in place (a store left stale measures the raw table and the stale-tenant
    ingest path). ClickHouse's rollup is filled by the inserts themselves."""
    store.flush()
    if isinstance(store, DuckDBStore):
        store.refresh_stale_rollups()


def _compacted(partial: Path, path: Path, size: int) -> BuildInfo:
    """Compact the store at `partial` (timed) and move it to `path`."""
    store = DuckDBStore(str(partial))
    started = time.perf_counter()
    store.compact()
    seconds = time.perf_counter() - started
    store.close()
    shutil.move(str(partial), str(path))
    _compaction_note(path).write_text(json.dumps({"compact_seconds": seconds}))
    return BuildInfo(path, size, seconds, 0.0, False, compact_seconds=seconds)


def _compaction_note(path: Path) -> Path:
    return path.with_suffix(".compaction.json")


def _compact_seconds(path: Path) -> float | None:
    """How long the compaction of a cached store took, when it was timed."""
    note = _compaction_note(path)
    return float(json.loads(note.read_text())["compact_seconds"]) if note.exists() else None


def demo_bank_table(n: int, seed: int, first_number: int, days: int = 30) -> pa.Table:
    """`n` new Demo Bank conversations of the last `days` days, every stored column (facts
    included)."""
    rng = np.random.default_rng(seed + 7)
    spec = tenant_specs(n)[0]
    return _batch(rng, [spec], n, END_DAY - timedelta(days=days - 1), days, first_number)


def import_records(n: int, seed: int, first_number: int, days: int = 30) -> pa.Table:
    """`n` new Demo Bank conversations as users send them: no derived columns, no `stored_at`."""
    from ccstats.derive import FACT_COLUMNS

    table = demo_bank_table(n, seed, first_number, days)
    return table.drop_columns([*FACT_COLUMNS, "stored_at"])


def utc_day_start(day: date, offset_h: int) -> datetime:
    """Local midnight of a date at a fixed offset, as a UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=offset_h)
