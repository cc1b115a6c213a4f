"""DNS rebinding, tried with a real browser: a name that resolves to the machine running
Parley (Chromium's host resolver rules play the attacker's DNS) gets neither the page nor a
WebSocket, while ``localhost`` and 127.0.0.1 still work."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Playwright

from tests.browser.conftest import launch
from tests.helpers.process import ServerProcess

PLAIN_SOCKET = """
(url) => new Promise((resolve) => {
  const socket = new WebSocket(url);
  socket.onopen = () => { resolve("open"); socket.close(); };
  socket.onerror = () => resolve("refused");
})
"""


def test_a_rebound_name_gets_nothing_from_a_local_server(
    server_factory: Callable[..., ServerProcess], playwright: Playwright
) -> None:
    server = server_factory("serve")
    rules = "MAP evil.example 127.0.0.1, MAP localhost 127.0.0.1"
    browser = launch(playwright, f"--host-resolver-rules={rules}")
    try:
        page = browser.new_page()
        response = page.goto(f"http://evil.example:{server.port}/")
        assert response is not None
        assert response.status == 421
        assert "does not answer for that host name" in page.content()
        # Even a plain-text guest socket (no credentials) is refused under that name.
        assert page.evaluate(PLAIN_SOCKET, f"ws://evil.example:{server.port}/") == "refused"
        # The names that cannot be rebound are served.
        for base in (f"http://localhost:{server.port}", server.http_url):
            response = page.goto(base + "/")
            assert response is not None
            assert response.status == 200
            ws_url = base.replace("http", "ws", 1) + "/"
            assert page.evaluate(PLAIN_SOCKET, ws_url) == "open"
    finally:
        browser.close()
