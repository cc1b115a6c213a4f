"""The conformance suite, continued: room quotas (``RoomQuotas``), on every backend.

Rooms a user creates and invitations a user receives are counted from the database in the
transaction that would add one more: the limit holds for concurrent writers, for several
stores on one database (as several server processes are), and across restarts. Time windows
are tested by ageing the rows (as if the clock had moved on), through the harness.
"""

from __future__ import annotations

import asyncio

import pytest

from parley.clock import now_ms
from parley.model import EventKind, RoomKind, User
from parley.store.base import LimitReached, Quota, RoomQuotas, Store
from parley.store.migrations import load
from parley.store.sql.migrate import apply_migrations
from tests.store.conftest import Harness

HOUR = 3_600_000
DAY = 24 * HOUR
THREE_A_DAY = RoomQuotas(created=Quota(3, DAY))
TWO_AN_HOUR = RoomQuotas(invited=Quota(2, HOUR))


async def age(harness: Harness, ms: int) -> None:
    """Move every room's creation and every event that far into the past."""
    async with harness.raw() as conn:
        await conn.execute("UPDATE rooms SET created_at = created_at - ?", ms)
        await conn.execute("UPDATE events SET ts = ts - ?", ms)


async def test_rooms_created_are_limited_per_window(
    store: Store, harness: Harness, alice: User, bob: User
) -> None:
    before = now_ms()
    for n in range(3):
        await store.create_room(f"r{n}", RoomKind.PUBLIC, creator_id=bob.id, quotas=THREE_A_DAY)
    with pytest.raises(LimitReached) as refused:
        await store.create_room("r3", RoomKind.PRIVATE, creator_id=bob.id, quotas=THREE_A_DAY)
    assert refused.value.which == "created"
    assert refused.value.quota == Quota(3, DAY)
    # One more fits once the oldest of the three is a day old.
    assert before + DAY <= refused.value.retry_at <= now_ms() + DAY
    assert await store.get_room("r3") is None  # nothing was created
    # Another user has a quota of their own; without quotas (an admin) there is no limit.
    await store.create_room("a0", RoomKind.PUBLIC, creator_id=alice.id, quotas=THREE_A_DAY)
    await store.create_room("r3", RoomKind.PUBLIC, creator_id=bob.id, quotas=None)
    # A day later the window is empty again.
    await age(harness, DAY)
    await store.create_room("r4", RoomKind.PUBLIC, creator_id=bob.id, quotas=THREE_A_DAY)


async def test_the_retry_time_is_when_the_oldest_counted_room_leaves_the_window(
    store: Store, harness: Harness, bob: User
) -> None:
    quotas = RoomQuotas(created=Quota(2, DAY))
    await store.create_room("old", RoomKind.PUBLIC, creator_id=bob.id, quotas=quotas)
    await age(harness, DAY - HOUR)  # 23 hours ago
    await store.create_room("new", RoomKind.PUBLIC, creator_id=bob.id, quotas=quotas)
    with pytest.raises(LimitReached) as refused:
        await store.create_room("more", RoomKind.PUBLIC, creator_id=bob.id, quotas=quotas)
    assert 0 < refused.value.retry_at - now_ms() <= HOUR


async def test_direct_rooms_count_for_the_opener_and_the_other(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    both = RoomQuotas(created=Quota(2, DAY), invited=Quota(1, HOUR))
    await store.open_direct(bob.id, alice.id, quotas=both)
    # Reopening an existing direct room costs nothing, whoever opens it.
    for _ in range(3):
        await store.open_direct(bob.id, alice.id, quotas=both)
        await store.open_direct(alice.id, bob.id, quotas=both)
    # Alice received one new room from someone else: her hour is full.
    with pytest.raises(LimitReached) as refused:
        await store.open_direct(carol.id, alice.id, quotas=both)
    assert refused.value.which == "invited"
    assert await store.get_room("dm:alice:carol") is None
    # Bob created one: one more fits, then his day is full.
    await store.open_direct(bob.id, carol.id, quotas=both)
    dave = await store.create_user("dave", "hash-d")
    with pytest.raises(LimitReached) as refused:
        await store.open_direct(bob.id, dave.id, quotas=both)
    assert refused.value.which == "created"


async def test_invitations_received_are_limited_per_window(
    store: Store, harness: Harness, alice: User, bob: User, carol: User
) -> None:
    rooms = [
        (await store.create_room(f"p{n}", RoomKind.PRIVATE, creator_id=alice.id))[0]
        for n in range(4)
    ]
    # Joining by oneself is no invitation, and costs nothing.
    public, _ = await store.create_room("open", RoomKind.PUBLIC, creator_id=alice.id)
    assert await store.join(public.id, bob.id, "bob", quotas=TWO_AN_HOUR) is not None
    # Invitations from anyone count together.
    await store.join(rooms[0].id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    await store.join(rooms[1].id, bob.id, "bob", by="Carol", quotas=TWO_AN_HOUR)
    # Inviting someone who already is a member changes nothing and costs nothing.
    assert await store.join(rooms[1].id, bob.id, "bob", by="Carol", quotas=TWO_AN_HOUR) is None
    seq = (await store.get_room_by_id(rooms[2].id)).last_seq  # type: ignore[union-attr]
    with pytest.raises(LimitReached) as refused:
        await store.join(rooms[2].id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    assert refused.value.which == "invited"
    assert not await store.is_member(rooms[2].id, bob.id)
    assert (await store.get_room_by_id(rooms[2].id)).last_seq == seq  # type: ignore[union-attr]
    # Carol's hour is her own; an admin's invitation (no quotas) always goes through.
    await store.join(rooms[2].id, carol.id, "Carol", by="Alice", quotas=TWO_AN_HOUR)
    await store.join(rooms[2].id, bob.id, "bob", by="Alice", quotas=None)
    # An hour later (the admin's invitation counted too) there is room again.
    with pytest.raises(LimitReached):
        await store.join(rooms[3].id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    await age(harness, HOUR)
    event = await store.join(rooms[3].id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    assert event is not None
    assert (event.kind, event.by) == (EventKind.JOIN, "Alice")


async def test_a_direct_room_opened_by_someone_else_counts_as_an_invitation(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    dave = await store.create_user("dave", "hash-d")
    await store.open_direct(bob.id, dave.id)  # Bob's own: no invitation to him (one to Dave)
    await store.open_direct(carol.id, bob.id)  # no quotas (an admin, say): counted all the same
    room, _ = await store.create_room("p", RoomKind.PRIVATE, creator_id=alice.id)
    await store.join(room.id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    other, _ = await store.create_room("q", RoomKind.PRIVATE, creator_id=alice.id)
    with pytest.raises(LimitReached):
        await store.join(other.id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR)
    await store.join(other.id, dave.id, "dave", by="Alice", quotas=TWO_AN_HOUR)
    with pytest.raises(LimitReached):
        await store.open_direct(alice.id, dave.id, quotas=TWO_AN_HOUR)


async def test_concurrent_creations_cannot_pass_the_limit(store: Store, bob: User) -> None:
    results = await asyncio.gather(
        *(
            store.create_room(f"c{n}", RoomKind.PUBLIC, creator_id=bob.id, quotas=THREE_A_DAY)
            for n in range(12)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert all(isinstance(r, LimitReached) for r in results if isinstance(r, BaseException))


async def test_concurrent_invitations_cannot_pass_the_limit(
    store: Store, alice: User, bob: User
) -> None:
    rooms = [
        (await store.create_room(f"p{n}", RoomKind.PRIVATE, creator_id=alice.id))[0]
        for n in range(10)
    ]
    results = await asyncio.gather(
        *(store.join(r.id, bob.id, "bob", by="Alice", quotas=TWO_AN_HOUR) for r in rooms),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert all(isinstance(r, LimitReached) for r in results if isinstance(r, BaseException))


async def test_the_limit_holds_across_stores_and_restarts(harness: Harness) -> None:
    """Several stores on one database (as several server processes are), and a store opened
    again later, count the same rooms."""
    stores = [harness.make() for _ in range(3)]
    for opened in stores:
        await opened.start()
    try:
        bob = await stores[0].create_user("bob", "hash-b")
        results = await asyncio.gather(
            *(
                stores[n % 3].create_room(
                    f"c{n}", RoomKind.PUBLIC, creator_id=bob.id, quotas=THREE_A_DAY
                )
                for n in range(12)
            ),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 3
    finally:
        for opened in stores:
            await opened.close()
    again = harness.make()
    await again.start()
    try:
        with pytest.raises(LimitReached):
            await again.create_room("late", RoomKind.PUBLIC, creator_id=bob.id, quotas=THREE_A_DAY)
    finally:
        await again.close()


async def test_upgrading_a_database_with_rooms(harness: Harness) -> None:
    """The room-quota migration (4) on a database of schema 2 with users and rooms: the old
    rooms have no recorded creator and count toward no quota; new ones do."""
    async with harness.raw() as conn:
        assert await apply_migrations(conn, load(harness.migrations)[:2]) == [1, 2]
        await conn.execute(
            "INSERT INTO users (name, name_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
            "bob",
            "bob",
            "hash-b",
            now_ms(),
        )
        await conn.execute(
            "INSERT INTO rooms (name, name_key, kind, created_at) VALUES (?, ?, ?, ?)",
            "old",
            "old",
            "public",
            now_ms(),
        )
    store = harness.make()
    await store.start()
    try:
        bob = await store.get_user("bob")
        assert bob is not None
        quotas = RoomQuotas(created=Quota(1, DAY))
        await store.create_room("new", RoomKind.PUBLIC, creator_id=bob.id, quotas=quotas)
        with pytest.raises(LimitReached):
            await store.create_room("newer", RoomKind.PUBLIC, creator_id=bob.id, quotas=quotas)
        assert (await store.get_room("old")) is not None
    finally:
        await store.close()
