"""A user's follow state of a thread (``thread_following``) and the users a reply makes follow
(``Appended.new_followers``), for every backend (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from parley.model import Room, User
from parley.store.base import NotFound, Store
from tests.store.test_store_threads import member, say


async def test_following_says_what_the_rules_decided(
    store: Store, room: Room, alice: User, bob: User, carol: User
) -> None:
    await member(store, room, bob, carol)
    root = await say(store, room, alice, "root")
    assert root.mid is not None
    following = store.thread_following
    # Before any reply: the root's author follows, nobody else does.
    assert await following(room.id, alice.id, root.mid)
    assert not await following(room.id, bob.id, root.mid)
    # Reading a thread does not follow it; replying and being mentioned do.
    await store.mark_thread_read(room.id, carol.id, root.mid, root.seq)
    assert not await following(room.id, carol.id, root.mid)
    reply = await store.post_message(room.id, bob.id, bob.name, "hi @carol", thread=root.mid)
    assert sorted(reply.new_followers) == sorted([bob.id, carol.id])  # not alice: already
    assert reply.event.mid is not None
    for user in (alice, bob, carol):  # asked by a reply's mid: its root's thread
        assert await following(room.id, user.id, reply.event.mid), user.name
    # Following again changes nothing: a second reply makes no new follower.
    again = await store.post_message(room.id, bob.id, bob.name, "@carol?", thread=root.mid)
    assert again.new_followers == ()
    # An unfollow is kept, the author's too; a reply (or a mention) makes them follow again.
    for user in (alice, carol):
        await store.set_following(room.id, user.id, root.mid, False)
        assert not await following(room.id, user.id, root.mid), user.name
    quiet = await store.post_message(room.id, bob.id, bob.name, "still here", thread=root.mid)
    assert quiet.new_followers == ()
    assert not await following(room.id, alice.id, root.mid)  # the author stopped: stays out
    back = await store.post_message(room.id, alice.id, alice.name, "@carol back", thread=root.mid)
    assert sorted(back.new_followers) == sorted([alice.id, carol.id])
    # @room makes nobody follow; a plain message makes no follower.
    everyone = await store.post_message(room.id, bob.id, bob.name, "@room", thread=root.mid)
    assert everyone.new_followers == ()
    plain = await store.post_message(room.id, bob.id, bob.name, "@carol outside")
    assert plain.new_followers == ()
    # A resend (same cid) is the original: nobody newly follows.
    dave = await store.create_user("dave", "h")
    await member(store, room, dave)
    first = await store.post_message(room.id, dave.id, dave.name, "x", "d1", thread=root.mid)
    assert first.new_followers == (dave.id,)
    resent = await store.post_message(room.id, dave.id, dave.name, "x", "d1", thread=root.mid)
    assert resent.duplicate
    assert resent.new_followers == ()


async def test_following_of_a_deleted_root_and_of_no_message(
    store: Store, room: Room, alice: User, bob: User
) -> None:
    await member(store, room, bob)
    root = await say(store, room, alice, "root")
    assert root.mid is not None
    await say(store, room, bob, "reply", root.mid)
    await store.delete_message(room.id, alice.id, alice.name, root.mid, any_author=False)
    assert await store.thread_following(room.id, bob.id, root.mid)  # still readable
    for mid in (10**9, 0, -1):
        with pytest.raises(NotFound):
            await store.thread_following(room.id, bob.id, mid)
    other = (await store.create_room("elsewhere", room.kind, creator_id=alice.id))[0]
    with pytest.raises(NotFound):  # a message of another room
        await store.thread_following(other.id, bob.id, root.mid)
