"""Room roles and moderation over parley.v1, against a real server: ``role``, ``kick``,
``ban``, ``unban``, ``mute``, ``unmute`` and ``room_settings``, their events with ``by``, the
removed user's connections dropping the room at once, and the refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]
HOUR = 3600 * 1000


def now_ms() -> int:
    return int(time.time() * 1000)


async def room_with(connect: Connect, *names: str) -> list[Chat]:
    """``root`` (the first account: a server admin) then the named users; the first named one
    creates room ``club`` (its owner) and the others join it."""
    await connect("root")
    chats = [await connect(name) for name in names]
    assert (await chats[0].command("create", room="club"))["type"] == "ok"
    for chat in chats[1:]:
        assert (await chat.command("join", room="club"))["type"] == "ok"
    return chats


async def events_until_marker(chat: Chat, marker: str) -> list[dict[str, Any]]:
    """Everything ``chat`` receives up to the lobby message ``marker``."""
    got = []
    while True:
        message = await chat.next()
        got.append(message)
        if message.get("type") == "event" and message.get("text") == marker:
            return got


async def test_an_owner_names_a_moderator_who_kicks_and_the_kicked_stop_at_once(
    connect: Connect,
) -> None:
    owner, mod, dave = await room_with(connect, "owner", "mod", "dave")
    dave_again = await connect("dave")  # a second tab
    reply = await owner.command("role", room="club", user="MOD", role="moderator")
    assert reply["type"] == "ok"
    role = await dave.next("event", kind="role")
    assert (role["user"], role["by"], role["text"], role["seq"]) == (
        "mod",
        "owner",
        "moderator",
        reply["seq"],
    )
    kicked = await mod.command("kick", room="club", user="dave")
    assert kicked["type"] == "ok"
    for chat in (dave, dave_again):
        event = await chat.next("event", kind="kick")
        assert (event["user"], event["by"], event["seq"]) == ("dave", "mod", kicked["seq"])
        changed = await chat.next("room")
        assert changed["room"]["name"] == "club"
        assert changed["room"]["member"] is False
    await owner.command("send", room="club", text="not for dave")
    await owner.command("send", room="lobby", text="marker-1")
    for chat in (dave, dave_again):
        seen = await events_until_marker(chat, "marker-1")
        assert not [m for m in seen if m.get("room") == "club"], seen
    refused = await dave.command("send", room="club", text="still here?")
    assert refused["code"] == "forbidden"
    # A kick is not a ban: dave may come back.
    assert (await dave.command("join", room="club"))["type"] == "ok"


async def test_a_ban_keeps_the_user_out_of_joins_and_invitations_until_lifted(
    connect: Connect,
) -> None:
    owner, carol, dave = await room_with(connect, "owner", "carol", "dave")
    reply = await owner.command("ban", room="club", user="dave")
    assert reply["type"] == "ok"
    event = await dave.next("event", kind="ban")
    assert (event["by"], "until" in event) == ("owner", False)
    assert (await dave.next("room"))["room"]["member"] is False
    refused = await dave.command("join", room="club")
    assert refused["code"] == "banned"
    invited = await carol.command("invite", room="club", user="dave")
    assert invited["code"] == "banned"
    assert "dave is banned" in invited["message"]
    until = now_ms() + HOUR
    assert (await owner.command("unban", room="club", user="dave"))["type"] == "ok"
    nothing = await owner.command("unban", room="club", user="dave")
    assert (nothing["type"], "seq" in nothing) == ("ok", False)  # no ban left: no event
    assert (await dave.command("join", room="club"))["type"] == "ok"
    timed = await owner.command("ban", room="club", user="dave", until=until)
    assert timed["type"] == "ok"
    assert (await carol.next("event", kind="ban", seq=timed["seq"]))["until"] == until


async def test_a_muted_member_cannot_post_until_unmuted(connect: Connect) -> None:
    owner, carol = await room_with(connect, "owner", "carol")
    until = now_ms() + HOUR
    assert (await owner.command("mute", room="club", user="carol", until=until))["type"] == "ok"
    event = await carol.next("event", kind="mute")
    assert (event["user"], event["by"], event["until"]) == ("carol", "owner", until)
    refused = await carol.command("send", room="club", text="let me talk")
    assert (refused["code"], "muted" in refused["message"]) == ("muted", True)
    assert (await owner.command("unmute", room="club", user="carol"))["type"] == "ok"
    assert (await carol.command("send", room="club", text="thanks"))["type"] == "ack"


async def test_an_announcement_room_and_its_settings(connect: Connect) -> None:
    owner, mod, carol = await room_with(connect, "owner", "mod", "carol")
    await owner.command("role", room="club", user="mod", role="moderator")
    asked = await carol.command("room_settings", room="club")
    assert asked == {
        "type": "room_settings",
        "re": asked["re"],
        "room": "club",
        "settings": {"post": "members", "invite": "members", "topic": "members", "pin": "members"},
        "role": "member",
        "roles": [{"user": "mod", "role": "moderator"}, {"user": "owner", "role": "owner"}],
    }
    changed = await owner.command(
        "room_settings", room="club", post="moderators", invite="moderators"
    )
    assert changed["type"] == "ok"
    event = await carol.next("event", kind="settings")
    assert event["settings"] == {
        "post": "moderators",
        "invite": "moderators",
        "topic": "members",
        "pin": "members",
    }
    assert "text" not in event
    refused = await carol.command("send", room="club", text="may I?")
    assert refused["code"] == "forbidden"
    assert "only its moderators may post" in refused["message"]
    assert (await mod.command("send", room="club", text="news"))["type"] == "ack"
    await connect("eve")
    assert (await carol.command("invite", room="club", user="eve"))["code"] == "forbidden"
    assert (await mod.command("invite", room="club", user="eve"))["type"] == "ok"
    assert (await mod.command("room_settings", room="club", post="members"))["code"] == "forbidden"
    same = await owner.command("room_settings", room="club", post="moderators")
    assert (same["type"], "seq" in same) == ("ok", False)  # nothing changed: no event


async def test_moderators_delete_anyones_message_members_do_not(connect: Connect) -> None:
    owner, mod, carol = await room_with(connect, "owner", "mod", "carol")
    said = await carol.command("send", room="club", text="oops")
    refused = await mod.command("delete", room="club", mid=said["mid"])
    assert refused["code"] == "forbidden"
    await owner.command("role", room="club", user="mod", role="moderator")
    assert (await mod.command("delete", room="club", mid=said["mid"]))["type"] == "ok"
    assert (await carol.next("event", kind="delete"))["user"] == "mod"


async def test_bad_moderation_requests_are_refused_clearly(connect: Connect) -> None:
    owner, mod, carol = await room_with(connect, "owner", "mod", "carol")
    await owner.command("role", room="club", user="mod", role="moderator")
    await connect("stranger")
    cases: list[tuple[Chat, dict[str, Any], str, str]] = [
        (mod, {"type": "kick", "user": "mod"}, "forbidden", "yourself"),
        (mod, {"type": "kick", "user": "owner"}, "forbidden", "room owner"),
        (mod, {"type": "role", "user": "owner", "role": "member"}, "forbidden", "owners"),
        (owner, {"type": "role", "user": "owner", "role": "member"}, "forbidden", "yourself"),
        (carol, {"type": "kick", "user": "mod"}, "forbidden", "moderators"),
        (owner, {"type": "kick", "user": "nobody"}, "not_found", "no user named"),
        (owner, {"type": "kick", "user": "stranger"}, "not_found", "not a member"),
        (owner, {"type": "mute", "user": "stranger", "until": now_ms() + HOUR}, "not_found", ""),
        (owner, {"type": "mute", "user": "carol", "until": now_ms() - 1}, "bad_request", "past"),
        (owner, {"type": "mute", "user": "carol", "until": 2**53}, "bad_request", "too far"),
        (owner, {"type": "ban", "user": "carol", "until": 2**60}, "bad_request", ""),
        (owner, {"type": "mute", "user": "carol"}, "bad_request", "until"),
        (owner, {"type": "ban", "user": "carol", "until": "soon"}, "bad_request", ""),
        (owner, {"type": "role", "user": "carol", "role": "god"}, "bad_request", ""),
        (owner, {"type": "role", "user": "x" * 500, "role": "member"}, "bad_request", ""),
        (owner, {"type": "room_settings", "post": "anyone"}, "bad_request", ""),
        (carol, {"type": "kick", "room": "lobby", "user": "mod"}, "forbidden", ""),
        (carol, {"type": "kick", "room": "secret-place", "user": "mod"}, "forbidden", ""),
    ]
    for chat, fields, code, words in cases:
        fields = {"room": "club", **fields}
        type_ = fields.pop("type")
        reply = await chat.command(type_, **fields)
        assert reply["type"] == "error", (fields, reply)
        assert reply["code"] == code, (fields, reply)
        assert words in reply["message"], (fields, reply)
    # A ban of a user who is not a member is allowed: kept out before they come.
    assert (await owner.command("ban", room="club", user="stranger"))["type"] == "ok"
    # The server admin can act in any room, even one without an owner.
    root = await connect("root")
    assert (await root.command("kick", room="lobby", user="carol"))["type"] == "ok"
    assert (await root.command("kick", room="club", user="owner"))["type"] == "ok"


async def test_an_announcement_lobby_closes_a_guest_who_posts_with_a_clear_reason(
    server: ServerProcess, connect: Connect
) -> None:
    root = await connect("root")  # the first account: a server admin, the lobby has no owner
    reply = await root.command("room_settings", room="lobby", post="moderators")
    assert reply["type"] == "ok"
    guest = await ws_connect(server.ws_url + "/")
    await guest.send("may I?")
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(guest.recv(), 10)
    assert guest.close_code == 1008
    assert guest.close_reason == "only moderators may post in the lobby"
    assert (await root.command("send", room="lobby", text="news"))["type"] == "ack"
