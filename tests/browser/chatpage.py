"""Driving Parley's chat page (``src/parley/web/``) in a real browser, and acting as other users.

* :class:`ChatPages` opens the page in separate browser contexts (one per user) and fails the
  test on what a user must never get: a script error, a Content-Security-Policy violation, an
  error in the console (other than the network errors a browser logs by itself while the page
  copes with a server that is down, and the refusals of a sign-in or sign-up the page answers
  inline), or any request to another origin.
* :class:`SyncChat` is another user outside the browser: a synchronous parley.v1 client (the
  ``websockets`` library's), convenient from Playwright's synchronous tests.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Request, expect
from websockets.sync.client import connect

from tests.browser.pages import Pages
from tests.helpers.chat import PASSWORD, http_json, login, register
from tests.helpers.process import ServerProcess

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: What a browser logs on its own when a request or a WebSocket cannot reach the server (it is
#: down or restarting); the page handles these itself. An HTTP error status is not among them:
#: a visitor who is not signed in gets 200 from /api/me, and any 404 (a favicon) is a bug.
NETWORK_NOISE = ("Failed to load resource: net::", "WebSocket connection to")
#: The browser logs every 4xx as an error, also the account API's refusals that the page shows
#: next to the form (wrong password, name taken, weak password) and an upload's refusals that
#: it shows on the file (too large, over the quota, not an image): expected there, nowhere else.
REFUSED = "Failed to load resource: the server responded with a status of 4"
FORM_ANSWERS = ("/api/login", "/api/register", "/api/claim", "/api/uploads")

# A shared, noisy 2-core machine: be patient (but never sleep) before calling a check failed.
expect.set_options(timeout=20_000)


class ChatPages(Pages):
    """The chat page of one server, one browser context per user."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        super().__init__(browser)
        self.base_url = base_url
        self.problems: list[str] = []
        self.form_answers = tuple(base_url + path for path in FORM_ANSWERS)

    def new(self, url: str | None = None, **context_options: Any) -> Page:
        context = self.browser.new_context(**context_options)
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        page = context.new_page()
        log: list[str] = []
        self.console[page] = log

        def on_console(message: ConsoleMessage) -> None:
            log.append(message.text)
            text = message.text
            if "Content Security Policy" in text or "Content-Security-Policy" in text:
                self.problems.append(f"CSP violation: {text}")
            elif message.type == "error" and not self.expected_error(message):
                self.problems.append(f"console error: {text} ({message.location.get('url')})")

        def on_request(request: Request) -> None:
            url = request.url
            own = (self.base_url, self.base_url.replace("http", "ws", 1), "data:")
            if not url.startswith(own):
                self.problems.append(f"request to another origin: {url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", on_request)
        page.goto(url or self.base_url + "/")
        return page

    def expected_error(self, message: ConsoleMessage) -> bool:
        if message.text.startswith(NETWORK_NOISE):
            return True
        url = message.location.get("url", "")
        return message.text.startswith(REFUSED) and url.startswith(self.form_answers)

    def signed_in(self, name: str, *, new: bool = True, **context_options: Any) -> Page:
        """A page of ``name`` (registered first unless ``new`` is False), already signed in:
        the account API, called from the page's browser context, sets the session cookie."""
        page = self.new(**context_options)
        path = "/api/register" if new else "/api/login"
        response = page.context.request.post(
            self.base_url + path, data={"username": name, "password": PASSWORD}
        )
        assert response.ok, response.text()
        page.reload()
        expect(page.locator("#chat")).to_be_visible()
        expect(page.locator("#room-name")).not_to_have_text("Connecting…")
        return page

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.problems == [], self.problems


# -- what a user does -----------------------------------------------------------------------------


def sign_up(page: Page, name: str, password: str = PASSWORD) -> None:
    auth = page.locator("#auth")
    auth.get_by_role("button", name="Create account").first.click()
    auth.get_by_label("User name").fill(name)
    auth.get_by_label("Password").fill(password)
    page.locator("#auth-form").get_by_role("button", name="Create account").click()


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    auth = page.locator("#auth")
    auth.get_by_role("button", name="Sign in").first.click()
    auth.get_by_label("User name").fill(name)
    auth.get_by_label("Password").fill(password)
    page.locator("#auth-form").get_by_role("button", name="Sign in").click()


def composer(page: Page) -> Locator:
    return page.locator("#composer").get_by_role("textbox")


def send(page: Page, text: str) -> None:
    """Type a message and press Enter; lines are separated with Shift+Enter, as people do."""
    box = composer(page)
    box.click()
    for i, line in enumerate(text.split("\n")):
        if i:
            box.press("Shift+Enter")
        page.keyboard.insert_text(line)
    box.press("Enter")


def open_room(page: Page, title: str) -> None:
    """Click a room in the room list (opening the drawer first on a phone)."""
    drawer = page.locator("#open-sidebar")
    if drawer.is_visible():
        drawer.click()
    page.locator("#sidebar").get_by_role("link", name=title).first.click()
    expect(page.locator("#room-name")).to_contain_text(title)


def messages(page: Page) -> Locator:
    """The text of every message in the open room, in order."""
    return page.locator("#messages .msg .text")


def message(page: Page, text: str) -> Locator:
    """The message whose text is exactly ``text``."""
    return page.locator("#messages .msg").filter(
        has=page.locator(".text").get_by_text(text, exact=True)
    )


def save_screenshot(page: Page, tmp_path: Path, name: str, *, publish: bool = False) -> Path:
    """Save a screenshot as a test artifact; with ``PARLEY_UPDATE_SCREENSHOTS=1`` and
    ``publish``, also as ``docs/screenshot-<name>.png`` (the README's pictures)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, animations="disabled")  # drawers: their final position
    assert path.stat().st_size > 10_000, path
    if publish and os.environ.get("PARLEY_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / f"screenshot-{name}.png")
    return path


# -- another user, outside the browser ------------------------------------------------------------


class SyncChat:
    """One parley.v1 connection, signed in with a bearer token, streaming from now on."""

    _ids = itertools.count(1)

    def __init__(self, base_url: str, name: str, *, new: bool = True) -> None:
        self.name = name
        self.base_url = base_url
        self.token = register(base_url, name) if new else login(base_url, name)
        # Entered as a context manager (websockets 17.1 warns otherwise), left in close().
        self.ws = connect(
            base_url.replace("http://", "ws://", 1) + "/ws",
            subprotocols=["parley.v1"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Bearer {self.token}"},
            open_timeout=15,
        ).__enter__()
        self.inbox: list[dict[str, Any]] = []
        self.welcome = self.next("welcome")
        self.command("resume", rooms={})

    def _recv(self, deadline: float) -> dict[str, Any]:
        remaining = max(deadline - time.monotonic(), 0.01)
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=remaining))
        return message

    def next(self, type_: str, timeout: float = 20, **match: Any) -> dict[str, Any]:
        """The next message of ``type_`` (matching ``match``); others are kept in ``inbox``."""
        for i, message in enumerate(self.inbox):
            if message.get("type") == type_ and all(message.get(k) == v for k, v in match.items()):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self._recv(deadline)
            if message.get("type") == type_ and all(message.get(k) == v for k, v in match.items()):
                return message
            self.inbox.append(message)

    def command(self, type_: str, timeout: float = 20, **fields: Any) -> dict[str, Any]:
        """Send a command and return its reply; an ``error`` reply fails the test."""
        ident = f"t{next(self._ids)}"
        self.ws.send(json.dumps({"type": type_, "id": ident, **fields}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._recv(deadline)
            if message.get("re") == ident:
                assert message["type"] != "error", message
                return message
            self.inbox.append(message)

    def say(self, room: str, *texts: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Send messages (pipelined, each with its own cid); return their acks, in order."""
        cids = [uuid.uuid4().hex for _ in texts]
        for cid, text in zip(cids, texts, strict=True):
            self.ws.send(json.dumps({"type": "send", "room": room, "text": text, "cid": cid}))
        acks: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(acks) < len(cids):
            message = self._recv(deadline)
            assert message.get("type") != "error", message
            if message.get("type") == "ack":
                acks[message["cid"]] = message
            # Events, presence and typing are not needed: drop them (500 seeded messages).
        return [acks[cid] for cid in cids]

    def typing(self, room: str) -> None:
        self.ws.send(json.dumps({"type": "typing", "room": room}))

    def close(self) -> None:
        self.ws.close()


def api_logout(page: Page, base_url: str) -> None:
    """End the page's session from the outside (as signing out in another tab does)."""
    response = page.context.request.post(base_url + "/api/logout", data={})
    assert response.status == 204, response.status


__all__ = ["PASSWORD", "ChatPages", "SyncChat", "http_json"]


#: What the ``open_chat`` fixture gives: ``open_chat(server)`` opens that server's chat pages.
OpenChat = Callable[[ServerProcess], ChatPages]
