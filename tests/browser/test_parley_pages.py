"""Parley's own pages in a real browser: the echo demo and the simple chat page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import TUTORIAL, Pages
from tests.helpers.process import ServerProcess


def test_echo_demo_page_shows_replies_and_the_error_after_disconnect(
    server_factory: Callable[..., ServerProcess], pages: Pages, tmp_path: Path
) -> None:
    server = server_factory("echo")
    page = pages.new(server.http_url + "/")
    expect(page.locator("#status")).to_have_text("connected")
    page.get_by_role("button", name="Send Message").click()
    expect(page.locator("#replies li")).to_have_text(["We received your Hello"])
    assert "Message from socket server:  We received your Hello" in pages.console[page]
    page.get_by_role("button", name="Send Message").click()
    expect(page.locator("#replies li")).to_have_count(2)
    page.screenshot(path=tmp_path / "echo-demo.png")

    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#status")).to_contain_text("disconnected")
    server.wait_for_count("Client disconnected", 1)
    page.get_by_role("button", name="Send Message").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("CLOSED")
    expect(page.locator("#replies li")).to_have_count(2)
    page.screenshot(path=tmp_path / "echo-demo-disconnected.png")


def join(page: Page, name: str) -> None:
    expect(page.locator("#status")).to_have_text("connected")
    page.fill("#name", name)


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_two_browser_pages_chat_through_parley_serve(
    server_factory: Callable[..., ServerProcess], pages: Pages, tmp_path: Path
) -> None:
    server = server_factory("serve")
    alice = pages.new(server.http_url + "/")
    bob = pages.new(server.http_url + "/")
    join(alice, "alice")
    join(bob, "bob")
    say(alice, "hi bob")
    say(bob, "hello alice")
    for page in (alice, bob):
        expect(page.locator("#messages li")).to_have_text(["alice: hi bob", "bob: hello alice"])
    expect(alice.locator("#text")).to_have_value("")
    alice.screenshot(path=tmp_path / "chat-alice.png")
    bob.screenshot(path=tmp_path / "chat-bob.png")


def test_hostile_text_is_shown_as_text_never_run(
    server_factory: Callable[..., ServerProcess], pages: Pages
) -> None:
    server = server_factory("serve")
    mallory = pages.new(server.http_url + "/")
    victim = pages.new(server.http_url + "/")
    join(mallory, "mallory")
    join(victim, "victim")
    attacks = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"]
    for attack in attacks:
        say(mallory, attack)
    expect(victim.locator("#messages li")).to_have_text([f"mallory: {a}" for a in attacks])
    assert victim.locator("#messages img, #messages script").count() == 0
    assert victim.evaluate("window.__xss") is None


def test_parley_page_and_tutorial_page_chat_together(
    server_factory: Callable[..., ServerProcess], pages: Pages
) -> None:
    server = server_factory("serve", "--port", "8080")
    parley_page = pages.new(server.http_url + "/")
    tutorial_page = pages.new((TUTORIAL / "client1.html").as_uri())
    join(parley_page, "alice")
    server.wait_for_count("Client connected", 2)
    say(parley_page, "hello tutorial")
    expect(tutorial_page.locator("#chatbox")).to_contain_text("alice: hello tutorial")
    tutorial_page.fill("#message", "hello parley")
    tutorial_page.get_by_role("button", name="Send").click()
    expect(parley_page.locator("#messages li").last).to_have_text("Client 1: hello parley")
