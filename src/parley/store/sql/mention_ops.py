"""The store's mention operations, written once for every SQL engine (as
:mod:`parley.store.sql.operations`, which calls them from its message writes).

A message's mentions are resolved in the transaction that commits it: the ``@names`` that
:func:`~parley.protocol.mentions.find_mentions` finds in the text are looked up among the
room's members *then*, so the stored mentions are exactly the members the text named when it
was said. They are kept twice: as names on the event (``events.mentions``, what clients see),
and as rows of ``mentions`` (what unread counts and the ``mentions`` view read, along their
indexes). The rows follow the message's current state: an edit replaces them and a delete
removes them, in the same transaction.

``@room`` is one row with ``user_id`` 0, not a row per member: its cost does not grow with the
room, and it counts for whoever is a member when it is read (a member's read marker starts
at their join, so it never counts for someone who joined after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from parley.model import Event
from parley.protocol.mentions import MAX_MENTIONS, ROOM_MENTION, Mentioned, resolve
from parley.store.base import UNREAD_CAP, MentionRefused
from parley.store.sql.engine import Connection

#: ``@room`` needs no special right in a room of at most this many members; in bigger ones
#: only the room's creator and the server's admins may use it (docs/security.md).
SMALL_ROOM: Final = 20

#: The ``user_id`` of an ``@room`` row.
EVERYONE: Final = 0


@dataclass(frozen=True, slots=True)
class Mentions:
    """What an event stores of mentions (see migration 0006): the message's current ones and,
    on an edit, those it added and removed."""

    current: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolved:
    """The members a text mentions: their names as spelled (``@room`` first, when there)
    and their ids (``@room`` as :data:`EVERYONE`)."""

    names: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()


async def resolve_mentions(
    conn: Connection,
    room_id: int,
    mentioned: Mentioned,
    *,
    writer_id: int | None,
    author_id: int | None,
) -> Resolved:
    """Resolve ``mentioned`` against the room's members. ``writer_id`` is who writes (their
    rights decide ``@room``), ``author_id`` whose message it is (never mentioned by it).

    Raises :class:`MentionRefused` for more than :data:`MAX_MENTIONS` names, or an ``@room``
    the writer may not use.
    """
    if len(mentioned.names) > MAX_MENTIONS:
        raise MentionRefused(
            f"a message can mention at most {MAX_MENTIONS} people by name; use @room"
        )
    names: list[str] = []
    user_ids: list[int] = []
    if mentioned.room:
        await _check_room_mention(conn, room_id, writer_id)
        names.append(ROOM_MENTION)
        user_ids.append(EVERYONE)
    keys = sorted(mentioned.keys)
    if keys:
        placeholders = ", ".join("?" for _ in keys)  # only placeholders: at most 2 per name
        rows = await conn.fetch(
            "SELECT u.id, u.name, u.name_key FROM memberships AS m"  # noqa: S608
            " JOIN users AS u ON u.id = m.user_id"
            f" WHERE m.room_id = ? AND u.name_key IN ({placeholders})",
            room_id,
            *keys,
        )
        ids = {row["name"]: row["id"] for row in rows if row["id"] != author_id}
        found = resolve(mentioned, {row["name_key"]: row["name"] for row in rows})
        for name in found:
            if name in ids:
                names.append(name)
                user_ids.append(ids[name])
    return Resolved(tuple(names), tuple(user_ids))


async def _check_room_mention(conn: Connection, room_id: int, writer_id: int | None) -> None:
    """Raise unless ``writer_id`` may mention everyone in the room."""
    row = await conn.fetchrow(
        "SELECT r.created_by, u.is_admin,"
        " (SELECT COUNT(*) FROM (SELECT 1 FROM memberships AS m WHERE m.room_id = r.id"
        "  LIMIT ?) AS capped) AS members"
        " FROM rooms AS r LEFT JOIN users AS u ON u.id = ? WHERE r.id = ?",
        SMALL_ROOM + 1,
        writer_id,
        room_id,
    )
    if row is None:
        return  # no such room: the append that follows says so
    if row["members"] <= SMALL_ROOM or bool(row["is_admin"]):
        return
    if writer_id is not None and row["created_by"] == writer_id:
        return
    raise MentionRefused(
        f"@room notifies everyone: in a room of more than {SMALL_ROOM} members only its"
        " creator and admins may use it"
    )


async def store_rows(
    conn: Connection, message: Event, author_id: int | None, found: Resolved
) -> None:
    """Make ``found`` the mentions rows of ``message`` (replacing any it had). A reply's
    (without ``broadcast``) are ``in_thread``: not counted in the room's unread mentions."""
    assert message.mid is not None
    in_thread = message.thread is not None and not message.broadcast
    await conn.execute("DELETE FROM mentions WHERE message_id = ?", message.mid)
    if found.user_ids:
        await conn.executemany(
            "INSERT INTO mentions (user_id, room_id, seq, message_id, author_id, ts, in_thread)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (uid, message.room_id, message.seq, message.mid, author_id, message.ts, in_thread)
                for uid in found.user_ids
            ],
        )


def changes(before: tuple[str, ...], after: tuple[str, ...]) -> Mentions:
    """What an edit from mentions ``before`` to ``after`` changes: a name kept is neither
    added nor removed (it counts and notifies once). Names compare case-insensitively."""
    old = {name.lower() for name in before}
    new = {name.lower() for name in after}
    return Mentions(
        current=after,
        added=tuple(name for name in after if name.lower() not in old),
        removed=tuple(name for name in before if name.lower() not in new),
    )


#: The unread mentions of a member (``m``: their membership row) in a room: their own rows
#: and the room's ``@room`` rows by others, after the read marker, each counted up to the cap
#: along the primary key; those in threads only (not ``broadcast``) count in the thread.
UNREAD_MENTIONS_SQL: Final = (
    "(SELECT COUNT(*) FROM (SELECT 1 FROM mentions AS x WHERE x.user_id = m.user_id"
    "  AND x.room_id = m.room_id AND x.seq > m.last_read_seq AND NOT x.in_thread LIMIT ?) AS own)"
    " + (SELECT COUNT(*) FROM (SELECT 1 FROM mentions AS x WHERE x.user_id = 0"
    "  AND x.room_id = m.room_id AND x.seq > m.last_read_seq AND NOT x.in_thread"
    "  AND (x.author_id IS NULL OR x.author_id <> m.user_id) LIMIT ?) AS everyone)"
)


async def unread_mentions(conn: Connection, room_id: int, user_id: int) -> int:
    """Unread mentions of a member in a room (0 for a non-member); see
    :data:`UNREAD_MENTIONS_SQL`."""
    count: int | None = await conn.fetchval(
        f"SELECT {UNREAD_MENTIONS_SQL} FROM memberships AS m"  # noqa: S608
        " WHERE m.room_id = ? AND m.user_id = ?",
        UNREAD_CAP,
        UNREAD_CAP,
        room_id,
        user_id,
    )
    return min(count or 0, UNREAD_CAP)


__all__ = [
    "EVERYONE",
    "SMALL_ROOM",
    "UNREAD_MENTIONS_SQL",
    "Mentions",
    "Resolved",
    "changes",
    "resolve_mentions",
    "store_rows",
    "unread_mentions",
]
