"""Cross-site WebSocket hijacking, tried for real: a page from another origin, in a browser
that holds a valid session cookie for Parley, cannot open a signed-in WebSocket.

Cookies are per host, not per port, and SameSite treats other ports of the same host as the
same site: the browser *does* send Parley's session cookie with the attacker's handshake.
Only the server's Origin check stops it, which is what this test proves.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser

from tests.helpers.process import ServerProcess

OPEN_SOCKET = """
(url) => new Promise((resolve) => {
  const socket = new WebSocket(url, "parley.v1");
  socket.onmessage = (event) => {
    resolve({opened: true, first: JSON.parse(event.data).type});
    socket.close();
  };
  socket.onclose = (event) => resolve({opened: false, code: event.code});
})
"""


def test_a_cross_origin_page_cannot_open_a_signed_in_websocket(
    server_factory: Callable[..., ServerProcess], browser: Browser, other_origin: str
) -> None:
    server = server_factory("serve")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.http_url + "/")
        status = page.evaluate(
            """async () => (await fetch("/api/register", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({username: "victim", password: "correct horse battery"})
            })).status"""
        )
        assert status == 201
        ws_url = server.ws_url + "/ws"
        # The victim's own page: the cookie authenticates the socket.
        assert page.evaluate(OPEN_SOCKET, ws_url) == {"opened": True, "first": "welcome"}
        # The attacker's page, same browser, same cookie jar: refused at the handshake.
        page.goto(other_origin)
        cookies = {c["name"] for c in context.cookies(server.http_url)}
        assert "parley_session" in cookies  # the browser would send it ...
        result = page.evaluate(OPEN_SOCKET, ws_url)
        assert result["opened"] is False  # ... and the server refuses it all the same
        assert result["code"] == 1006
        # The log line may reach the test's reader a moment after the browser saw the refusal.
        server.wait_for_count("refused a cross-origin WebSocket", 1)
        assert server.count("refused a cross-origin WebSocket") == 1
    finally:
        context.close()
