"""The server says who follows a thread, on SQLite and on PostgreSQL: ``history`` with
``thread`` answers ``following`` for the requesting user, and a reply that makes someone follow
(its writer, the members it mentions) sends every connection of theirs a ``follow`` notice,
as ``follow`` does; nobody already following is told again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess
from tests.store.conftest import postgres_database

Connect = Callable[..., Awaitable[Chat]]


@pytest.fixture(params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, server_factory: Callable[..., ServerProcess]
) -> AsyncIterator[ServerProcess]:
    limits = ("--rate-limit", "1000", "--rate-burst", "1000")
    if request.param == "sqlite":
        yield server_factory("serve", *limits)
        return
    async with postgres_database() as db:
        process = server_factory("serve", "--db", db, *limits)
        yield process
        process.stop()


async def following(chat: Chat, mid: int, **fields: object) -> bool:
    reply = await chat.command("history", room="lobby", thread=mid, limit=1, **fields)
    assert reply["type"] == "history", reply
    value = reply["following"]
    assert isinstance(value, bool)
    return value


async def marker(chat: Chat, root: int) -> dict[str, object]:
    """Follow ``root`` (a thread of its own, for this purpose): the next ``follow`` notice
    after the ones expected. A notice that should not have been sent would come before it."""
    await chat.command("follow", room="lobby", mid=root)
    return {"type": "follow", "room": "lobby", "thread": root, "following": True}


async def test_history_of_a_thread_says_whether_i_follow_it(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    root = (await alice.command("send", room="lobby", text="root"))["mid"]
    assert await following(alice, root)  # the root's author, before any reply
    assert not await following(bob, root)
    reply = await bob.command("send", room="lobby", text="hi", thread=root)
    assert await following(bob, reply["mid"])  # asked by a reply: its root's thread
    assert await following(bob, root, before=reply["seq"])  # on every page
    assert not await following(carol, root)
    # Reading does not follow; unfollow says false, for the author too, until they reply.
    await carol.send_raw({"type": "read", "room": "lobby", "seq": reply["seq"], "thread": root})
    await carol.next("unread", thread=root)
    assert not await following(carol, root)
    await alice.command("unfollow", room="lobby", mid=root)
    assert not await following(alice, root)
    await bob.command("send", room="lobby", text="again", thread=root)
    assert not await following(alice, root)
    await alice.command("send", room="lobby", text="back", thread=root)
    assert await following(alice, root)
    # A deleted root's thread still answers; no message, bad values: clear errors.
    await alice.command("delete", room="lobby", mid=root)
    assert await following(bob, root)
    assert "following" not in await bob.command("history", room="lobby")  # not a thread's
    for bad in (999_999, 0, -1, "8", True, [root]):
        refused = await bob.command("history", room="lobby", thread=bad)
        assert refused["type"] == "error", bad
        assert refused["code"] in ("not_found", "bad_request"), (bad, refused)


async def test_a_reply_that_makes_one_follow_tells_all_their_connections(
    connect: Connect,
) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    bob_too, carol_too = await connect("bob"), await connect("carol")
    root = (await alice.command("send", room="lobby", text="root"))["mid"]
    other = (await alice.command("send", room="lobby", text="another"))["mid"]
    told = {"type": "follow", "room": "lobby", "thread": root, "following": True}
    # Bob replies and mentions carol: both follow from now on, and each of their tabs hears it.
    await bob.command("send", room="lobby", text="hi @carol", thread=root)
    for chat in (bob, bob_too, carol, carol_too):
        assert await chat.next("follow") == told
    # Replying or being mentioned again tells nothing new (the next notice is the marker).
    await bob.command("send", room="lobby", text="@carol again", thread=root)
    await carol.command("send", room="lobby", text="yes", thread=root)
    for chat, tab in ((bob, bob_too), (carol, carol_too)):
        expected = await marker(chat, other)
        assert await tab.next("follow") == expected
    # The root's author was following already: told nothing by the first reply.
    expected = await marker(alice, other)
    assert await alice.next("follow") == expected
    # After an unfollow, a mention makes carol follow again, and says so.
    await carol.command("unfollow", room="lobby", mid=root)
    assert (await carol_too.next("follow"))["following"] is False
    await bob.command("send", room="lobby", text="@carol look", thread=root)
    assert await carol_too.next("follow") == told
    # @room, a mention outside a thread and a resent reply make nobody follow.
    await alice.command("send", room="lobby", text="@room", thread=root)
    await alice.command("send", room="lobby", text="@carol outside")
    fresh = (await alice.command("send", room="lobby", text="fresh"))["mid"]
    first = await bob.command("send", room="lobby", text="x", thread=fresh, cid="r1")
    assert first["type"] == "ack"
    again = await bob.command("send", room="lobby", text="x", thread=fresh, cid="r1")
    assert again["seq"] == first["seq"]
    third = (await alice.command("send", room="lobby", text="third"))["mid"]
    expected = await marker(carol, third)
    assert await carol_too.next("follow") == expected
    assert await bob_too.next("follow") == told | {"thread": fresh}  # the first send only
    expected = await marker(bob, third)
    assert await bob_too.next("follow") == expected
