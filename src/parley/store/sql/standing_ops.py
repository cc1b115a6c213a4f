"""A user's standing in a room, read inside a write's transaction, and the checks the room
writes make with it (migration 0009; the rules are :mod:`parley.permissions`).

Kept apart from :mod:`~parley.store.sql.moderation_ops` (the moderation writes) because
:mod:`~parley.store.sql.operations` calls these checks from its own writes (posting, joining,
setting the topic), and the moderation writes call back into it.
"""

from __future__ import annotations

from parley.clock import now_ms
from parley.model import RoomKind
from parley.permissions import Action, Place, Policy, Role, RoomSettings, Standing
from parley.store.base import Banned, NotFound
from parley.store.sql.engine import Connection


async def place(conn: Connection, room_id: int, user_id: int | None) -> Place:
    """The room and ``user_id``'s standing in it now (None: a guest, a plain member).
    Raises :class:`NotFound` for an unknown room."""
    row = await conn.fetchrow(
        "SELECT r.name, r.kind, r.post_by, r.invite_by, r.topic_by, r.pin_by, u.is_admin,"
        " rr.role, (SELECT 1 FROM memberships AS m WHERE m.room_id = r.id"
        "  AND m.user_id = u.id) AS member,"
        " b.kind AS ban, b.ends_at AS ban_end, q.kind AS mute, q.ends_at AS mute_end"
        " FROM rooms AS r LEFT JOIN users AS u ON u.id = ?"
        " LEFT JOIN room_roles AS rr ON rr.room_id = r.id AND rr.user_id = u.id"
        " LEFT JOIN room_sanctions AS b"
        "  ON b.room_id = r.id AND b.user_id = u.id AND b.kind = 'ban'"
        " LEFT JOIN room_sanctions AS q"
        "  ON q.room_id = r.id AND q.user_id = u.id AND q.kind = 'mute'"
        " WHERE r.id = ? AND NOT r.deleted",
        user_id,
        room_id,
    )
    if row is None:
        raise NotFound(f"no room {room_id}")
    now = now_ms()
    banned = row["ban"] is not None and (row["ban_end"] is None or row["ban_end"] > now)
    muted = row["mute"] is not None and row["mute_end"] > now
    return Place(
        room_id=room_id,
        room=row["name"],
        kind=RoomKind(row["kind"]),
        settings=RoomSettings(
            post=Policy(row["post_by"]),
            invite=Policy(row["invite_by"]),
            topic=Policy(row["topic_by"]),
            pin=Policy(row["pin_by"]),
        ),
        standing=Standing(
            admin=bool(row["is_admin"]),
            role=Role(row["role"]) if row["role"] else Role.MEMBER,
            member=row["member"] is not None,
            banned=banned,
            muted_until=row["mute_end"] if muted else 0,
        ),
    )


async def require_in_room(
    conn: Connection, room_id: int, user_id: int | None, action: Action
) -> Place:
    """Raise unless ``user_id`` may do ``action`` in the room now; return the place."""
    found = await place(conn, room_id, user_id)
    found.require(action)
    return found


async def check_not_banned(conn: Connection, room_id: int, user_id: int, name: str) -> None:
    """Raise :class:`Banned` if the user (``name``, for the message) is banned from the room:
    neither a join nor an invitation lets them in."""
    found = await place(conn, room_id, user_id)
    if found.standing.banned:
        raise Banned(f"{name} is banned from room {found.room!r}")


async def restricted_posting(conn: Connection, room_ids: list[int]) -> bool:
    """Whether posting in any of these rooms may be refused to someone now (an announcement
    room, a mute or a ban in force): the group commit's multi-row insert then leaves the
    posts to the one-by-one path, which checks each poster."""
    marks = ", ".join("?" for _ in room_ids)  # only placeholders
    found = await conn.fetchval(
        f"SELECT 1 FROM rooms WHERE id IN ({marks}) AND post_by <> 'members'"  # noqa: S608
        " UNION ALL SELECT 1 FROM room_sanctions"
        f" WHERE room_id IN ({marks}) AND (ends_at IS NULL OR ends_at > ?) LIMIT 1",
        *room_ids,
        *room_ids,
        now_ms(),
    )
    return found is not None


__all__ = ["check_not_banned", "place", "require_in_room", "restricted_posting"]
