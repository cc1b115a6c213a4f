"""Rooms that others cannot abuse: ``create`` says nothing about a private room holding a
name, and per-user quotas stop room and invitation spam, counted from the database (they
hold for several server processes on one database, and across restarts; admins are exempt).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from parley.chat.errors import spell
from parley.chat.member_rooms import FORBIDDEN_ROOM
from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

Factory = Callable[..., ServerProcess]
Connect = Callable[..., Awaitable[Chat]]


async def test_create_says_the_same_for_any_taken_name(connect: Connect) -> None:
    owner = await connect("owner")  # the first account: an admin
    await owner.command("create", room="Secret", private=True)
    await owner.command("create", room="Open")
    mine = await owner.command("create", room="Mine", private=True)
    assert mine["type"] == "ok"
    someone = await connect("someone")
    answers = {}
    for name in ("secret", "SECRET", "open", "lobby"):
        answers[name] = await someone.command("create", room=name)
    answers["mine"] = await owner.command("create", room="mine")  # one's own private room
    for name, reply in answers.items():
        assert reply["type"] == "error"
        assert reply["code"] == "conflict"
        # Nothing but the name as asked: not "exists", not "private", not its spelling.
        assert reply["message"] == f"the room name {name!r} is not available; choose another"
    # And still no way to see the private room.
    for name in ("secret", "no-such-room"):
        reply = await someone.command("join", room=name)
        assert (reply["code"], reply["message"]) == ("forbidden", FORBIDDEN_ROOM.format(name))


async def test_rooms_created_per_day_hold_across_processes_and_restarts(
    server_factory: Factory,
) -> None:
    args = ("serve", "--rooms-per-day", "3", "--db", "shared.db")
    first, second = server_factory(*args), server_factory(*args)
    register(first.http_url, "admin")  # the first account: no limit
    token = register(first.http_url, "maker")
    on_first = await Chat.connect(first.ws_url, token)
    on_second = await Chat.connect(second.ws_url, token)
    assert (await on_first.command("create", room="one"))["type"] == "ok"
    assert (await on_second.command("create", room="two", private=True))["type"] == "ok"
    assert (await on_first.command("dm", user="admin"))["type"] == "ok"  # a direct room is one
    refused = await on_second.command("create", room="four")
    assert refused["type"] == "error"
    assert refused["code"] == "limit_reached"
    assert refused["message"].startswith("you have created 3 rooms in the last 24 hours")
    assert "you can create another in 2" in refused["message"]  # 23 h 59 min or 24 hours
    assert (await on_second.command("rooms"))["type"] == "rooms"  # the connection goes on
    # Opening the existing direct room again costs nothing.
    assert (await on_first.command("dm", user="admin"))["type"] == "ok"
    await on_first.close()
    await on_second.close()
    # After a restart the count is the same: it is read from the database.
    first.stop()
    again = server_factory(*args)
    chat = await Chat.connect(again.ws_url, token)
    assert (await chat.command("create", room="five"))["code"] == "limit_reached"
    admin = await Chat.connect(again.ws_url, register(again.http_url, "late-admin"))
    await admin.close()
    await chat.close()


async def test_invitations_received_per_hour(server_factory: Factory) -> None:
    server = server_factory("serve", "--invitations-per-hour", "2")
    admin = await Chat.connect(server.ws_url, register(server.http_url, "admin"))
    spammer = await Chat.connect(server.ws_url, register(server.http_url, "spammer"))
    other = await Chat.connect(server.ws_url, register(server.http_url, "other"))
    victim = await Chat.connect(server.ws_url, register(server.http_url, "victim"))
    for n in range(3):
        assert (await spammer.command("create", room=f"spam{n}", private=True))["type"] == "ok"
    assert (await spammer.command("invite", room="spam0", user="victim"))["type"] == "ok"
    assert (await other.command("dm", user="victim"))["type"] == "ok"  # a new room for them too
    refused = await spammer.command("invite", room="spam1", user="victim")
    assert refused["code"] == "limit_reached"
    assert refused["message"].startswith("'victim' was added to 2 rooms by others in the last")
    refused = await spammer.command("dm", user="VICTIM")
    assert refused["code"] == "limit_reached"
    # The victim heard of two rooms only, and is not in the refused one.
    notices = [m for m in await victim.quiet(0.5) if m["type"] == "room"]
    assert sorted(n["room"]["name"] for n in notices) == ["dm:other:victim", "spam0"]
    assert (await victim.command("who", room="spam1"))["code"] == "forbidden"
    # Another user's hour is their own; an admin's invitation is never refused.
    assert (await spammer.command("invite", room="spam1", user="other"))["type"] == "ok"
    await admin.command("create", room="staff", private=True)
    assert (await admin.command("invite", room="staff", user="victim"))["type"] == "ok"
    for chat in (admin, spammer, other, victim):
        await chat.close()


def test_durations_are_spelled_for_people() -> None:
    assert [spell(ms) for ms in (1, 40_000, 60_000, 61_000, 3_600_000, 11_520_000)] == [
        "1 s",
        "40 s",
        "1 min",
        "2 min",
        "1 hour",
        "3 h 12 min",
    ]
    assert spell(24 * 3_600_000) == "24 hours"
