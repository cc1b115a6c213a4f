"""Pins: ``pin`` and ``unpin`` as room events, and a room's pinned messages, written once for
every SQL engine.

A pinned message's row holds the seq of the ``pin`` event that pinned it (``pinned_seq``,
migration 0007): its state, and the order of the ``pins`` list (most recently pinned first,
paged by that seq). Who may pin is decided by :func:`may_pin` alone, so that room roles
(issue 19) replace one function.
"""

from __future__ import annotations

from parley.model import Event, EventKind, Toggled
from parley.store.base import Forbidden, NotFound
from parley.store.sql.current_state import with_current_state
from parley.store.sql.engine import Connection
from parley.store.sql.operations import EVENT_COLUMNS, _append, event, is_member, lock_room


def may_pin(*, user_id: int, is_admin: bool, author_id: int | None, creator_id: int | None) -> bool:
    """Whether a member of the room may pin or unpin a message: its author, the room's
    creator, or a server administrator. (Membership is checked before.)"""
    return is_admin or user_id in (author_id, creator_id)


async def pin(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, pinned: bool
) -> Toggled:
    """Pin (``pinned``) or unpin message ``mid`` of the room. Raises :class:`NotFound` (no
    such message, or deleted) and :class:`Forbidden` (not a member, or not allowed:
    :func:`may_pin`)."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    row = await conn.fetchrow(
        "SELECT e.user_id, e.deleted, e.pinned_seq, r.created_by, u.is_admin"
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " JOIN users AS u ON u.id = ?"
        " WHERE e.id = ? AND e.room_id = ? AND e.kind = 'message'",
        user_id,
        mid,
        room_id,
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    if not await is_member(conn, room_id, user_id):
        raise Forbidden("only a member of the room can pin")
    if not may_pin(
        user_id=user_id,
        is_admin=bool(row["is_admin"]),
        author_id=row["user_id"],
        creator_id=row["created_by"],
    ):
        raise Forbidden("only the message's author, the room's creator or an admin can pin it")
    current: int | None = row["pinned_seq"]
    if pinned == (current is not None):
        return Toggled(None, current)
    kind = EventKind.PIN if pinned else EventKind.UNPIN
    changed = await _append(conn, room_id, kind, user_id=user_id, author=author, mid=mid)
    await conn.execute(
        "UPDATE events SET pinned_seq = ? WHERE id = ?", changed.seq if pinned else None, mid
    )
    return Toggled(changed, changed.seq)


async def pinned_messages(
    conn: Connection, room_id: int, before: int | None, limit: int
) -> list[Event]:
    """Up to ``limit`` pinned messages of the room, most recently pinned first, pinned by an
    event with a seq below ``before``, in their current state."""
    if limit <= 0:
        return []
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.room_id = ? AND e.pinned_seq IS NOT NULL AND e.pinned_seq < ?"
        " ORDER BY e.pinned_seq DESC LIMIT ?",
        room_id,
        before if before is not None else 2**62,
        limit,
    )
    return await with_current_state(conn, [event(row, row["room_name"]) for row in rows])


__all__ = ["may_pin", "pin", "pinned_messages"]
