"""Administration in the store, for every backend (the conformance suite's fixtures): runtime
settings, finding users and rooms, the admin flag, sessions, and invitations (migration 0010)."""

from __future__ import annotations

import asyncio

import pytest

from parley.model import OPERATOR, Actor, AuditFilter, EventKind, InviteKind, Room, RoomKind, User
from parley.store.base import LOBBY, Conflict, Forbidden, InviteRefused, NotFound, Store
from parley.store.sql.admin_ops import SESSION_ID_CHARS

ADMIN = Actor("Alice", 1, "203.0.113.9")
NOW = 1_000_000
LATER = NOW + 3_600_000


async def test_settings_are_stored_and_replaced(store: Store) -> None:
    assert await store.get_setting("registration") is None
    await store.set_setting("registration", "invite", actor=ADMIN)
    await store.set_setting("registration", "closed", actor=ADMIN)
    assert await store.get_setting("registration") == "closed"
    assert await store.get_setting("member_invites") is None


async def test_find_users_pages_by_name_with_wildcards_taken_literally(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    await store.create_user("bo_b", "h")
    assert [u.name for u in await store.find_users()] == ["Alice", "bo_b", "bob", "Carol"]
    assert [u.name for u in await store.find_users("BO")] == ["bo_b", "bob"]
    assert [u.name for u in await store.find_users("_")] == ["bo_b"]
    assert [u.name for u in await store.find_users("%")] == []
    assert [u.name for u in await store.find_users(after="BO_B", limit=1)] == ["bob"]


async def test_set_admin(store: Store, alice: User, bob: User) -> None:
    assert not bob.is_admin
    await store.set_admin(bob.id, True, actor=ADMIN)
    found = await store.get_user_by_id(bob.id)
    assert found is not None
    assert found.is_admin
    with pytest.raises(NotFound):
        await store.set_admin(9999, True, actor=ADMIN)


async def test_sessions_are_listed_live_newest_first_and_ended_one_at_a_time(
    store: Store, alice: User, bob: User
) -> None:
    await store.create_session(bob.id, "a" * 64, LATER)
    await store.create_session(bob.id, "b" * 64, LATER)
    await store.create_session(bob.id, "c" * 64, NOW - 1)  # expired
    await store.create_session(alice.id, "d" * 64, LATER)
    live = await store.sessions_of(bob.id, NOW)
    assert sorted(s.token_hash for s in live) == ["a" * 64, "b" * 64]
    assert all(s.user.id == bob.id for s in live)
    assert await store.end_session(alice.id, "a" * SESSION_ID_CHARS, actor=ADMIN) == []  # not hers
    assert await store.end_session(bob.id, "a" * SESSION_ID_CHARS, actor=ADMIN) == ["a" * 64]
    assert [s.token_hash for s in await store.sessions_of(bob.id, NOW)] == ["b" * 64]
    with pytest.raises(NotFound):
        await store.sessions_of(9999, NOW)


async def test_find_rooms(store: Store, alice: User, room: Room) -> None:
    await store.create_room("other_room", RoomKind.PRIVATE, creator_id=alice.id)
    found = await store.find_rooms("ROOM")
    assert [(r.name, members) for r, members in found] == [("other_room", 1), ("room", 1)]
    assert [r.name for r, _ in await store.find_rooms()] == [LOBBY, "other_room", "room"]
    assert [r.name for r, _ in await store.find_rooms(after="other_room")] == ["room"]


async def test_an_account_invite_creates_the_user_in_its_rooms_once(
    store: Store, alice: User, room: Room
) -> None:
    secret, _ = await store.create_room("secret", RoomKind.PRIVATE, creator_id=alice.id)
    invite = await store.create_invite(
        "t1",
        InviteKind.ACCOUNT,
        created_by=alice.id,
        now=NOW,
        expires_at=LATER,
        actor=ADMIN,
        room_ids=(secret.id,),
    )
    assert (invite.kind, invite.created_by, invite.rooms) == (
        InviteKind.ACCOUNT,
        "Alice",
        ((secret.id, "secret"),),
    )
    assert invite.state(NOW) == "valid"
    user, events = await store.redeem_account_invite("t1", "dora", "hash-d", NOW + 1)
    assert not user.is_admin
    assert [(e.kind, e.room, e.by) for e in events] == [
        (EventKind.JOIN, LOBBY, None),
        (EventKind.JOIN, "secret", "Alice"),
    ]
    assert await store.is_member(secret.id, user.id)
    used = await store.get_invite("t1")
    assert used is not None
    assert (used.state(NOW), used.used_by) == ("used", "dora")
    with pytest.raises(InviteRefused) as refused:
        await store.redeem_account_invite("t1", "eve", "hash-e", NOW + 2)
    assert refused.value.reason == "used"
    assert await store.get_user("eve") is None


async def test_a_refused_invite_creates_nothing_and_says_why(store: Store, alice: User) -> None:
    await store.create_invite(
        "old", InviteKind.ACCOUNT, created_by=None, now=NOW, expires_at=NOW + 10, actor=ADMIN
    )
    gone = await store.create_invite(
        "gone", InviteKind.ACCOUNT, created_by=alice.id, now=NOW, expires_at=LATER, actor=ADMIN
    )
    await store.create_invite(
        "room", InviteKind.ROOM, created_by=None, now=NOW, expires_at=LATER, actor=ADMIN
    )
    revoked = await store.revoke_invite(gone.id, NOW + 1, actor=ADMIN)
    assert revoked.state(NOW + 1) == "revoked"
    assert (await store.revoke_invite(gone.id, NOW + 2, actor=ADMIN)).revoked_at == NOW + 1  # once
    for token, reason in (
        ("old", "expired"),
        ("gone", "revoked"),
        ("nope", "unknown"),
        ("room", "unknown"),
    ):
        with pytest.raises(InviteRefused) as refused:
            await store.redeem_account_invite(token, "eve", "hash-e", NOW + 10)
        assert refused.value.reason == reason
    assert await store.get_user("eve") is None


async def test_a_taken_name_leaves_the_invite_unused(store: Store, alice: User) -> None:
    await store.create_invite(
        "t", InviteKind.ACCOUNT, created_by=None, now=NOW, expires_at=LATER, actor=ADMIN
    )
    with pytest.raises(Conflict):
        await store.redeem_account_invite("t", "ALICE", "h", NOW)
    invite = await store.get_invite("t")
    assert invite is not None
    assert invite.state(NOW) == "valid"
    user, _ = await store.redeem_account_invite("t", "erin", "h", NOW)
    assert user.name == "erin"


async def test_two_people_racing_with_one_invite(store: Store, alice: User) -> None:
    await store.create_invite(
        "t", InviteKind.ACCOUNT, created_by=None, now=NOW, expires_at=LATER, actor=ADMIN
    )
    results = await asyncio.gather(
        store.redeem_account_invite("t", "fred", "h", NOW),
        store.redeem_account_invite("t", "gina", "h", NOW),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["InviteRefused", "tuple"]


async def test_a_room_invite_joins_an_existing_user(store: Store, alice: User, bob: User) -> None:
    secret, _ = await store.create_room("secret", RoomKind.PRIVATE, creator_id=alice.id)
    gone, _ = await store.create_room("gone", RoomKind.PUBLIC, creator_id=alice.id)
    await store.create_invite(
        "r",
        InviteKind.ROOM,
        created_by=alice.id,
        now=NOW,
        expires_at=LATER,
        actor=ADMIN,
        room_ids=(secret.id, gone.id),
    )
    await store.delete_room(gone.id)
    invite = await store.get_invite("r")
    assert invite is not None
    assert invite.rooms == ((secret.id, "secret"),)  # a deleted room is left out
    events = await store.redeem_room_invite("r", bob.id, NOW)
    assert [(e.room, e.user, e.by) for e in events] == [("secret", "bob", "Alice")]
    with pytest.raises(InviteRefused):
        await store.redeem_room_invite("r", bob.id, NOW)
    with pytest.raises(NotFound):
        await store.create_invite(
            "x",
            InviteKind.ROOM,
            created_by=None,
            now=NOW,
            expires_at=LATER,
            actor=ADMIN,
            room_ids=(gone.id,),
        )


async def test_invites_are_listed_newest_first_a_page_at_a_time(store: Store) -> None:
    made = [
        await store.create_invite(
            f"t{i}", InviteKind.ACCOUNT, created_by=None, now=NOW, expires_at=LATER, actor=ADMIN
        )
        for i in range(3)
    ]
    assert [i.id for i in await store.list_invites(limit=2)] == [made[2].id, made[1].id]
    assert [i.id for i in await store.list_invites(before=made[1].id)] == [made[0].id]
    with pytest.raises(NotFound):
        await store.revoke_invite(9999, NOW, actor=ADMIN)
    await store.redeem_account_invite("t0", "hank", "h", NOW)
    with pytest.raises(InviteRefused):
        await store.revoke_invite(made[0].id, NOW, actor=ADMIN)


async def audit(store: Store) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """The audit log, oldest first, without ids and times."""
    entries = await store.audit_log(AuditFilter(limit=100))
    return [(e.actor, e.action, e.target or e.room, e.address, e.detail) for e in reversed(entries)]


async def test_each_admin_action_records_its_entry_with_it(
    store: Store, alice: User, bob: User, room: Room
) -> None:
    await store.create_session(bob.id, "a" * 64, LATER)
    await store.create_session(bob.id, "b" * 64, LATER)
    assert await store.set_disabled(bob.id, True, actor=ADMIN) == ["a" * 64, "b" * 64]
    assert await store.get_session("a" * 64, NOW) is None
    assert await store.set_disabled(bob.id, False, actor=ADMIN) == []
    await store.create_session(bob.id, "c" * 64, LATER)
    assert await store.set_password(bob.id, "new-hash", actor=ADMIN) == ["c" * 64]
    found = await store.get_user("bob")
    assert found is not None
    assert found.password_hash == "new-hash"
    await store.set_admin(bob.id, True, actor=ADMIN)
    await store.set_admin(bob.id, False, actor=ADMIN)
    await store.create_session(bob.id, "d" * 64, LATER)
    assert await store.end_session(bob.id, "x" * SESSION_ID_CHARS, actor=ADMIN) == []
    assert await store.end_session(bob.id, "d" * SESSION_ID_CHARS, actor=ADMIN) == ["d" * 64]
    archived = await store.set_archived(room.id, True, author="Alice", actor=ADMIN)
    assert archived is not None
    assert (archived.kind, archived.user) == (EventKind.ARCHIVE, "Alice")
    assert (
        await store.set_archived(room.id, True, author="Alice", actor=ADMIN) is None
    )  # nothing to record
    assert await store.set_archived(room.id, False, author="Alice", actor=ADMIN) is not None
    await store.set_setting("registration", "invite", actor=ADMIN)
    invite = await store.create_invite(
        "t",
        InviteKind.ACCOUNT,
        created_by=alice.id,
        now=NOW,
        expires_at=LATER,
        room_ids=(room.id,),
        actor=ADMIN,
    )
    await store.revoke_invite(invite.id, NOW, actor=ADMIN)
    other = await store.create_invite(
        "u", InviteKind.ACCOUNT, created_by=alice.id, now=NOW, expires_at=LATER, actor=ADMIN
    )
    await store.redeem_account_invite("u", "ivy", "h", NOW)
    assert await store.delete_room(room.id, actor=ADMIN) == [alice.id]
    at = "203.0.113.9"
    assert await audit(store) == [
        ("Alice", "user.disable", "bob", at, None),
        ("Alice", "session.revoke", "bob", at, "2 sessions"),
        ("Alice", "user.enable", "bob", at, None),
        ("Alice", "user.set_password", "bob", at, None),
        ("Alice", "session.revoke", "bob", at, "1 sessions"),
        ("Alice", "user.make_admin", "bob", at, None),
        ("Alice", "user.drop_admin", "bob", at, None),
        ("Alice", "session.revoke", "bob", at, None),
        ("Alice", "room.archive", "room", at, None),
        ("Alice", "room.unarchive", "room", at, None),
        ("Alice", "settings.change", None, at, "registration=invite"),
        ("Alice", "invite.create", None, at, f"account #{invite.id} room"),
        ("Alice", "invite.revoke", None, at, f"#{invite.id}"),
        ("Alice", "invite.create", None, at, f"account #{other.id}"),
        ("ivy", "invite.use", "ivy", None, f"#{other.id}"),
        ("Alice", "room.delete", "room", at, None),
    ]
    # Never a token or a password hash.
    text = repr(await store.audit_log(AuditFilter(limit=100)))
    assert "new-hash" not in text
    assert "a" * SESSION_ID_CHARS not in text


async def test_the_operators_disable_and_new_password_end_sessions_and_are_audited(
    store: Store, alice: User, bob: User, carol: User
) -> None:
    """``parley user disable|set-password`` (the ``operator``, no address) use the same store
    operations as the admin page: each ends the account's sessions and records both entries
    with the change; another account's sessions are left alone."""
    await store.create_session(bob.id, "a" * 64, LATER)
    await store.create_session(bob.id, "b" * 64, LATER)
    await store.create_session(carol.id, "c" * 64, LATER)
    assert await store.set_disabled(bob.id, True, actor=OPERATOR) == ["a" * 64, "b" * 64]
    assert await store.sessions_of(bob.id, NOW) == []
    assert await store.set_disabled(bob.id, False, actor=OPERATOR) == []
    await store.create_session(bob.id, "d" * 64, LATER)
    assert await store.set_password(bob.id, "new-hash", actor=OPERATOR) == ["d" * 64]
    assert await store.sessions_of(bob.id, NOW) == []
    assert [s.token_hash for s in await store.sessions_of(carol.id, NOW)] == ["c" * 64]
    assert await store.set_password(bob.id, "newer-hash", actor=OPERATOR) == []
    assert await audit(store) == [
        ("operator", "user.disable", "bob", None, None),
        ("operator", "session.revoke", "bob", None, "2 sessions"),
        ("operator", "user.enable", "bob", None, None),
        ("operator", "user.set_password", "bob", None, None),
        ("operator", "session.revoke", "bob", None, "1 sessions"),
        ("operator", "user.set_password", "bob", None, None),  # no session left to end
    ]


async def test_a_refused_admin_action_records_nothing(store: Store, alice: User) -> None:
    with pytest.raises(NotFound):
        await store.set_disabled(9999, True, actor=ADMIN)
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    with pytest.raises(Forbidden):
        await store.delete_room(lobby.id, actor=ADMIN)
    with pytest.raises(Forbidden):
        await store.set_archived(lobby.id, True, author="Alice", actor=ADMIN)
    assert await audit(store) == []
