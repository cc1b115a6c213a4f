"""``parley serve`` in the tutorial's plain-text mode (app.js): verbatim broadcast to everyone."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.helpers.process import ServerProcess


async def test_every_message_reaches_every_client_including_the_sender(
    chat_server: ServerProcess,
) -> None:
    clients = [await connect(chat_server.ws_url + "/") for _ in range(3)]
    try:
        await clients[0].send("Client 1: hello")
        for ws in clients:
            assert await asyncio.wait_for(ws.recv(), 5) == "Client 1: hello"
    finally:
        for ws in clients:
            await ws.close()


async def test_ws_path_without_subprotocol_is_plain_text_too(chat_server: ServerProcess) -> None:
    async with connect(chat_server.ws_url + "/ws") as a, connect(chat_server.ws_url + "/") as b:
        await a.send("from /ws")
        assert await b.recv() == "from /ws"
        assert await a.recv() == "from /ws"


async def test_text_is_delivered_verbatim(chat_server: ServerProcess) -> None:
    tricky = '<img src=x onerror="alert(1)"> {"type":"send"}\n\ttabs ✓ \u200d\u200f'
    async with connect(chat_server.ws_url) as a, connect(chat_server.ws_url) as b:
        await a.send(tricky)
        assert await b.recv() == tricky
        assert await a.recv() == tricky


@pytest.mark.parametrize(
    "bad", ["bell \u0007", "clear \x1b[2J", "cr\r\n", "c1 \x85", "\u202eevil", "\ufeffbom"]
)
async def test_text_breaking_the_text_policy_closes_the_guest_with_1007(
    chat_server: ServerProcess, bad: str
) -> None:
    async with connect(chat_server.ws_url) as a, connect(chat_server.ws_url) as b:
        await a.send(bad)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(a.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1007
        assert "must not contain U+" in closed.value.rcvd.reason
        # Nothing reached anyone else, and the others keep chatting.
        await b.send("still here")
        assert await asyncio.wait_for(b.recv(), 5) == "still here"


async def test_everyone_sees_one_order(chat_server: ServerProcess) -> None:
    """Messages from several senders arrive in the same order at every client, each sender's
    own messages in the order it sent them."""
    clients = [await connect(chat_server.ws_url) for _ in range(4)]
    per_sender = 50

    async def send_all(index: int) -> None:
        for i in range(per_sender):
            await clients[index].send(f"{index}:{i}")

    await asyncio.gather(*(send_all(i) for i in range(4)))
    received = []
    for ws in clients:
        received.append([await asyncio.wait_for(ws.recv(), 5) for _ in range(4 * per_sender)])
    assert all(r == received[0] for r in received)
    for index in range(4):
        mine = [m for m in received[0] if m.startswith(f"{index}:")]
        assert mine == [f"{index}:{i}" for i in range(per_sender)]
    for ws in clients:
        await ws.close()


async def test_an_abrupt_disconnect_does_not_disturb_the_others(chat_server: ServerProcess) -> None:
    a = await connect(chat_server.ws_url)
    b = await connect(chat_server.ws_url)
    doomed = await connect(chat_server.ws_url)
    doomed.transport.abort()  # no close frame
    await a.send("still here")
    assert await b.recv() == "still here"
    assert await a.recv() == "still here"
    chat_server.wait_for_count("Client disconnected", 1)
    await a.close()
    await b.close()


def test_index_page_is_the_chat_page_with_a_strict_policy(chat_server: ServerProcess) -> None:
    with urllib.request.urlopen(chat_server.http_url + "/") as response:
        body = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert 'id="messages"' in body
    assert "<script>" not in body  # no inline script
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


async def test_healthz(chat_server: ServerProcess) -> None:
    async with connect(chat_server.ws_url):
        with urllib.request.urlopen(chat_server.http_url + "/healthz") as response:
            assert response.status == 200
            body = json.loads(response.read())
    # What anyone may see (details need the metrics token: tests/server/test_operator_access.py).
    assert body == {"status": "ok", "database": "ok", "broker": "ok", "presence": "ok"}
