"""The tutorial's own pages, unmodified and opened from file:// as the tutorial does, against
Parley. The pages connect to ``ws://localhost:8080``; the ``tutorial_pages`` browser sends
that address to the test's server, which listens on a free port like every other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import TUTORIAL, TutorialPages
from tests.helpers.process import ServerProcess


def send_from_tutorial_client(page: Page, text: str) -> None:
    page.fill("#message", text)
    page.get_by_role("button", name="Send").click()


def test_tutorial_chat_pages_chat_through_parley_serve(
    server_factory: Callable[..., ServerProcess], tutorial_pages: TutorialPages, tmp_path: Path
) -> None:
    server = server_factory("serve")
    pages = tutorial_pages(server)
    one = pages.new((TUTORIAL / "client1.html").as_uri())
    two = pages.new((TUTORIAL / "client2.html").as_uri())
    server.wait_for_count("Client connected", 2)
    send_from_tutorial_client(one, "hello from one")
    for page in (one, two):
        expect(page.locator("#chatbox")).to_contain_text("Client 1: hello from one")
    send_from_tutorial_client(two, "and from two")
    for page in (one, two):
        expect(page.locator("#chatbox")).to_contain_text("Client 2: and from two")
    one.screenshot(path=tmp_path / "tutorial-client1.png")
    two.screenshot(path=tmp_path / "tutorial-client2.png")
    assert (tmp_path / "tutorial-client1.png").stat().st_size > 0


def test_tutorial_echo_page_against_parley_echo(
    server_factory: Callable[..., ServerProcess], tutorial_pages: TutorialPages, tmp_path: Path
) -> None:
    server = server_factory("echo")
    pages = tutorial_pages(server)
    page = pages.new((TUTORIAL / "index.html").as_uri())
    server.wait_for_count("Client connected", 1)
    with page.expect_console_message(lambda m: "We received your Hello" in m.text) as message:
        page.get_by_role("button", name="Send Message").click()
    assert message.value.text == "Message from socket server:  We received your Hello"
    page.get_by_role("button", name="Disconnect").click()
    server.wait_for_count("Client disconnected", 1)
    page.screenshot(path=tmp_path / "tutorial-echo.png")
