"""Reactions: ``react`` and ``unreact`` as ``reaction`` events, written once for every SQL
engine.

A reaction is one row of ``reactions`` per (message, emoji, user), holding the seq of the
event that added it: a repeated ``react`` finds it and answers that seq without appending
anything (resending is safe, as a ``cid`` makes a ``send``). The event and the row change in
one transaction, under the room's row lock, so the count an event carries is the count after
it in every process.
"""

from __future__ import annotations

import dataclasses

from parley.model import EventKind, Toggled
from parley.protocol.reactions import MAX_EMOJI_PER_MESSAGE
from parley.store.base import Forbidden, NotFound, TooManyReactions
from parley.store.sql.engine import Connection
from parley.store.sql.operations import _append, is_member, lock_room, require_user


async def live_message(conn: Connection, room_id: int, mid: int) -> int | None:
    """The author of message ``mid`` of the room (None for a guest's); raises
    :class:`NotFound` when it is not a message of that room, or is deleted."""
    row = await conn.fetchrow(
        "SELECT user_id, deleted FROM events WHERE id = ? AND room_id = ? AND kind = 'message'",
        mid,
        room_id,
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    author: int | None = row["user_id"]
    return author


async def react(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, emoji: str, add: bool
) -> Toggled:
    """Add (``add``) or take back the user's reaction ``emoji`` on message ``mid``. Raises
    :class:`NotFound` (no such message, or deleted), :class:`Forbidden` (not a member) and
    :class:`TooManyReactions` (a new emoji past the limit)."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    await require_user(conn, user_id)
    if not await is_member(conn, room_id, user_id):
        raise Forbidden("only a member of the room can react")
    await live_message(conn, room_id, mid)
    existing = await conn.fetchval(
        "SELECT seq FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?",
        mid,
        emoji,
        user_id,
    )
    if add and existing is not None:
        return Toggled(None, existing)
    if not add and existing is None:
        return Toggled(None, None)
    if add:
        used = await conn.fetch(
            "SELECT DISTINCT emoji FROM reactions WHERE message_id = ? LIMIT ?",
            mid,
            MAX_EMOJI_PER_MESSAGE + 1,
        )
        if len(used) >= MAX_EMOJI_PER_MESSAGE and emoji not in {row["emoji"] for row in used}:
            raise TooManyReactions(f"message {mid} has {MAX_EMOJI_PER_MESSAGE} emoji")
    changed = await _append(
        conn,
        room_id,
        EventKind.REACTION,
        user_id=user_id,
        author=author,
        mid=mid,
        emoji=emoji,
        removed=not add,
    )
    if add:
        await conn.execute(
            "INSERT INTO reactions (message_id, emoji, user_id, room_id, seq)"
            " VALUES (?, ?, ?, ?, ?)",
            mid,
            emoji,
            user_id,
            room_id,
            changed.seq,
        )
    else:
        await conn.execute(
            "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?",
            mid,
            emoji,
            user_id,
        )
    count: int = await conn.fetchval(
        "SELECT COUNT(*) FROM reactions WHERE message_id = ? AND emoji = ?", mid, emoji
    )
    return Toggled(dataclasses.replace(changed, count=count), changed.seq)


__all__ = ["live_message", "react"]
