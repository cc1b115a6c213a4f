"""Pins: ``pin`` and ``unpin`` as room events, and a room's pinned messages, written once for
every SQL engine.

A pinned message's row holds the seq of the ``pin`` event that pinned it (``pinned_seq``,
migration 0007): its state, and the order of the ``pins`` list (most recently pinned first,
paged by that seq). Who may pin: the room's ``pin`` setting first (``permissions.py``,
Action.PIN, as every guarded act), then :func:`may_pin` (a member their own messages, the
room's moderators any).
"""

from __future__ import annotations

from parley.model import Event, EventKind, Toggled
from parley.permissions import Action, Place, Rank
from parley.store.base import Forbidden, NotFound, NotPermitted
from parley.store.sql.current_state import with_current_state
from parley.store.sql.engine import Connection
from parley.store.sql.operations import EVENT_COLUMNS, _append, event, is_member, lock_room
from parley.store.sql.standing_ops import require_in_room


def may_pin(place: Place, *, author_id: int | None, user_id: int) -> bool:
    """Whether a member may pin or unpin a message, once the room's ``pin`` setting allowed
    them to pin at all (``permissions.require``, Action.PIN: with ``moderators``, only the
    room's moderators, owners and server admins): a member their own messages; a moderator,
    owner or admin any message. (Membership is checked before.)"""
    return place.standing.rank >= Rank.MODERATOR or author_id == user_id


async def pin(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, pinned: bool
) -> Toggled:
    """Pin (``pinned``) or unpin message ``mid`` of the room. Raises :class:`NotFound` (no
    such message, or deleted) and :class:`Forbidden` (not a member, or not allowed:
    :func:`may_pin`)."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    row = await conn.fetchrow(
        "SELECT e.user_id, e.deleted, e.pinned_seq FROM events AS e"
        " WHERE e.id = ? AND e.room_id = ? AND e.kind = 'message'",
        mid,
        room_id,
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    if not await is_member(conn, room_id, user_id):
        raise Forbidden("only a member of the room can pin")
    place = await require_in_room(conn, room_id, user_id, Action.PIN)  # the room's setting
    if not may_pin(place, author_id=row["user_id"], user_id=user_id):
        raise NotPermitted(
            f"in room {place.room!r} only the message's author or a moderator may pin it"
        )
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
