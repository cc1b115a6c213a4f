"""A real browser for the tests: Debian's Chromium driven by Playwright.

``playwright install`` cannot download browsers here, so Playwright is pointed at the system
Chromium (``/usr/bin/chromium``, installed by ``./dev test`` and ``.ci/run``). A missing
browser fails these tests; it never skips them.

No test binds a fixed port: the tutorial's pages, which hard-code ``ws://localhost:8080``,
are opened in a Chromium of their own whose host resolver sends ``localhost:8080`` to the
test's server (``tutorial_pages``), so a developer's ``./dev serve`` on 8080 changes nothing.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

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
#: Where the tutorial's pages connect (``tutorial/*.js`` and ``*.html``, kept unmodified).
TUTORIAL_ADDRESS = "localhost:8080"

#: What the ``tutorial_pages`` fixture gives: ``tutorial_pages(server)`` opens pages whose
#: ``localhost:8080`` is that server.
TutorialPages = Callable[[ServerProcess], Pages]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright, once per test module.

    Not per session: Playwright's sync API keeps an event loop installed while it runs, which
    would break the asyncio tests of other modules.
    """
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run ./dev test (it installs it)"
    with sync_playwright() as running:
        yield running


def launch(playwright: Playwright, *args: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], headless=True
    )


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium per test module."""
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def tutorial_pages(playwright: Playwright) -> Iterator[TutorialPages]:
    """``tutorial_pages(server)``: a Chromium in which ``localhost:8080`` is ``server``.

    Chromium's host mapping rules accept a ``host:port`` pattern and a ``host:port``
    replacement, so the unmodified pages reach the server's own free port (the handshake still
    says ``Host: localhost:8080``, which Parley does not check for guests). Checked at the end
    of the test like ``pages``, and for errors in the console too.
    """
    browsers: list[Browser] = []
    opened: list[Pages] = []

    def make(server: ServerProcess) -> Pages:
        rule = f"MAP {TUTORIAL_ADDRESS} 127.0.0.1:{server.port}"
        browsers.append(launch(playwright, f"--host-resolver-rules={rule}"))
        opened.append(Pages(browsers[-1]))
        return opened[-1]

    yield make
    for tutorial in opened:
        tutorial.close()
    for browser in browsers:
        browser.close()
    for tutorial in opened:
        assert tutorial.errors == [], tutorial.errors
        assert tutorial.console_errors == [], tutorial.console_errors


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


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A plain static site on another port of 127.0.0.1: the attacker's page."""
    (tmp_path / "evil.html").write_text("<!doctype html><title>evil</title><p>hello</p>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/evil.html"
    httpd.shutdown()
    httpd.server_close()
