"""The rows a thread keeps besides its messages, written once for every SQL engine, for the
message writes of :mod:`parley.store.sql.operations` (a reply posted, a reply deleted) and
the thread commands of :mod:`parley.store.sql.thread_ops`.

A reply is an ordinary ``message`` row with ``thread`` set to its root's id (migration 0007).
Its root keeps the thread's counters (``reply_count``: replies not deleted; ``last_reply_ts``)
and ``thread_follows`` keeps who takes part: followers, each with a read marker of the thread,
and who replied (the summary's ``repliers``). All of it changes in the transaction of the
reply, so a reply and its counters are committed together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from parley.model import Event
from parley.store.base import NotFound
from parley.store.sql.current_state import summaries_of, with_summary
from parley.store.sql.engine import Connection

#: Insert a follower row, or make an existing one follow again (a reply, a mention).
_FOLLOW = (
    "INSERT INTO thread_follows (thread, user_id, room_id, following) VALUES (?, ?, ?, TRUE)"
    " ON CONFLICT (thread, user_id) DO UPDATE SET following = TRUE"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Root:
    """A thread's root message."""

    id: int
    user_id: int | None
    deleted: bool


def follows(following: bool | None, user_id: int, root: Root) -> bool:
    """Whether a user follows a thread, from their ``thread_follows.following`` (None: no row,
    or a row kept only for a read marker): TRUE follows, FALSE stopped; with no choice made,
    the root's author follows (they are made a follower at the first reply)."""
    if following is None:
        return root.user_id is not None and root.user_id == user_id
    return bool(following)


async def following_of(conn: Connection, root: Root, user_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each of these users follows the thread of ``root`` now (see :func:`follows`)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    placeholders = ", ".join("?" for _ in wanted)
    rows = await conn.fetch(
        "SELECT user_id, following FROM thread_follows"  # noqa: S608
        f" WHERE thread = ? AND user_id IN ({placeholders})",
        root.id,
        *wanted,
    )
    chosen = {row["user_id"]: row["following"] for row in rows}
    return {uid: follows(chosen.get(uid), uid, root) for uid in wanted}


async def thread_root(conn: Connection, room_id: int, mid: int, *, deleted_too: bool) -> Root:
    """The root of the thread of message ``mid`` of the room: the message itself, or the root
    of the thread it replies in. Raises :class:`NotFound` when ``mid`` is not a message of
    that room, or (unless ``deleted_too``) when it or its root is deleted."""
    row = await conn.fetchrow(
        "SELECT e.id, e.thread, e.user_id, e.deleted FROM events AS e"
        " WHERE e.id = ? AND e.room_id = ? AND e.kind = 'message'",
        mid,
        room_id,
    )
    if row is not None and row["thread"] is not None:
        row = await conn.fetchrow(
            "SELECT e.id, e.thread, e.user_id, e.deleted FROM events AS e"
            " WHERE e.id = ? AND e.room_id = ? AND e.kind = 'message'",
            row["thread"],
            room_id,
        )
    if row is None or (row["deleted"] and not deleted_too):
        raise NotFound(f"no message {mid} in room {room_id}")
    return Root(id=row["id"], user_id=row["user_id"], deleted=bool(row["deleted"]))


async def follow(conn: Connection, room_id: int, thread: int, user_ids: Iterable[int]) -> None:
    """Make these users follow the thread (again, after an ``unfollow``)."""
    await conn.executemany(_FOLLOW, [(thread, uid, room_id) for uid in sorted(set(user_ids))])


async def after_reply(
    conn: Connection, reply: Event, root: Root, mentioned: Iterable[int]
) -> tuple[Event, tuple[int, ...]]:
    """Account for ``reply`` (just appended) in its thread: the root's counters, the replier
    (following, its marker past its own reply), the root's author (following, unless they
    stopped) and the members it mentions (following). Returns the reply carrying the
    thread's summary after it, and the users who follow the thread because of it and did not
    before (their clients are told: a ``follow`` notice). The root's author is never among
    them: they followed already, or stopped and still do not."""
    assert reply.thread == root.id
    others = [uid for uid in mentioned if uid not in (0, reply.user_id)]  # 0: @room
    joining = [*others, *([] if reply.user_id is None else [reply.user_id])]
    before = await following_of(conn, root, joining)
    await conn.execute(
        "UPDATE events SET reply_count = reply_count + 1, last_reply_ts = ? WHERE id = ?",
        reply.ts,
        root.id,
    )
    if root.user_id is not None and root.user_id != reply.user_id:
        await conn.execute(
            "INSERT INTO thread_follows (thread, user_id, room_id, following)"
            " VALUES (?, ?, ?, TRUE) ON CONFLICT (thread, user_id)"
            " DO UPDATE SET following = COALESCE(thread_follows.following, TRUE)",
            root.id,
            root.user_id,
            reply.room_id,
        )
    if reply.user_id is not None:
        await conn.execute(
            "INSERT INTO thread_follows"
            " (thread, user_id, room_id, following, replied_seq, read_seq)"
            " VALUES (?, ?, ?, TRUE, ?, ?) ON CONFLICT (thread, user_id) DO UPDATE"
            " SET following = TRUE, replied_seq = excluded.replied_seq,"
            " read_seq = CASE WHEN thread_follows.read_seq > excluded.read_seq"
            " THEN thread_follows.read_seq ELSE excluded.read_seq END",
            root.id,
            reply.user_id,
            reply.room_id,
            reply.seq,
            reply.seq,
        )
    if others:
        await follow(conn, reply.room_id, root.id, others)
    newly = tuple(uid for uid, was in before.items() if not was)
    return await with_thread_summary(conn, reply), newly


async def after_reply_deleted(conn: Connection, deleted: Event) -> Event:
    """A reply was deleted (``deleted``: its ``delete`` event, naming the thread): one reply
    fewer. Returns the event carrying the thread's summary after it."""
    assert deleted.thread is not None
    await conn.execute(
        "UPDATE events SET reply_count = reply_count - 1 WHERE id = ? AND reply_count > 0",
        deleted.thread,
    )
    return await with_thread_summary(conn, deleted)


async def with_thread_summary(conn: Connection, event: Event) -> Event:
    """``event`` (of thread ``event.thread``) carrying its thread's summary now."""
    assert event.thread is not None
    summaries = await summaries_of(conn, [event.thread])
    return with_summary(event, summaries.get(event.thread))


__all__ = [
    "Root",
    "after_reply",
    "after_reply_deleted",
    "follow",
    "following_of",
    "follows",
    "thread_root",
    "with_thread_summary",
]
