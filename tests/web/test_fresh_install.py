"""A fresh install (no tenant, no token) opens on guidance, not on an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from tests.web.conftest import LiveServer, console_problems, serve, wait

from ccstats.storage import DuckDBStore


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """An empty store, served."""
    with DuckDBStore(":memory:") as store:
        yield from serve(store)


def test_fresh_install_shows_where_a_token_comes_from(
    browser: WebDriver, server: LiveServer
) -> None:
    assert server.call("GET", "/v1/session") == (200, {"signed_in": False, "fresh_install": True})
    browser.get(server.url + "/")
    wait(browser, lambda d: d.find_elements(By.ID, "guidance"), "the guidance")
    guidance = browser.find_element(By.ID, "guidance").text
    assert "Welcome to ccstats" in guidance and "no tenants yet" in guidance
    for command in ("ccstats tenant add", "ccstats credentials add acme api", "ccstats demo"):
        assert command in guidance, command
    assert browser.find_element(By.ID, "token").is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, ".error:not(:empty)")
    assert console_problems(browser) == []
