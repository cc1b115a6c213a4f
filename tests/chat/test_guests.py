"""The tutorial's plain-text clients are guests in the lobby and chat with parley.v1 users."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


async def test_guests_and_users_chat_in_the_lobby(server: ServerProcess, connect: Connect) -> None:
    alice = await connect("alice")
    guest = await ws_connect(server.ws_url + "/")
    other_guest = await ws_connect(server.ws_url + "/")
    await asyncio.sleep(0.2)
    await guest.send("Client 1: hello")
    for ws in (guest, other_guest):
        assert await asyncio.wait_for(ws.recv(), 5) == "Client 1: hello"  # verbatim, sender too
    event = await alice.next("event", kind="message")
    assert event["text"] == "Client 1: hello"
    assert event["user"].startswith("guest-")
    hi = await alice.command("send", room="lobby", text="hi guests", cid="a1")
    for ws in (guest, other_guest):
        assert await asyncio.wait_for(ws.recv(), 5) == "alice: hi guests"
    # Edits are not shown to guests: they only ever see messages.
    assert (await alice.command("edit", room="lobby", mid=hi["mid"], text="changed"))[
        "type"
    ] == "ok"
    await alice.command("send", room="lobby", text="next", cid="a2")
    for ws in (guest, other_guest):
        assert await asyncio.wait_for(ws.recv(), 5) == "alice: next"
    await guest.close()
    await other_guest.close()


async def test_guest_messages_are_kept_in_the_lobby_history(
    server: ServerProcess, connect: Connect
) -> None:
    guest = await ws_connect(server.ws_url + "/")
    await guest.send("remember me")
    assert await asyncio.wait_for(guest.recv(), 5) == "remember me"
    await guest.close()
    alice = await connect("alice")
    history = await alice.command("history", room="lobby")
    assert "remember me" in [e.get("text") for e in history["events"]]


async def test_guests_can_be_switched_off(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("serve", "--guests", "off")
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(server.ws_url + "/")
    assert info.value.response.status_code == 403
