"""Room roles and moderation in the store (migration 0009, ``store/sql/moderation_ops.py``,
``parley/permissions.py``), for every backend: every rule, every act's event and audit entry,
and the bad inputs."""

from __future__ import annotations

import asyncio

import pytest

from parley.clock import now_ms
from parley.model import AuditFilter, EventKind, Room, RoomKind, User
from parley.permissions import MAX_DURATION_MS, Role
from parley.store.base import Banned, Muted, NotMember, NotPermitted, Store
from parley.store.migrations import load
from parley.store.sql.migrate import apply_migrations
from tests.store.conftest import Harness
from tests.store.test_store_conformance import started

HOUR = 3600 * 1000


@pytest.fixture
async def dave(store: Store, carol: User) -> User:
    return await store.create_user("dave", "hash-d")


@pytest.fixture
async def bobs(store: Store, bob: User, carol: User, dave: User) -> Room:
    """A public room bob created (bob: its owner, no admin); carol and dave are members."""
    created, _ = await store.create_room("bobs", RoomKind.PUBLIC, creator_id=bob.id)
    for user in (carol, dave):
        await store.join(created.id, user.id, user.name)
    return created


async def role_of(store: Store, room: Room, user: User) -> Role:
    return (await store.room_place(room.id, user.id)).standing.role


async def test_the_creator_owns_the_room_and_names_moderators(
    store: Store, bobs: Room, bob: User, carol: User
) -> None:
    assert await role_of(store, bobs, bob) is Role.OWNER
    assert await store.room_roles(bobs.id) == [("bob", Role.OWNER)]
    event = await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address="192.0.2.1")
    assert event is not None
    assert (event.kind, event.user, event.by, event.text) == (
        EventKind.ROLE,
        "Carol",
        "bob",
        "moderator",
    )
    assert event.seq == (await store.get_room_by_id(bobs.id)).last_seq  # type: ignore[union-attr]
    [replayed] = await store.events_after(bobs.id, event.seq - 1, 5)
    assert replayed == event
    assert await store.room_roles(bobs.id) == [("bob", Role.OWNER), ("Carol", Role.MODERATOR)]
    assert await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None) is None
    [entry] = await store.audit_log(AuditFilter(action="room.role"))
    assert (entry.actor, entry.target, entry.room, entry.address, entry.detail) == (
        "bob",
        "Carol",
        "bobs",
        "192.0.2.1",
        "member -> moderator",
    )
    back = await store.set_role(bobs.id, bob.id, carol.id, Role.MEMBER, address=None)
    assert back is not None
    assert back.text == "member"
    assert await role_of(store, bobs, carol) is Role.MEMBER


async def test_who_may_give_and_take_roles(
    store: Store, bobs: Room, alice: User, bob: User, carol: User, dave: User
) -> None:
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None)
    # A moderator names nobody, and cannot demote the owner.
    with pytest.raises(NotPermitted, match="only its owners"):
        await store.set_role(bobs.id, carol.id, dave.id, Role.MODERATOR, address=None)
    with pytest.raises(NotPermitted):
        await store.set_role(bobs.id, carol.id, bob.id, Role.MEMBER, address=None)
    # Nobody changes their own role.
    with pytest.raises(NotPermitted, match="yourself"):
        await store.set_role(bobs.id, bob.id, bob.id, Role.MEMBER, address=None)
    # An owner may name a co-owner, who then cannot be demoted by the first one.
    await store.set_role(bobs.id, bob.id, dave.id, Role.OWNER, address=None)
    with pytest.raises(NotPermitted, match="room owner"):
        await store.set_role(bobs.id, bob.id, dave.id, Role.MEMBER, address=None)
    # A server admin can do it all, member of the room or not.
    assert not (await store.room_place(bobs.id, alice.id)).standing.member
    done = await store.set_role(bobs.id, alice.id, bob.id, Role.MEMBER, address=None)
    assert done is not None
    assert await role_of(store, bobs, bob) is Role.MEMBER
    # Roles are for members.
    outsider = await store.create_user("outsider", "h")
    with pytest.raises(NotMember):
        await store.set_role(bobs.id, alice.id, outsider.id, Role.MODERATOR, address=None)


async def test_a_kick_removes_the_member_who_may_come_back(
    store: Store, bobs: Room, bob: User, carol: User, dave: User
) -> None:
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None)
    kicked = await store.kick(bobs.id, carol.id, dave.id, address="198.51.100.2")
    assert (kicked.kind, kicked.user, kicked.by) == (EventKind.KICK, "dave", "Carol")
    assert not await store.is_member(bobs.id, dave.id)
    with pytest.raises(NotMember):
        await store.kick(bobs.id, carol.id, dave.id, address=None)
    assert await store.join(bobs.id, dave.id, dave.name) is not None
    # A moderator cannot kick the owner, nor another moderator, nor themselves.
    with pytest.raises(NotPermitted, match="room owner"):
        await store.kick(bobs.id, carol.id, bob.id, address=None)
    await store.set_role(bobs.id, bob.id, dave.id, Role.MODERATOR, address=None)
    with pytest.raises(NotPermitted, match="moderator"):
        await store.kick(bobs.id, carol.id, dave.id, address=None)
    with pytest.raises(NotPermitted, match="yourself"):
        await store.kick(bobs.id, carol.id, carol.id, address=None)
    # The owner kicks a moderator, who loses the role with the membership.
    await store.kick(bobs.id, bob.id, dave.id, address=None)
    await store.join(bobs.id, dave.id, dave.name)
    assert await role_of(store, bobs, dave) is Role.MEMBER
    [*_, first] = await store.audit_log(AuditFilter(action="room.kick"))
    assert (first.actor, first.target, first.address) == ("Carol", "dave", "198.51.100.2")


async def test_a_plain_member_moderates_nobody(
    store: Store, bobs: Room, carol: User, dave: User
) -> None:
    for act in (
        store.kick(bobs.id, carol.id, dave.id, address=None),
        store.ban(bobs.id, carol.id, dave.id, None, address=None),
        store.mute(bobs.id, carol.id, dave.id, now_ms() + HOUR, address=None),
        store.set_room_settings(bobs.id, carol.id, {"post": "moderators"}, address=None),
    ):
        with pytest.raises(NotPermitted):
            await act
    assert await store.audit_log(AuditFilter()) == []


async def test_a_ban_keeps_the_user_out_until_it_ends(
    store: Store, bobs: Room, bob: User, carol: User, dave: User
) -> None:
    banned = await store.ban(bobs.id, bob.id, dave.id, None, address=None)
    assert (banned.kind, banned.user, banned.by, banned.until) == (
        EventKind.BAN,
        "dave",
        "bob",
        None,
    )
    assert not await store.is_member(bobs.id, dave.id)
    with pytest.raises(Banned, match="dave is banned"):
        await store.join(bobs.id, dave.id, dave.name)
    with pytest.raises(Banned):
        await store.join(bobs.id, dave.id, dave.name, by=carol.name)
    assert (await store.room_place(bobs.id, dave.id)).standing.banned
    lifted = await store.unban(bobs.id, bob.id, dave.id, address=None)
    assert lifted is not None
    assert lifted.kind is EventKind.UNBAN
    assert await store.unban(bobs.id, bob.id, dave.id, address=None) is None
    assert await store.join(bobs.id, dave.id, dave.name) is not None
    # A ban with an end: over once the end passed.
    end = now_ms() + 50
    timed = await store.ban(bobs.id, bob.id, dave.id, end, address=None)
    assert timed.until == end
    while now_ms() <= end:
        await asyncio.sleep(0.01)
    assert not (await store.room_place(bobs.id, dave.id)).standing.banned
    assert await store.join(bobs.id, dave.id, dave.name) is not None
    assert await store.unban(bobs.id, bob.id, dave.id, address=None) is None  # none in force


async def test_a_user_who_is_not_a_member_can_be_banned_before_coming(
    store: Store, bobs: Room, bob: User
) -> None:
    stranger = await store.create_user("stranger", "h")
    await store.ban(bobs.id, bob.id, stranger.id, now_ms() + HOUR, address=None)
    with pytest.raises(Banned):
        await store.join(bobs.id, stranger.id, stranger.name)


async def test_bad_end_times_are_refused(store: Store, bobs: Room, bob: User, carol: User) -> None:
    for end in (now_ms() - 1, 0, now_ms() + MAX_DURATION_MS + HOUR, 2**62):
        with pytest.raises(NotPermitted, match="end time"):
            await store.ban(bobs.id, bob.id, carol.id, end, address=None)
        with pytest.raises(NotPermitted, match="end time"):
            await store.mute(bobs.id, bob.id, carol.id, end, address=None)
    assert await store.is_member(bobs.id, carol.id)
    assert await store.audit_log(AuditFilter()) == []


async def test_a_muted_member_cannot_post_until_the_mute_ends(
    store: Store, bobs: Room, bob: User, carol: User, dave: User
) -> None:
    muted = await store.mute(bobs.id, bob.id, carol.id, now_ms() + HOUR, address=None)
    assert (muted.kind, muted.user, muted.by) == (EventKind.MUTE, "Carol", "bob")
    with pytest.raises(Muted, match="muted"):
        await store.post_message(bobs.id, carol.id, carol.name, "hello")
    # Posts of others in the same batch are not affected.
    results = await asyncio.gather(
        store.post_message(bobs.id, dave.id, dave.name, "one"),
        store.post_message(bobs.id, carol.id, carol.name, "two"),
        store.post_message(bobs.id, dave.id, dave.name, "three"),
        return_exceptions=True,
    )
    assert isinstance(results[1], Muted)
    assert [r.event.text for r in results if not isinstance(r, BaseException)] == ["one", "three"]
    lifted = await store.unmute(bobs.id, bob.id, carol.id, address=None)
    assert lifted is not None
    assert lifted.kind is EventKind.UNMUTE
    assert await store.unmute(bobs.id, bob.id, carol.id, address=None) is None
    await store.post_message(bobs.id, carol.id, carol.name, "back")
    outsider = await store.create_user("outsider", "h")
    with pytest.raises(NotMember):
        await store.mute(bobs.id, bob.id, outsider.id, now_ms() + HOUR, address=None)


async def test_an_announcement_room_lets_only_moderators_post(
    store: Store, bobs: Room, alice: User, bob: User, carol: User, dave: User
) -> None:
    changed = await store.set_room_settings(
        bobs.id, bob.id, {"post": "moderators", "topic": "moderators"}, address=None
    )
    assert changed is not None
    assert changed.kind is EventKind.SETTINGS
    assert changed.text == "post=moderators invite=members topic=moderators pin=members"
    assert (
        await store.set_room_settings(bobs.id, bob.id, {"post": "moderators"}, address=None) is None
    )
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None)
    results = await asyncio.gather(
        store.post_message(bobs.id, dave.id, dave.name, "not me"),
        store.post_message(bobs.id, carol.id, carol.name, "news"),
        store.post_message(bobs.id, alice.id, alice.name, "admin news"),
        return_exceptions=True,
    )
    assert isinstance(results[0], NotPermitted)
    assert "only its moderators may post" in str(results[0])
    assert [r.event.text for r in results[1:] if not isinstance(r, BaseException)] == [
        "news",
        "admin news",
    ]
    with pytest.raises(NotPermitted, match="topic"):
        await store.set_topic(bobs.id, dave.id, dave.name, "mine")
    await store.set_topic(bobs.id, carol.id, carol.name, "ours")
    place = await store.room_place(bobs.id, dave.id)
    assert place.settings.as_dict() == {
        "post": "moderators",
        "invite": "members",
        "topic": "moderators",
        "pin": "members",
    }
    [entry] = await store.audit_log(AuditFilter(action="room.settings"))
    assert entry.detail == changed.text


async def test_moderators_delete_any_message_and_it_is_audited_without_its_text(
    store: Store, bobs: Room, bob: User, carol: User, dave: User
) -> None:
    said = await store.post_message(bobs.id, dave.id, dave.name, "secret words here")
    with pytest.raises(NotPermitted):
        await store.delete_message(
            bobs.id, carol.id, carol.name, said.event.mid or 0, any_author=False
        )
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None)
    deleted = await store.delete_message(
        bobs.id, carol.id, carol.name, said.event.mid or 0, any_author=False
    )
    assert deleted.kind is EventKind.DELETE
    [entry] = await store.audit_log(AuditFilter(action="room.delete_message"))
    assert (entry.actor, entry.target, entry.room) == ("Carol", "dave", "bobs")
    for logged in await store.audit_log(AuditFilter(limit=500)):
        assert "secret" not in repr(logged)
        assert "hash-" not in repr(logged)  # no password hash either


async def test_admins_moderate_rooms_without_an_owner_and_direct_rooms_have_no_moderators(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    lobby = await store.get_room("lobby")
    assert lobby is not None
    assert await store.room_roles(lobby.id) == []
    await store.join(lobby.id, bob.id, bob.name)
    kicked = await store.kick(lobby.id, alice.id, bob.id, address=None)
    assert kicked.by == "Alice"
    direct, _ = await store.open_direct(bob.id, carol.id)
    with pytest.raises(NotPermitted, match="direct room"):
        await store.kick(direct.id, alice.id, bob.id, address=None)
    with pytest.raises(NotPermitted, match="direct room"):
        await store.set_room_settings(direct.id, bob.id, {"post": "moderators"}, address=None)


async def test_a_renamed_moderator_is_renamed_in_the_events_they_made(
    store: Store, bobs: Room, bob: User, carol: User
) -> None:
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address=None)
    await store.rename_user(bob.id, "robert")
    [event] = [e for e in await store.events_after(bobs.id, 0, 50) if e.kind is EventKind.ROLE]
    assert event.by == "robert"


async def test_deleting_a_room_forgets_its_roles_and_bans(
    store: Store, bobs: Room, bob: User, dave: User
) -> None:
    await store.ban(bobs.id, bob.id, dave.id, None, address=None)
    await store.delete_room(bobs.id)
    again, _ = await store.create_room("bobs", RoomKind.PUBLIC, creator_id=dave.id)
    assert await store.room_roles(again.id) == [("dave", Role.OWNER)]


async def test_existing_rooms_get_their_creator_as_owner(harness: Harness) -> None:
    available = load(harness.migrations)
    async with harness.raw() as conn:
        await apply_migrations(conn, [m for m in available if m.version < 9])
        user_id = await conn.fetchval(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            " VALUES ('maker', 'maker', 'h', 1) RETURNING id"
        )
        for name, creator in (("made", user_id), ("unknown", None)):
            await conn.execute(
                "INSERT INTO rooms (name, name_key, kind, created_at, created_by)"
                " VALUES (?, ?, 'public', 1, ?)",
                name,
                name,
                creator,
            )
        await apply_migrations(conn, available)
    async with started(harness.make()) as store:
        made = await store.get_room("made")
        unknown = await store.get_room("unknown")
        assert made is not None
        assert unknown is not None
        assert await store.room_roles(made.id) == [("maker", Role.OWNER)]
        assert await store.room_roles(unknown.id) == []


async def test_every_act_is_audited_with_who_whom_where_and_from_where(
    store: Store, bobs: Room, bob: User, carol: User, dave: User
) -> None:
    end = now_ms() + HOUR
    await store.set_role(bobs.id, bob.id, carol.id, Role.MODERATOR, address="192.0.2.1")
    await store.mute(bobs.id, carol.id, dave.id, end, address="192.0.2.2")
    await store.unmute(bobs.id, carol.id, dave.id, address="192.0.2.2")
    await store.ban(bobs.id, carol.id, dave.id, end, address="192.0.2.2")
    await store.unban(bobs.id, carol.id, dave.id, address=None)
    await store.join(bobs.id, dave.id, dave.name)
    await store.kick(bobs.id, bob.id, dave.id, address="192.0.2.1")
    await store.set_room_settings(bobs.id, bob.id, {"pin": "moderators"}, address=None)
    entries = await store.audit_log(AuditFilter(action="room"))
    assert [(e.action, e.actor, e.target, e.room, e.address) for e in reversed(entries)] == [
        ("room.role", "bob", "Carol", "bobs", "192.0.2.1"),
        ("room.mute", "Carol", "dave", "bobs", "192.0.2.2"),
        ("room.unmute", "Carol", "dave", "bobs", "192.0.2.2"),
        ("room.ban", "Carol", "dave", "bobs", "192.0.2.2"),
        ("room.unban", "Carol", "dave", "bobs", None),
        ("room.kick", "bob", "dave", "bobs", "192.0.2.1"),
        ("room.settings", "bob", None, "bobs", None),
    ]
    assert entries[3].detail == f"until {end}"
    assert {e.actor_id for e in entries} == {bob.id, carol.id}
