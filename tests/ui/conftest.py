"""Fixtures for the web UI tests: one seeded registry behind one `ebonite serve` process, and one headless
Chromium, for the whole session (each test signs in with the role it needs and uses models no other test
changes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from services import service_unavailable
from ui_site import ServerUnavailable, Site, UiClient, seed, start_browser, start_server

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The seeded registry served by `ebonite serve` on 127.0.0.1."""
    try:
        served = start_server(seed(tmp_path_factory.mktemp("ui-site")))
    except ServerUnavailable as err:
        service_unavailable(f"ebonite serve did not start for the UI tests: {err}")
        raise
    yield served
    assert served.server is not None
    served.server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium (Debian's), driven through chromedriver."""
    try:
        driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    except RuntimeError as err:
        service_unavailable(str(err))
        raise
    yield driver
    driver.quit()


@pytest.fixture
def client_for(site: Site) -> Iterator[Callable[[str | None], UiClient]]:
    """``client_for("write")``: an HTTP client signed in with that token (``None``: not signed in)."""
    clients: list[UiClient] = []

    def make(token_name: str | None) -> UiClient:
        client = UiClient(site.url, site.tokens[token_name] if token_name else None)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
