"""Pages opened in a real browser, each in its own context (its own cookies: its own user),
with their console output and script errors collected for the test to check."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page


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
