"""Threads, reactions, pins and edit versions in the store, for every backend (the
conformance suite's fixtures: each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from parley.model import Event, EventKind, Room, User
from parley.protocol.reactions import MAX_EMOJI_PER_MESSAGE
from parley.store.base import Archived, Forbidden, NotFound, Store, TooManyReactions
from parley.store.sql.current_state import LISTED_REACTORS, LISTED_REPLIERS
from tests.store.conftest import Harness


async def say(
    store: Store,
    room: Room,
    user: User,
    text: str,
    thread: int | None = None,
    *,
    broadcast: bool = False,
) -> Event:
    posted = await store.post_message(
        room.id, user.id, user.name, text, thread=thread, broadcast=broadcast
    )
    return posted.event


async def member(store: Store, room: Room, *users: User) -> None:
    for user in users:
        await store.join(room.id, user.id, user.name)


async def test_replies_attach_to_the_root_and_keep_its_summary(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob, carol)
    root = await say(store, room, alice, "root")
    assert root.mid is not None
    first = await say(store, room, bob, "one", root.mid)
    assert (first.thread, first.replies, first.repliers) == (root.mid, 1, (bob.name,))
    assert first.last_reply_ts == first.ts
    nested = await say(store, room, carol, "two", first.mid)  # a reply to a reply
    assert nested.thread == root.mid
    assert (nested.replies, nested.repliers) == (2, (carol.name, bob.name))
    [back] = [e for e in await store.events_after(room.id, 0, 50) if e.mid == root.mid]
    assert (back.replies, back.repliers, back.last_reply_ts) == (
        2,
        (carol.name, bob.name),
        nested.ts,
    )
    head, replies = await store.thread_replies(room.id, nested.mid or 0, None, 10)
    assert head.mid == root.mid
    assert [r.mid for r in replies] == [first.mid, nested.mid]
    assert all(r.replies == 2 for r in replies)  # their thread's summary, now
    _, newest = await store.thread_replies(room.id, root.mid, None, 1)
    assert [r.mid for r in newest] == [nested.mid]
    _, older = await store.thread_replies(room.id, root.mid, nested.seq, 5)
    assert [r.mid for r in older] == [first.mid]
    deleted = await store.delete_message(
        room.id, bob.id, bob.name, first.mid or 0, any_author=False
    )
    assert (deleted.thread, deleted.replies) == (root.mid, 1)


async def test_the_repliers_are_bounded_and_most_recent_first(
    store: Store, room: Room, alice: User
) -> None:
    root = await say(store, room, alice, "root")
    people = [await store.create_user(f"replier{i}", "h") for i in range(LISTED_REPLIERS + 2)]
    for person in people:
        await member(store, room, person)
        await say(store, room, person, "me", root.mid)
    last = await say(store, room, people[0], "again", root.mid)
    assert last.replies == len(people) + 1
    expected = [people[0].name] + [p.name for p in reversed(people[1:])]
    assert list(last.repliers) == expected[:LISTED_REPLIERS]


async def test_a_thread_on_a_missing_deleted_or_other_rooms_message_is_not_found(
    store: Store, room: Room, alice: User
) -> None:
    other = (await store.create_room("other", room.kind, creator_id=alice.id))[0]
    elsewhere = await say(store, other, alice, "there")
    gone = await say(store, room, alice, "gone")
    await store.delete_message(room.id, alice.id, alice.name, gone.mid or 0, any_author=False)
    topic = await store.set_topic(room.id, alice.id, alice.name, "t")
    before = (await store.get_room_by_id(room.id)).last_seq  # type: ignore[union-attr]
    for thread in (elsewhere.mid, gone.mid, 10**9, topic.seq + 10**6):
        with pytest.raises(NotFound):
            await say(store, room, alice, "reply", thread)
    assert (await store.get_room_by_id(room.id)).last_seq == before  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await store.thread_replies(room.id, elsewhere.mid or 0, None, 10)
    root, _ = await store.thread_replies(room.id, gone.mid or 0, None, 10)  # deleted: readable
    assert root.deleted


async def test_unread_counts_the_main_timeline_and_threads_count_for_followers(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob, carol)
    root = await say(store, room, alice, "root")
    for user in (bob, carol):
        await store.mark_read(room.id, user.id, root.seq)
    await say(store, room, bob, "quiet", root.mid)
    await say(store, room, bob, "hey @carol", root.mid)
    loud = await say(store, room, bob, "loud", root.mid, broadcast=True)
    assert loud.broadcast
    carol_state = await store.unread_state(room.id, carol.id)
    assert (carol_state.unread, carol_state.mentions) == (1, 0)
    [view] = await store.followed_threads(carol.id, None, 10)  # followed: mentioned
    assert (view.root.mid, view.unread, view.mentions, view.read) == (root.mid, 3, 1, 0)
    [view] = await store.followed_threads(alice.id, None, 10)  # followed: the root's author
    assert (view.unread, view.mentions) == (3, 0)
    [view] = await store.followed_threads(bob.id, None, 10)  # followed: replied
    assert view.unread == 0
    thread, state = await store.mark_thread_read(room.id, carol.id, root.mid or 0, loud.seq + 99)
    assert (thread, state.read, state.unread, state.mentions) == (root.mid, loud.seq, 0, 0)
    _, state = await store.mark_thread_read(room.id, carol.id, root.mid or 0, 1)  # never back
    assert state.read == loud.seq
    assert await store.set_following(room.id, carol.id, root.mid or 0, False) == root.mid
    assert await store.followed_threads(carol.id, None, 10) == []
    await say(store, room, bob, "@carol again", root.mid)  # mentioned again: follows again
    assert len(await store.followed_threads(carol.id, None, 10)) == 1
    # A reader who never followed does not follow by reading.
    dave = await store.create_user("dave", "h")
    await member(store, room, dave)
    await store.mark_thread_read(room.id, dave.id, root.mid or 0, loud.seq)
    assert await store.followed_threads(dave.id, None, 10) == []
    with pytest.raises(NotFound):
        await store.set_following(room.id, dave.id, 10**9, True)


async def test_the_roots_author_follows_even_after_reading_it_first(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    root = await say(store, room, alice, "root")
    await store.mark_thread_read(room.id, alice.id, root.mid or 0, root.seq)  # a marker only
    assert await store.followed_threads(alice.id, None, 10) == []
    await say(store, room, bob, "reply", root.mid)
    [view] = await store.followed_threads(alice.id, None, 10)
    assert (view.root.mid, view.unread) == (root.mid, 1)


async def test_followed_threads_page_by_last_reply(store: Store, room: Room, alice: User) -> None:
    roots = [await say(store, room, alice, f"root {i}") for i in range(4)]
    for root in roots:
        await say(store, room, alice, "r", root.mid)
    await say(store, room, alice, "bump", roots[0].mid)
    seen: list[tuple[int, int]] = []
    after = None
    while True:
        page = await store.followed_threads(alice.id, after, 3)
        if not page:
            break
        for view in page:
            assert view.root.last_reply_ts is not None
            assert view.root.mid is not None
            seen.append((view.root.last_reply_ts, view.root.mid))
        after = seen[-1]
    # Most recently replied-to first (ties in the millisecond: the newer root first), each once.
    assert seen == sorted(seen, reverse=True)
    assert sorted(mid for _, mid in seen) == [r.mid for r in roots]
    bumped = next(ts for ts, mid in seen if mid == roots[0].mid)
    assert bumped == max(ts for ts, _ in seen)


async def test_reactions_toggle_once_and_are_read_back_with_totals(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    said = await say(store, room, alice, "hi")
    mid = said.mid or 0
    added = await store.react(room.id, bob.id, bob.name, mid, "👍", add=True)
    assert added.event is not None
    assert (added.event.kind, added.event.emoji, added.event.count) == (EventKind.REACTION, "👍", 1)
    assert added.seq == added.event.seq
    repeat = await store.react(room.id, bob.id, bob.name, mid, "👍", add=True)
    assert (repeat.event, repeat.seq) == (None, added.seq)
    await store.react(room.id, alice.id, alice.name, mid, "👍", add=True)
    [back] = [e for e in await store.events_after(room.id, 0, 50) if e.mid == mid and e.text]
    assert [(r.emoji, r.count, r.users) for r in back.reactions] == [
        ("👍", 2, (bob.name, alice.name))
    ]
    taken = await store.react(room.id, bob.id, bob.name, mid, "👍", add=False)
    assert taken.event is not None
    assert (taken.event.removed, taken.event.count) == (True, 1)
    nothing = await store.react(room.id, bob.id, bob.name, mid, "👍", add=False)
    assert (nothing.event, nothing.seq) == (None, None)
    carol = await store.create_user("carol", "h")
    with pytest.raises(Forbidden):
        await store.react(room.id, carol.id, carol.name, mid, "👍", add=True)
    with pytest.raises(NotFound):
        await store.react(room.id, bob.id, bob.name, 10**9, "👍", add=True)


async def test_reactions_are_bounded_per_message_and_listed_names_too(
    store: Store, room: Room, alice: User
) -> None:
    said = await say(store, room, alice, "hi")
    mid = said.mid or 0
    for n in range(MAX_EMOJI_PER_MESSAGE):
        await store.react(room.id, alice.id, alice.name, mid, f":e{n}:", add=True)
    before = (await store.get_room_by_id(room.id)).last_seq  # type: ignore[union-attr]
    with pytest.raises(TooManyReactions):
        await store.react(room.id, alice.id, alice.name, mid, ":one-more:", add=True)
    assert (await store.get_room_by_id(room.id)).last_seq == before  # type: ignore[union-attr]
    people = [await store.create_user(f"fan{i}", "h") for i in range(LISTED_REACTORS + 3)]
    await asyncio.gather(*(member(store, room, p) for p in people))
    for person in people:
        await store.react(room.id, person.id, person.name, mid, ":e0:", add=True)
    [back] = await store.events_after(room.id, said.seq - 1, 1)
    first = back.reactions[0]
    assert (first.emoji, first.count) == (":e0:", len(people) + 1)
    assert first.users == (alice.name, *(p.name for p in people[: LISTED_REACTORS - 1]))


async def test_pins_follow_the_one_permission_and_leave_with_a_delete(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    # alice: the first account (an admin) and the room's creator; bob and carol: members.
    await member(store, room, bob, carol)
    bobs = await say(store, room, bob, "bob's")
    carols = await say(store, room, carol, "carol's")
    with pytest.raises(Forbidden, match="author"):
        await store.pin(room.id, carol.id, carol.name, bobs.mid or 0, pinned=True)
    pinned = await store.pin(room.id, bob.id, bob.name, bobs.mid or 0, pinned=True)
    assert pinned.event is not None
    assert pinned.event.kind is EventKind.PIN
    again = await store.pin(room.id, alice.id, alice.name, bobs.mid or 0, pinned=True)
    assert (again.event, again.seq) == (None, pinned.seq)
    await store.pin(room.id, alice.id, alice.name, carols.mid or 0, pinned=True)
    listed = await store.pinned_messages(room.id, None, 10)
    assert [(e.mid, e.pinned) for e in listed][1] == (bobs.mid, pinned.seq)
    assert [e.mid for e in listed] == [carols.mid, bobs.mid]
    assert [e.mid for e in await store.pinned_messages(room.id, listed[0].pinned, 10)] == [bobs.mid]
    unpinned = await store.pin(room.id, carol.id, carol.name, carols.mid or 0, pinned=False)
    assert unpinned.event is not None
    assert unpinned.event.kind is EventKind.UNPIN
    assert (
        await store.pin(room.id, carol.id, carol.name, carols.mid or 0, pinned=False)
    ).seq is None
    await store.delete_message(room.id, bob.id, bob.name, bobs.mid or 0, any_author=False)
    assert await store.pinned_messages(room.id, None, 10) == []
    with pytest.raises(NotFound):
        await store.pin(room.id, bob.id, bob.name, bobs.mid or 0, pinned=True)
    outsider = await store.create_user("dave", "h")
    with pytest.raises(Forbidden):
        await store.pin(room.id, outsider.id, outsider.name, carols.mid or 0, pinned=True)


async def test_versions_are_every_text_and_a_delete_erases_them(
    store: Store, room: Room, alice: User
) -> None:
    said = await say(store, room, alice, "v1 secret")
    mid = said.mid or 0
    edits = [
        await store.edit_message(
            room.id, alice.id, alice.name, mid, f"v{n} secret", any_author=False
        )
        for n in (2, 3)
    ]
    found, more = await store.versions(room.id, mid, None, 10)
    assert [(v.seq, v.text) for v in found] == [
        (said.seq, "v1 secret"),
        (edits[0].seq, "v2 secret"),
        (edits[1].seq, "v3 secret"),
    ]
    assert not more
    newest, more = await store.versions(room.id, mid, None, 1)
    assert ([v.text for v in newest], more) == (["v3 secret"], True)
    older, more = await store.versions(room.id, mid, edits[1].seq, 5)
    assert ([v.text for v in older], more) == (["v1 secret", "v2 secret"], False)
    await store.delete_message(room.id, alice.id, alice.name, mid, any_author=False)
    with pytest.raises(NotFound):
        await store.versions(room.id, mid, None, 10)


async def test_deleted_versions_are_gone_from_the_tables(
    harness: Harness, store: Store, room: Room, alice: User
) -> None:
    said = await say(store, room, alice, "first secret")
    mid = said.mid or 0
    await store.edit_message(room.id, alice.id, alice.name, mid, "second", any_author=False)
    await store.delete_message(room.id, alice.id, alice.name, mid, any_author=False)
    async with harness.raw() as conn:
        rows = await conn.fetch("SELECT text, original FROM events WHERE room_id = ?", room.id)
    assert all("secret" not in (row[0] or "") + (row[1] or "") for row in rows)


async def test_an_archived_room_takes_no_reaction_pin_or_reply(
    store: Store, room: Room, alice: User
) -> None:
    said = await say(store, room, alice, "kept")
    await store.set_archived(room.id, True, author="operator")
    for change in (
        lambda: store.react(room.id, alice.id, alice.name, said.mid or 0, "👍", add=True),
        lambda: store.pin(room.id, alice.id, alice.name, said.mid or 0, pinned=True),
        lambda: store.post_message(room.id, alice.id, alice.name, "r", thread=said.mid),
    ):
        with pytest.raises(Archived):
            await change()


async def test_deleting_a_room_erases_its_threads_and_reactions(
    store: Store, room: Room, alice: User
) -> None:
    said = await say(store, room, alice, "root")
    await say(store, room, alice, "reply", said.mid)
    await store.react(room.id, alice.id, alice.name, said.mid or 0, "👍", add=True)
    await store.pin(room.id, alice.id, alice.name, said.mid or 0, pinned=True)
    await store.delete_room(room.id)
    assert await store.followed_threads(alice.id, None, 10) == []
