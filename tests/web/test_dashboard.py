"""The dashboard in headless Chromium against a real server with the demo data, a hand-made tenant
whose every name is an HTML injection, and an empty tenant.

The hand-made tenant's figures are worked out by hand below; the demo bank's tiles are compared
with `/v1/query` answers computed here, for the same period and the one before it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from tests.web.conftest import (
    WAIT_S,
    LiveServer,
    console_problems,
    serve,
    show,
    sign_in,
    wait,
    wait_ready,
)

from ccstats.auth import create_credential
from ccstats.demo import create_demo
from ccstats.ingest import ingest_conversations, ingest_intervals
from ccstats.records import Agent, Bot, NamedOption, TenantSettings
from ccstats.storage import DuckDBStore

ROOT = Path(__file__).resolve().parents[2]
BANK, RETAIL, ACME = "202104237142", "twin24-demo", "acme-us"
BANK_TOKEN = "ccs_bank_demo-token"
RETAIL_TOKEN = "ccs_retail_demo-token"
ACME_TOKEN = "ccs_acme_demo-token"
HAND, HAND_TOKEN = "t-hand", "ccs_hand_web-test"
EMPTY, EMPTY_TOKEN = "t-empty", "ccs_empty_web-test"

# Every tenant-provided string of the hand-made tenant carries this; if any reached the page as
# HTML, the image would fail to load and its handler set `window.__xss` (and the CSP would log).
XSS = '<img src=x onerror="window.__xss=1">'


def named(what: str) -> str:
    """An injection that also says which field it is in."""
    return f"{XSS}{what}"


AGENT_ID = named("agent-id")
ACCESS_CODE = named("access-code")
BOT_ID = named("bot-id")
CAMPAIGN_ID = named("campaign-id")
DAY = "2026-03-10"  # the hand-made tenant's one day of traffic (Asia/Shanghai)
NEXT_DAY = "2026-03-11"


def hand_tenant() -> TenantSettings:
    """A chat-only tenant whose name, agent, bot and status labels are injections."""
    return TenantSettings(
        id=HAND,
        name=named("tenant-name"),
        timezone="Asia/Shanghai",
        agents=[Agent(id=AGENT_ID, name=named("agent-name"), number="<b>7</b>")],
        bots=[Bot(access_code=ACCESS_CODE, name=named("bot-label"))],
        agent_statuses=[NamedOption(id="busy", label=named("status-label"))],
    )


def _at(hh_mm: str) -> str:
    return f"{DAY}T{hh_mm}:00+08:00"


def hand_conversations() -> list[dict[str, Any]]:
    """Four chats of 2026-03-10, Asia/Shanghai.

    h1: queued 10 s, taken by the agent (100 s handled), CSAT 5, came through the bot (2 turns,
        transferred), the only one with a campaign, every text field an injection, a transcript.
    h2: queued 30 s, taken by the agent (200 s handled), CSAT 2.
    h1 and h2 came from 7moor (`source`); h3 and h4 have no source.
    h3: queued 50 s, abandoned in the queue (lost).
    h4: the bot only: 1 turn, ended in the bot.
    """
    common = {"tenant_id": HAND, "channel": "chat", "direction": "inbound"}
    return [
        {
            **common,
            "id": "h1",
            "source": "7moor",
            "created_at": _at("10:00"),
            "answered_at": _at("10:00"),
            "ended_at": _at("10:05"),
            "queued": True,
            "queue_duration_s": 10,
            "agent_connected": True,
            "agent_id": AGENT_ID,
            "agent_name": named("conversation-agent-name"),
            "agent_duration_s": 100,
            "duration_s": 110,
            "csat_score": 5,
            "customer_id": "c1",
            "customer_name": named("customer-name"),
            "queue_id": named("queue-id"),
            "queue_name": named("queue-name"),
            "access_code": ACCESS_CODE,
            "bot_id": BOT_ID,
            "bot_name": named("bot-name"),
            "bot_turns": 2,
            "transferred_to_agent": True,
            "campaign_id": CAMPAIGN_ID,
            "campaign_name": named("campaign-name"),
            "dial_status": "ANSWERED",
            "price": "1234.5",
            "dialog_result": named("dialog-result"),
            "messages": [
                {"sender": "customer", "text": named("customer-message"), "sent_at": _at("10:00")},
                {"sender": "bot", "text": named("bot-message"), "sent_at": _at("10:01")},
                {
                    "sender": "agent",
                    "agent_id": AGENT_ID,
                    "text": named("agent-message"),
                    "sent_at": _at("10:02"),
                },
            ],
        },
        {
            **common,
            "id": "h2",
            "source": "7moor",
            "created_at": _at("11:00"),
            "ended_at": _at("11:04"),
            "queued": True,
            "queue_duration_s": 30,
            "agent_connected": True,
            "agent_id": AGENT_ID,
            "agent_duration_s": 200,
            "duration_s": 230,
            "csat_score": 2,
            "customer_id": "c2",
        },
        {
            **common,
            "id": "h3",
            "created_at": _at("12:00"),
            "ended_at": _at("12:01"),
            "queued": True,
            "queue_duration_s": 50,
            "queue_abandoned": True,
            "lost": True,
            "customer_id": "c3",
        },
        {
            **common,
            "id": "h4",
            "created_at": _at("13:00"),
            "ended_at": _at("13:01"),
            "bot_id": BOT_ID,
            "access_code": ACCESS_CODE,
            "bot_turns": 1,
            "ended_in_bot": True,
            "duration_s": 60,
            "customer_id": "c4",
        },
    ]


def hand_intervals() -> list[dict[str, Any]]:
    """The agent: logged in 09:00-17:00 (8 h), in the status "busy" 10:00-11:00 (1 h)."""
    base = {"tenant_id": HAND, "agent_id": AGENT_ID}
    return [
        {**base, "kind": "login", "started_at": _at("09:00"), "ended_at": _at("17:00")},
        {
            **base,
            "kind": "status",
            "status_id": "busy",
            "started_at": _at("10:00"),
            "ended_at": _at("11:00"),
        },
    ]


@pytest.fixture(scope="module")
def demo_dates() -> dict[str, Any]:
    """Filled by `server`: the demo's first and last local dates."""
    return {}


@pytest.fixture(scope="module")
def server(demo_dates: dict[str, Any]) -> Iterator[LiveServer]:
    """The demo (2 000 conversations), the hand-made tenant and an empty one, served."""
    with DuckDBStore(":memory:") as store:
        summary = create_demo(store, 2000, seed=7, today=date.today())
        demo_dates.update(
            first=date.fromisoformat(summary["from"]), last=date.fromisoformat(summary["to"])
        )
        store.registry.put_tenant(hand_tenant())
        store.registry.put_tenant(TenantSettings(id=EMPTY, name="Empty Co", timezone="UTC"))
        create_credential(store.registry, HAND, "api", "hand", "web-test")
        create_credential(store.registry, EMPTY, "api", "empty", "web-test")
        assert not ingest_conversations(store, hand_conversations()).rejected
        assert not ingest_intervals(store, hand_intervals()).rejected
        store.maintain()
        yield from serve(store)


@pytest.fixture(autouse=True)
def clean_console(browser: WebDriver) -> Iterator[None]:
    """Every test ends with nothing logged to the browser console (errors, CSP violations)."""
    console_problems(browser)
    yield
    assert console_problems(browser) == []


# -- formatting, as the page does it (en-GB) ----------------------------------------------------


def count_text(value: int) -> str:
    """12,345"""
    return f"{value:,}"


def percent_text(value: float | None) -> str:
    """0.12345 -> 12.3% (half up, one decimal); – for a ratio over nothing."""
    if value is None:
        return "–"
    scaled = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{scaled}%"


def duration_text(value: float | None) -> str:
    """Seconds as m:ss or h:mm:ss, rounded half up."""
    if value is None:
        return "–"
    total = int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


UNITS = {
    "conversations": "count",
    "agent_sessions": "count",
    "queue_abandoned": "count",
    "abandonment_rate": "ratio",
    "service_level_20s": "ratio",
    "avg_speed_of_answer": "seconds",
    "avg_handle_time": "seconds",
    "bot_containment": "ratio",
    "transferred_to_agent": "count",
    "csat": "ratio",
    "fcr_24h": "ratio",
}


def shown(metric: str, answer: Any) -> str:
    """A /v1/query value as the tile writes it."""
    unit = UNITS[metric]
    if unit == "count":
        return count_text(answer)
    value = answer["value"]
    return percent_text(value) if unit == "ratio" else duration_text(value)


def raw(answer: Any) -> str:
    """A /v1/query value as the tile's `data-value` holds it."""
    value = answer["value"] if isinstance(answer, dict) else answer
    return "" if value is None else repr_js(value)


def repr_js(value: float | int) -> str:
    """A number as JavaScript writes it (1.0 -> "1")."""
    as_float = float(value)
    return str(int(as_float)) if as_float.is_integer() else repr(as_float)


def query(server: LiveServer, token: str, start: date, end: date, **filters: Any) -> dict[str, Any]:
    """The KPI metrics over [start, end) from the native API."""
    status, answer = server.call(
        "POST",
        "/v1/query",
        token,
        {
            "metrics": list(UNITS),
            "from": start.isoformat(),
            "to": end.isoformat(),
            "filters": filters,
        },
    )
    assert status == 200, answer
    row: dict[str, Any] = answer["rows"][0]
    return row


def tiles(browser: WebDriver) -> dict[str, Any]:
    """Each tile's metric -> (value text, data-value, previous data-value)."""
    out = {}
    for tile in browser.find_elements(By.CSS_SELECTOR, "#kpis .tile"):
        value = tile.find_element(By.CSS_SELECTOR, ".tile-value").text
        out[tile.get_attribute("data-metric")] = (
            value,
            tile.get_attribute("data-value"),
            tile.get_attribute("data-previous"),
            tile.get_attribute("title"),
        )
    return out


def screenshot(browser: WebDriver, name: str) -> None:
    """With CCSTATS_SCREENSHOTS=1, keep a screenshot for the docs (docs/screenshots/)."""
    if not os.environ.get("CCSTATS_SCREENSHOTS"):
        return
    # The whole page, no pointer over it.
    ActionChains(browser).move_to_element(browser.find_element(By.CLASS_NAME, "brand")).perform()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(height + 140, 2400))
    time.sleep(0.5)  # charts redraw after the resize; a pause for the picture, no assertion
    browser.save_screenshot(str(ROOT / "docs" / "screenshots" / f"{name}.png"))
    browser.set_window_size(1400, 1000)


def week(demo_dates: dict[str, Any]) -> tuple[date, date]:
    """The demo's last 7 days, [from, to)."""
    end = demo_dates["last"] + timedelta(days=1)
    return end - timedelta(days=7), end


# -- sign-in ------------------------------------------------------------------------------------


def test_sign_in_keeps_the_token_where_scripts_cannot_read_it(
    browser: WebDriver, server: LiveServer
) -> None:
    browser.delete_all_cookies()
    browser.get(server.url + "/")
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    assert "ccstats credentials add" in browser.find_element(By.ID, "guidance").text
    browser.find_element(By.ID, "token").send_keys("ccs_bank_wrong-token")
    browser.find_element(By.ID, "signin").click()
    wait(browser, lambda d: "not valid" in d.find_element(By.ID, "signin-error").text, "the error")
    # The refused sign-in is the one thing the console may show.
    assert all("/v1/session" in p and "401" in p for p in console_problems(browser))

    browser.find_element(By.ID, "token").clear()
    browser.find_element(By.ID, "token").send_keys(BANK_TOKEN)
    browser.find_element(By.ID, "signin").click()
    wait_ready(browser, "kpis", "series")
    assert browser.find_element(By.CSS_SELECTOR, "#tenant .tenant-name").text == "Demo Bank"
    cookie = browser.get_cookie("ccstats_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert BANK_TOKEN not in browser.execute_script("return document.cookie")
    storage = "return [localStorage.length, sessionStorage.length, document.body.innerText]"
    local, session, text = browser.execute_script(storage)
    assert (local, session) == (0, 0) and BANK_TOKEN not in text

    # A reload keeps the sign-in (the cookie), signing out forgets it.
    browser.refresh()
    wait_ready(browser, "kpis")
    browser.find_element(By.ID, "signout").click()
    wait(browser, lambda d: d.find_elements(By.ID, "token"), "the sign-in form after signing out")
    assert browser.get_cookie("ccstats_session") is None


# -- overview -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [None, "chat"])
def test_overview_tiles_equal_the_native_api(
    browser: WebDriver, server: LiveServer, demo_dates: dict[str, Any], channel: str | None
) -> None:
    start, end = week(demo_dates)
    sign_in(browser, server, BANK_TOKEN)
    fragment = f"overview?p=custom&from={start}&to={end}" + (
        f"&channel={channel}" if channel else ""
    )
    show(browser, server, fragment, "kpis", "series")
    filters = {"channel": channel} if channel else {}
    now = query(server, BANK_TOKEN, start, end, **filters)
    before = query(server, BANK_TOKEN, start - timedelta(days=7), start, **filters)
    _, catalogue = server.call("GET", "/v1/metrics")
    definitions = {m["name"]: m["description"] for m in catalogue["metrics"]}
    found = tiles(browser)
    assert list(found) == list(UNITS)
    for metric, (text, value, previous, title) in found.items():
        assert value == raw(now[metric]), metric
        assert previous == raw(before[metric]), metric
        assert text == shown(metric, now[metric]), metric
        assert title == definitions[metric], metric  # the definition on hover
    assert now["conversations"] > 0
    if channel is None:
        screenshot(browser, "overview")


def test_hand_made_figures(browser: WebDriver, server: LiveServer) -> None:
    """The four chats of `hand_conversations`, counted by hand."""
    sign_in(browser, server, HAND_TOKEN)
    show(browser, server, f"overview?p=custom&from={DAY}&to={NEXT_DAY}", "kpis", "series")
    texts = {metric: found[0] for metric, found in tiles(browser).items()}
    assert texts == {
        "conversations": "4",
        "agent_sessions": "2",  # h1, h2
        "queue_abandoned": "1",  # h3
        "abandonment_rate": "33.3%",  # h3 of the 3 queued
        "service_level_20s": "33.3%",  # h1 (10 s) of the 3 queued
        "avg_speed_of_answer": "0:20",  # (10 + 30) / 2
        "avg_handle_time": "2:30",  # (100 + 200) / 2
        "bot_containment": "50.0%",  # h4 of the bot sessions h1, h4
        "transferred_to_agent": "1",  # h1
        "csat": "50.0%",  # h1 (5) of h1, h2 (5 and 2)
        "fcr_24h": "100.0%",  # h1, h2, h4: no customer came back
    }
    previous = browser.find_element(By.CSS_SELECTOR, "[data-metric=conversations] .tile-prev-value")
    assert previous.text == "0"  # 2026-03-09: nothing

    # One day: hourly buckets, all 24 of them, the empty ones too.
    cells = browser.find_elements(By.CSS_SELECTOR, "#series tbody td[data-key=conversations]")
    volumes = [td.get_attribute("textContent") for td in cells]
    assert volumes == ["0"] * 10 + ["1", "1", "1", "1"] + ["0"] * 10  # h1-h4 at 10:00-13:00
    # The chart's tooltip names every series with its value (built as text nodes).
    chart = browser.find_element(By.CSS_SELECTOR, "#series .chart")
    ActionChains(browser).move_to_element(chart).perform()
    tip = wait(
        browser,
        lambda d: [t for t in d.find_elements(By.CLASS_NAME, "chart-tip") if t.text],
        "a tooltip",
    )
    lines = tip[0].text.splitlines()
    assert lines[1:3] == ["Conversations", "1"] or lines[1:3] == ["Conversations", "0"], lines
    assert "Abandon rate" in lines and "Service level (20 s)" in lines

    show(browser, server, f"agents?p=custom&from={DAY}&to={NEXT_DAY}", "agents")
    cells = {
        td.get_attribute("data-key"): td.text
        for td in browser.find_elements(By.CSS_SELECTOR, "#agents tbody td")
    }
    assert cells["agent_sessions"] == "2"
    assert cells["avg_handle_time"] == "2:30"
    assert cells["logged_in_s"] == "8:00:00"  # 09:00-17:00
    assert cells["occupancy"] == "1.0%"  # 300 s handled / 28 800 s logged in
    assert cells["status:busy"] == "1:00:00"

    show(browser, server, f"campaigns?p=custom&from={DAY}&to={NEXT_DAY}", "campaigns")
    cells = {
        td.get_attribute("data-key"): td.text
        for td in browser.find_elements(By.CSS_SELECTOR, "#campaigns tbody td")
    }
    assert cells["conversations"] == "1"  # h1, the only call of a campaign
    assert cells["dial_answered"] == "1"  # h1: ANSWERED
    assert cells["cost"] == "1,234.50"  # h1's price


RENDERED = "return document.getElementById('main').dataset.route === location.hash"


def test_source_filter(browser: WebDriver, server: LiveServer) -> None:
    """The toolbar lists the period's sources; choosing one filters every figure and drill-down."""
    sign_in(browser, server, HAND_TOKEN)
    period = f"p=custom&from={DAY}&to={NEXT_DAY}"
    show(browser, server, f"overview?{period}", "kpis")
    options = lambda d: [o.text for o in d.find_elements(By.CSS_SELECTOR, "#source option")]  # noqa: E731
    wait(browser, lambda d: len(options(d)) == 3, "the period's sources")
    assert options(browser) == ["All sources", "7moor", "No source"]
    Select(browser.find_element(By.ID, "source")).select_by_visible_text("7moor")
    wait(browser, lambda d: "source=7moor" in d.current_url and d.execute_script(RENDERED), "7moor")
    wait_ready(browser, "kpis")
    assert tiles(browser)["conversations"][0] == "2"  # h1, h2
    assert tiles(browser)["agent_sessions"][0] == "2"
    Select(browser.find_element(By.ID, "source")).select_by_visible_text("No source")
    wait(
        browser, lambda d: d.current_url.endswith("source=") and d.execute_script(RENDERED), "none"
    )
    wait_ready(browser, "kpis")
    assert tiles(browser)["conversations"][0] == "2"  # h3, h4
    assert tiles(browser)["queue_abandoned"][0] == "1"  # h3
    # The drill-down keeps the source: h3 and h4 only.
    browser.find_element(By.CSS_SELECTOR, "[data-metric=conversations] a").click()
    wait_ready(browser, "conversations")
    shown_ids = wait(
        browser,
        lambda d: [
            a.get_attribute("href").split("/")[-1].split("?")[0]
            for a in d.find_elements(By.CSS_SELECTOR, "#conversations a.open")
        ],
        "the conversations",
    )
    assert sorted(shown_ids) == ["h3", "h4"]


# -- injected names -------------------------------------------------------------------------------


def assert_text_only(browser: WebDriver, *fields: str) -> None:
    """The injections show as text, no element came of them, no handler ran."""
    injected = "return [window.__xss, document.querySelectorAll('img[src=x]').length]"
    assert browser.execute_script(injected) == [None, 0]
    text = browser.find_element(By.TAG_NAME, "body").text
    for field in fields:
        assert named(field) in text, field


def test_injected_names_stay_text(browser: WebDriver, server: LiveServer) -> None:
    sign_in(browser, server, HAND_TOKEN)
    period = f"p=custom&from={DAY}&to={NEXT_DAY}"
    show(browser, server, f"overview?{period}", "kpis", "series")
    assert_text_only(browser, "tenant-name")
    show(browser, server, f"agents?{period}", "agents")
    assert_text_only(browser, "agent-name", "status-label")
    show(browser, server, f"bots?{period}", "bots")
    assert_text_only(browser, "bot-label")
    show(browser, server, f"bots?{period}&by=bot_id", "bots")
    assert_text_only(browser, "bot-name")
    show(browser, server, f"campaigns?{period}", "campaigns")
    assert_text_only(browser, "campaign-name")
    # The agent's sessions open the conversations filtered by the (injected) agent id.
    show(browser, server, f"agents?{period}", "agents")
    browser.find_element(By.CSS_SELECTOR, "#agents td[data-key=agent_sessions] a").click()
    wait_ready(browser, "conversations")
    assert browser.find_element(By.CSS_SELECTOR, "#conversations .count").text == "2 conversations"
    assert_text_only(browser, "agent-name", "customer-name", "queue-name")
    browser.find_element(
        By.XPATH, "//tr[td[@data-key='customer'][contains(., 'customer-name')]]//a"
    ).click()
    wait_ready(browser, "conversation")
    fields = ("customer-message", "bot-message", "agent-message", "dialog-result", "queue-id")
    assert_text_only(browser, "agent-name", "campaign-id", "access-code", "bot-id", *fields)


# -- drill-down and exports -------------------------------------------------------------------------


def wait_download(downloads: Path, name: str) -> Path:
    """The downloaded file, once complete (Chromium writes `*.crdownload` until then)."""
    path = downloads / name
    deadline = time.monotonic() + WAIT_S
    while not (path.exists() and path.stat().st_size and not list(downloads.glob("*.crdownload"))):
        assert time.monotonic() < deadline, f"{name} was not downloaded"
        time.sleep(0.1)
    return path


def test_drill_down_reaches_a_transcript_and_exports(
    browser: WebDriver, server: LiveServer, demo_dates: dict[str, Any], downloads: Path
) -> None:
    start, end = week(demo_dates)
    sign_in(browser, server, BANK_TOKEN)
    show(browser, server, f"overview?p=custom&from={start}&to={end}&channel=chat", "kpis")
    tile = browser.find_element(By.CSS_SELECTOR, "[data-metric=agent_sessions]")
    expected = tile.get_attribute("data-value")
    tile.find_element(By.CSS_SELECTOR, ".tile-value").click()
    wait_ready(browser, "conversations")
    assert (
        browser.find_element(By.CSS_SELECTOR, "#conversations .count").get_attribute("data-count")
        == expected
    )
    channels = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "td[data-key=channel]")}
    assert channels == {"chat"}
    screenshot(browser, "drill-down")

    for old in downloads.iterdir():
        old.unlink()
    browser.find_element(By.CSS_SELECTOR, "#conversations [data-export=csv]").click()
    exported = wait_download(downloads, f"conversations-{BANK}.csv")
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    # The rows are the chats an agent took (`agent_sessions`: agent_connected), and all of them.
    _, every = server.call(
        "GET",
        f"/v1/conversations?from={start}&to={end}&channel=chat&fields=id,agent_connected&limit=1000",
        BANK_TOKEN,
    )
    assert every["next_cursor"] is None
    taken = {r["id"] for r in every["rows"] if r["agent_connected"]}
    assert len(rows) == int(expected) == len(taken)
    assert {r["id"] for r in rows} == taken and {r["channel"] for r in rows} == {"chat"}

    row = browser.find_element(By.XPATH, "//tr[td[@data-key='msg_count'][. != '0']]")
    row.find_element(By.CSS_SELECTOR, "a.open").click()
    wait_ready(browser, "conversation")
    conversation_id = browser.find_element(By.CSS_SELECTOR, "dd[data-field=id]").text
    _, detail = server.call("GET", f"/v1/conversations/{conversation_id}", BANK_TOKEN)
    messages = browser.find_elements(By.CSS_SELECTOR, ".transcript li.msg .msg-text")
    assert [m.text for m in messages] == [
        m["text"] or "" for m in detail["conversation"]["messages"]
    ]
    assert messages
    screenshot(browser, "conversation")


def test_agents_table_sorts_and_exports(
    browser: WebDriver, server: LiveServer, demo_dates: dict[str, Any], downloads: Path
) -> None:
    start, end = week(demo_dates)
    sign_in(browser, server, BANK_TOKEN)
    show(browser, server, f"agents?p=custom&from={start}&to={end}", "agents")
    sessions = [
        int(td.text) for td in browser.find_elements(By.CSS_SELECTOR, "td[data-key=agent_sessions]")
    ]
    assert sessions == sorted(sessions, reverse=True) and sessions
    browser.find_element(By.CSS_SELECTOR, "th[data-key=agent_sessions] button").click()
    ascending = [
        int(td.text) for td in browser.find_elements(By.CSS_SELECTOR, "td[data-key=agent_sessions]")
    ]
    assert ascending == sorted(sessions)
    screenshot(browser, "agents")

    for old in downloads.iterdir():
        old.unlink()
    browser.find_element(By.CSS_SELECTOR, "#agents [data-export=xlsx]").click()
    exported = wait_download(downloads, f"agents-{BANK}.xlsx")
    workbook = openpyxl.load_workbook(exported, read_only=True)
    table = list(workbook.active.iter_rows(values_only=True))
    workbook.close()
    assert table[0][:4] == ("agent_id", "agent_name", "agent_number", "agent_sessions")
    assert sorted(r[3] for r in table[1:]) == sorted(sessions)


# -- every kind of tenant ---------------------------------------------------------------------------


VIEWS = ("overview", "agents", "bots", "campaigns", "conversations")
PANELS = {"overview": ("kpis", "series")}


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (RETAIL_TOKEN, {"campaigns": "Напоминание о заказе"}),  # voice bot campaigns only
        (ACME_TOKEN, {"agents": "[", "bots": "Acme"}),
        (
            EMPTY_TOKEN,
            {"overview": "No conversations in this period.", "agents": "No agent activity"},
        ),
    ],
)
def test_every_view_works_for_every_tenant(
    browser: WebDriver, server: LiveServer, token: str, expected: dict[str, str]
) -> None:
    sign_in(browser, server, token)
    for view in VIEWS:
        show(browser, server, f"{view}?p=30d", *PANELS.get(view, (view,)))
        if view in expected:
            assert expected[view] in browser.find_element(By.ID, "main").text, view


# -- freshness, refresh, language ---------------------------------------------------------------------


def test_failed_refresh_marks_the_figures_stale(browser: WebDriver, server: LiveServer) -> None:
    sign_in(browser, server, HAND_TOKEN)
    show(browser, server, f"overview?p=custom&from={DAY}&to={NEXT_DAY}", "kpis", "series")
    asof = browser.find_element(By.CSS_SELECTOR, "#asof .data-as-of").text
    assert re.fullmatch(r"Data as of (now|\d+ \w+\.? ago)", asof), asof
    # The network goes away: the next refresh fails, the last figures stay, marked stale.
    browser.execute_script("window.fetch = () => Promise.reject(new TypeError('network is down'))")
    browser.find_element(By.ID, "refresh").click()
    wait(
        browser,
        lambda d: d.find_element(By.ID, "kpis").get_attribute("data-state") == "error",
        "the error",
    )
    status = browser.find_element(By.CSS_SELECTOR, "#kpis .panel-status").text
    assert "network is down" in status and "out of date" in status
    body = browser.find_element(By.CSS_SELECTOR, "#kpis .panel-body")
    assert "stale" in body.get_attribute("class").split()
    assert (
        browser.find_element(By.CSS_SELECTOR, "[data-metric=conversations] .tile-value").text == "4"
    )
    # Auto-refresh offers off, 30 s and 5 min.
    options = browser.find_elements(By.CSS_SELECTOR, "#auto-refresh option")
    assert [o.get_attribute("value") for o in options] == ["0", "30", "300"]


def test_language_follows_the_browser_and_switches(browser: WebDriver, server: LiveServer) -> None:
    sign_in(browser, server, HAND_TOKEN)
    picked = browser.execute_script(
        "return import('/static/js/i18n.js').then((m) => [m.pickLanguage(['zh-CN', 'en']),"
        " m.pickLanguage(['ru']), m.pickLanguage(['de-DE']), m.language()])"
    )
    assert picked == ["zh", "ru", "en", "en"]  # this browser asks for en-GB
    show(browser, server, f"overview?p=custom&from={DAY}&to={NEXT_DAY}", "kpis")
    browser.find_element(By.CSS_SELECTOR, "#lang option[value=zh]").click()
    overview = (By.CSS_SELECTOR, "#nav [data-view=overview]")
    wait(browser, lambda d: d.find_element(*overview).text == "概览", "the page in Chinese")
    wait_ready(browser, "kpis")
    label = browser.find_element(By.CSS_SELECTOR, "[data-metric=avg_handle_time] .tile-label")
    assert label.text == "平均处理时长"
    assert "lang=zh" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, "#lang option[value=en]").click()
    wait(browser, lambda d: d.find_element(*overview).text == "Overview", "the page in English")
    wait_ready(browser, "kpis")


# -- headers and the API docs -----------------------------------------------------------------------


def test_page_and_docs_carry_a_strict_policy(browser: WebDriver, server: LiveServer) -> None:
    for path in ("/", "/docs"):
        with urllib.request.urlopen(server.url + path) as response:
            policy = response.headers["content-security-policy"]
            page = response.read().decode()
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "<script>" not in page and "style=" not in page  # no inline code
    browser.get(server.url + "/docs")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), "Swagger UI")
    assert "/v1/summary" in browser.find_element(By.TAG_NAME, "body").text


def test_no_inner_html_in_the_page_scripts() -> None:
    """The stop hook's rule, checked here too: the page's own scripts never parse strings as HTML."""
    static = ROOT / "src" / "ccstats" / "web" / "static"
    own = [p for p in static.rglob("*") if p.is_file() and "vendor" not in p.parts]
    # Spelled in pieces, so that this file holds none of the words it looks for.
    words = ["inner" + "HTML", "outer" + "HTML", "insertAdjacent" + "HTML", "document" + r"\.write"]
    pattern = re.compile("|".join(words))
    assert [
        str(p) for p in own if pattern.search(p.read_text(encoding="utf-8", errors="ignore"))
    ] == []


# -- the docs' examples ---------------------------------------------------------------------------------


def test_dashboard_docs_examples_run(server: LiveServer, tmp_path: Path) -> None:
    """Every shell example of docs/dashboard.md, run with curl against this server."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the docs' examples")
    text = (ROOT / "docs" / "dashboard.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    assert blocks
    env = {**os.environ, "B": server.url, "TOKEN": BANK_TOKEN}
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 0, (block, done.stdout, done.stderr)
