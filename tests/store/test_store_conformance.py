"""The store conformance suite: the rules of ``parley.store.base``, for every backend.

The same tests run against each backend of ``conftest.BACKENDS``. Most use only the ``Store``
interface; those of group commit, durability and migrations also reach the database through
the backend's harness (``conftest.Harness``), which says how each backend holds a lock or
makes a write fail. Checks of what only one backend has (a file, a pool, several processes
racing on one server) live in ``test_sqlite.py`` and ``test_postgres.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from parley.model import Appended, Event, EventKind, Room, RoomKind, User
from parley.search.query import parse
from parley.store.base import (
    LOBBY,
    Archived,
    Conflict,
    Forbidden,
    NotFound,
    Store,
    Unavailable,
    direct_room_name,
)
from parley.store.migrations import Migration, load
from parley.store.sql.migrate import apply_migrations
from parley.store.sql.store import SQLStore
from tests.store.conftest import (
    POSTER,
    Harness,
    PythonRunner,
    StoreMaker,
    wait_until,
    writes_held,
)

UNKNOWN = 987_654_321  #: an id no user, room or message has
HOUR = 3_600_000


async def make_room(
    store: Store,
    name: str,
    creator: User | None = None,
    kind: RoomKind = RoomKind.PUBLIC,
) -> Room:
    room, _ = await store.create_room(
        name, kind, creator_id=None if creator is None else creator.id
    )
    return room


async def post(store: Store, room: Room, user: User, text: str, cid: str | None = None) -> Event:
    appended = await store.post_message(room.id, user.id, user.name, text, cid)
    return appended.event


async def last_seq(store: Store, room: Room) -> int:
    current = await store.get_room_by_id(room.id)
    assert current is not None
    return current.last_seq


async def all_events(store: Store, room: Room) -> list[Event]:
    return await store.events_after(room.id, 0, 1_000_000)


async def message(store: Store, room: Room, mid: int) -> Event:
    """The message ``mid`` as the history serves it."""
    found = [e for e in await all_events(store, room) if e.kind is EventKind.MESSAGE]
    [event] = [e for e in found if e.mid == mid]
    return event


def assert_gap_free(events: list[Event], newest: int) -> None:
    assert [e.seq for e in events] == list(range(1, newest + 1))


# -- life cycle ----------------------------------------------------------------------------


async def test_lobby_exists_after_start(store: Store) -> None:
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    assert lobby.name == LOBBY
    assert lobby.kind is RoomKind.PUBLIC
    assert lobby.last_seq == 0
    assert await store.get_room("LoBbY") == lobby
    assert await store.get_room_by_id(lobby.id) == lobby


async def test_lobby_is_not_created_twice(store_maker: StoreMaker) -> None:
    first = store_maker()
    await first.start()
    lobby = await first.get_room(LOBBY)
    await first.close()
    second = store_maker()
    await second.start()
    try:
        assert await second.get_room(LOBBY) == lobby
        assert [v.room.name for v in await second.rooms_for(UNKNOWN)] == [LOBBY]
    finally:
        await second.close()


def every_call(store: Store) -> list[Callable[[], Awaitable[object]]]:
    """One call of each of the interface's account, session, room and event methods: every
    store method reaches the database through the same closed connections, so these 29 stand
    for the rest (the later features' methods are not listed one by one)."""
    return [
        lambda: store.create_user("zed", "h"),
        lambda: store.get_user("zed"),
        lambda: store.get_user_by_id(1),
        lambda: store.list_users(),
        lambda: store.set_password(1, "h"),
        lambda: store.rehash_password(1, "h", "h2"),
        lambda: store.set_disabled(1, True),
        lambda: store.create_session(1, "t", 0),
        lambda: store.get_session("t", 0),
        lambda: store.delete_session("t"),
        lambda: store.delete_sessions_of(1),
        lambda: store.create_room("r", RoomKind.PUBLIC, creator_id=None),
        lambda: store.open_direct(1, 2),
        lambda: store.get_room(LOBBY),
        lambda: store.get_room_by_id(1),
        lambda: store.is_member(1, 1),
        lambda: store.room_members(1),
        lambda: store.unread_count(1, 1),
        lambda: store.rooms_for(1),
        lambda: store.post_message(1, None, "guest", "hi"),
        lambda: store.edit_message(1, 1, "a", 1, "x", any_author=True),
        lambda: store.delete_message(1, 1, "a", 1, any_author=True),
        lambda: store.join(1, 1, "a"),
        lambda: store.leave(1, 1, "a"),
        lambda: store.set_topic(1, 1, "a", "t"),
        lambda: store.mark_read(1, 1, 1),
        lambda: store.events_after(1, 0, 10),
        lambda: store.events_before(1, None, 10),
        lambda: store.search(1, parse("x")),
    ]


async def test_the_store_is_unavailable_after_close(store_maker: StoreMaker) -> None:
    store = store_maker()
    await store.start()
    await store.close()
    calls = every_call(store)
    assert len(calls) == 29  # the list above, kept whole
    for call in calls:
        with pytest.raises(Unavailable):
            await call()


async def test_close_twice_is_fine(store: Store) -> None:
    await store.close()
    await store.close()


async def test_close_commits_the_writes_already_queued(store_maker: StoreMaker) -> None:
    store = store_maker()
    await store.start()
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    posts = [
        asyncio.create_task(store.post_message(lobby.id, None, "guest", f"m{i}")) for i in range(50)
    ]
    await asyncio.sleep(0)  # every task has queued its write
    await store.close()
    results = await asyncio.gather(*posts)
    assert sorted(r.event.seq for r in results) == list(range(1, 51))

    reopened = store_maker()
    await reopened.start()
    try:
        assert_gap_free(await reopened.events_after(lobby.id, 0, 100), 50)
    finally:
        await reopened.close()


async def test_data_survives_close_and_reopen(store_maker: StoreMaker) -> None:
    store = store_maker()
    await store.start()
    alice = await store.create_user("Alice", "h1")
    bob = await store.create_user("Bob", "h2")
    session = await store.create_session(alice.id, "token", 2**50)
    room, _ = await store.create_room("Ops", RoomKind.PRIVATE, creator_id=alice.id, topic="t")
    dm, _ = await store.open_direct(alice.id, bob.id)
    first = await store.post_message(room.id, alice.id, "Alice", "one", "c1")
    await store.edit_message(
        room.id, alice.id, "Alice", first.event.mid or 0, "uno", any_author=False
    )
    await store.mark_read(room.id, alice.id, 2)
    await store.close()

    store = store_maker()
    await store.start()
    try:
        assert await store.list_users() == [alice, bob]
        assert await store.get_session("token", 0) == session
        assert await store.get_room("ops") == Room(
            room.id, "Ops", RoomKind.PRIVATE, "t", room.created_at, 3
        )
        assert [n for _, n in await store.room_members(dm.id)] == ["Alice", "Bob"]
        history = await store.events_after(room.id, 0, 10)
        assert [e.kind for e in history] == [EventKind.JOIN, EventKind.MESSAGE, EventKind.EDIT]
        assert history[1].text == "uno"
        assert history[1].edited
        again = await store.post_message(room.id, alice.id, "Alice", "one", "c1")
        assert again.duplicate
        assert again.event.mid == first.event.mid
        [view] = [v for v in await store.rooms_for(alice.id) if v.room.id == room.id]
        assert view.last_read_seq == 2
        after = await store.post_message(room.id, bob.id, "Bob", "four")
        assert after.event.seq == 4
        assert after.event.mid != first.event.mid
    finally:
        await store.close()


# -- users ---------------------------------------------------------------------------------


async def test_create_user(store: Store) -> None:
    user = await store.create_user("Alice", "hash")
    assert user.name == "Alice"
    assert user.password_hash == "hash"
    assert not user.disabled
    assert user.created_at > 1_600_000_000_000  # milliseconds
    assert await store.get_user("Alice") == user
    assert await store.get_user("aLICE") == user
    assert await store.get_user_by_id(user.id) == user


async def test_unknown_users_are_none(store: Store, alice: User) -> None:
    assert await store.get_user("nobody") is None
    assert await store.get_user_by_id(UNKNOWN) is None


async def test_user_names_are_unique_case_insensitively(store: Store, alice: User) -> None:
    with pytest.raises(Conflict):
        await store.create_user("ALICE", "other")
    with pytest.raises(Conflict):
        await store.create_user("alice", "other")
    assert await store.list_users() == [alice]
    assert await store.get_user("alice") == alice


async def test_first_user_is_admin_then_not(store: Store) -> None:
    first = await store.create_user("first", "h")
    second = await store.create_user("second", "h")
    third = await store.create_user("third", "h", admin=True)
    fourth = await store.create_user("fourth", "h", admin=False)
    assert (first.is_admin, second.is_admin, third.is_admin, fourth.is_admin) == (
        True,
        False,
        True,
        False,
    )
    assert [u.is_admin for u in await store.list_users()] == [True, False, True, False]


async def test_explicit_admin_false_for_the_first_user(store: Store) -> None:
    first = await store.create_user("first", "h", admin=False)
    second = await store.create_user("second", "h")
    assert not first.is_admin
    assert not second.is_admin  # only the first account ever created is an admin by default


async def test_concurrent_first_users_make_exactly_one_admin(store: Store) -> None:
    users = await asyncio.gather(*(store.create_user(f"user{i}", "h") for i in range(10)))
    assert sum(u.is_admin for u in users) == 1
    oldest = (await store.list_users())[0]
    assert oldest.is_admin


async def test_list_users_oldest_first(store: Store) -> None:
    names = ["zoe", "Adam", "mia"]
    for name in names:
        await store.create_user(name, "h")
    assert [u.name for u in await store.list_users()] == names


async def test_set_password_ends_the_users_sessions(store: Store, alice: User, bob: User) -> None:
    await store.create_session(alice.id, "a1", HOUR)
    await store.create_session(alice.id, "a2", HOUR)
    await store.create_session(bob.id, "b1", HOUR)
    assert await store.set_password(alice.id, "new-hash") == ["a1", "a2"]
    changed = await store.get_user_by_id(alice.id)
    assert changed is not None
    assert changed.password_hash == "new-hash"
    assert await store.get_session("a1", 0) is None
    assert await store.get_session("b1", 0) is not None
    assert await store.get_user_by_id(bob.id) == bob
    assert await store.set_password(alice.id, "newer-hash") == []  # none left
    with pytest.raises(NotFound):
        await store.set_password(UNKNOWN, "h")


async def test_rehash_password_keeps_the_sessions_and_a_newer_password(
    store: Store, alice: User
) -> None:
    await store.create_session(alice.id, "a1", HOUR)
    assert await store.rehash_password(alice.id, alice.password_hash, "same-at-new-cost")
    session = await store.get_session("a1", 0)
    assert session is not None  # the same password: nobody is signed out
    assert session.user.password_hash == "same-at-new-cost"
    # A password set since the sign-in read the old hash is not undone.
    await store.set_password(alice.id, "reset-meanwhile")
    assert not await store.rehash_password(alice.id, "same-at-new-cost", "stale")
    found = await store.get_user_by_id(alice.id)
    assert found is not None
    assert found.password_hash == "reset-meanwhile"
    assert not await store.rehash_password(UNKNOWN, "h", "h2")


async def test_set_disabled_ends_the_sessions_and_enabling_starts_none(
    store: Store, alice: User, bob: User
) -> None:
    await store.create_session(alice.id, "a1", HOUR)
    await store.create_session(bob.id, "b1", HOUR)
    assert await store.set_disabled(alice.id, True) == ["a1"]
    disabled = await store.get_user("alice")
    assert disabled is not None
    assert disabled.disabled  # still found by name
    assert await store.get_session("b1", 0) is not None
    assert await store.set_disabled(alice.id, False) == []
    assert await store.get_user("alice") == alice
    assert await store.get_session("a1", 0) is None  # ended, not only hidden
    with pytest.raises(NotFound):
        await store.set_disabled(UNKNOWN, True)


# -- sessions ------------------------------------------------------------------------------


async def test_create_and_get_session(store: Store, alice: User) -> None:
    session = await store.create_session(alice.id, "hash-1", 10 * HOUR)
    assert session.token_hash == "hash-1"
    assert session.user == alice
    assert session.expires_at == 10 * HOUR
    assert session.created_at > 1_600_000_000_000
    assert await store.get_session("hash-1", 0) == session


async def test_create_session_for_unknown_user(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.create_session(UNKNOWN, "hash", HOUR)
    assert await store.get_session("hash", 0) is None


async def test_get_session_unknown_or_expired(store: Store, alice: User) -> None:
    await store.create_session(alice.id, "hash", HOUR)
    assert await store.get_session("other", 0) is None
    assert await store.get_session("hash", HOUR - 1) is not None
    assert await store.get_session("hash", HOUR) is None  # expired *at* expires_at
    assert await store.get_session("hash", HOUR + 1) is None


async def test_get_session_of_disabled_user(store: Store, alice: User) -> None:
    await store.set_disabled(alice.id, True)
    # A session made after the disable (a sign-in that checked the account just before it)
    # is not live while the account is disabled.
    await store.create_session(alice.id, "hash", HOUR)
    assert await store.get_session("hash", 0) is None
    await store.set_disabled(alice.id, False)
    assert await store.get_session("hash", 0) is not None


async def test_session_carries_the_current_user(store: Store, alice: User) -> None:
    await store.create_session(alice.id, "hash", HOUR)
    await store.rehash_password(alice.id, alice.password_hash, "changed")
    session = await store.get_session("hash", 0)
    assert session is not None
    assert session.user.password_hash == "changed"


async def test_delete_session(store: Store, alice: User) -> None:
    await store.create_session(alice.id, "one", HOUR)
    await store.create_session(alice.id, "two", HOUR)
    assert await store.delete_session("one") is True
    assert await store.delete_session("one") is False
    assert await store.delete_session("never") is False
    assert await store.get_session("one", 0) is None
    assert await store.get_session("two", 0) is not None


async def test_delete_sessions_of(store: Store, alice: User, bob: User) -> None:
    for token in ("a1", "a2", "a3"):
        await store.create_session(alice.id, token, HOUR)
    await store.create_session(bob.id, "b1", HOUR)
    assert sorted(await store.delete_sessions_of(alice.id)) == ["a1", "a2", "a3"]
    assert await store.delete_sessions_of(alice.id) == []
    for token in ("a1", "a2", "a3"):
        assert await store.get_session(token, 0) is None
    assert await store.get_session("b1", 0) is not None


# -- rooms ---------------------------------------------------------------------------------


async def test_create_room_with_creator(store: Store, alice: User) -> None:
    room, events = await store.create_room(
        "General", RoomKind.PUBLIC, creator_id=alice.id, topic="hello"
    )
    assert (room.name, room.kind, room.topic, room.last_seq) == (
        "General",
        RoomKind.PUBLIC,
        "hello",
        1,
    )
    [join] = events
    assert join.kind is EventKind.JOIN
    assert (join.room, join.room_id, join.seq) == ("General", room.id, 1)
    assert (join.user, join.user_id) == ("Alice", alice.id)
    assert await store.is_member(room.id, alice.id)
    assert await store.get_room("general") == room
    assert await store.get_room_by_id(room.id) == room
    assert await all_events(store, room) == events


async def test_create_room_without_creator(store: Store) -> None:
    room, events = await store.create_room("quiet", RoomKind.PRIVATE, creator_id=None)
    assert events == []
    assert room.last_seq == 0
    assert room.topic == ""
    assert room.private
    assert [n for _, n in await store.room_members(room.id)] == []


async def test_room_names_are_unique_case_insensitively(store: Store, alice: User) -> None:
    await make_room(store, "General")
    for name in ("general", "GENERAL", "Lobby"):
        with pytest.raises(Conflict):
            await store.create_room(name, RoomKind.PRIVATE, creator_id=alice.id)
    room = await store.get_room("general")
    assert room is not None
    assert room.name == "General"
    assert room.kind is RoomKind.PUBLIC


async def test_create_room_with_unknown_creator_creates_nothing(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.create_room("ghost", RoomKind.PUBLIC, creator_id=UNKNOWN)
    assert await store.get_room("ghost") is None
    await make_room(store, "ghost")  # the name was not taken


async def test_unknown_rooms_are_none(store: Store) -> None:
    assert await store.get_room("nowhere") is None
    assert await store.get_room_by_id(UNKNOWN) is None


async def test_room_members_sorted_case_insensitively(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    room = await make_room(store, "room", carol)
    await store.join(room.id, bob.id, bob.name)
    await store.join(room.id, alice.id, alice.name)
    assert [n for _, n in await store.room_members(room.id)] == ["Alice", "bob", "Carol"]
    assert [n for _, n in await store.room_members(UNKNOWN)] == []


async def test_is_member(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    assert await store.is_member(room.id, alice.id)
    assert not await store.is_member(room.id, bob.id)
    assert not await store.is_member(UNKNOWN, alice.id)


async def test_open_direct_creates_the_room_once(store: Store, alice: User, bob: User) -> None:
    room, events = await store.open_direct(alice.id, bob.id)
    assert room.name == "dm:alice:bob" == direct_room_name("Alice", "bob")
    assert room.kind is RoomKind.DIRECT
    assert room.private
    assert room.last_seq == 2
    assert [(e.kind, e.seq) for e in events] == [(EventKind.JOIN, 1), (EventKind.JOIN, 2)]
    assert {(e.user, e.user_id) for e in events} == {("Alice", alice.id), ("bob", bob.id)}
    assert [n for _, n in await store.room_members(room.id)] == ["Alice", "bob"]

    again, more = await store.open_direct(alice.id, bob.id)
    reversed_, most = await store.open_direct(bob.id, alice.id)
    assert again == reversed_ == room
    assert more == most == []
    assert await store.get_room("DM:ALICE:BOB") == room
    assert await all_events(store, room) == events


async def test_open_direct_name_ignores_case_and_order(store: Store) -> None:
    zed = await store.create_user("Zed", "h")
    amy = await store.create_user("AMY", "h")
    room, _ = await store.open_direct(zed.id, amy.id)
    assert room.name == "dm:amy:zed"


async def test_open_direct_with_oneself_is_forbidden(store: Store, alice: User) -> None:
    with pytest.raises(Forbidden):
        await store.open_direct(alice.id, alice.id)
    assert [v.room.name for v in await store.rooms_for(alice.id)] == [LOBBY]


async def test_open_direct_with_unknown_user(store: Store, alice: User) -> None:
    with pytest.raises(NotFound):
        await store.open_direct(alice.id, UNKNOWN)
    with pytest.raises(NotFound):
        await store.open_direct(UNKNOWN, alice.id)
    assert [v.room.name for v in await store.rooms_for(alice.id)] == [LOBBY]


async def test_concurrent_open_direct_makes_one_room(store: Store, alice: User, bob: User) -> None:
    results = await asyncio.gather(
        *(
            store.open_direct(*((alice.id, bob.id) if i % 2 else (bob.id, alice.id)))
            for i in range(10)
        )
    )
    assert len({room.id for room, _ in results}) == 1
    assert sum(len(events) for _, events in results) == 2


async def test_rooms_for_shows_public_rooms_and_own_private_ones(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    await make_room(store, "zeta", bob)  # public, alice not a member
    await make_room(store, "Alpha", alice)  # public, member
    await make_room(store, "secret", bob, RoomKind.PRIVATE)  # not visible to alice
    await make_room(store, "mine", alice, RoomKind.PRIVATE)
    await store.open_direct(bob.id, carol.id)  # not visible to alice
    dm, _ = await store.open_direct(carol.id, alice.id)

    views = await store.rooms_for(alice.id)
    assert [v.room.name for v in views] == ["Alpha", "dm:alice:carol", LOBBY, "mine", "zeta"]
    by_name = {v.room.name: v for v in views}
    assert [by_name[n].member for n in ("Alpha", "dm:alice:carol", LOBBY, "mine", "zeta")] == [
        True,
        True,
        False,
        True,
        False,
    ]
    assert by_name["dm:alice:carol"].members == ("Alice", "Carol")
    assert by_name["dm:alice:carol"].room == dm
    assert all(v.members == () for n, v in by_name.items() if n != "dm:alice:carol")
    # A member's read marker starts at their join event; a non-member has none.
    assert all(v.last_read_seq == 0 for v in views if not v.member)
    assert all(v.last_read_seq >= 1 for v in views if v.member)


async def test_member_rooms_and_visible_rooms_in_pages(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    await make_room(store, "zeta", bob)  # public, alice not a member
    await make_room(store, "Alpha", alice)
    await make_room(store, "a_b", bob)
    await make_room(store, "axb", bob)
    await make_room(store, "secret", bob, RoomKind.PRIVATE)  # not visible to alice
    await make_room(store, "mine", alice, RoomKind.PRIVATE)
    await store.open_direct(carol.id, alice.id)

    # The welcome's list: member rooms only, whatever the number of public rooms.
    members = [v.room.name for v in await store.member_rooms(alice.id)]
    assert members == ["Alpha", "dm:alice:carol", "mine"]
    assert [v.room.name for v in await store.member_rooms(UNKNOWN)] == []

    async def names(**page: Any) -> list[str]:
        return [v.room.name for v in await store.visible_rooms(alice.id, **page)]

    everything = [v.room.name for v in await store.rooms_for(alice.id)]
    assert await names(limit=100) == everything
    assert await names(limit=2) == everything[:2]
    assert await names(after="ALPHA", limit=2) == everything[everything.index("Alpha") + 1 :][:2]
    assert await names(after="zzz") == []
    assert await names(query="A_B") == ["a_b"]  # "_" is itself, not LIKE's wildcard
    assert await names(query="x") == ["axb"]
    assert await names(query="ALICE") == ["dm:alice:carol"]
    assert await names(query="secret") == []  # bob's private room
    assert await names(query="") == everything
    [alpha] = await store.visible_rooms(alice.id, query="alpha")
    assert alpha.member


async def test_room_members_in_pages(store: Store, alice: User, bob: User, carol: User) -> None:
    room = await make_room(store, "team", bob)
    for user in (alice, carol):
        await store.join(room.id, user.id, user.name)
    assert [n for _, n in await store.room_members(room.id, limit=2)] == ["Alice", "bob"]
    assert [n for _, n in await store.room_members(room.id, after="BOB")] == ["Carol"]
    assert [n for _, n in await store.room_members(room.id, after="b", limit=1)] == ["bob"]
    assert await store.room_members(room.id, after="zz") == []


async def test_rooms_for_unknown_user_shows_public_rooms(store: Store, alice: User) -> None:
    await make_room(store, "open", alice)
    await make_room(store, "closed", alice, RoomKind.PRIVATE)
    views = await store.rooms_for(UNKNOWN)
    assert [(v.room.name, v.member, v.unread) for v in views] == [
        (LOBBY, False, 0),
        ("open", False, 0),
    ]


async def test_rooms_for_carries_the_current_room(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    await store.set_topic(room.id, alice.id, alice.name, "news")
    [view] = [v for v in await store.rooms_for(alice.id) if v.room.id == room.id]
    assert view.room.topic == "news"
    assert view.room.last_seq == 2


# -- unread counts -------------------------------------------------------------------------


async def unread(store: Store, user: User, room: Room) -> int:
    [view] = [v for v in await store.rooms_for(user.id) if v.room.id == room.id]
    return view.unread


async def test_unread_counts_messages_by_others(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    await store.join(room.id, bob.id, bob.name)
    await post(store, room, alice, "mine")  # own: not unread
    await post(store, room, bob, "one")
    await post(store, room, bob, "two")
    await store.post_message(room.id, None, "guest", "three")  # a guest is someone else
    await store.set_topic(room.id, bob.id, bob.name, "t")  # not a message
    assert await unread(store, alice, room) == 3
    assert await unread(store, bob, room) == 2  # alice's and the guest's


async def test_unread_follows_the_read_marker(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    first = await post(store, room, bob, "one")
    second = await post(store, room, bob, "two")
    await post(store, room, bob, "three")
    assert await store.mark_read(room.id, alice.id, first.seq) == first.seq
    assert await unread(store, alice, room) == 2
    await store.mark_read(room.id, alice.id, second.seq)
    assert await unread(store, alice, room) == 1
    await store.mark_read(room.id, alice.id, 10_000)
    assert await unread(store, alice, room) == 0


async def test_unread_skips_deleted_messages(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    await store.join(room.id, bob.id, bob.name)
    doomed = await post(store, room, bob, "oops")
    await post(store, room, bob, "kept")
    assert await unread(store, alice, room) == 2
    await store.delete_message(room.id, bob.id, bob.name, doomed.mid or 0, any_author=False)
    assert await unread(store, alice, room) == 1
    edited = await post(store, room, bob, "typo")
    await store.edit_message(room.id, bob.id, bob.name, edited.mid or 0, "fixed", any_author=False)
    assert await unread(store, alice, room) == 2  # an edit is not a new message


async def test_unread_is_zero_for_non_members(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    await post(store, room, alice, "hello")
    assert await unread(store, bob, room) == 0
    join = await store.join(room.id, bob.id, bob.name)
    # What was said before joining is history, not unread.
    assert join is not None
    assert await unread(store, bob, room) == 0
    assert await store.unread_count(room.id, bob.id) == 0
    [view] = [v for v in await store.rooms_for(bob.id) if v.room.id == room.id]
    assert view.last_read_seq == join.seq
    await post(store, room, alice, "after you came")
    assert await unread(store, bob, room) == 1
    assert await store.unread_count(room.id, bob.id) == 1
    assert await store.unread_count(room.id, UNKNOWN) == 0


# -- posting messages ----------------------------------------------------------------------


async def test_post_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    appended = await store.post_message(room.id, alice.id, "Alice", "hello", "c-1")
    assert isinstance(appended, Appended)
    assert not appended.duplicate
    event = appended.event
    assert (event.room, event.room_id, event.seq, event.kind) == (
        "room",
        room.id,
        2,
        EventKind.MESSAGE,
    )
    assert (event.user, event.user_id, event.text, event.cid) == ("Alice", alice.id, "hello", "c-1")
    assert event.mid is not None
    assert not event.edited
    assert not event.deleted
    assert event.ts >= room.created_at
    assert await last_seq(store, room) == 2
    assert (await all_events(store, room))[-1] == event


async def test_post_message_to_unknown_room_or_as_unknown_user(store: Store, alice: User) -> None:
    with pytest.raises(NotFound):
        await store.post_message(UNKNOWN, alice.id, "Alice", "hello")
    with pytest.raises(NotFound):
        await store.post_message(UNKNOWN, None, "guest", "hello")
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    with pytest.raises(NotFound):
        await store.post_message(lobby.id, UNKNOWN, "ghost", "hello")
    assert await last_seq(store, lobby) == 0


async def test_message_ids_are_unique_across_rooms(store: Store, alice: User) -> None:
    rooms = [await make_room(store, f"room{i}", alice) for i in range(3)]
    events = [await post(store, room, alice, f"{i}") for i in range(4) for room in rooms]
    mids = [e.mid for e in events]
    assert None not in mids
    assert len(set(mids)) == len(mids)


async def test_guest_messages(store: Store) -> None:
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    first = await store.post_message(lobby.id, None, "visitor", "hi", "same")
    second = await store.post_message(lobby.id, None, "visitor", "hi", "same")
    assert not first.duplicate
    assert not second.duplicate  # guests have no cid scope: their cid is ignored
    assert first.event.user_id is None
    assert first.event.user == "visitor"
    assert first.event.cid is None
    assert (first.event.seq, second.event.seq) == (1, 2)
    assert first.event.mid != second.event.mid


async def test_repeated_cid_returns_the_original(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    original = await store.post_message(room.id, alice.id, "Alice", "hello", "c-1")
    again = await store.post_message(room.id, alice.id, "Alice", "different text", "c-1")
    assert again.duplicate
    assert again.event == original.event
    assert await last_seq(store, room) == 2  # nothing stored


async def test_repeated_cid_returns_the_current_state(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    original = await post(store, room, alice, "helo", "c-1")
    await store.edit_message(
        room.id, alice.id, "Alice", original.mid or 0, "hello", any_author=False
    )
    again = await store.post_message(room.id, alice.id, "Alice", "helo", "c-1")
    assert again.duplicate
    assert (again.event.mid, again.event.seq) == (original.mid, original.seq)
    assert again.event.text == "hello"
    assert again.event.edited
    await store.delete_message(room.id, alice.id, "Alice", original.mid or 0, any_author=False)
    gone = await store.post_message(room.id, alice.id, "Alice", "helo", "c-1")
    assert gone.duplicate
    assert gone.event.deleted
    assert gone.event.text == ""


async def test_cid_is_scoped_per_user(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    mine = await store.post_message(room.id, alice.id, "Alice", "a", "c-1")
    theirs = await store.post_message(room.id, bob.id, "bob", "b", "c-1")
    assert not theirs.duplicate
    assert theirs.event.mid != mine.event.mid
    other_room = await make_room(store, "other", alice)
    again = await store.post_message(other_room.id, alice.id, "Alice", "a", "c-1")
    assert again.duplicate  # the author already used this cid
    assert again.event == mine.event
    assert await last_seq(store, other_room) == 1  # only the creator's join


async def test_concurrent_duplicates_store_one_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    results = await asyncio.gather(
        *(store.post_message(room.id, alice.id, "Alice", "once", "same-cid") for _ in range(20))
    )
    assert sum(not r.duplicate for r in results) == 1
    assert len({(r.event.seq, r.event.mid) for r in results}) == 1
    messages = [e for e in await all_events(store, room) if e.kind is EventKind.MESSAGE]
    assert len(messages) == 1
    assert await last_seq(store, room) == 2


async def test_many_concurrent_writers_get_gap_free_seqs(
    store: Store, alice: User, bob: User
) -> None:
    rooms = [await make_room(store, f"room{i}", alice) for i in range(5)]
    authors = itertools.cycle([alice, bob, None])
    calls = []
    for i in range(500):
        room, author = rooms[i % len(rooms)], next(authors)
        user_id, name = (None, "guest") if author is None else (author.id, author.name)
        calls.append(store.post_message(room.id, user_id, name, f"m{i}", f"c{i}"))
    results = await asyncio.gather(*calls)
    assert not any(r.duplicate for r in results)
    for room in rooms:
        mine = [r.event for r in results if r.event.room_id == room.id]
        assert len(mine) == 100
        assert sorted(e.seq for e in mine) == list(range(2, 102))  # seq 1: the creator's join
        history = await all_events(store, room)
        assert_gap_free(history, 101)
        assert {e.mid for e in history[1:]} == {e.mid for e in mine}
        assert await last_seq(store, room) == 101
    assert len({r.event.mid for r in results}) == 500


async def test_concurrent_mixed_writes_keep_seqs_gap_free(
    store: Store, alice: User, bob: User
) -> None:
    room = await make_room(store, "room", alice)
    targets = [await post(store, room, alice, f"t{i}") for i in range(10)]
    calls: list[Awaitable[object]] = []
    for i, target in enumerate(targets):
        calls.append(store.post_message(room.id, bob.id, "bob", f"b{i}"))
        calls.append(
            store.edit_message(room.id, alice.id, "Alice", target.mid or 0, "e", any_author=False)
        )
        calls.append(
            store.delete_message(room.id, bob.id, "bob", target.mid or 0, any_author=False)
        )
        calls.append(store.post_message(UNKNOWN, bob.id, "bob", "lost"))
    results = await asyncio.gather(*calls, return_exceptions=True)
    kinds = [type(r).__name__ for r in results]
    assert kinds.count("NotPermitted") == 10  # bob (no moderator) may not delete alice's messages
    assert kinds.count("NotFound") == 10  # the unknown room
    history = await all_events(store, room)
    assert_gap_free(history, 11 + 20)
    assert await last_seq(store, room) == 31


# -- editing and deleting ------------------------------------------------------------------


async def test_edit_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    original = await post(store, room, alice, "helo", "c-1")
    edit = await store.edit_message(
        room.id, alice.id, "Alice", original.mid or 0, "hello", any_author=False
    )
    assert (edit.kind, edit.seq, edit.mid, edit.text) == (
        EventKind.EDIT,
        3,
        original.mid,
        "hello",
    )
    assert (edit.room, edit.room_id, edit.user, edit.user_id) == (
        "room",
        room.id,
        "Alice",
        alice.id,
    )
    current = await message(store, room, original.mid or 0)
    assert current.text == "hello"
    assert current.edited
    assert not current.deleted
    assert current.cid == "c-1"
    assert current.seq == original.seq
    assert (await all_events(store, room))[-1] == edit
    assert await last_seq(store, room) == 3


async def test_edit_twice_keeps_the_latest_text(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    original = await post(store, room, alice, "a")
    for text in ("b", "c"):
        await store.edit_message(
            room.id, alice.id, "Alice", original.mid or 0, text, any_author=False
        )
    assert (await message(store, room, original.mid or 0)).text == "c"
    edits = [e.text for e in await all_events(store, room) if e.kind is EventKind.EDIT]
    assert edits == ["b", "c"]


async def test_edit_or_delete_someone_elses_message(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    room = await make_room(store, "room", alice)
    theirs = await post(store, room, bob, "bob's")
    await store.join(room.id, carol.id, carol.name)
    before = await last_seq(store, room)
    # Carol is a plain member (the room's owner and moderators may delete: test_store_roles).
    with pytest.raises(Forbidden):
        await store.edit_message(room.id, carol.id, "Carol", theirs.mid or 0, "x", any_author=False)
    with pytest.raises(Forbidden):
        await store.delete_message(room.id, carol.id, "Carol", theirs.mid or 0, any_author=False)
    assert await last_seq(store, room) == before
    assert (await message(store, room, theirs.mid or 0)).text == "bob's"

    await store.edit_message(
        room.id, alice.id, "Alice", theirs.mid or 0, "moderated", any_author=True
    )
    assert (await message(store, room, theirs.mid or 0)).text == "moderated"
    await store.delete_message(room.id, alice.id, "Alice", theirs.mid or 0, any_author=True)
    assert (await message(store, room, theirs.mid or 0)).deleted


async def test_guest_messages_need_any_author(store: Store, alice: User) -> None:
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    guest = (await store.post_message(lobby.id, None, "Alice", "pretender")).event
    with pytest.raises(Forbidden):
        await store.edit_message(lobby.id, alice.id, "Alice", guest.mid or 0, "x", any_author=False)
    await store.delete_message(lobby.id, alice.id, "Alice", guest.mid or 0, any_author=True)


async def test_edit_or_delete_unknown_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    with pytest.raises(NotFound):
        await store.edit_message(room.id, alice.id, "Alice", UNKNOWN, "x", any_author=True)
    with pytest.raises(NotFound):
        await store.delete_message(room.id, alice.id, "Alice", UNKNOWN, any_author=True)
    with pytest.raises(NotFound):
        await store.edit_message(UNKNOWN, alice.id, "Alice", UNKNOWN, "x", any_author=True)
    assert await last_seq(store, room) == 1


async def test_edit_or_delete_with_a_mid_from_another_room(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    other = await make_room(store, "other", alice)
    elsewhere = await post(store, other, alice, "there")
    with pytest.raises(NotFound):
        await store.edit_message(
            room.id, alice.id, "Alice", elsewhere.mid or 0, "x", any_author=True
        )
    with pytest.raises(NotFound):
        await store.delete_message(room.id, alice.id, "Alice", elsewhere.mid or 0, any_author=True)
    assert (await message(store, other, elsewhere.mid or 0)).text == "there"
    assert await last_seq(store, room) == 1


async def test_edit_or_delete_a_deleted_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    doomed = await post(store, room, alice, "oops")
    await store.delete_message(room.id, alice.id, "Alice", doomed.mid or 0, any_author=False)
    before = await last_seq(store, room)
    with pytest.raises(NotFound):
        await store.edit_message(room.id, alice.id, "Alice", doomed.mid or 0, "x", any_author=True)
    with pytest.raises(NotFound):
        await store.delete_message(room.id, alice.id, "Alice", doomed.mid or 0, any_author=True)
    assert await last_seq(store, room) == before


async def test_edit_or_delete_as_unknown_user(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    target = await post(store, room, alice, "x")
    with pytest.raises(NotFound):
        await store.edit_message(room.id, UNKNOWN, "ghost", target.mid or 0, "y", any_author=True)
    with pytest.raises(NotFound):
        await store.delete_message(room.id, UNKNOWN, "ghost", target.mid or 0, any_author=True)
    assert await last_seq(store, room) == 2


async def test_delete_message(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    doomed = await post(store, room, alice, "secret", "c-9")
    deletion = await store.delete_message(
        room.id, alice.id, "Alice", doomed.mid or 0, any_author=False
    )
    assert (deletion.kind, deletion.seq, deletion.mid) == (EventKind.DELETE, 3, doomed.mid)
    assert (deletion.user, deletion.user_id, deletion.room) == ("Alice", alice.id, "room")
    assert not deletion.text
    current = await message(store, room, doomed.mid or 0)
    assert current.deleted
    assert current.text == ""
    assert current.seq == doomed.seq
    assert (await all_events(store, room))[-1] == deletion


async def test_deleted_text_is_gone_from_every_read_path(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    doomed = await post(store, room, alice, "secret v1", "c-1")
    mid = doomed.mid or 0
    await store.edit_message(room.id, alice.id, "Alice", mid, "secret v2", any_author=False)
    await store.edit_message(room.id, alice.id, "Alice", mid, "secret v3", any_author=False)
    await post(store, room, alice, "unrelated")
    await store.delete_message(room.id, alice.id, "Alice", mid, any_author=False)

    after = await store.events_after(room.id, 0, 100)
    before = await store.events_before(room.id, None, 100)
    one_by_one = [e for seq in range(7) for e in await store.events_after(room.id, seq, 1)]
    duplicate = await store.post_message(room.id, alice.id, "Alice", "secret v1", "c-1")
    for events in (after, before, one_by_one, [duplicate.event]):
        texts = " ".join(e.text or "" for e in events)
        assert "secret" not in texts
    edits = [e for e in after if e.kind is EventKind.EDIT]
    assert [e.text for e in edits] == ["", ""]
    assert all(e.mid == mid for e in edits)
    assert "unrelated" in {e.text for e in after}


# -- membership and topic ------------------------------------------------------------------


async def test_join(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice, RoomKind.PRIVATE)
    event = await store.join(room.id, bob.id, "bob", by="Alice")
    assert event is not None
    assert (event.kind, event.seq, event.user, event.user_id, event.by) == (
        EventKind.JOIN,
        2,
        "bob",
        bob.id,
        "Alice",
    )
    assert event.room == "room"
    assert await store.is_member(room.id, bob.id)
    assert (await all_events(store, room))[-1] == event
    assert "room" in [v.room.name for v in await store.rooms_for(bob.id)]


async def test_join_without_inviter(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    event = await store.join(room.id, bob.id, "bob")
    assert event is not None
    assert event.by is None


async def test_join_twice_stores_nothing(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    assert await store.join(room.id, alice.id, "Alice") is None  # the creator is a member
    assert await store.join(room.id, bob.id, "bob") is not None
    assert await store.join(room.id, bob.id, "bob") is None
    assert await last_seq(store, room) == 2
    assert [n for _, n in await store.room_members(room.id)] == ["Alice", "bob"]


async def test_join_unknown_room_or_user(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    with pytest.raises(NotFound):
        await store.join(UNKNOWN, alice.id, "Alice")
    with pytest.raises(NotFound):
        await store.join(room.id, UNKNOWN, "ghost")
    assert await last_seq(store, room) == 1


async def test_leave(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    await store.join(room.id, bob.id, "bob")
    event = await store.leave(room.id, bob.id, "bob")
    assert event is not None
    assert (event.kind, event.seq, event.user, event.user_id, event.room) == (
        EventKind.LEAVE,
        3,
        "bob",
        bob.id,
        "room",
    )
    assert not await store.is_member(room.id, bob.id)
    assert [n for _, n in await store.room_members(room.id)] == ["Alice"]
    assert (await all_events(store, room))[-1] == event


async def test_leave_when_not_a_member(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    assert await store.leave(room.id, bob.id, "bob") is None
    await store.join(room.id, bob.id, "bob")
    assert await store.leave(room.id, bob.id, "bob") is not None
    assert await store.leave(room.id, bob.id, "bob") is None
    assert await last_seq(store, room) == 3


async def test_leave_and_join_again(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    await store.leave(room.id, alice.id, "Alice")
    event = await store.join(room.id, alice.id, "Alice")
    assert event is not None
    assert event.seq == 3
    assert await store.is_member(room.id, alice.id)


async def test_set_topic(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    event = await store.set_topic(room.id, alice.id, "Alice", "Friday release")
    assert (event.kind, event.seq, event.text, event.user, event.room) == (
        EventKind.TOPIC,
        2,
        "Friday release",
        "Alice",
        "room",
    )
    current = await store.get_room("room")
    assert current is not None
    assert current.topic == "Friday release"
    assert current.last_seq == 2
    assert (await all_events(store, room))[-1] == event


async def test_set_topic_of_unknown_room(store: Store, alice: User) -> None:
    with pytest.raises(NotFound):
        await store.set_topic(UNKNOWN, alice.id, "Alice", "t")


# -- read markers --------------------------------------------------------------------------


async def test_mark_read_moves_forward_only(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    for i in range(5):
        await post(store, room, alice, f"m{i}")  # seqs 2..6
    assert await store.mark_read(room.id, alice.id, 4) == 4
    assert await store.mark_read(room.id, alice.id, 2) == 4  # never backwards
    assert await store.mark_read(room.id, alice.id, -1) == 4
    assert await store.mark_read(room.id, alice.id, 5) == 5
    [view] = [v for v in await store.rooms_for(alice.id) if v.room.id == room.id]
    assert view.last_read_seq == 5


async def test_mark_read_stops_at_last_seq(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    await post(store, room, alice, "m")
    assert await store.mark_read(room.id, alice.id, 1_000) == 2
    await post(store, room, alice, "n")
    assert await store.mark_read(room.id, alice.id, 1_000) == 3


async def test_mark_read_of_non_member(store: Store, alice: User, bob: User) -> None:
    room = await make_room(store, "room", alice)
    await post(store, room, alice, "m")
    assert await store.mark_read(room.id, bob.id, 2) == 0
    assert await store.mark_read(UNKNOWN, alice.id, 2) == 0
    [view] = [v for v in await store.rooms_for(bob.id) if v.room.id == room.id]
    assert (view.member, view.last_read_seq) == (False, 0)


# -- history -------------------------------------------------------------------------------


async def test_events_after_pages_forwards(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    for i in range(9):
        await post(store, room, alice, f"m{i}")  # seqs 2..10
    pages: list[list[int]] = []
    after = 0
    while page := await store.events_after(room.id, after, 4):
        pages.append([e.seq for e in page])
        after = page[-1].seq
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert await store.events_after(room.id, 10, 4) == []
    assert [e.text for e in await store.events_after(room.id, 8, 100)] == ["m7", "m8"]


async def test_events_before_pages_backwards(store: Store, alice: User) -> None:
    room = await make_room(store, "room", alice)
    for i in range(9):
        await post(store, room, alice, f"m{i}")  # seqs 2..10
    newest = await store.events_before(room.id, None, 4)
    assert [e.seq for e in newest] == [7, 8, 9, 10]  # the newest, oldest first
    pages = [[e.seq for e in newest]]
    while page := await store.events_before(room.id, pages[-1][0], 4):
        pages.append([e.seq for e in page])
    assert pages == [[7, 8, 9, 10], [3, 4, 5, 6], [1, 2]]
    assert [e.seq for e in await store.events_before(room.id, 1_000, 2)] == [9, 10]
    assert await store.events_before(room.id, 1, 4) == []


async def test_history_of_an_empty_room(store: Store) -> None:
    room = await make_room(store, "empty")
    assert await store.events_after(room.id, 0, 10) == []
    assert await store.events_before(room.id, None, 10) == []


async def test_history_is_per_room(store: Store, alice: User) -> None:
    one = await make_room(store, "one", alice)
    two = await make_room(store, "two", alice)
    await post(store, one, alice, "in one")
    await post(store, two, alice, "in two")
    assert [e.text for e in await store.events_after(one.id, 1, 10)] == ["in one"]
    assert [e.text for e in await store.events_before(two.id, None, 1)] == ["in two"]
    assert {e.room for e in await all_events(store, two)} == {"two"}


async def test_history_matches_what_the_writes_returned(
    store: Store, alice: User, bob: User
) -> None:
    room, created = await store.create_room("room", RoomKind.PUBLIC, creator_id=alice.id)
    written: list[Event] = list(created)
    joined = await store.join(room.id, bob.id, "bob", by="Alice")
    assert joined is not None
    written.append(joined)
    written.append(await post(store, room, bob, "hi", "c-1"))
    written.append(await store.set_topic(room.id, alice.id, "Alice", "topic"))
    left = await store.leave(room.id, bob.id, "bob")
    assert left is not None
    written.append(left)
    assert await all_events(store, room) == written
    assert await store.events_before(room.id, None, 100) == written


async def test_seqs_stay_gap_free_around_failed_writes(
    store: Store, alice: User, bob: User
) -> None:
    room = await make_room(store, "room", alice)
    mine = await post(store, room, alice, "a")
    for failing in (
        store.edit_message(room.id, bob.id, "bob", mine.mid or 0, "x", any_author=False),
        store.delete_message(room.id, alice.id, "Alice", UNKNOWN, any_author=False),
        store.join(room.id, UNKNOWN, "ghost"),
        store.post_message(room.id, UNKNOWN, "ghost", "x"),
    ):
        with pytest.raises((Forbidden, NotFound)):
            await failing
    await store.join(room.id, bob.id, "bob")
    await store.mark_read(room.id, bob.id, 1)  # not an event
    await post(store, room, bob, "b")
    assert_gap_free(await all_events(store, room), 4)


async def test_unread_counts_stop_at_the_cap(store: Store, alice: User, bob: User) -> None:
    from parley.store.base import UNREAD_CAP

    room = await make_room(store, "busy", alice)
    await store.join(room.id, bob.id, bob.name)
    await asyncio.gather(
        *(
            store.post_message(room.id, alice.id, alice.name, f"m{n}", f"c{n}")
            for n in range(UNREAD_CAP + 5)
        )
    )
    assert await store.unread_count(room.id, bob.id) == UNREAD_CAP
    [view] = [v for v in await store.rooms_for(bob.id) if v.room.id == room.id]
    assert view.unread == UNREAD_CAP


# -- group commit --------------------------------------------------------------------------
#
# From here on, tests also reach the database as another process would, through the backend's
# harness (conftest.py): a lock held while writes queue makes a batch's content exact, and a
# trigger makes one write, or one commit, fail for real.


@asynccontextmanager
async def started(store: SQLStore) -> AsyncIterator[SQLStore]:
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def exact(harness: Harness) -> AsyncIterator[SQLStore]:
    """A started store whose batches are exactly what :func:`writes_held` queues."""
    async with started(harness.make(exact=True)) as store:
        yield store


def tasks(*calls: Awaitable[Any]) -> list[asyncio.Task[Any]]:
    return [asyncio.ensure_future(call) for call in calls]


async def queued(store: SQLStore, calls: list[asyncio.Task[Any]]) -> None:
    """Wait until these writes wait in the store's queue."""
    await wait_until(lambda: store.write_queue_depth == len(calls))


async def seqs(store: Store, room: Room) -> list[int]:
    return [e.seq for e in await all_events(store, room)]


async def test_start_twice_or_after_close(store_maker: StoreMaker) -> None:
    store = store_maker()
    await store.start()
    with pytest.raises(RuntimeError):
        await store.start()
    await store.close()
    with pytest.raises(Unavailable):
        await store.start()


async def test_calls_before_start_are_unavailable(store_maker: StoreMaker) -> None:
    store = store_maker()
    with pytest.raises(Unavailable):
        await store.get_room(LOBBY)
    with pytest.raises(Unavailable):
        await store.create_user("u", "h")
    await store.close()  # closing a store never started is fine, and final
    with pytest.raises(Unavailable):
        await store.get_room(LOBBY)


async def test_concurrent_posts_share_transactions(harness: Harness) -> None:
    async with started(harness.make()) as store:
        room = await make_room(store, "room")
        before = store.stats.transactions
        await asyncio.gather(*(store.post_message(room.id, None, "g", f"m{i}") for i in range(300)))
        used = store.stats.transactions - before
        assert 1 <= used < 300
        assert store.stats.largest_batch > 1
        assert await seqs(store, room) == list(range(1, 301))


async def test_queued_writes_commit_in_one_transaction(harness: Harness, exact: SQLStore) -> None:
    room = await make_room(exact, "room")
    committed: list[float] = []
    exact.observe_commit = committed.append
    before = exact.stats.transactions, exact.stats.batched_ops
    async with writes_held(harness, exact):
        posts = tasks(*(exact.post_message(room.id, None, "g", f"m{i}") for i in range(100)))
        await queued(exact, posts)
    await asyncio.gather(*posts)
    assert exact.stats.transactions - before[0] == 2  # the plug's, then all 100 posts
    assert exact.stats.batched_ops - before[1] == 101
    assert exact.stats.largest_batch == 100
    assert len(committed) == 2
    assert all(0 < seconds < 10 for seconds in committed)
    assert await seqs(exact, room) == list(range(1, 101))


async def test_a_failing_metrics_hook_does_not_fail_committed_writes(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(seconds: float) -> None:
        raise RuntimeError("metrics bug")

    store.observe_commit = broken
    room = await make_room(store, "room")
    posted = await store.post_message(room.id, None, "g", "kept")
    assert posted.event.seq == 1
    assert [e.text for e in await all_events(store, room)] == ["kept"]
    assert "observe_commit failed" in caplog.text


async def pipelined(
    store: Store, room: Room, user: User, count: int, pause: float
) -> list[asyncio.Task[Appended]]:
    """What one connection does with ``count`` sends to ``room``: each handed to the store as
    it arrives, without waiting for the earlier ones (chat/connection.py pipelines ``send``),
    with a random pause after each as a network would make. The posts' tasks, in send
    order (a task's first step submits its write: they run in the order they were made)."""
    posts = []
    for n in range(count):
        text = f"{user.name}:{n}"
        posts.append(
            asyncio.ensure_future(store.post_message(room.id, user.id, user.name, text, text))
        )
        await asyncio.sleep(random.uniform(0, pause))
    return posts


def assert_in_send_order(
    events: list[Event], user: User, posts: list[asyncio.Task[Appended]]
) -> None:
    """``user``'s messages among ``events`` are every acknowledged post of ``posts``, stored
    once each, their seqs in the order they were sent."""
    acked = [
        (post.result().event.seq, post.result().event.text)
        for post in posts
        if not post.exception()
    ]
    assert [seq for seq, _ in acked] == sorted(seq for seq, _ in acked), f"{user.name}: {acked}"
    mine = [(e.seq, e.text) for e in events if e.user_id == user.id]
    assert mine == acked, f"{user.name}: stored {mine}, acknowledged {acked}"


async def test_a_connections_sends_commit_in_the_order_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/protocol.md: a connection's sends are "stored in the order sent". Several
    connections pipeline sends to one room (and two more to another room, alongside) while
    every transaction starts late by a random time and, in the middle, a lock held elsewhere
    holds the room: each connection's seqs follow its send order, none lost or stored twice,
    and sending each cid again returns the original. Failed before the PostgreSQL store gave
    each room one writer: its two writers took batches from one queue, and a batch that
    started late committed after a later one of the same room."""
    harness.delay_transactions(monkeypatch, 0.02)
    async with started(harness.make(max_batch=8)) as store:  # small batches: many of them
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        other = await make_room(store, "other")
        users = [await store.create_user(f"c{i}", "h") for i in range(6)]
        rooms = [lobby, lobby, lobby, lobby, other, other]
        senders = [
            asyncio.ensure_future(pipelined(store, room, user, 100, 0.001))
            for room, user in zip(rooms, users, strict=True)
        ]
        await asyncio.sleep(0.02)
        async with harness.raw() as conn:  # the lobby held by another process for a moment
            await harness.block_writes(conn)
            await asyncio.sleep(0.05)
            await conn.execute("ROLLBACK")
        posts = await asyncio.gather(*senders)
        await asyncio.gather(*itertools.chain(*posts))
        stored = {room.id: await all_events(store, room) for room in (lobby, other)}
        for events in stored.values():
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
        for room, user, sent in zip(rooms, users, posts, strict=True):
            assert_in_send_order(stored[room.id], user, sent)
            first = sent[7].result().event  # exactly once: its cid finds the original
            again = await store.post_message(room.id, user.id, user.name, "x", first.text)
            assert again.duplicate
            assert again.event.seq == first.seq


async def test_max_batch_bounds_a_transaction(harness: Harness) -> None:
    async with started(harness.make(exact=True, max_batch=8)) as store:
        other = await make_room(store, "other")
        before = store.stats.transactions
        async with writes_held(harness, store):
            posts = tasks(*(store.post_message(other.id, None, "g", f"{i}") for i in range(40)))
            await queued(store, posts)
        await asyncio.gather(*posts)
        assert store.stats.transactions - before == 1 + 5
        assert store.stats.largest_batch == 8
        assert await seqs(store, other) == list(range(1, 41))


async def test_a_failing_write_does_not_fail_its_batch(harness: Harness, exact: SQLStore) -> None:
    alice = await exact.create_user("Alice", "h")
    bob = await exact.create_user("bob", "h")
    room = await make_room(exact, "room", alice)
    bobs = await post(exact, room, bob, "bob's")
    async with harness.raw() as conn:  # a real database error for one write of the batch
        await harness.refuse_insert(conn, "boom", "boom refused")
    before = exact.stats.transactions
    async with writes_held(harness, exact):
        batch = tasks(
            exact.post_message(room.id, alice.id, "Alice", "first"),
            exact.create_user("ALICE", "h"),
            exact.post_message(987_654, alice.id, "Alice", "nowhere"),
            exact.edit_message(room.id, alice.id, "Alice", bobs.mid or 0, "x", any_author=False),
            exact.post_message(room.id, alice.id, "Alice", "boom"),
            exact.create_user("carol", "h"),
            exact.post_message(room.id, alice.id, "Alice", "last"),
        )
        await queued(exact, batch)
    results = await asyncio.gather(*batch, return_exceptions=True)
    assert exact.stats.transactions - before == 2  # the plug's, then this one batch

    first, conflict, not_found, forbidden, boom, carol, last = results
    assert isinstance(conflict, Conflict)
    assert isinstance(not_found, NotFound)
    assert isinstance(forbidden, Forbidden)
    assert isinstance(boom, Unavailable)
    assert "boom refused" in str(boom)
    assert isinstance(first, Appended)
    assert isinstance(last, Appended)
    assert isinstance(carol, User)
    assert (first.event.seq, last.event.seq) == (3, 4)  # no gap where the failures were
    history = await all_events(exact, room)
    assert [e.text for e in history if e.kind is EventKind.MESSAGE] == ["bob's", "first", "last"]
    assert await exact.get_user("carol") == carol


async def test_a_failed_commit_fails_every_write_of_the_batch(
    harness: Harness, exact: SQLStore
) -> None:
    alice = await exact.create_user("Alice", "h")
    room = await make_room(exact, "room", alice)
    async with harness.raw() as conn:
        await harness.fail_commit_when(conn, "fail the commit")
    async with writes_held(harness, exact):
        batch = tasks(
            exact.post_message(room.id, alice.id, "Alice", "innocent"),
            exact.post_message(room.id, alice.id, "Alice", "fail the commit"),
            exact.create_user("bob", "h"),
            exact.set_topic(room.id, alice.id, "Alice", "new topic"),
            exact.create_user("ALICE", "h"),  # would be a Conflict, but nothing is committed
        )
        await queued(exact, batch)
    results = await asyncio.gather(*batch, return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results), results
    assert harness.commit_refusal in str(results[0])
    assert exact.stats.failed_transactions == 1
    assert exact.stats.retried_transactions == 0  # not worth a retry: it would fail again

    assert await exact.get_room_by_id(room.id) == room  # no seq taken, topic unchanged
    assert await exact.get_user("bob") is None
    assert await seqs(exact, room) == [1]

    # The store goes on, and the next seq follows the last committed one.
    again = await exact.post_message(room.id, alice.id, "Alice", "innocent")
    assert again.event.seq == 2
    assert (await exact.create_user("bob", "h")).name == "bob"
    assert await seqs(exact, room) == [1, 2]


async def test_cancelled_callers_do_not_break_the_writer(harness: Harness, exact: SQLStore) -> None:
    room = await make_room(exact, "room")
    async with writes_held(harness, exact):
        posts = tasks(*(exact.post_message(room.id, None, "g", f"m{i}") for i in range(20)))
        await queued(exact, posts)
        for cancelled in posts[::2]:
            cancelled.cancel()
    results = await asyncio.gather(*posts, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results[::2])
    assert all(isinstance(r, Appended) for r in results[1::2])
    # A caller cancelled before the writer reached its write gets nothing written.
    assert await seqs(exact, room) == list(range(1, 11))
    assert (await exact.post_message(room.id, None, "g", "after")).event.seq == 11


async def test_a_lock_held_too_long_is_unavailable(harness: Harness) -> None:
    async with started(harness.make(exact=True, lock_wait=0.1)) as store:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        async with harness.raw() as conn:
            await harness.block_writes(conn)
            started_at = time.monotonic()
            with pytest.raises(Unavailable):
                await store.post_message(lobby.id, None, "g", "m")
            assert time.monotonic() - started_at < 2  # never a hang
            await conn.execute("ROLLBACK")
        assert (await store.post_message(lobby.id, None, "g", "m")).event.seq == 1
        assert store.stats.failed_transactions == 1


# -- durability and the database's contents -------------------------------------------------


async def test_acknowledged_writes_survive_a_crash(
    harness: Harness, run_python: PythonRunner
) -> None:
    async with started(harness.make()):
        pass  # create the database
    crashed = run_python(POSTER, harness.db, "50", "crash")
    out, err = await asyncio.to_thread(crashed.communicate, timeout=60)
    assert crashed.returncode == 3, err
    assert sorted(int(line) for line in out.split()) == list(range(1, 51))

    async with started(harness.make()) as store:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        assert lobby.last_seq == 50
        history = await store.events_after(lobby.id, 0, 100)
        assert [e.seq for e in history] == list(range(1, 51))
        assert sorted(e.text or "" for e in history) == sorted(f"p{i}" for i in range(50))


async def test_deleted_text_is_removed_from_the_tables(harness: Harness, store: Store) -> None:
    alice = await store.create_user("Alice", "h")
    room = await make_room(store, "room", alice)
    doomed = await post(store, room, alice, "secret one")
    mid = doomed.mid or 0
    await store.edit_message(room.id, alice.id, "Alice", mid, "secret two", any_author=False)
    await store.delete_message(room.id, alice.id, "Alice", mid, any_author=False)
    async with harness.raw() as conn:
        found = await conn.fetchval("SELECT COUNT(*) FROM events WHERE text LIKE '%secret%'")
    assert found == 0


async def test_room_last_seq_is_stored_with_the_events(harness: Harness, store: Store) -> None:
    room = await make_room(store, "room")
    await asyncio.gather(*(store.post_message(room.id, None, "g", "m") for _ in range(30)))
    async with harness.raw() as conn:
        stored = await conn.fetchrow(
            "SELECT r.last_seq, MAX(e.seq), COUNT(*) FROM rooms AS r"
            " JOIN events AS e ON e.room_id = r.id WHERE r.id = ? GROUP BY r.last_seq",
            room.id,
        )
    assert stored is not None
    assert tuple(stored) == (30, 30, 30)


# -- migrations ------------------------------------------------------------------------------


async def test_migrations_are_recorded_once(harness: Harness) -> None:
    async def start_and_read_record() -> list[tuple[int, int]]:
        async with started(harness.make()):
            pass
        async with harness.raw() as conn:
            rows = await conn.fetch("SELECT version, applied_at FROM schema_migrations")
        return [(row[0], row[1]) for row in rows]

    first = await start_and_read_record()
    assert [version for version, _ in first] == [m.version for m in load(harness.migrations)]
    assert len({version for version, _ in first}) == len(first)  # each once
    assert await start_and_read_record() == first  # the second start applied nothing


async def test_apply_migrations_in_order_each_in_its_own_transaction(harness: Harness) -> None:
    one = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    two = Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER);\nINSERT INTO a VALUES (2);")
    broken = Migration(3, "0003_c.sql", "CREATE TABLE c (x INTEGER);\nCREATE TABLE a (y INTEGER);")
    async with harness.raw() as conn:
        assert await apply_migrations(conn, [two, one]) == [1, 2]
        assert await apply_migrations(conn, [one, two]) == []
        with pytest.raises(Exception, match="already exists") as failure:
            await apply_migrations(conn, [one, two, broken])
        assert "in migration 0003_c.sql" in (failure.value.__notes__ or [])
        assert not conn.in_transaction()
        versions = [row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")]
        assert versions == [1, 2]
        assert "c" not in await harness.tables(conn)  # the failed migration was rolled back whole
        assert [row[0] for row in await conn.fetch("SELECT x FROM a")] == [2]


async def test_newer_schema_is_refused(harness: Harness) -> None:
    async with harness.raw() as conn:
        await conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)"
        )
        await conn.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    store = harness.make()
    with pytest.raises(Unavailable, match="schema version 99"):
        await store.start()
    await store.close()


# -- the operator's tools: archive, rename, delete, rename a user --------------------------------


async def test_an_archived_room_is_read_only_until_unarchived(
    store: Store, alice: User, bob: User, room: Room
) -> None:
    await store.join(room.id, bob.id, bob.name)
    carol_id = (await store.create_user("carol", "hash-c")).id
    kept = await post(store, room, alice, "before")
    archived = await store.set_archived(room.id, True, author="operator")
    assert archived is not None
    assert (archived.kind, archived.user, archived.user_id) == (EventKind.ARCHIVE, "operator", None)
    assert await store.set_archived(room.id, True, author="operator") is None  # already so
    latest = await store.get_room_by_id(room.id)
    assert latest is not None
    assert latest.archived
    for change in (
        lambda: store.post_message(room.id, alice.id, alice.name, "after"),
        lambda: store.edit_message(
            room.id, alice.id, alice.name, kept.mid or 0, "x", any_author=True
        ),
        lambda: store.delete_message(room.id, alice.id, alice.name, kept.mid or 0, any_author=True),
        lambda: store.set_topic(room.id, alice.id, alice.name, "t"),
        lambda: store.join(room.id, carol_id, "carol"),
    ):
        with pytest.raises(Archived, match="is archived"):
            await change()
    # History stays readable, and a member may still leave.
    assert [
        e.text for e in await store.events_after(room.id, 0, 100) if e.kind is EventKind.MESSAGE
    ] == ["before"]
    assert await store.leave(room.id, bob.id, bob.name) is not None
    unarchived = await store.set_archived(room.id, False, author="operator")
    assert unarchived is not None
    assert unarchived.kind is EventKind.UNARCHIVE
    assert (await post(store, room, alice, "again")).text == "again"
    kinds = [e.kind for e in await store.events_after(room.id, 0, 100)]
    assert kinds[-4:] == [
        EventKind.ARCHIVE,
        EventKind.LEAVE,
        EventKind.UNARCHIVE,
        EventKind.MESSAGE,
    ]


async def test_concurrent_posts_to_an_archived_room_are_all_refused(
    store: Store, alice: User, room: Room
) -> None:
    await store.set_archived(room.id, True, author="operator")
    results = await asyncio.gather(
        *(store.post_message(room.id, alice.id, alice.name, f"m{i}") for i in range(20)),
        return_exceptions=True,
    )
    assert all(isinstance(r, Archived) for r in results), results
    latest = await store.get_room_by_id(room.id)
    assert latest is not None
    assert latest.last_seq == room.last_seq + 1  # only the archive event


async def test_renaming_a_room_keeps_its_history_under_the_new_name(
    store: Store, alice: User, room: Room
) -> None:
    await post(store, room, alice, "hello")
    renamed = await store.rename_room(room.id, "Salon", author="operator")
    assert (renamed.kind, renamed.text, renamed.previous, renamed.room) == (
        EventKind.RENAME,
        "Salon",
        "room",
        "room",  # the name the room had when the event was appended
    )
    assert await store.get_room("room") is None
    found = await store.get_room("salon")
    assert found is not None
    assert (found.id, found.name) == (room.id, "Salon")
    replayed = await store.events_after(room.id, 0, 100)
    assert {e.room for e in replayed[:-1]} == {"Salon"}  # read back: under its name now ...
    assert (replayed[-1].room, replayed[-1].previous) == ("room", "room")  # ... but the rename
    await make_room(store, "taken")
    with pytest.raises(Conflict):
        await store.rename_room(room.id, "TAKEN", author="operator")
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    with pytest.raises(Forbidden):
        await store.rename_room(lobby.id, "hall", author="operator")
    with pytest.raises(NotFound):
        await store.rename_room(UNKNOWN, "nowhere", author="operator")


async def test_deleting_a_room_erases_it_and_names_its_members(
    store: Store, alice: User, bob: User, room: Room
) -> None:
    await store.join(room.id, bob.id, bob.name)
    message = await post(store, room, alice, "secret plans")
    await store.edit_message(
        room.id, alice.id, alice.name, message.mid or 0, "more plans", any_author=False
    )
    assert await store.delete_room(room.id) == sorted([alice.id, bob.id])
    assert await store.get_room_by_id(room.id) is None
    assert await store.events_after(room.id, 0, 100) == []
    assert room.id not in {view.room.id for view in await store.rooms_for(bob.id)}
    with pytest.raises(NotFound):
        await store.post_message(room.id, alice.id, alice.name, "hello?")
    with pytest.raises(NotFound):
        await store.delete_room(room.id)
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    with pytest.raises(Forbidden):
        await store.delete_room(lobby.id)
    with pytest.raises(Forbidden):
        await store.set_archived(lobby.id, True, author="operator")
    # The name is free again; the id is never given to another room.
    again = await make_room(store, "room")
    assert again.id != room.id
    assert [r.name for r, _ in await store.list_rooms()] == ["lobby", "room"]


async def test_renaming_a_user_renames_their_events_invitations_and_direct_rooms(
    store: Store, alice: User, bob: User, room: Room
) -> None:
    await store.join(room.id, bob.id, bob.name, by=alice.name)
    said = await post(store, room, alice, "hi")
    direct, _ = await store.open_direct(alice.id, bob.id)
    await store.create_session(alice.id, "alice-token", 2**40)
    await store.create_session(bob.id, "bob-token", 2**40)
    renamed, events = await store.rename_user(alice.id, "Alicia")
    assert (renamed.id, renamed.name) == (alice.id, "Alicia")
    # Her sessions ended with the rename (she signs in again under the new name); bob's not.
    assert await store.get_session("alice-token", 0) is None
    assert await store.get_session("bob-token", 0) is not None
    assert await store.get_user("alice") is None
    assert (await store.get_user("ALICIA")) == renamed
    history = await store.events_after(room.id, 0, 100)
    assert {e.user for e in history if e.user_id == alice.id} == {"Alicia"}
    assert [e.by for e in history if e.kind is EventKind.JOIN and e.user_id == bob.id] == ["Alicia"]
    assert [e.text for e in history if e.mid == said.mid] == ["hi"]
    new_direct = direct_room_name("Alicia", "bob")
    assert [(e.kind, e.text, e.previous) for e in events] == [
        (EventKind.RENAME, new_direct, direct.name)
    ]
    assert (await store.get_room(new_direct)) is not None
    assert await store.get_room(direct.name) is None
    with pytest.raises(Conflict):
        await store.rename_user(alice.id, "BOB")
    with pytest.raises(NotFound):
        await store.rename_user(UNKNOWN, "nobody")


async def test_list_rooms_counts_members(store: Store, alice: User, bob: User, room: Room) -> None:
    await store.join(room.id, bob.id, bob.name)
    await store.set_archived(room.id, True, author="operator")
    listed = {r.name: (members, r.archived) for r, members in await store.list_rooms()}
    assert listed == {"lobby": (0, False), "room": (2, True)}


# -- upgrading from every earlier schema ----------------------------------------------------------

EARLIER_VERSIONS = [m.version for m in load()][:-1]


@pytest.mark.parametrize("upto", EARLIER_VERSIONS)
async def test_every_earlier_schema_upgrades_with_its_data(harness: Harness, upto: int) -> None:
    available = load(harness.migrations)
    async with harness.raw() as conn:
        await harness.enforce_foreign_keys(conn)
        await apply_migrations(conn, [m for m in available if m.version <= upto])
        # Data as the version-1 schema holds it: a user, a room, every event kind of then.
        user_id = await conn.fetchval(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            " VALUES ('old', 'old', 'h', 1) RETURNING id"
        )
        room_id = await conn.fetchval(
            "INSERT INTO rooms (name, name_key, kind, created_at, last_seq)"
            " VALUES ('past', 'past', 'public', 1, 5) RETURNING id"
        )
        await conn.execute(
            "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?, ?, 1)",
            room_id,
            user_id,
        )
        mid = await conn.fetchval(
            "INSERT INTO events (room_id, seq, kind, user_id, author, ts, text, cid)"
            " VALUES (?, 2, 'message', ?, 'old', 2, 'kept', 'c1') RETURNING id",
            room_id,
            user_id,
        )
        for seq, kind, text, ref in (
            (1, "join", None, None),
            (3, "edit", "kept", mid),
            (4, "topic", "a topic", None),
            (5, "leave", None, None),
        ):
            await conn.execute(
                "INSERT INTO events (room_id, seq, kind, user_id, author, ts, mid, text)"
                " VALUES (?, ?, ?, ?, 'old', 3, ?, ?)",
                room_id,
                seq,
                kind,
                user_id,
                ref,
                text,
            )
        applied = await apply_migrations(conn, available)
        assert applied == [m.version for m in available if m.version > upto]
        rows = await conn.fetch(
            "SELECT seq, kind, mid, text, cid FROM events WHERE room_id = ? ORDER BY seq", room_id
        )
        assert [tuple(row) for row in rows] == [
            (1, "join", None, None, None),
            (2, "message", None, "kept", "c1"),
            (3, "edit", mid, "kept", None),
            (4, "topic", None, "a topic", None),
            (5, "leave", None, None, None),
        ]
        with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
            await conn.execute(
                "INSERT INTO events (room_id, seq, kind, user_id, author, ts)"
                " VALUES (?, 6, 'bogus', ?, 'old', 4)",
                room_id,
                user_id,
            )
        with pytest.raises(Exception, match=r"(?i)unique"):  # one message per (user, cid)
            await conn.execute(
                "INSERT INTO events (room_id, seq, kind, user_id, author, ts, cid)"
                " VALUES (?, 7, 'message', ?, 'old', 4, 'c1')",
                room_id,
                user_id,
            )
    # A store runs on the upgraded database, new event kinds included.
    async with started(harness.make()) as store:
        past = await store.get_room("past")
        assert past is not None
        assert not past.archived
        # Mentions (0006) work on the upgraded data: the old member can be mentioned.
        newcomer = await store.create_user("newcomer", "h")
        await store.join(past.id, newcomer.id, newcomer.name)
        # Threads, reactions and pins (0007) work on a message stored before them.
        reply = await store.post_message(past.id, newcomer.id, newcomer.name, "re", thread=mid)
        assert (reply.event.thread, reply.event.replies) == (mid, 1)
        reacted = await store.react(past.id, newcomer.id, newcomer.name, mid, "👍", add=True)
        assert reacted.event is not None
        assert (await store.pin(past.id, user_id, "old", mid, pinned=True)).event is not None
        said = await store.post_message(past.id, newcomer.id, newcomer.name, "@OLD hello")
        assert said.event.mentions == ("old",)
        assert [e.text for e in await store.mentions_of(user_id, None, 5)] == ["@OLD hello"]
        assert (await store.set_archived(past.id, True, author="operator")) is not None
        assert (await store.events_after(past.id, said.event.seq, 10))[0].kind is EventKind.ARCHIVE
        # Messages stored before the search index existed are found (0005 indexed them).
        old = await store.get_user("old")
        assert old is not None
        while await store.count_pending():  # SQLite's indexer runs when the writers are idle
            await asyncio.sleep(0.01)
        [found] = (await store.search(old.id, parse("kept"), public=True)).events
        assert (found.room, found.seq, found.text) == ("past", 2, "kept")
