"""The session cookie in a real browser: a page on another port of the same site cannot sign
the user out, and over TLS the cookie is ``__Host-parley_session`` with the browser client
working as over plain HTTP (sign up, reload, chat, sign out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chatpage import ChatPages, OpenChat, send, sign_in, sign_up
from tests.helpers.process import ServerProcess
from tests.helpers.tls import Certificate, issue_certificate

#: What a page of another origin can send to Parley without asking (no CORS preflight), and
#: what it cannot. ``credentials: "include"``: the browser attaches Parley's cookie, which it
#: does (cookies are per host, and another port of the same host is the same site).
ATTACK = """
async (target) => {
  const simple = await fetch(target, {
    method: "POST", mode: "no-cors", credentials: "include",
    headers: {"Content-Type": "text/plain"}, body: "{}",
  }).then(() => "sent", (error) => String(error));
  const json = await fetch(target, {
    method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: "{}",
  }).then((r) => "answered " + r.status, () => "blocked");
  return {simple, json};
}
"""


def test_a_page_on_another_port_cannot_sign_the_user_out(
    server_factory: Callable[..., ServerProcess], open_chat: OpenChat, other_origin: str
) -> None:
    server = server_factory("serve")
    page = open_chat(server).new()
    sign_up(page, "victim")
    expect(page.locator("#me-name")).to_have_text("victim")
    cookies = {c["name"] for c in page.context.cookies(server.http_url)}
    assert cookies == {"parley_session"}  # plain HTTP: no __Host- prefix possible

    attacker = page.context.new_page()
    attacker.goto(other_origin)
    result = attacker.evaluate(ATTACK, server.http_url + "/api/logout")
    # The simple request reached the server with the cookie (the browser does not stop it) ...
    assert result["simple"] == "sent"
    # ... and the JSON one never left the browser without the server's CORS approval.
    assert result["json"] == "blocked"
    attacker.close()

    # The victim is still signed in: the page survives a reload and chats.
    page.reload()
    expect(page.locator("#me-name")).to_have_text("victim")
    expect(page.locator("#me-status")).to_have_text("online")
    send(page, "still here")
    expect(page.locator("#messages .msg .text").last).to_have_text("still here")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return issue_certificate(tmp_path_factory.mktemp("tls"))


def test_over_tls_the_browser_client_works_with_a_host_only_cookie(
    server_factory: Callable[..., ServerProcess],
    browser: Browser,
    certificate: Certificate,
    tmp_path: Path,
) -> None:
    server = server_factory(
        "serve", "--certfile", str(certificate.certfile), "--keyfile", str(certificate.keyfile)
    )
    base = f"https://127.0.0.1:{server.port}"
    chat = ChatPages(browser, base)
    try:
        # The test's CA is not in Chromium's store: the context accepts the certificate, and the
        # page is a secure context all the same (which __Host- cookies need).
        page = chat.new(ignore_https_errors=True)
        assert page.evaluate("window.isSecureContext")
        sign_up(page, "tls-user")
        expect(page.locator("#me-name")).to_have_text("tls-user")
        expect(page.locator("#me-status")).to_have_text("online")  # wss:// with the cookie
        [cookie] = page.context.cookies(base)
        assert cookie["name"] == "__Host-parley_session"
        assert (cookie["secure"], cookie["httpOnly"], cookie["path"]) == (True, True, "/")
        assert cookie["sameSite"] == "Strict"
        assert cookie["domain"] == "127.0.0.1"  # host-only

        page.reload()
        expect(page.locator("#me-status")).to_have_text("online")
        send(page, "over TLS")
        expect(page.locator("#messages .msg .text").last).to_have_text("over TLS")

        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#auth-lead")).to_have_text("You have signed out.")
        assert page.context.cookies(base) == []
        page.reload()
        expect(page.locator("#auth")).to_be_visible()  # the session ended on the server too
        sign_in(page, "tls-user")
        expect(page.locator("#me-status")).to_have_text("online")
        chat.check()
    finally:
        chat.close()
