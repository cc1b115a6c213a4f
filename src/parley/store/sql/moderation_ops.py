"""Room roles and moderation, written once for every SQL engine (migration 0009).

Each act is one write: it locks the room's row, reads the actor's and the target's standing
(:mod:`~parley.store.sql.standing_ops`), asks :mod:`parley.permissions`, changes the rows,
appends the room event that says so (``user``: the member acted on; ``by``: who acted) and
records the audit entry, all in one transaction. So the act, its event and its entry commit
together, and two moderators acting at once are decided in order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from parley.clock import now_ms
from parley.model import OPERATOR, Event, EventKind, RoomKind
from parley.permissions import (
    Action,
    Place,
    Role,
    Standing,
    end_problem,
    require_grant,
    require_over,
)
from parley.store.base import NotFound, NotMember, NotPermitted
from parley.store.sql import audit_ops
from parley.store.sql.engine import Connection
from parley.store.sql.operations import _append, lock_room, require_user
from parley.store.sql.standing_ops import place


@dataclass(frozen=True, slots=True)
class Act:
    """Who acts on whom in which room, and from where (for the audit log)."""

    room_id: int
    #: None: the operator (``parley room owner``), above every rank of every room.
    actor_id: int | None
    target_id: int
    address: str | None = None


@dataclass(frozen=True, slots=True)
class _Parties:
    actor: str
    target: str
    where: Place  #: the room, and the actor's standing there
    target_place: Place


async def _parties(conn: Connection, act: Act, action: Action) -> _Parties:
    """Lock the room, then check that the actor may do ``action`` to the target."""
    if not await lock_room(conn, act.room_id):
        raise NotFound(f"no room {act.room_id}")
    target = await require_user(conn, act.target_id)
    target_place = await place(conn, act.room_id, act.target_id)
    if act.actor_id is None:  # the operator: no account, the server's own authority
        actor_name = OPERATOR.name
        where = replace(target_place, standing=Standing(admin=True))
    else:
        actor_name = (await require_user(conn, act.actor_id)).name
        where = await place(conn, act.room_id, act.actor_id)
    if where.kind is RoomKind.DIRECT:
        raise NotPermitted("a direct room has no moderators")
    where.require(action)
    if act.actor_id is not None:
        require_over(
            where.standing, target_place.standing, actor_id=act.actor_id, target_id=act.target_id
        )
    return _Parties(actor_name, target.name, where, target_place)


async def _event(
    conn: Connection,
    act: Act,
    parties: _Parties,
    kind: EventKind,
    *,
    text: str | None = None,
    ends_at: int | None = None,
    detail: str | None = None,
) -> Event:
    """Append the act's event and record its audit entry."""
    event = await _append(
        conn,
        act.room_id,
        kind,
        user_id=act.target_id,
        author=parties.target,
        invited_by=parties.actor,
        text=text,
        ends_at=ends_at,
    )
    await audit_ops.record(
        conn,
        f"room.{kind.value}",
        actor=parties.actor,
        actor_id=act.actor_id,
        target=parties.target,
        room=parties.where.room,
        address=act.address,
        detail=detail,
    )
    return event


def check_end(ends_at: int | None, *, required: bool) -> None:
    """Raise :class:`NotPermitted` for an end in the past or too far away."""
    problem = end_problem(ends_at, now_ms(), required=required)
    if problem is not None:
        raise NotPermitted(problem)


async def _remove_member(conn: Connection, act: Act) -> bool:
    """Remove the target's membership and role; whether they were a member."""
    await conn.execute(
        "DELETE FROM room_roles WHERE room_id = ? AND user_id = ?", act.room_id, act.target_id
    )
    found = await conn.fetchval(
        "DELETE FROM memberships WHERE room_id = ? AND user_id = ? RETURNING 1",
        act.room_id,
        act.target_id,
    )
    return found is not None


async def set_role(conn: Connection, act: Act, role: Role) -> Event | None:
    """Make the target ``role`` in the room (a member: no role); None if they already are."""
    parties = await _parties(conn, act, Action.SET_ROLE)
    require_grant(parties.where.standing, role)
    if not parties.target_place.standing.member:
        raise NotMember(f"{parties.target} is not a member of room {parties.where.room!r}")
    before = parties.target_place.standing.role
    if before is role:
        return None
    if role is Role.MEMBER:
        await conn.execute(
            "DELETE FROM room_roles WHERE room_id = ? AND user_id = ?", act.room_id, act.target_id
        )
    else:
        await conn.execute(
            "INSERT INTO room_roles (room_id, user_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role",
            act.room_id,
            act.target_id,
            role.value,
        )
    return await _event(
        conn,
        act,
        parties,
        EventKind.ROLE,
        text=role.value,
        detail=f"{before.value} -> {role.value}",
    )


async def kick(conn: Connection, act: Act) -> Event:
    """Remove the target from the room (they may join again: a ban keeps them out)."""
    parties = await _parties(conn, act, Action.KICK)
    if not await _remove_member(conn, act):
        raise NotMember(f"{parties.target} is not a member of room {parties.where.room!r}")
    return await _event(conn, act, parties, EventKind.KICK)


async def ban(conn: Connection, act: Act, ends_at: int | None) -> Event:
    """Ban the target until ``ends_at`` (None: no end), removing them if they are a member.
    A user who is not a member can be banned too (kept out before they come)."""
    check_end(ends_at, required=False)
    parties = await _parties(conn, act, Action.BAN)
    await _sanction(conn, act, "ban", ends_at)
    await _remove_member(conn, act)
    detail = "no end" if ends_at is None else f"until {ends_at}"
    return await _event(conn, act, parties, EventKind.BAN, ends_at=ends_at, detail=detail)


async def mute(conn: Connection, act: Act, ends_at: int) -> Event:
    """Keep a member from posting until ``ends_at``."""
    check_end(ends_at, required=True)
    parties = await _parties(conn, act, Action.MUTE)
    if not parties.target_place.standing.member:
        raise NotMember(f"{parties.target} is not a member of room {parties.where.room!r}")
    await _sanction(conn, act, "mute", ends_at)
    return await _event(
        conn, act, parties, EventKind.MUTE, ends_at=ends_at, detail=f"until {ends_at}"
    )


async def lift(conn: Connection, act: Act, kind: EventKind) -> Event | None:
    """Lift a ban (``UNBAN``) or a mute (``UNMUTE``); None if there is none in force."""
    action, sanction = (Action.BAN, "ban") if kind is EventKind.UNBAN else (Action.MUTE, "mute")
    parties = await _parties(conn, act, action)
    standing = parties.target_place.standing
    if not (standing.banned if sanction == "ban" else standing.muted_until):
        return None
    await conn.execute(
        "DELETE FROM room_sanctions WHERE room_id = ? AND user_id = ? AND kind = ?",
        act.room_id,
        act.target_id,
        sanction,
    )
    return await _event(conn, act, parties, kind)


async def _sanction(conn: Connection, act: Act, kind: str, ends_at: int | None) -> None:
    await conn.execute(
        "INSERT INTO room_sanctions (room_id, user_id, kind, ends_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (room_id, user_id, kind) DO UPDATE SET ends_at = excluded.ends_at",
        act.room_id,
        act.target_id,
        kind,
        ends_at,
    )


async def set_settings(
    conn: Connection, room_id: int, actor_id: int, changes: dict[str, str], address: str | None
) -> Event | None:
    """Change some of the room's settings; None if nothing changes."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    actor = await require_user(conn, actor_id)
    where = await place(conn, room_id, actor_id)
    if where.kind is RoomKind.DIRECT:
        raise NotPermitted("a direct room has no settings")
    where.require(Action.SETTINGS)
    after = where.settings.changed(**changes)
    if after == where.settings:
        return None
    await conn.execute(
        "UPDATE rooms SET post_by = ?, invite_by = ?, topic_by = ?, pin_by = ? WHERE id = ?",
        after.post.value,
        after.invite.value,
        after.topic.value,
        after.pin.value,
        room_id,
    )
    event = await _append(
        conn,
        room_id,
        EventKind.SETTINGS,
        user_id=actor_id,
        author=actor.name,
        invited_by=actor.name,
        text=after.encode(),
    )
    await audit_ops.record(
        conn,
        "room.settings",
        actor=actor.name,
        actor_id=actor_id,
        room=where.room,
        address=address,
        detail=after.encode(),
    )
    return event


async def roles(conn: Connection, room_id: int) -> list[tuple[str, Role]]:
    """The room's owners and moderators, by name."""
    rows = await conn.fetch(
        "SELECT u.name, rr.role FROM room_roles AS rr JOIN users AS u ON u.id = rr.user_id"
        " WHERE rr.room_id = ? ORDER BY u.name_key",
        room_id,
    )
    return [(row["name"], Role(row["role"])) for row in rows]


__all__ = ["Act", "ban", "check_end", "kick", "lift", "mute", "roles", "set_role", "set_settings"]
