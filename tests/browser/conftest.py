"""A real browser for the tests: Debian's Chromium driven by Playwright.

``playwright install`` cannot download browsers here, so Playwright is pointed at the system
Chromium (``/usr/bin/chromium``, installed by ``./dev test`` and ``.ci/run``). A missing
browser fails these tests; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.chatpage import ChatPages, OpenChat
from tests.browser.pages import Pages
from tests.helpers.process import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TUTORIAL = Path(__file__).resolve().parents[2] / "tutorial"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module.

    Not per session: Playwright's sync API keeps an event loop installed while it runs, which
    would break the asyncio tests of other modules.
    """
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run ./dev test (it installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    assert opened.errors == [], opened.errors


@pytest.fixture
def open_chat(browser: Browser) -> Iterator[OpenChat]:
    """``open_chat(server)``: the chat pages of that server; checked at the end of the test."""
    made: list[ChatPages] = []

    def make(server: ServerProcess) -> ChatPages:
        made.append(ChatPages(browser, server.http_url))
        return made[-1]

    yield make
    for chat in made:
        chat.close()
    for chat in made:
        chat.check()
