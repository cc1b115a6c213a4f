"""Edge cases found while documenting the protocol, each pinned by a test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


async def test_a_client_gone_right_after_auth_is_not_left_online(
    server: ServerProcess, connect: Connect
) -> None:
    watcher = await connect("watcher")
    token = register(server.http_url, "ghost")
    for _ in range(5):
        chat = await Chat.connect(server.ws_url, welcome=False)
        await chat.send_raw({"type": "auth", "token": token})
        chat.ws.transport.abort()  # gone before (or while) the welcome is prepared
    await asyncio.sleep(1.0)
    who = await watcher.command("who", room="lobby")
    assert "ghost" not in who["online"]


async def test_a_bad_frame_while_authenticating_is_only_an_error(server: ServerProcess) -> None:
    token = register(server.http_url, "hasty")
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw({"type": "auth", "token": token})
    await chat.send_raw("not json")
    assert (await chat.next("error"))["code"] == "bad_request"
    assert (await chat.next("welcome"))["user"]["name"] == "hasty"
    assert (await chat.command("ping"))["type"] == "pong"
    await chat.close()


async def test_a_cid_reused_in_another_room_is_a_conflict(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.command("create", room="other")
    first = await alice.command("send", room="lobby", text="one", cid="dup")
    assert first["type"] == "ack"
    reused = await alice.command("send", room="other", text="two", cid="dup")
    assert reused["type"] == "error"
    assert reused["code"] == "conflict"
    again = await alice.command("send", room="lobby", text="one", cid="dup")
    assert again["seq"] == first["seq"]


async def test_direct_room_members_are_display_names_everywhere(connect: Connect) -> None:
    alice, dave = await connect("Alice"), await connect("Dave")
    opened = await alice.command("dm", user="dave")
    assert opened["room"]["members"] == ["Alice", "Dave"]
    notice = await dave.next("room")
    assert notice["room"]["members"] == ["Alice", "Dave"]
    rooms = await dave.command("rooms")
    direct = next(r for r in rooms["rooms"] if r["kind"] == "direct")
    assert direct["members"] == ["Alice", "Dave"]


async def test_history_reply_shape(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.send_raw({"type": "history", "room": "lobby"})
    reply = await alice.next("history")
    assert "re" not in reply  # no id, no re
    assert reply["more"] is False  # always present
