"""Pages opened in a real browser, each in its own context (its own cookies: its own user),
with their console output and script errors collected for the test to check."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page


class Pages:
    """Opens pages in separate browser contexts (separate users); collects console output.

    ``errors`` collects script errors (the fixtures that hand out pages fail the test on any),
    ``console_errors`` the errors in the console (a 404 of a favicon is one), for the tests to
    check: a page may log an error on purpose.
    """

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.console: dict[Page, list[str]] = {}
        self.errors: list[str] = []
        self.console_errors: list[str] = []

    def new(self, url: str, **context_options: object) -> Page:
        context = self.browser.new_context(**context_options)  # type: ignore[arg-type]
        self.contexts.append(context)
        page = context.new_page()
        log: list[str] = []
        self.console[page] = log

        def on_console(message: ConsoleMessage) -> None:
            log.append(message.text)
            if message.type == "error":
                self.console_errors.append(f"{message.text} ({message.location['url']})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
