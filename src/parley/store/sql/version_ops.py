"""A message's versions (the ``versions`` command), written once for every SQL engine.

The versions are the text it was sent with (kept in ``events.original`` by its first edit,
migration 0007) and each ``edit`` row's text, which the edits stored anyway. A delete empties
all of them (``operations.delete_message``): a deleted message has no versions.
"""

from __future__ import annotations

from parley.model import Version
from parley.store.base import NotFound
from parley.store.sql.engine import Connection


async def versions(
    conn: Connection, room_id: int, mid: int, before: int | None, limit: int
) -> tuple[list[Version], bool]:
    """The newest ``limit`` versions of message ``mid`` of the room with seqs below
    ``before``, oldest first, and whether older ones exist. Raises :class:`NotFound` when it
    is not a message of that room, or is deleted."""
    message = await conn.fetchrow(
        "SELECT seq, ts, author, text, original, edited, deleted FROM events"
        " WHERE id = ? AND room_id = ? AND kind = 'message'",
        mid,
        room_id,
    )
    if message is None or message["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    bound = before if before is not None else 2**62
    edits = await conn.fetch(
        "SELECT seq, ts, author, text FROM events"
        " WHERE mid = ? AND room_id = ? AND kind = 'edit' AND seq < ?"
        " ORDER BY seq DESC LIMIT ?",
        mid,
        room_id,
        bound,
        limit + 1,
    )
    newest_first = [Version(r["seq"], r["ts"], r["author"], r["text"] or "") for r in edits]
    # The first version: its text as sent, unless it was edited before versions were kept.
    first = message["original"] if message["edited"] else message["text"]
    if first is not None and message["seq"] < bound:
        newest_first.append(Version(message["seq"], message["ts"], message["author"], first))
    more = len(newest_first) > limit
    return list(reversed(newest_first[:limit])), more


__all__ = ["versions"]
