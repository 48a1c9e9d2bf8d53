"""The dashboard in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
`tests/web/install-browser.sh`) driven by Selenium, against a real uvicorn server on 127.0.0.1.

Without the browser the tests fail, they do not skip: CI must run them.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.storage import Store

CHROMIUM = os.environ.get("CCSTATS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CCSTATS_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--lang=en-GB",
)
WAIT_S = 20
"""How long a step may take before the test fails (a wait, not a timing assertion)."""


@dataclass
class LiveServer:
    """A uvicorn server on 127.0.0.1 over a store, and its base URL."""

    url: str
    store: Store

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """An HTTP request to the server (urllib: no test client), JSON in and out."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if body is not None:
            request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def serve(store: Store) -> Iterator[LiveServer]:
    """Run the app over `store` on a free port of 127.0.0.1 until the generator is closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(Settings(db=":memory:", admin_token="adm-web-test"), store)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", store)
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        sock.close()


def require_browser() -> None:
    """Fail (not skip) when Chromium or its driver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"no headless browser: {', '.join(missing)} missing; install it with "
            "tests/web/install-browser.sh (Debian: apt-get install chromium chromium-driver)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def downloads() -> Iterator[Path]:
    """The browser's download directory."""
    with tempfile.TemporaryDirectory(prefix="ccstats-downloads-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    """One headless Chromium for the module, with a fresh profile and browser logs kept."""
    require_browser()
    with tempfile.TemporaryDirectory(prefix="ccstats-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "intl.accept_languages": "en-GB,en",
            },
        )
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        try:
            yield driver
        finally:
            driver.quit()


def console_problems(driver: WebDriver) -> list[str]:
    """Browser log entries of level WARNING or worse since the last call (the log is drained)."""
    return [
        f"{entry['level']}: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] in ("SEVERE", "WARNING")
    ]


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    """Wait for `condition` (truthy), failing with `what` when it never holds."""
    return WebDriverWait(driver, WAIT_S).until(condition, message=f"waited for {what}")


def wait_ready(driver: WebDriver, *panel_ids: str) -> None:
    """Wait until the panels have loaded; fail on a panel showing an error."""

    def ready(d: WebDriver) -> bool:
        states = [d.find_element(By.ID, p).get_attribute("data-state") for p in panel_ids]
        if "error" in states:
            errors = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".panel-status .error")]
            raise AssertionError(f"a panel shows an error: {errors}")
        return all(s == "ready" for s in states)

    wait(driver, lambda d: d.find_elements(By.ID, panel_ids[0]) and ready(d), f"{panel_ids}")


def sign_in(driver: WebDriver, server: LiveServer, token: str) -> None:
    """Open the dashboard signed out and sign in with `token` through the form."""
    driver.delete_all_cookies()
    driver.get(server.url + "/")
    wait(driver, lambda d: d.find_elements(By.ID, "token"), "the sign-in form")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "signin").click()
    wait(driver, lambda d: d.find_elements(By.ID, "kpis"), "the overview after signing in")


def show(driver: WebDriver, server: LiveServer, fragment: str, *panel_ids: str) -> None:
    """Go to a view (`#/...`) and wait until it rendered for that URL and its panels loaded."""
    driver.execute_script("const m = document.getElementById('main'); if (m) m.dataset.route = '';")
    driver.get(f"{server.url}/#/{fragment}")
    rendered = "return document.getElementById('main').dataset.route === location.hash"
    wait(driver, lambda d: d.execute_script(rendered), f"the view #/{fragment}")
    wait_ready(driver, *panel_ids)
