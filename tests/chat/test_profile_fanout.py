"""A profile change is published once, whatever the number of accounts sharing a room with
its user, and reaches exactly the connections that share a room with the user (and the user's
own), once each: on one ``parley serve`` (the in-process broker; tests/cluster/ has Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from parley.chat.member_rooms import MemberRooms
from parley.model import Room, RoomKind
from parley.store.sqlite import SQLiteStore
from tests.helpers.chat import Chat, register
from tests.helpers.metrics import fill_lobby, read_metrics
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]

#: Accounts in the lobby besides the test's own: a change used to cost one publication each.
CROWD = 200


async def test_one_change_is_one_publication_with_200_accounts_in_the_lobby(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "crowd.db")
    await store.start()
    await fill_lobby(store, CROWD)
    await store.close()
    server = server_factory("serve", "--db", "crowd.db")
    alice = await Chat.connect(server.ws_url, register(server.http_url, "alice"))
    bob = await Chat.connect(server.ws_url, register(server.http_url, "bob"))
    await asyncio.sleep(0.3)  # the joins' and presence publications are out
    before = read_metrics(server.http_url)["parley_broker_published_total"]
    assert (await alice.command("profile", display_name="Al"))["type"] == "ok"
    assert (await bob.next("profile", user="alice"))["display_name"] == "Al"
    after = read_metrics(server.http_url)["parley_broker_published_total"]
    assert after - before == 1  # (it was CROWD + 2: one per account sharing the lobby)
    for chat in (alice, bob):
        await chat.close()


async def test_each_connection_gets_a_change_once_and_only_if_it_shares_a_room(
    connect: Connect,
) -> None:
    alice, alice_phone = await connect("alice"), await connect("alice")
    bob, carol, dave = await connect("bob"), await connect("carol"), await connect("dave")
    for user in (alice, bob, carol):
        assert (await user.command("leave", room="lobby"))["type"] == "ok"
    assert (await alice.command("create", room="den", private=True))["type"] == "ok"
    assert (await alice.command("invite", room="den", user="bob"))["type"] == "ok"
    assert (await alice.command("profile", display_name="secret"))["type"] == "ok"
    # bob shares the private room: he is told; so are alice's own tabs, each once.
    assert (await bob.next("profile", user="alice"))["display_name"] == "secret"
    assert (await alice.next("profile", user="alice"))["display_name"] == "secret"
    assert (await alice_phone.next("profile", user="alice"))["display_name"] == "secret"
    # carol (no room at all) and dave (the lobby, which alice left) are not told. A second
    # change, once carol shares a public room with alice, is the first carol hears of.
    assert (await alice.command("create", room="open"))["type"] == "ok"
    assert (await carol.command("join", room="open"))["type"] == "ok"
    assert (await alice.command("profile", display_name="public"))["type"] == "ok"
    assert (await carol.next("profile", user="alice"))["display_name"] == "public"
    assert (await bob.next("profile", user="alice"))["display_name"] == "public"
    await dave.command("profile", display_name="Dave")  # after alice's: a barrier for dave
    assert (await dave.next("profile"))["user"] == "dave"
    for chat in (alice, alice_phone):
        notices = [m for m in await chat.quiet() if m["type"] == "profile"]
        assert [n["display_name"] for n in notices] == ["public"]  # once per connection
    assert [m for m in await bob.quiet() if m["type"] == "profile"] == []


def test_a_room_joined_elsewhere_counts_from_its_notice_until_it_is_read() -> None:
    """Between a membership notice and the moment the connection has read the room (a store
    read), a profile change sent meanwhile must count the room already: it is *expected*."""
    rooms = MemberRooms()
    lobby = Room(id=1, name="lobby", kind=RoomKind.PUBLIC, topic="", created_at=0, last_seq=3)
    den = Room(id=2, name="den", kind=RoomKind.PRIVATE, topic="", created_at=0, last_seq=1)
    rooms.remember(lobby, 3)
    assert rooms.shares(frozenset({1, 9}))
    assert not rooms.shares(frozenset({2, 9}))
    rooms.expected.add(2)
    assert rooms.shares(frozenset({2}))
    assert rooms.ids() == {1, 2}
    assert 2 not in rooms  # not a member room for commands yet
    rooms.remember(den, 1)
    assert rooms.expected == set()
    assert rooms.shares(frozenset({2}))
    rooms.forget(2)
    rooms.forget(1)
    assert not rooms.shares(frozenset({1, 2}))
    assert rooms.ids() == set()
    rooms.expected.add(5)
    rooms.forget(5)  # joined and left before it was read: not expected any more
    assert not rooms.shares(frozenset({5}))
    assert not rooms.shares(frozenset())
