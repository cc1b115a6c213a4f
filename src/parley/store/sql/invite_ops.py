"""Invitations in the store (migration 0010), written once for every SQL engine.

An invitation is redeemed in the transaction that uses it: the row is claimed with
``UPDATE ... WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > now``, and the
account it creates (or the joins it makes) commit with that claim or not at all. Two people
racing with one link: one gets the row, the other :class:`InviteRefused` (``used``). A name
already taken undoes the claim with the rest (the write's savepoint), so the link still works
with another name.

Joins go through :func:`operations.join`, so each is a ``join`` event with the room's next
seq (``by``: the invitation's creator), published by the caller after the commit like any
other. A room deleted or archived since the invitation was made is skipped, not an error: the
person still gets in.
"""

from __future__ import annotations

from parley.model import Actor, Event, Invite, InviteKind, User
from parley.store.base import LOBBY, InviteRefused, NotFound
from parley.store.sql.audit_ops import record_by
from parley.store.sql.engine import Connection, Row
from parley.store.sql.operations import create_user, join, room_by_id, room_by_name

_INVITE_COLUMNS = (
    "i.id, i.kind, i.created_at, i.expires_at, i.room_ids, i.used_at, i.revoked_at,"
    " c.name AS creator, u.name AS user_name"
)
_INVITE_FROM = (
    " FROM invites AS i LEFT JOIN users AS c ON c.id = i.created_by"
    " LEFT JOIN users AS u ON u.id = i.used_by"
)


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split()]


async def _invite(conn: Connection, row: Row) -> Invite:
    rooms: list[tuple[int, str]] = []
    for room_id in _ids(row["room_ids"]):
        found = await room_by_id(conn, room_id)
        if found is not None:
            rooms.append((found.id, found.name))
    return Invite(
        id=row["id"],
        kind=InviteKind(row["kind"]),
        created_by=row["creator"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        rooms=tuple(rooms),
        used_at=row["used_at"],
        used_by=row["user_name"],
        revoked_at=row["revoked_at"],
    )


async def create_invite(
    conn: Connection,
    token_hash: str,
    kind: InviteKind,
    created_by: int | None,
    now: int,
    expires_at: int,
    room_ids: tuple[int, ...],
    actor: Actor,
) -> Invite:
    for room_id in room_ids:
        if await room_by_id(conn, room_id) is None:
            raise NotFound(f"no room {room_id}")
    invite_id = await conn.fetchval(
        "INSERT INTO invites (token_hash, kind, created_by, created_at, expires_at, room_ids)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        token_hash,
        kind.value,
        created_by,
        now,
        expires_at,
        " ".join(str(room_id) for room_id in room_ids),
    )
    found = await invite_by_id(conn, invite_id)
    assert found is not None  # inserted just now, in this transaction
    rooms = " ".join(name for _, name in found.rooms)
    await record_by(
        conn, actor, "invite.create", detail=f"{kind.value} #{invite_id} {rooms}".strip()
    )
    return found


async def invite_by_id(conn: Connection, invite_id: int) -> Invite | None:
    row = await conn.fetchrow(
        f"SELECT {_INVITE_COLUMNS}{_INVITE_FROM} WHERE i.id = ?",
        invite_id,
    )
    return None if row is None else await _invite(conn, row)


async def invite_by_token(conn: Connection, token_hash: str) -> Invite | None:
    row = await conn.fetchrow(
        f"SELECT {_INVITE_COLUMNS}{_INVITE_FROM} WHERE i.token_hash = ?",
        token_hash,
    )
    return None if row is None else await _invite(conn, row)


async def list_invites(conn: Connection, before: int | None, limit: int) -> list[Invite]:
    """Newest first (highest id), below ``before`` when given."""
    rows = await conn.fetch(
        f"SELECT {_INVITE_COLUMNS}{_INVITE_FROM} WHERE i.id < ? ORDER BY i.id DESC LIMIT ?",
        before if before is not None else 2**62,
        limit,
    )
    return [await _invite(conn, row) for row in rows]


async def revoke_invite(conn: Connection, invite_id: int, now: int, actor: Actor) -> Invite:
    """Revoke an unused invitation (revoking one twice changes nothing). Raises
    :class:`NotFound`, and :class:`InviteRefused` (``used``) for one already used."""
    current = await invite_by_id(conn, invite_id)
    if current is None:
        raise NotFound(f"no invitation {invite_id}")
    if current.used_at is not None:
        raise InviteRefused("used")
    if current.revoked_at is None:
        await conn.execute(
            "UPDATE invites SET revoked_at = ? WHERE id = ? AND used_at IS NULL", now, invite_id
        )
        await record_by(conn, actor, "invite.revoke", detail=f"#{invite_id}")
    found = await invite_by_id(conn, invite_id)
    assert found is not None
    return found


async def _claim(
    conn: Connection, token_hash: str, kind: InviteKind, now: int
) -> tuple[int, int | None, list[int]]:
    """Claim the invitation for use: its id, creator and room ids; or raise
    :class:`InviteRefused` saying why it cannot be used."""
    row = await conn.fetchrow(
        "UPDATE invites SET used_at = ? WHERE token_hash = ? AND kind = ? AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > ? RETURNING id, created_by, room_ids",
        now,
        token_hash,
        kind.value,
        now,
    )
    if row is not None:
        return row["id"], row["created_by"], _ids(row["room_ids"])
    found = await invite_by_token(conn, token_hash)
    if found is None or found.kind is not kind:
        raise InviteRefused("unknown")
    raise InviteRefused(found.state(now))


async def _join_rooms(
    conn: Connection, user_id: int, name: str, by: str | None, room_ids: list[int]
) -> list[Event]:
    joined: list[Event] = []
    for room_id in room_ids:
        target = await room_by_id(conn, room_id)
        if target is None or target.archived:
            continue  # deleted or archived since the invitation was made
        event = await join(conn, room_id, user_id, name, by)
        if event is not None:
            joined.append(event)
    return joined


async def _creator_name(conn: Connection, creator_id: int | None) -> str | None:
    if creator_id is None:
        return None
    name: str | None = await conn.fetchval("SELECT name FROM users WHERE id = ?", creator_id)
    return name


async def redeem_for_account(
    conn: Connection, token_hash: str, name: str, password_hash: str, now: int
) -> tuple[User, list[Event]]:
    """Use an ``account`` invitation: create the user, join the lobby and the invitation's
    rooms. Raises :class:`InviteRefused` and :class:`~parley.store.base.Conflict` (name
    taken; the invitation stays unused)."""
    invite_id, creator_id, room_ids = await _claim(conn, token_hash, InviteKind.ACCOUNT, now)
    created = await create_user(conn, name, password_hash, None)
    await conn.execute("UPDATE invites SET used_by = ? WHERE id = ?", created.id, invite_id)
    used = Actor(created.name, created.id)
    await record_by(conn, used, "invite.use", target=created.name, detail=f"#{invite_id}")
    lobby = await room_by_name(conn, LOBBY)
    first = [lobby.id] if lobby is not None and lobby.id not in room_ids else []
    by = await _creator_name(conn, creator_id)
    events = await _join_rooms(conn, created.id, created.name, None, first)
    events += await _join_rooms(conn, created.id, created.name, by, room_ids)
    return created, events


async def redeem_for_member(
    conn: Connection, token_hash: str, user_id: int, now: int
) -> list[Event]:
    """Use a ``room`` invitation as the existing user ``user_id``: join its rooms."""
    invite_id, creator_id, room_ids = await _claim(conn, token_hash, InviteKind.ROOM, now)
    member: str | None = await conn.fetchval(
        "SELECT name FROM users WHERE id = ? AND NOT disabled", user_id
    )
    if member is None:
        raise NotFound(f"no user {user_id}")
    await conn.execute("UPDATE invites SET used_by = ? WHERE id = ?", user_id, invite_id)
    used = Actor(member, user_id)
    await record_by(conn, used, "invite.use", target=member, detail=f"#{invite_id}")
    by = await _creator_name(conn, creator_id)
    return await _join_rooms(conn, user_id, member, by, room_ids)


__all__ = [
    "create_invite",
    "invite_by_id",
    "invite_by_token",
    "list_invites",
    "redeem_for_account",
    "redeem_for_member",
    "revoke_invite",
]
