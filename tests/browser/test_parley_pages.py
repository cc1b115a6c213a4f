"""Parley's own pages in a real browser: the echo demo, and the chat page (``/``) against
hostile text and alongside the tutorial's plain-text clients."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.chatpage import OpenChat, SyncChat, message, messages, send
from tests.browser.conftest import TUTORIAL, TutorialPages
from tests.browser.pages import Pages
from tests.helpers.process import ServerProcess

WEB = Path(__file__).resolve().parents[2] / "src" / "parley" / "web"


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
    # A sentence, not "code 1005" (the code a close without a code arrives with).
    expect(page.locator("#status")).to_have_text("Disconnected (you closed the connection)")
    server.wait_for_count("Client disconnected", 1)
    page.get_by_role("button", name="Send Message").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("CLOSED")
    expect(page.locator("#replies li")).to_have_count(2)
    page.screenshot(path=tmp_path / "echo-demo-disconnected.png")
    # The page's own error (logged on purpose, as the tutorial's page does), and nothing else:
    # no 404 of a favicon.
    assert [error.split(" (")[0] for error in pages.console_errors] == [
        "Cannot send: the WebSocket is already in CLOSING or CLOSED state."
    ]


def test_echo_demo_page_says_why_the_server_closed_the_connection(
    server_factory: Callable[..., ServerProcess], pages: Pages
) -> None:
    server = server_factory("echo")
    page = pages.new(server.http_url + "/")
    expect(page.locator("#status")).to_have_text("connected")
    server.stop()  # closes every WebSocket with 1001 and its reason
    expect(page.locator("#status")).to_have_text(re.compile(r"^Disconnected: \w.* \(code 1001\)$"))
    assert pages.console_errors == []


@pytest.mark.parametrize("command", ["echo", "serve"])
def test_both_servers_have_a_favicon(
    server_factory: Callable[..., ServerProcess], pages: Pages, command: str
) -> None:
    """No 404 in the console (the ``pages`` fixture fails the test on any console error): the
    page links the icon, and /favicon.ico is there for whoever asks for it anyway."""
    server = server_factory(command)
    page = pages.new(server.http_url + "/")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "/static/icon.svg")
    for path in ("/static/icon.svg", "/favicon.ico"):
        response = page.request.get(server.http_url + path)
        assert response.status == 200, path
        assert response.headers["content-type"] == "image/svg+xml", path
    # The browser asked for the icon itself too (headless Chromium does): it got it.
    page.wait_for_load_state("networkidle")
    assert pages.console_errors == []


def test_hostile_text_is_shown_as_text_never_run(
    server_factory: Callable[..., ServerProcess],
    open_chat: OpenChat,
) -> None:
    server = server_factory("serve")
    victim = open_chat(server).signed_in("victim")
    mallory = SyncChat(server.http_url, "mallory")
    attacks = [
        '<img src=x onerror="window.__xss=1">',
        "<script>window.__xss=1</script>",
        '<a href="javascript:window.__xss=1">click me</a>',
        "javascript:window.__xss=1",
        "**not bold** _not italic_ &lt;not an entity&gt;",
        "see https://example.com/a?b=1&c=<b>2</b>.",
    ]
    mallory.say("lobby", *attacks)
    topic = '<img src=x onerror="window.__xss=1"> topic'
    mallory.command("topic", room="lobby", topic=topic)

    # Markdown is formatting, drawn as elements; everything else is the characters sent.
    shown = [text.replace("**", "").replace("_not italic_", "not italic") for text in attacks]
    expect(messages(victim)).to_have_text(shown)
    expect(victim.locator("#messages strong")).to_have_text("not bold")
    expect(victim.locator("#messages em")).to_have_text("not italic")
    expect(victim.locator("#room-topic")).to_have_text(topic)
    expect(victim.locator("#messages .notice").last).to_have_text(re.compile(re.escape(topic)))
    assert victim.locator("#chat img, #chat script, #chat iframe").count() == 0
    assert victim.evaluate("window.__xss") is None
    # Only the http(s) URL became a link, up to where the URL ends; no HTML became markup.
    links = victim.locator("#messages a")
    expect(links).to_have_count(1)
    expect(links).to_have_text("https://example.com/a?b=1&c=")
    expect(links).to_have_attribute("href", "https://example.com/a?b=1&c=")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("target", "_blank")
    mallory.close()

    # The page and its scripts come with the strict policy (no inline script, no eval).
    for path in ("/", "/static/app.js", "/static/app.css"):
        response = victim.request.get(server.http_url + path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy, policy
        assert "default-src 'none'" in policy, policy
        assert "unsafe" not in policy, policy


def test_parley_page_and_tutorial_page_chat_together_in_the_lobby(
    server_factory: Callable[..., ServerProcess],
    open_chat: OpenChat,
    tutorial_pages: TutorialPages,
) -> None:
    server = server_factory("serve")
    alice = open_chat(server).signed_in("alice")
    tutorial_page = tutorial_pages(server).new((TUTORIAL / "client1.html").as_uri())
    server.wait_for_count("Client connected", 1)
    send(alice, "hello tutorial")
    expect(tutorial_page.locator("#chatbox")).to_contain_text("alice: hello tutorial")
    tutorial_page.fill("#message", "hello parley")
    tutorial_page.get_by_role("button", name="Send").click()
    from_guest = message(alice, "Client 1: hello parley")
    expect(from_guest).to_be_visible()
    expect(from_guest.locator(".author")).to_have_text(re.compile(r"^guest-[0-9a-f]{4}$"))
    expect(from_guest.locator(".tag")).to_have_text("guest")
    expect(messages(alice)).to_have_text(["hello tutorial", "Client 1: hello parley"])


FORBIDDEN = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b"
    r"|setTimeout\(\s*[\"'`]|setInterval\(\s*[\"'`]|createContextualFragment|DOMParser"
)


def test_client_code_never_parses_html_and_loads_nothing_from_elsewhere() -> None:
    """A grep over the served files: text is only ever set as text, and there is no inline
    script or style, no CDN, no web font from another origin."""
    scripts = sorted(WEB.rglob("*.js"))
    assert len(scripts) > 5, scripts
    for path in scripts:
        source = path.read_text()
        found = FORBIDDEN.findall(source)
        assert found == [], f"{path.name}: {found}"
        assert not re.search(r"(from\s+|import\s*\(\s*)[\"'](https?:)?//", source), path.name
    for path in [*WEB.glob("*.html"), *WEB.glob("*.css")]:
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script: {path.name}"
        assert not re.search(r"\sstyle\s*=", text), f"inline style: {path.name}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline handler: {path.name}"
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), path.name
        assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", text), path.name
