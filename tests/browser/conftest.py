"""A real browser for the tests: Debian's Chromium driven by Playwright.

``playwright install`` cannot download browsers here, so Playwright is pointed at the system
Chromium (``/usr/bin/chromium``, installed by ``./dev test`` and ``.ci/run``). A missing
browser fails these tests; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

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


class Pages:
    """Opens pages in separate browser contexts (separate users); collects console output."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.console: dict[Page, list[str]] = {}
        self.errors: list[str] = []

    def new(self, url: str, **context_options: object) -> Page:
        context = self.browser.new_context(**context_options)  # type: ignore[arg-type]
        self.contexts.append(context)
        page = context.new_page()
        log: list[str] = []
        self.console[page] = log
        page.on("console", lambda message: log.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    assert opened.errors == [], opened.errors
