"""The threads of an import, made consistent after its rows are written (Slack's export).

An import writes its events in bulk (:mod:`parley.transfer.sink`), a reply as a ``message``
row whose ``thread`` is its root's id. What the server keeps beside a thread (the root's
``reply_count`` and ``last_reply_ts``, the followers of ``thread_follows`` with the repliers'
``replied_seq``) is then derived from those rows by the very code that keeps it when a reply
is posted (:func:`~parley.store.sql.thread_state.after_reply`), reply by reply in id order
(the order they were said), so an imported thread is what the same replies posted live would
have made. Imported history is not unread: every follower's thread marker ends at the thread's
newest reply, as members' room markers end at the room's newest event.
"""

from __future__ import annotations

from parley.store.sql.engine import Connection
from parley.store.sql.operations import EVENT_COLUMNS, event
from parley.store.sql.thread_state import after_reply, thread_root


async def account_replies(conn: Connection, after: int, limit: int) -> int | None:
    """Account for up to ``limit`` replies with an id above ``after`` (in id order) in their
    threads; return the last one's id, or None when there are no more."""
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events AS e"  # noqa: S608 (constant columns)
        " WHERE e.id > ? AND e.kind = 'message' AND e.thread IS NOT NULL"
        " ORDER BY e.id LIMIT ?",
        after,
        limit,
    )
    for row in rows:
        reply = event(row, "")
        assert reply.thread is not None
        root = await thread_root(conn, reply.room_id, reply.thread, deleted_too=True)
        mentioned = await conn.fetch(
            "SELECT user_id FROM mentions WHERE message_id = ? ORDER BY user_id", reply.mid
        )
        await after_reply(conn, reply, root, [found["user_id"] for found in mentioned])
    return rows[-1]["id"] if rows else None


async def mark_threads_read(conn: Connection) -> None:
    """Every follower's thread marker at its thread's newest reply (after an import only)."""
    # The room in the subquery lets it use ``events_by_thread`` (room, thread, seq): one index
    # probe per follower, where the thread alone would scan the events for each.
    await conn.execute(
        "UPDATE thread_follows SET read_seq = COALESCE((SELECT MAX(e.seq) FROM events AS e"
        " WHERE e.room_id = thread_follows.room_id AND e.thread = thread_follows.thread),"
        " read_seq)"
    )


__all__ = ["account_replies", "mark_threads_read"]
