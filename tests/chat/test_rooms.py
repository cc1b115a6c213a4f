"""Rooms: the lobby, public and private rooms, invitations, direct messages, membership."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.helpers.chat import Chat

Connect = Callable[..., Awaitable[Chat]]


async def test_welcome_lists_the_lobby(connect: Connect) -> None:
    alice = await connect("alice")
    names = {room["name"]: room for room in alice.welcome["rooms"]}
    assert "lobby" in names
    assert names["lobby"]["kind"] == "public"


async def test_create_join_and_chat_in_a_public_room(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    created = await alice.command("create", room="Dev", topic="all things dev")
    assert created["type"] == "ok"
    assert created["room"]["name"] == "Dev"
    assert created["room"]["member"] is True
    joined = await bob.command("join", room="dev")  # case-insensitive
    assert joined["room"]["name"] == "Dev"
    assert "alice" in joined["online"]
    await bob.command("send", room="dev", text="hello", cid="b1")
    event = await alice.next("event", kind="message")
    assert (event["room"], event["user"], event["text"]) == ("Dev", "bob", "hello")


async def test_room_names_are_validated_and_unique(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.command("create", room="music")
    taken = await alice.command("create", room="MUSIC")
    assert taken["code"] == "conflict"
    for bad in ["", "bad name", "x" * 41, "-x", "dm:a:b", "émoji"]:
        reply = await alice.command("create", room=bad)
        assert reply["code"] == "bad_request", bad


async def test_private_rooms_are_invisible_to_outsiders(connect: Connect) -> None:
    alice, mallory = await connect("alice"), await connect("mallory")
    await alice.command("create", room="secret", private=True)
    await alice.command("send", room="secret", text="the plan", cid="s1")
    missing_room = await mallory.command("join", room="no-such-room")
    for reply in [
        await mallory.command("join", room="secret"),
        await mallory.command("send", room="secret", text="hi", cid="m1"),
        await mallory.command("history", room="secret"),
        await mallory.command("who", room="secret"),
    ]:
        assert reply["type"] == "error"
        assert reply["code"] == "forbidden"
    # The same answer whether the private room exists or not.
    assert missing_room["code"] == "forbidden"
    assert missing_room["message"].replace("no-such-room", "secret") == reply["message"]
    rooms = await mallory.command("rooms")
    assert "secret" not in {room["name"] for room in rooms["rooms"]}


async def test_invite_into_a_private_room(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="team", private=True)
    await alice.command("send", room="team", text="before bob", cid="b0")
    reply = await alice.command("invite", room="team", user="Bob")
    assert reply["type"] == "ok"
    notice = await bob.next("room")
    assert notice["room"]["name"] == "team"
    assert notice["room"]["member"] is True
    assert notice["room"]["unread"] == 0
    # The stream starts with bob's own join, which says who invited him (the browser's
    # "alice added you to #team").
    join_event = await bob.next("event", room="team", kind="join")
    assert (join_event["user"], join_event["by"]) == ("bob", "alice")
    assert join_event["seq"] == notice["room"]["seq"] + 1
    # What was said before the invitation is history, not unread; what comes after is.
    await alice.command("send", room="team", text="welcome", cid="b1")
    await bob.next("event", room="team", kind="message")
    again = await connect("bob")
    team = next(room for room in again.welcome["rooms"] if room["name"] == "team")
    assert team["unread"] == 1
    await bob.command("send", room="team", text="thanks", cid="t1")
    assert (await alice.next("event", room="team", kind="message", user="bob"))["text"] == "thanks"
    assert (await alice.command("invite", room="team", user="nobody"))["code"] == "not_found"


async def test_outsiders_cannot_invite(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    await alice.command("create", room="club", private=True)
    reply = await carol.command("invite", room="club", user="bob")
    assert reply["code"] == "forbidden"
    assert [m for m in await bob.quiet(0.3) if m.get("room") == "club" or m["type"] == "room"] == []


async def test_direct_messages(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    opened = await alice.command("dm", user="BOB")
    room = opened["room"]["name"]
    assert room == "dm:alice:bob"
    assert opened["room"]["kind"] == "direct"
    assert sorted(opened["room"]["members"]) == ["alice", "bob"]
    notice = await bob.next("room")
    assert notice["room"]["name"] == room
    again = await bob.command("dm", user="alice")
    assert again["room"]["name"] == room
    await bob.command("send", room=room, text="psst", cid="d1")
    assert (await alice.next("event", room=room, kind="message"))["text"] == "psst"
    carol = await connect("carol")
    assert (await carol.command("history", room=room))["code"] == "forbidden"
    assert (await alice.command("dm", user="alice"))["code"] == "bad_request"
    assert (await alice.command("dm", user="nobody"))["code"] == "not_found"


async def test_leave_stops_the_stream(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="temp")
    await bob.command("join", room="temp")
    left = await bob.command("leave", room="temp")
    assert left["room"]["member"] is False
    leave_event = await alice.next("event", room="temp", kind="leave")
    assert leave_event["user"] == "bob"
    await alice.command("send", room="temp", text="anyone?", cid="a1")
    late = [m for m in await bob.quiet(0.4) if m.get("room") == "temp" and m["type"] == "event"]
    assert [m for m in late if m["kind"] == "message"] == []
    assert (await bob.command("send", room="temp", text="x", cid="b1"))["code"] == "forbidden"


async def test_membership_follows_the_user_across_tabs(connect: Connect) -> None:
    tab1, tab2 = await connect("alice"), await connect("alice")
    bob = await connect("bob")
    await bob.command("create", room="shared")
    await tab1.command("join", room="shared")
    notice = await tab2.next("room")
    assert notice["room"]["name"] == "shared"
    await bob.command("send", room="shared", text="to both tabs", cid="x1")
    for tab in (tab1, tab2):
        assert (await tab.next("event", room="shared", kind="message"))["text"] == "to both tabs"
    await tab2.command("leave", room="shared")
    assert (await tab1.next("room"))["room"]["member"] is False


async def test_who_lists_members_and_who_is_online(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="w")
    await bob.command("join", room="w")
    await bob.close()
    await asyncio.sleep(0.3)
    reply = await alice.command("who", room="w")
    assert reply["members"] == ["alice", "bob"]
    assert reply["online"] == ["alice"]


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1,2]",
        '{"no":"type"}',
        '{"type":"warp"}',
        '{"type":"send","room":"lobby"}',
        '{"type":"send","room":"lobby","text":7}',
        '{"type":"history","room":"lobby","limit":1000}',
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays_usable(
    connect: Connect, frame: str
) -> None:
    alice = await connect("alice")
    await alice.send_raw(frame)
    error = await alice.next("error")
    assert error["code"] == "bad_request"
    assert error["message"]
    assert (await alice.command("ping"))["type"] == "pong"


async def test_binary_frames_get_an_error(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.ws.send(b"\x00\x01")
    assert (await alice.next("error"))["code"] == "bad_request"
    assert (await alice.command("ping"))["type"] == "pong"
