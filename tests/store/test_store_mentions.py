"""Mentions and notification levels in the store, for every backend (the conformance suite's
fixtures: each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from parley.model import Event, EventKind, NotifyLevel, Room, RoomKind, User
from parley.protocol.mentions import MAX_MENTIONS
from parley.store.base import UNREAD_CAP, MentionRefused, Store
from parley.store.sql.mention_ops import SMALL_ROOM


async def say(store: Store, room: Room, user: User, text: str) -> Event:
    return (await store.post_message(room.id, user.id, user.name, text)).event


async def member(store: Store, room: Room, *users: User) -> None:
    for user in users:
        await store.join(room.id, user.id, user.name)


async def counts(store: Store, room: Room, user: User) -> tuple[int, int]:
    state = await store.unread_state(room.id, user.id)
    return state.unread, state.mentions


async def test_a_message_carries_the_members_it_mentions(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob)  # carol is not a member: not mentioned
    posted = await say(store, room, alice, "hi @BOB and @carol, mail bob@x.org, @alice")
    assert posted.mentions == ("bob",)  # as the name is spelled; never its own author
    [replayed] = await store.events_after(room.id, posted.seq - 1, 10)
    assert replayed.mentions == ("bob",)
    assert await counts(store, room, bob) == (1, 1)
    assert await counts(store, room, alice) == (0, 0)
    plain = await say(store, room, alice, "no mention here")
    assert plain.mentions == ()
    assert await counts(store, room, bob) == (2, 1)


async def test_reading_past_a_mention_clears_it(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    first = await say(store, room, alice, "@bob one")
    second = await say(store, room, alice, "@bob two")
    assert await counts(store, room, bob) == (2, 2)
    await store.mark_read(room.id, bob.id, first.seq)
    state = await store.unread_state(room.id, bob.id)
    assert (state.read, state.unread, state.mentions) == (first.seq, 1, 1)
    await store.mark_read(room.id, bob.id, second.seq)
    assert await counts(store, room, bob) == (0, 0)


async def test_an_edit_counts_a_kept_mention_once_and_names_what_it_changed(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob, carol)
    posted = await say(store, room, alice, "@bob look")
    assert posted.mid is not None
    edit = await store.edit_message(
        room.id, alice.id, alice.name, posted.mid, "@bob @carol look", any_author=False
    )
    assert edit.mentions == ("bob", "Carol")
    assert (edit.mentions_added, edit.mentions_removed) == (("Carol",), ())
    assert await counts(store, room, bob) == (1, 1)  # counted once
    assert await counts(store, room, carol) == (1, 1)  # added by the edit
    edit = await store.edit_message(
        room.id, alice.id, alice.name, posted.mid, "@carol only", any_author=False
    )
    assert (edit.mentions_added, edit.mentions_removed) == ((), ("bob",))
    assert await counts(store, room, bob) == (1, 0)  # retracted
    # The message, read back, is in its current state; the edit events keep what they did.
    events = await store.events_after(room.id, posted.seq - 1, 10)
    assert events[0].mentions == ("Carol",)
    assert [e.mentions_added for e in events[1:]] == [("Carol",), ()]
    assert [e.mentions_removed for e in events[1:]] == [(), ("bob",)]


async def test_a_delete_retracts_the_mentions_and_hides_the_message(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    posted = await say(store, room, alice, "@bob secret")
    assert posted.mid is not None
    gone = await store.delete_message(room.id, alice.id, alice.name, posted.mid, any_author=False)
    assert gone.kind is EventKind.DELETE
    assert gone.mentions_removed == ("bob",)
    assert await counts(store, room, bob) == (0, 0)
    assert await store.mentions_of(bob.id, None, 10) == []
    [message, _] = await store.events_after(room.id, posted.seq - 1, 10)
    assert message.deleted
    assert message.mentions == ()


async def test_the_mentions_view_pages_newest_first_in_member_rooms_only(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    other, _ = await store.create_room("other", RoomKind.PRIVATE, creator_id=alice.id)
    await member(store, other, bob)
    said = [await say(store, room, alice, f"@bob {i}") for i in range(3)]
    said.append(await say(store, other, alice, "@bob in other"))
    await say(store, room, alice, "not bob")
    assert said[0].mid is not None
    await store.edit_message(
        room.id, alice.id, alice.name, said[0].mid, "@bob edited", any_author=False
    )
    page = await store.mentions_of(bob.id, None, 2)
    assert [e.text for e in page] == ["@bob in other", "@bob 2"]
    assert page[0].room == "other"
    assert page[0].kind is EventKind.MESSAGE
    rest = await store.mentions_of(bob.id, page[-1].mid, 10)
    assert [e.text for e in rest] == ["@bob 1", "@bob edited"]  # the current text
    assert await store.mentions_of(bob.id, None, 0) == []
    assert await store.mentions_of(alice.id, None, 10) == []
    # Left a private room: its messages are no longer listed.
    await store.leave(other.id, bob.id, bob.name)
    assert "@bob in other" not in [e.text for e in await store.mentions_of(bob.id, None, 10)]


async def test_room_mentions_count_for_every_member_but_the_writer(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob, carol)
    posted = await say(store, room, bob, "@room lunch?")
    assert posted.mentions == ("@room",)
    assert await counts(store, room, alice) == (1, 1)
    assert await counts(store, room, carol) == (1, 1)
    assert await counts(store, room, bob) == (0, 0)
    assert [e.text for e in await store.mentions_of(carol.id, None, 10)] == ["@room lunch?"]
    assert await store.mentions_of(bob.id, None, 10) == []
    # Someone who joins later never counts it (their marker starts at their join).
    dave = await store.create_user("dave", "h")
    await member(store, room, dave)
    assert await counts(store, room, dave) == (0, 0)


async def test_room_mentions_in_a_big_room_need_the_creator_or_an_admin(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    # alice (admin) created `room`; carol creates `big`. bob is neither.
    big, _ = await store.create_room("big", RoomKind.PUBLIC, creator_id=carol.id)
    users = [await store.create_user(f"user{i}", "h") for i in range(SMALL_ROOM)]
    await member(store, big, bob, alice, *users)
    with pytest.raises(MentionRefused, match="@room"):
        await say(store, big, bob, "@room hey")
    plain = await say(store, big, bob, "`@room` is how to call everyone")  # code: no mention
    assert plain.mentions == ()
    assert (await say(store, big, carol, "@room hi")).mentions == ("@room",)  # the creator
    assert (await say(store, big, alice, "@room hi")).mentions == ("@room",)  # an admin
    # Nor can an edit add it.
    mine = await say(store, big, bob, "hello")
    assert mine.mid is not None
    with pytest.raises(MentionRefused):
        await store.edit_message(big.id, bob.id, bob.name, mine.mid, "@room", any_author=False)
    [after] = await store.events_after(big.id, mine.seq - 1, 10)
    assert after.text == "hello"  # refused whole


async def test_too_many_names_are_refused_not_cut(store: Store, room: Room, alice: User) -> None:
    text = " ".join(f"@name{i}" for i in range(MAX_MENTIONS + 1))
    with pytest.raises(MentionRefused, match=str(MAX_MENTIONS)):
        await say(store, room, alice, text)
    text = " ".join(f"@name{i}" for i in range(MAX_MENTIONS))
    assert (await say(store, room, alice, text)).mentions == ()


async def test_mentions_in_the_room_list(store: Store, room: Room, alice: User, bob: User) -> None:
    await member(store, room, bob)
    await say(store, room, alice, "@bob 1")
    await say(store, room, alice, "plain")
    views = {view.room.name: view for view in await store.rooms_for(bob.id)}
    assert (views["room"].unread, views["room"].mentions) == (2, 1)
    assert views["room"].notify is NotifyLevel.MENTIONS
    assert views["room"].muted_until == 0
    assert (views["lobby"].unread, views["lobby"].mentions) == (0, 0)


async def test_concurrent_posts_with_mentions_keep_seq_and_counts(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    posts = await asyncio.gather(
        *(say(store, room, alice, f"@bob {i}" if i % 2 else f"plain {i}") for i in range(40))
    )
    seqs = sorted(p.seq for p in posts)
    assert seqs == list(range(seqs[0], seqs[0] + 40))
    assert await counts(store, room, bob) == (40, 20)


async def test_counts_are_capped(store: Store, room: Room, alice: User, bob: User) -> None:
    await member(store, room, bob)
    await asyncio.gather(*(say(store, room, alice, "@bob x") for _ in range(UNREAD_CAP + 5)))
    assert await counts(store, room, bob) == (UNREAD_CAP, UNREAD_CAP)


async def test_notification_levels_are_stored_per_member(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    assert not await store.set_notify(room.id, bob.id, NotifyLevel.ALL, 0)  # not a member
    await member(store, room, bob)
    assert await store.set_notify(room.id, bob.id, NotifyLevel.NONE, 123_456)
    view = {v.room.name: v for v in await store.rooms_for(bob.id)}["room"]
    assert (view.notify, view.muted_until) == (NotifyLevel.NONE, 123_456)
    assert await store.set_notify(room.id, bob.id, NotifyLevel.ALL, 0)
    view = {v.room.name: v for v in await store.rooms_for(bob.id)}["room"]
    assert (view.notify, view.muted_until) == (NotifyLevel.ALL, 0)
    # Leaving forgets it.
    await store.leave(room.id, bob.id, bob.name)
    await member(store, room, bob)
    view = {v.room.name: v for v in await store.rooms_for(bob.id)}["room"]
    assert view.notify is NotifyLevel.MENTIONS


async def test_a_deleted_room_takes_its_mentions_along(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    await say(store, room, alice, "@bob bye")
    await store.delete_room(room.id)
    assert await store.mentions_of(bob.id, None, 10) == []


async def test_a_refused_mention_fails_alone_among_posts_committed_together(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    big, _ = await store.create_room("big", RoomKind.PUBLIC, creator_id=carol.id)
    users = [await store.create_user(f"member{i}", "h") for i in range(SMALL_ROOM)]
    await member(store, big, bob, *users)
    texts = [f"@bob plain {i}" if i != 7 else "@room refused" for i in range(15)]
    results = await asyncio.gather(
        *(say(store, big, users[i], text) for i, text in enumerate(texts)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], MentionRefused)
    stored = [r for r in results if isinstance(r, Event)]
    assert sorted(e.text or "" for e in stored) == sorted(t for t in texts if "@room" not in t)
    assert all(e.mentions == ("bob",) for e in stored)
    seqs = sorted(e.seq for e in stored)
    assert seqs == list(range(seqs[0], seqs[0] + 14))  # no gap where the refused one was
    assert await counts(store, big, bob) == (14, 14)


async def test_a_guest_can_mention_and_is_never_a_mention(
    store: Store, alice: User, bob: User
) -> None:
    lobby = await store.get_room("lobby")
    assert lobby is not None
    await member(store, lobby, bob)
    posted = (await store.post_message(lobby.id, None, "guest-1234", "@bob hi from outside")).event
    assert posted.mentions == ("bob",)
    assert (await counts(store, lobby, bob))[1] == 1
    said = await say(store, lobby, bob, "@guest-1234 hello")  # guests have no account
    assert said.mentions == ()
