"""The thread commands' store operations, written once for every SQL engine: a thread's
replies (``history`` with ``thread``), following (``follow``, ``unfollow``), a thread's read
marker (``read`` with ``thread``) and the threads a user follows (``threads``).

What a reply changes when it is posted or deleted is in :mod:`parley.store.sql.thread_state`.
"""

from __future__ import annotations

from parley.model import Event, ThreadView, UnreadState
from parley.store.base import UNREAD_CAP, NotFound
from parley.store.sql.current_state import with_current_state
from parley.store.sql.engine import Connection
from parley.store.sql.mention_ops import EVERYONE
from parley.store.sql.operations import EVENT_COLUMNS, event, lock_room, require_user
from parley.store.sql.thread_state import follow, following_of, thread_root

#: The unread replies of a follower (``f``: their ``thread_follows`` row): by others, after
#: their marker, not deleted; counted up to the cap.
_UNREAD_REPLIES_SQL = (
    "(SELECT COUNT(*) FROM (SELECT 1 FROM events AS y WHERE y.room_id = f.room_id"
    "  AND y.thread = f.thread AND y.seq > f.read_seq AND y.kind = 'message' AND NOT y.deleted"
    "  AND (y.user_id IS NULL OR y.user_id <> f.user_id) LIMIT ?) AS capped)"
)

#: Of those, the ones that mention the follower (by name, or ``@room`` by someone else).
_UNREAD_MENTIONS_SQL = (
    "(SELECT COUNT(*) FROM (SELECT 1 FROM mentions AS x JOIN events AS y ON y.id = x.message_id"
    "  WHERE x.room_id = f.room_id AND y.thread = f.thread AND x.seq > f.read_seq"
    "  AND (x.user_id = f.user_id OR (x.user_id = ? AND (x.author_id IS NULL"
    "  OR x.author_id <> f.user_id))) LIMIT ?) AS capped)"
)


async def thread_replies(
    conn: Connection, room_id: int, mid: int, before: int | None, limit: int
) -> tuple[Event, list[Event]]:
    """The root of the thread of message ``mid`` (deleted or not) and the newest ``limit``
    replies with seqs below ``before``, oldest first, in their current state. Raises
    :class:`NotFound` when ``mid`` is not a message of the room."""
    root = await thread_root(conn, room_id, mid, deleted_too=True)
    # Two statements, each along an index: the root by id, the replies backwards along
    # events_by_thread (an OR of both would not use them).
    head = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id WHERE e.id = ?",
        root.id,
    )
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.room_id = ? AND e.thread = ? AND e.kind = 'message' AND e.seq < ?"
        " ORDER BY e.seq DESC LIMIT ?",
        room_id,
        root.id,
        before if before is not None else 2**62,
        limit,
    )
    events = await with_current_state(
        conn, [event(row, row["room_name"]) for row in [*head, *reversed(rows)]]
    )
    return events[0], events[1:]


async def thread_following(conn: Connection, room_id: int, user_id: int, mid: int) -> bool:
    """Whether the user follows the thread of message ``mid`` (see
    :func:`~parley.store.sql.thread_state.follows`). Raises :class:`NotFound` as
    :func:`thread_replies`."""
    root = await thread_root(conn, room_id, mid, deleted_too=True)
    return (await following_of(conn, root, [user_id]))[user_id]


async def set_following(
    conn: Connection, room_id: int, user_id: int, mid: int, following: bool
) -> int:
    """Follow (or stop following) the thread of message ``mid``; returns the root's id.
    Raises :class:`NotFound` when ``mid`` is not a live message of the room."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    await require_user(conn, user_id)
    root = await thread_root(conn, room_id, mid, deleted_too=False)
    if following:
        await follow(conn, room_id, root.id, [user_id])
    else:
        await conn.execute(
            "UPDATE thread_follows SET following = FALSE WHERE thread = ? AND user_id = ?",
            root.id,
            user_id,
        )
    return root.id


async def mark_thread_read(
    conn: Connection, room_id: int, user_id: int, mid: int, seq: int
) -> tuple[int, UnreadState]:
    """Move the user's read marker of the thread of message ``mid`` to ``seq`` (never back,
    never past the room's latest seq); returns the root's id and the thread's unread state.
    Does not make the user follow it. Raises :class:`NotFound` as :func:`set_following`."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    await require_user(conn, user_id)
    root = await thread_root(conn, room_id, mid, deleted_too=True)
    latest: int = await conn.fetchval("SELECT last_seq FROM rooms WHERE id = ?", room_id)
    marker = min(seq, latest)
    await conn.execute(
        "INSERT INTO thread_follows (thread, user_id, room_id, following, read_seq)"
        " VALUES (?, ?, ?, NULL, ?) ON CONFLICT (thread, user_id) DO UPDATE"
        " SET read_seq = CASE WHEN thread_follows.read_seq > excluded.read_seq"
        " THEN thread_follows.read_seq ELSE excluded.read_seq END",
        root.id,
        user_id,
        room_id,
        marker,
    )
    row = await conn.fetchrow(
        f"SELECT f.read_seq, {_UNREAD_REPLIES_SQL} AS unread,"  # noqa: S608
        f" {_UNREAD_MENTIONS_SQL} AS mentions"
        " FROM thread_follows AS f WHERE f.thread = ? AND f.user_id = ?",
        UNREAD_CAP,
        EVERYONE,
        UNREAD_CAP,
        root.id,
        user_id,
    )
    assert row is not None  # inserted above
    return root.id, UnreadState(
        read=row["read_seq"], unread=row["unread"], mentions=row["mentions"]
    )


async def followed_threads(
    conn: Connection, user_id: int, after: tuple[int, int] | None, limit: int
) -> list[ThreadView]:
    """Up to ``limit`` threads the user follows, with replies, in rooms the user is a member
    of: the most recently replied-to first, after the position ``after`` (the last listed
    thread's ``(last_reply_ts, root id)``)."""
    if limit <= 0:
        return []
    last_ts, last_id = after if after is not None else (2**62, 2**62)
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name, f.read_seq,"  # noqa: S608
        f" {_UNREAD_REPLIES_SQL} AS unread, {_UNREAD_MENTIONS_SQL} AS unread_mentions"
        " FROM thread_follows AS f"
        " JOIN memberships AS m ON m.room_id = f.room_id AND m.user_id = f.user_id"
        " JOIN events AS e ON e.id = f.thread JOIN rooms AS r ON r.id = f.room_id"
        " WHERE f.user_id = ? AND f.following AND e.last_reply_ts IS NOT NULL"
        " AND NOT r.deleted AND (e.last_reply_ts < ? OR (e.last_reply_ts = ? AND e.id < ?))"
        " ORDER BY e.last_reply_ts DESC, e.id DESC LIMIT ?",
        UNREAD_CAP,
        EVERYONE,
        UNREAD_CAP,
        user_id,
        last_ts,
        last_ts,
        last_id,
        limit,
    )
    roots = await with_current_state(conn, [event(row, row["room_name"]) for row in rows])
    return [
        ThreadView(
            root=root,
            read=row["read_seq"],
            unread=row["unread"],
            mentions=min(row["unread_mentions"], UNREAD_CAP),
        )
        for root, row in zip(roots, rows, strict=True)
    ]


__all__ = [
    "followed_threads",
    "mark_thread_read",
    "set_following",
    "thread_following",
    "thread_replies",
]
