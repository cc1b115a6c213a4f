"""The ``search`` store operation: one statement per search, over the full-text index of
migration 0005, in each database's spelling (``Engine.text_search``).

The match is built from the parsed query's words only (:class:`~parley.search.query.SearchQuery`
holds letters and digits, nothing else), each quoted: no input can become FTS5 or ``tsquery``
syntax, and every value of the statement (the match included) is a parameter. The rest of
the statement is assembled from fixed pieces with as many placeholders as there are values.

Who may see what is decided in the same statement, from the database: the rooms the user is
a member of, and public rooms when asked for; a private room or direct room of others is never
read, whatever ``room_ids`` says. Results are the messages' current state (an edit's text, never
a deleted message), newest first (by message id), after the cursor ``before``.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.search.query import SearchQuery, words_of
from parley.store.base import SearchPage
from parley.store.sql.engine import Connection
from parley.store.sql.operations import EVENT_COLUMNS, event

#: The ``has:link`` condition: the words the index must hold, then the text itself.
_LINK_WORDS = ("http", "https")
_HAS_LINK = "(lower(e.text) LIKE '%http://%' OR lower(e.text) LIKE '%https://%')"


def fts5_match(query: SearchQuery) -> str:
    """``query`` as an FTS5 match expression: every word double-quoted, ANDed, in the
    ``text`` column; ``from:`` names in the ``author`` column (any of them)."""
    parts = [f'"{word}"' for word in query.words]
    parts += ['"' + " ".join(phrase) + '"' for phrase in query.phrases]
    if query.prefix is not None:
        parts.append(f'"{query.prefix}"*')
    if query.has_link:
        parts.append("(" + " OR ".join(f'"{word}"' for word in _LINK_WORDS) + ")")
    match = "text : (" + " AND ".join(parts) + ")"
    if query.authors:
        names = [" ".join(words_of(name)) for name in query.authors]
        match += " AND author : (" + " OR ".join(f'"{name}"' for name in names) + ")"
    return match


def tsquery(query: SearchQuery) -> str:
    """``query`` as ``to_tsquery`` input: every lexeme single-quoted, ANDed, of weight A (the
    text); ``from:`` names of weight B (the author, any of them)."""
    parts = [f"'{word}':A" for word in query.words]
    parts += [
        "(" + " <-> ".join(f"'{word}':A" for word in phrase) + ")" for phrase in query.phrases
    ]
    if query.prefix is not None:
        parts.append(f"'{query.prefix}':*A")
    if query.has_link:
        parts.append("(" + " | ".join(f"'{word}':A" for word in _LINK_WORDS) + ")")
    if query.authors:
        names = [
            "(" + " <-> ".join(f"'{word}':B" for word in words_of(name)) + ")"
            for name in query.authors
        ]
        parts.append("(" + " | ".join(names) + ")")
    return " & ".join(parts)


#: PostgreSQL: past this many rooms, the rooms are not part of the ``tsquery`` (a long OR
#: costs more than it saves); the statement's own room condition still holds.
MOST_ROOM_LEXEMES = 200


async def _rooms_term(
    conn: Connection, user_id: int, public: bool, room_ids: Sequence[int]
) -> str | None:
    """PostgreSQL: the rooms searched as ``tsquery`` lexemes of weight C (``'r12':C | ...``;
    migration 0005), so that the index finds only messages of those rooms; ``""`` when there
    is no room to search, None when the rooms are not worth it (public rooms included, or
    too many). The statement checks membership again: this only narrows the index scan."""
    if not room_ids:
        if public:
            return None
        rows = await conn.fetch("SELECT room_id FROM memberships WHERE user_id = ?", user_id)
        room_ids = [row["room_id"] for row in rows]
    if len(room_ids) > MOST_ROOM_LEXEMES:
        return None
    return " | ".join(f"'r{int(room_id)}':C" for room_id in room_ids)


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


#: How many pending messages one :func:`index_pending` moves into the index.
INDEX_CHUNK = 2000


async def index_pending(conn: Connection, chunk: int = INDEX_CHUNK) -> int:
    """Index the oldest ``chunk`` pending messages (SQLite, whose index is deferred: see
    migration 0005) as they are now; return how many are still pending. A write."""
    await conn.execute(
        "INSERT INTO events_fts (rowid, text, author) SELECT e.id, e.text, e.author"
        " FROM events AS e"
        " WHERE e.id IN (SELECT p.id FROM search_pending AS p ORDER BY p.id LIMIT ?)"
        " AND e.kind = 'message' AND NOT e.deleted",
        chunk,
    )
    await conn.execute(
        "DELETE FROM search_pending WHERE id IN"
        " (SELECT p.id FROM search_pending AS p ORDER BY p.id LIMIT ?)",
        chunk,
    )
    return await pending(conn)


async def pending(conn: Connection) -> int:
    """Messages stored but not searchable yet (always 0 where indexing is not deferred)."""
    if not conn.engine.deferred_index:
        return 0
    count: int = await conn.fetchval("SELECT COUNT(*) FROM search_pending")
    return count


async def search(
    conn: Connection,
    user_id: int,
    query: SearchQuery,
    *,
    public: bool,
    room_ids: Sequence[int],
    before: int | None,
    limit: int,
) -> SearchPage:
    waiting = await pending(conn)
    if limit <= 0:
        return SearchPage([], waiting)
    args: list[object] = []
    if conn.engine.text_search == "fts5":
        sql = (
            f"SELECT {EVENT_COLUMNS}"  # noqa: S608 (a constant)
            " FROM events_fts AS f JOIN events AS e ON e.id = f.rowid"
            " WHERE events_fts MATCH ?"
        )
        args.append(fts5_match(query))
        order = " ORDER BY f.rowid DESC LIMIT ?"
        cursor = " AND f.rowid < ?"
    else:
        matched = tsquery(query)
        rooms = await _rooms_term(conn, user_id, public, room_ids)
        if rooms == "":
            return SearchPage([], waiting)  # no room to search in
        if rooms is not None:
            matched += f" & ({rooms})"
        sql = (
            f"SELECT {EVENT_COLUMNS}"  # noqa: S608 (a constant)
            " FROM events AS e"
            " WHERE e.search @@ to_tsquery('parley_search', ?)"
        )
        args.append(matched)
        order = " ORDER BY e.id DESC LIMIT ?"
        cursor = " AND e.id < ?"
    # Rooms are sets (hashed subplans), not a join: joined, PostgreSQL misjudged how many rows
    # the join would see and read the rooms table once per candidate message (8,600 pages for
    # one `has:link` search, bench/search.py). The 20 results' names are read after.
    sql += (
        " AND e.kind = 'message' AND NOT e.deleted"
        " AND (e.room_id IN (SELECT m.room_id FROM memberships AS m WHERE m.user_id = ?)"
        " OR (? AND e.room_id IN (SELECT r.id FROM rooms AS r"
        " WHERE r.kind = 'public' AND NOT r.deleted)))"
    )
    args += [user_id, public]
    if before is not None:
        sql += cursor
        args.append(before)
    if room_ids:
        sql += f" AND e.room_id IN ({_marks(len(room_ids))})"
        args += list(room_ids)
    if query.authors:
        sql += (
            " AND e.user_id IN (SELECT u.id FROM users AS u"  # noqa: S608 (placeholders only)
            f" WHERE u.name_key IN ({_marks(len(query.authors))}))"
        )
        args += list(query.authors)
    if query.since is not None:
        sql += " AND e.ts >= ?"
        args.append(query.since)
    if query.until is not None:
        sql += " AND e.ts < ?"
        args.append(query.until)
    if query.has_link:
        sql += " AND " + _HAS_LINK
    args.append(limit)
    found = (
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608 (constants and placeholders)
        f" FROM ({sql + order}) AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE NOT r.deleted ORDER BY e.id DESC"
    )
    rows = await conn.fetch(found, *args)
    return SearchPage([event(row, row["room_name"]) for row in rows], waiting)


__all__ = [
    "INDEX_CHUNK",
    "MOST_ROOM_LEXEMES",
    "fts5_match",
    "index_pending",
    "pending",
    "search",
    "tsquery",
]
