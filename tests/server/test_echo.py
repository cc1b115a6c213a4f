"""``parley echo``: the tutorial's index.js, observed from outside with a real client."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Callable

from websockets.asyncio.client import connect

from tests.helpers.process import ServerProcess


async def test_prints_the_tutorial_lines(echo_server: ServerProcess) -> None:
    assert f"socket initialized on port {echo_server.port}" in echo_server.lines[0]
    async with connect(echo_server.ws_url):
        echo_server.wait_for_count("Client connected", 1)
    echo_server.wait_for_count("Client disconnected", 1)


async def test_text_reply(echo_server: ServerProcess) -> None:
    async with connect(echo_server.ws_url) as ws:
        await ws.send("Hello")
        assert await ws.recv() == "We received your Hello"
        await ws.send("")
        assert await ws.recv() == "We received your "
        await ws.send("ünïcødé ✓")
        assert await ws.recv() == "We received your ünïcødé ✓"


async def test_binary_reply_is_binary(echo_server: ServerProcess) -> None:
    async with connect(echo_server.ws_url) as ws:
        await ws.send(b"\x00\xffdata")
        reply = await ws.recv()
        assert reply == b"We received your \x00\xffdata"


async def test_any_path_upgrades_like_the_ws_library(echo_server: ServerProcess) -> None:
    async with connect(echo_server.ws_url + "/some/path?x=1") as ws:
        await ws.send("x")
        assert await ws.recv() == "We received your x"


async def test_large_message_and_many_messages_in_order(echo_server: ServerProcess) -> None:
    async with connect(echo_server.ws_url) as ws:
        big = "y" * 60_000
        await ws.send(big)
        assert await ws.recv() == "We received your " + big
        for i in range(200):
            await ws.send(str(i))
        for i in range(200):
            assert await ws.recv() == f"We received your {i}"


async def test_verbatim_mode_echoes_unchanged_and_same_type(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("echo", "--verbatim")
    async with connect(server.ws_url) as ws:
        await ws.send("Hello")
        assert await ws.recv() == "Hello"
        await ws.send(b"\x01\x02")
        assert await ws.recv() == b"\x01\x02"
        await ws.send("")
        assert await ws.recv() == ""


async def test_ping_gets_a_pong(echo_server: ServerProcess) -> None:
    async with connect(echo_server.ws_url) as ws:
        latency = await (await ws.ping(b"are you there"))
        assert latency >= 0


def test_demo_page_is_served(echo_server: ServerProcess) -> None:
    with urllib.request.urlopen(echo_server.http_url + "/") as response:
        body = response.read().decode()
        assert response.status == 200
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Send Message" in body
    assert "Disconnect" in body


def test_help_explains_how_to_listen_on_all_interfaces() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "parley", "echo", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "0.0.0.0" in out
    assert "8080" in out
    assert "--verbatim" in out


async def test_close_code_is_echoed(echo_server: ServerProcess) -> None:
    ws = await connect(echo_server.ws_url)
    await ws.close(code=4321, reason="done")
    assert ws.close_code == 4321
    assert ws.protocol.close_rcvd is not None
    assert ws.protocol.close_rcvd.code == 4321
