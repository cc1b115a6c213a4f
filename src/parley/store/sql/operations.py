"""Every store operation, written once for every SQL engine.

Each is a coroutine over a :class:`~parley.store.sql.engine.Connection` and keeps the rules of
:mod:`parley.store.base`. A write runs inside the group commit's transaction, in a savepoint
of its own (:mod:`parley.store.sql.batch`); a read runs in a read transaction (SQLite) or as
one statement (PostgreSQL, where a read that must agree with itself is one statement). No
operation begins or ends a transaction itself.

* **Gap-free seq.** ``rooms.last_seq`` is each room's counter: an event takes ``last_seq + 1``
  through ``UPDATE ... RETURNING`` in the transaction that inserts it. A rolled-back write or
  batch rolls the counter back with it, so nothing can drift and no seq is skipped or taken
  twice, however many processes write.
* **Quotas.** A write that a :class:`~parley.store.base.RoomQuotas` limits counts, in its own
  transaction, what the user did within the window (rooms created, invitations received:
  at most ``most`` rows read), after locking the user's row (:func:`_lock_user`), so two
  processes cannot both take the last one. An invitation locks its room first and the user
  second, the one write that departs from the lock order below; should two batches meet in
  that order on PostgreSQL, the deadlock victim runs again (``batch.py``).
* **Several writers.** On PostgreSQL that ``UPDATE`` locks the room's row until the commit, so
  one room's writers take turns while other rooms proceed; a write that checks a room's state
  before appending to it (join, leave, edit, delete, read markers) locks the row first
  (:func:`lock_room`), so its checks see the latest committed state. Names are taken with
  ``INSERT ... ON CONFLICT DO NOTHING`` (the loser gets ``Conflict``; a direct room opened by
  two processes at once is returned to both), and "the first account is an admin" is decided
  under a transaction lock. SQLite has one writer, so its engine locks nothing.

The queries name their columns, never ``*``: a later migration adding a column then does not
invalidate the prepared statements of a process still running the older code. They are literal
strings, never formatted with values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from parley.clock import now_ms
from parley.model import (
    Actor,
    Appended,
    Event,
    EventKind,
    NotifyLevel,
    Room,
    RoomKind,
    RoomView,
    Session,
    UnreadState,
    User,
)
from parley.permissions import Action, Role
from parley.protocol.mentions import Mentioned, find_mentions
from parley.protocol.mentions import join as join_names
from parley.protocol.mentions import split as split_names
from parley.store.base import (
    LOBBY,
    UNREAD_CAP,
    Archived,
    Conflict,
    Forbidden,
    LimitReached,
    MentionRefused,
    NotFound,
    Quota,
    RoomQuotas,
    direct_room_name,
)
from parley.store.sql import audit_ops
from parley.store.sql.current_state import with_current_state
from parley.store.sql.engine import Connection, Row, lock_transaction
from parley.store.sql.file_column import decode_files
from parley.store.sql.mention_ops import (
    EVERYONE,
    UNREAD_MENTIONS_SQL,
    Mentions,
    changes,
    resolve_mentions,
    store_rows,
    unread_mentions,
)
from parley.store.sql.standing_ops import (
    check_not_banned,
    poster_check,
    require_in_room,
    restricted_posting,
)
from parley.store.sql.thread_state import after_reply, after_reply_deleted, thread_root

#: The transaction lock (:func:`lock_transaction`) under which the first account is made the
#: admin: "parley" and a number (one 64-bit key space per PostgreSQL database).
FIRST_USER_LOCK: Final = 0x7061726C65790002


#: An event ``e`` of a room's main timeline: not a reply, or a reply also sent to the room
#: (``broadcast``). Only those count as unread in the room (docs/protocol.md, threads).
MAIN_TIMELINE_SQL: Final = "(e.thread IS NULL OR e.broadcast)"


def key(name: str) -> str:
    """The case-insensitive form of a user or room name (``name_key`` in the schema).

    ``str.lower`` rather than ``casefold``, to agree with :func:`direct_room_name`; computed
    here rather than in SQL so that every database agrees on what "lower" means.
    """
    return name.lower()


# -- rows to values ----------------------------------------------------------------------


def user(row: Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        is_admin=bool(row["is_admin"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def room(row: Row) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        kind=RoomKind(row["kind"]),
        topic=row["topic"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
        archived=bool(row["archived"]),
    )


#: The ``events`` columns :func:`event` reads, for a query over ``events AS e``.
EVENT_COLUMNS = (
    "e.id, e.room_id, e.seq, e.kind, e.user_id, e.author, e.ts, e.mid, e.text, e.edited,"
    " e.deleted, e.invited_by, e.cid, e.mentions, e.mentions_added, e.mentions_removed,"
    " e.thread, e.broadcast, e.reply_count, e.last_reply_ts, e.pinned_seq, e.emoji, e.removed,"
    " e.files, e.ends_at"
)

#: The same columns, unqualified: what an ``INSERT INTO events`` returns.
_RETURNED_COLUMNS = EVENT_COLUMNS.replace("e.", "")


def event(row: Row, room_name: str) -> Event:
    """An ``events`` row as an :class:`Event`; a message's row holds its current state."""
    kind = EventKind(row["kind"])
    return Event(
        # A rename names the room as it was before it, live or replayed: the name under which
        # a client following the stream knows the room when the rename reaches it.
        room=row["invited_by"] if kind is EventKind.RENAME else room_name,
        room_id=row["room_id"],
        seq=row["seq"],
        kind=kind,
        user=row["author"],
        user_id=row["user_id"],
        ts=row["ts"],
        mid=row["id"] if kind is EventKind.MESSAGE else row["mid"],
        text=row["text"],
        edited=bool(row["edited"]),
        deleted=bool(row["deleted"]),
        # The column holds the inviter of a join, and the old name of a rename.
        by=None if kind is EventKind.RENAME else row["invited_by"],
        cid=row["cid"],
        previous=row["invited_by"] if kind is EventKind.RENAME else None,
        mentions=split_names(row["mentions"]),
        mentions_added=split_names(row["mentions_added"]),
        mentions_removed=split_names(row["mentions_removed"]),
        thread=row["thread"],
        broadcast=bool(row["broadcast"]),
        replies=row["reply_count"],
        last_reply_ts=row["last_reply_ts"],
        pinned=row["pinned_seq"],
        emoji=row["emoji"],
        removed=bool(row["removed"]),
        files=decode_files(row["files"]),
        until=row["ends_at"],
    )


# -- users and sessions --------------------------------------------------------------------


async def user_by_name(conn: Connection, name: str) -> User | None:
    row = await conn.fetchrow(
        "SELECT id, name, password_hash, is_admin, disabled, created_at"
        " FROM users WHERE name_key = ?",
        key(name),
    )
    return None if row is None else user(row)


async def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = await conn.fetchrow(
        "SELECT id, name, password_hash, is_admin, disabled, created_at FROM users WHERE id = ?",
        user_id,
    )
    return None if row is None else user(row)


async def require_user(conn: Connection, user_id: int) -> User:
    found = await user_by_id(conn, user_id)
    if found is None:
        raise NotFound(f"no user {user_id}")
    return found


async def list_users(conn: Connection) -> list[User]:
    rows = await conn.fetch(
        "SELECT id, name, password_hash, is_admin, disabled, created_at FROM users ORDER BY id"
    )
    return [user(row) for row in rows]


async def _no_user_yet(conn: Connection) -> bool:
    """Whether no account exists, decided once across every transaction and process.

    While there is none, the question is asked again under a transaction lock: a concurrent
    creator of the first account commits (and releases the lock) before this one looks, and
    its account is then seen. (SQLite's one writer needs no lock: the answer cannot change.)
    """
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
        return False
    if conn.engine.transaction_lock is None:
        return True
    await lock_transaction(conn, FIRST_USER_LOCK)
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)")


async def create_user(
    conn: Connection,
    name: str,
    password_hash: str,
    admin: bool | None,
    actor: Actor | None = None,
) -> User:
    if admin is None:  # the first account is the admin; decided inside the write transaction
        admin = await _no_user_yet(conn)
    row = await conn.fetchrow(
        "INSERT INTO users (name, name_key, password_hash, is_admin, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING"
        " RETURNING id, name, password_hash, is_admin, disabled, created_at",
        name,
        key(name),
        password_hash,
        admin,
        now_ms(),
    )
    if row is None:
        raise Conflict(f"the user name {name!r} is taken")
    made = user(row)
    await audit_ops.record_by(
        conn, actor, "user.add", target=made.name, detail="admin" if made.is_admin else None
    )
    return made


async def set_password(
    conn: Connection, user_id: int, password_hash: str, actor: Actor | None = None
) -> list[str]:
    """Replace the password and end every session of the account (their token hashes are
    returned), in the caller's transaction: whoever knew the old password is signed out
    everywhere, whichever way the change came (``parley user set-password``, the admin page).
    With ``actor``: audited (``user.set_password``, then ``session.revoke``)."""
    found = await conn.fetchval(
        "UPDATE users SET password_hash = ? WHERE id = ? RETURNING name", password_hash, user_id
    )
    if found is None:
        raise NotFound(f"no user {user_id}")
    await audit_ops.record_by(conn, actor, "user.set_password", target=found)
    return await delete_sessions_of(conn, user_id, actor)


async def rehash_password(conn: Connection, user_id: int, old_hash: str, new_hash: str) -> bool:
    """Store the same password's hash at today's cost (a sign-in upgrades an old one): not a
    new password, so the sessions stay and nothing is audited. Only while the hash is still
    ``old_hash``: a password changed since the sign-in read it is kept. Whether it was stored."""
    changed = await conn.fetchval(
        "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ? RETURNING id",
        new_hash,
        user_id,
        old_hash,
    )
    return changed is not None


async def set_disabled(
    conn: Connection, user_id: int, disabled: bool, actor: Actor | None = None
) -> list[str]:
    """Disable the account and end its sessions (their token hashes are returned), or enable
    it again (nothing ended), in the caller's transaction, whichever way the change came
    (``parley user disable``, the admin page). With ``actor``: audited (``user.disable`` and
    ``session.revoke``, or ``user.enable``)."""
    found = await conn.fetchval(
        "UPDATE users SET disabled = ? WHERE id = ? RETURNING name", disabled, user_id
    )
    if found is None:
        raise NotFound(f"no user {user_id}")
    action = "user.disable" if disabled else "user.enable"
    await audit_ops.record_by(conn, actor, action, target=found)
    return await delete_sessions_of(conn, user_id, actor) if disabled else []


async def create_session(
    conn: Connection, user_id: int, token_hash: str, expires_at: int
) -> Session:
    owner = await require_user(conn, user_id)
    created_at = await conn.fetchval(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING RETURNING created_at",
        token_hash,
        user_id,
        now_ms(),
        expires_at,
    )
    if created_at is None:
        raise Conflict("a session with this token hash exists")
    return Session(token_hash, owner, created_at, expires_at)


async def live_session(conn: Connection, token_hash: str, now: int) -> Session | None:
    row = await conn.fetchrow(
        "SELECT s.token_hash, s.created_at AS session_created_at, s.expires_at,"
        " u.id, u.name, u.password_hash, u.is_admin, u.disabled, u.created_at"
        " FROM sessions AS s JOIN users AS u ON u.id = s.user_id"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        token_hash,
        now,
    )
    if row is None:
        return None
    return Session(row["token_hash"], user(row), row["session_created_at"], row["expires_at"])


async def delete_session(conn: Connection, token_hash: str, actor: Actor | None = None) -> bool:
    found = await conn.fetchval("DELETE FROM sessions WHERE token_hash = ? RETURNING 1", token_hash)
    if found is not None and actor is not None:  # a sign-out: the user is the actor
        await audit_ops.record_by(conn, actor, "session.end", target=actor.name)
    return found is not None


async def delete_sessions_of(
    conn: Connection, user_id: int, actor: Actor | None = None
) -> list[str]:
    rows = await conn.fetch("DELETE FROM sessions WHERE user_id = ? RETURNING token_hash", user_id)
    if rows and actor is not None:
        name = await conn.fetchval("SELECT name FROM users WHERE id = ?", user_id)
        await audit_ops.record_by(
            conn, actor, "session.revoke", target=name, detail=f"{len(rows)} sessions"
        )
    return sorted(row["token_hash"] for row in rows)


# -- rooms ---------------------------------------------------------------------------------


async def ensure_lobby(conn: Connection) -> None:
    await conn.execute(
        "INSERT INTO rooms (name, name_key, kind, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name_key) DO NOTHING",
        LOBBY,
        key(LOBBY),
        RoomKind.PUBLIC.value,
        now_ms(),
    )


async def room_by_name(conn: Connection, name: str) -> Room | None:
    row = await conn.fetchrow(
        "SELECT id, name, kind, topic, created_at, last_seq, archived FROM rooms"
        " WHERE name_key = ? AND NOT deleted",
        key(name),
    )
    return None if row is None else room(row)


async def room_by_id(conn: Connection, room_id: int) -> Room | None:
    row = await conn.fetchrow(
        "SELECT id, name, kind, topic, created_at, last_seq, archived FROM rooms"
        " WHERE id = ? AND NOT deleted",
        room_id,
    )
    return None if row is None else room(row)


async def require_room(conn: Connection, room_id: int) -> Room:
    found = await room_by_id(conn, room_id)
    if found is None:
        raise NotFound(f"no room {room_id}")
    return found


async def lock_room(conn: Connection, room_id: int) -> bool:
    """Lock the room's row until the transaction ends (as appending to it would lock it), so
    that what the caller checks next cannot change under it, in any process; False if there
    is no such room. An engine with one writer locks nothing and answers True without a
    query: the caller's own statements then find a missing room (``NotFound`` from
    :func:`_append`, no membership, no message)."""
    if not conn.engine.row_lock:
        return True
    found = await conn.fetchval(
        "SELECT 1 FROM rooms WHERE id = ? AND NOT deleted" + conn.engine.row_lock,  # noqa: S608
        room_id,
    )
    return found is not None


async def _insert_room(
    conn: Connection, name: str, kind: RoomKind, topic: str, created_by: int | None
) -> int | None:
    """The new room's id; None if the name is taken (a concurrent creator's commit included:
    ``ON CONFLICT`` waits for it)."""
    room_id: int | None = await conn.fetchval(
        "INSERT INTO rooms (name, name_key, kind, topic, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING RETURNING id",
        name,
        key(name),
        kind.value,
        topic,
        now_ms(),
        created_by,
    )
    return room_id


async def create_room(
    conn: Connection,
    name: str,
    kind: RoomKind,
    creator_id: int | None,
    topic: str,
    quotas: RoomQuotas | None = None,
) -> tuple[Room, list[Event]]:
    creator = None if creator_id is None else await require_user(conn, creator_id)
    if creator is not None and quotas is not None and quotas.created is not None:
        await _lock_user(conn, creator.id)
        await _check_created(conn, creator.id, quotas.created)
    room_id = await _insert_room(conn, name, kind, topic, creator_id)
    if room_id is None:
        raise Conflict(f"the room name {name!r} is taken")
    events = [] if creator is None else [await _add_member(conn, room_id, creator.id, creator.name)]
    if creator is not None and kind is not RoomKind.DIRECT:  # the creator owns it (0009)
        await conn.execute(
            "INSERT INTO room_roles (room_id, user_id, role) VALUES (?, ?, ?)",
            room_id,
            creator.id,
            Role.OWNER.value,
        )
    return await require_room(conn, room_id), events


async def open_direct(
    conn: Connection, user_id: int, other_id: int, quotas: RoomQuotas | None = None
) -> tuple[Room, list[Event]]:
    if user_id == other_id:
        raise Forbidden("a direct room is between two different users")
    users = (await require_user(conn, user_id), await require_user(conn, other_id))
    name = direct_room_name(users[0].name, users[1].name)
    room_id = None
    existing = await room_by_name(conn, name)
    if existing is None:
        if quotas is not None:
            for locked in sorted((user_id, other_id)):
                await _lock_user(conn, locked)
            if quotas.created is not None:
                await _check_created(conn, user_id, quotas.created)
            if quotas.invited is not None:
                await _check_invited(conn, other_id, quotas.invited)
        room_id = await _insert_room(conn, name, RoomKind.DIRECT, "", user_id)
        if room_id is None:  # opened meanwhile by another transaction, now committed
            existing = await room_by_name(conn, name)
    if room_id is None:
        if existing is None or existing.kind is not RoomKind.DIRECT:
            raise Conflict(f"the room name {name!r} is taken")
        return existing, []
    events = [await _add_member(conn, room_id, member.id, member.name) for member in users]
    return await require_room(conn, room_id), events


# -- quotas ----------------------------------------------------------------------------------


async def _lock_user(conn: Connection, user_id: int) -> None:
    """Lock the user's row until the transaction ends (an engine with one writer needs no
    lock), so that counting what the user did and adding one more is atomic."""
    if conn.engine.row_lock:
        await conn.fetchval(
            "SELECT 1 FROM users WHERE id = ?" + conn.engine.row_lock,  # noqa: S608
            user_id,
        )


def _enforce(which: str, quota: Quota, newest: list[Row]) -> None:
    """Raise :class:`LimitReached` when ``newest`` (the newest ``quota.most`` times within
    the window, newest first) fills the quota: one more fits once the oldest of them leaves
    the window."""
    if len(newest) >= quota.most:
        raise LimitReached(which, quota, int(newest[-1]["at"]) + quota.window_ms)


async def _check_created(conn: Connection, user_id: int, quota: Quota) -> None:
    """Rooms ``user_id`` created (direct rooms opened included) within the window."""
    rows = await conn.fetch(
        "SELECT created_at AS at FROM rooms WHERE created_by = ? AND created_at > ?"
        " ORDER BY created_at DESC LIMIT ?",
        user_id,
        now_ms() - quota.window_ms,
        quota.most,
    )
    _enforce("created", quota, rows)


async def _check_invited(conn: Connection, user_id: int, quota: Quota) -> None:
    """What others did to ``user_id`` within the window: invitations (``join`` events with an
    inviter, along the ``events_invitations`` index), and direct rooms others opened with
    them (which cannot be left, so their memberships are all there)."""
    since = now_ms() - quota.window_ms
    rows = await conn.fetch(
        "SELECT at FROM ("
        " SELECT e.ts AS at FROM events AS e WHERE e.user_id = ? AND e.kind = 'join'"
        "  AND e.invited_by IS NOT NULL AND e.ts > ?"
        " UNION ALL"
        " SELECT r.created_at AS at FROM memberships AS m JOIN rooms AS r ON r.id = m.room_id"
        "  WHERE m.user_id = ? AND r.kind = 'direct' AND r.created_by <> ? AND r.created_at > ?"
        ") AS received ORDER BY at DESC LIMIT ?",
        user_id,
        since,
        user_id,
        user_id,
        since,
        quota.most,
    )
    _enforce("invited", quota, rows)


async def is_member(conn: Connection, room_id: int, user_id: int) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?", room_id, user_id
    )
    return found is not None


async def room_members(
    conn: Connection, room_id: int, after: str | None = None, limit: int | None = None
) -> list[tuple[int, str]]:
    # Paged by name_key (unique: names are unique in any case), the order of the listing.
    sql = (
        "SELECT u.id, u.name FROM memberships AS m JOIN users AS u ON u.id = m.user_id"
        " WHERE m.room_id = ? AND u.name_key > ? ORDER BY u.name_key, u.name"
    )
    start = key(after) if after is not None else ""
    if limit is None:
        rows = await conn.fetch(sql, room_id, start)
    else:
        rows = await conn.fetch(sql + " LIMIT ?", room_id, start, limit)
    return [(row["id"], row["name"]) for row in rows]


async def unread_count(conn: Connection, room_id: int, user_id: int) -> int:
    # Messages by others, not deleted, after the member's read marker, counted along the
    # UNIQUE (room_id, seq) index and capped, so that a room a user never reads does not make
    # every welcome slower. (As in rooms_for.)
    count: int | None = await conn.fetchval(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM events AS e"  # noqa: S608
        "  WHERE e.room_id = m.room_id AND e.seq > m.last_read_seq"
        "  AND e.kind = 'message' AND NOT e.deleted AND " + MAIN_TIMELINE_SQL + ""
        "  AND (e.user_id IS NULL OR e.user_id <> m.user_id) LIMIT ?) AS capped)"
        " FROM memberships AS m WHERE m.room_id = ? AND m.user_id = ?",
        UNREAD_CAP,
        room_id,
        user_id,
    )
    return count or 0


async def rooms_for(conn: Connection, user_id: int) -> list[RoomView]:
    return await _room_views(conn, user_id, "(r.kind = 'public' OR m.user_id IS NOT NULL)")


async def member_rooms(conn: Connection, user_id: int) -> list[RoomView]:
    # An inner join, so that the user's memberships drive the query (their index), not the
    # table of every room: a welcome costs the same with 10 public rooms or 10,000.
    return await _room_views(conn, user_id, "m.user_id IS NOT NULL", inner=True)


async def visible_rooms(
    conn: Connection, user_id: int, query: str, after: str | None, limit: int
) -> list[RoomView]:
    # A query holds only the characters of room names (the protocol checks it): of LIKE's
    # wildcards only "_" can occur, and it means itself.
    pattern = "%" + key(query).replace("_", "\\_") + "%"
    return await _room_views(
        conn,
        user_id,
        "(r.kind = 'public' OR m.user_id IS NOT NULL)"
        " AND r.name_key LIKE ? ESCAPE '\\' AND r.name_key > ?",
        (pattern, key(after) if after is not None else ""),
        limit,
    )


async def _room_views(
    conn: Connection,
    user_id: int,
    where: str,
    args: tuple[object, ...] = (),
    limit: int | None = None,
    *,
    inner: bool = False,
) -> list[RoomView]:
    """The rooms matching ``where`` (one of the literal conditions above, never built from
    values), as ``user_id`` sees them, sorted by name."""
    # One statement, so one snapshot: the unread counts and members agree with the rooms.
    members = conn.engine.names_array(
        "SELECT u.name FROM memberships AS dm JOIN users AS u ON u.id = dm.user_id"
        " WHERE dm.room_id = r.id ORDER BY u.name_key, u.name"
    )
    rows = await conn.fetch(
        "SELECT r.id, r.name, r.kind, r.topic, r.created_at, r.last_seq, r.archived,"  # noqa: S608
        " m.user_id IS NOT NULL AS member,"
        " COALESCE(m.last_read_seq, 0) AS last_read_seq,"
        " CASE WHEN m.user_id IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM (SELECT 1 FROM events AS e"
        "   WHERE e.room_id = m.room_id AND e.seq > m.last_read_seq"
        "   AND e.kind = 'message' AND NOT e.deleted AND " + MAIN_TIMELINE_SQL + ""
        "   AND (e.user_id IS NULL OR e.user_id <> m.user_id) LIMIT ?) AS capped)"
        f" END AS unread, CASE WHEN r.kind = 'direct' THEN {members} END AS members,"
        f" CASE WHEN m.user_id IS NULL THEN 0 ELSE {UNREAD_MENTIONS_SQL} END AS mentions,"
        " m.notify_level, COALESCE(m.muted_until, 0) AS muted_until"
        f" FROM rooms AS r {'' if inner else 'LEFT '}JOIN memberships AS m"
        " ON m.room_id = r.id AND m.user_id = ?"
        f" WHERE NOT r.deleted AND {where}"
        " ORDER BY r.name_key, r.name" + (" LIMIT ?" if limit is not None else ""),
        UNREAD_CAP,
        UNREAD_CAP,
        UNREAD_CAP,
        user_id,
        *args,
        *(() if limit is None else (limit,)),
    )
    return [
        RoomView(
            room=room(row),
            member=bool(row["member"]),
            last_read_seq=row["last_read_seq"],
            unread=row["unread"],
            members=conn.engine.names(row["members"]),
            mentions=min(row["mentions"], UNREAD_CAP),
            notify=NotifyLevel(row["notify_level"] or NotifyLevel.MENTIONS),
            muted_until=row["muted_until"],
        )
        for row in rows
    ]


async def unread_state(conn: Connection, room_id: int, user_id: int) -> UnreadState:
    """The member's read marker, unread count and unread mentions, as one snapshot where the
    engine reads in one (a read transaction on SQLite)."""
    marker = await conn.fetchval(
        "SELECT last_read_seq FROM memberships WHERE room_id = ? AND user_id = ?",
        room_id,
        user_id,
    )
    return UnreadState(
        read=marker or 0,
        unread=await unread_count(conn, room_id, user_id),
        mentions=await unread_mentions(conn, room_id, user_id),
    )


async def mentions_of(
    conn: Connection, user_id: int, before: int | None, limit: int
) -> list[Event]:
    """Up to ``limit`` messages that mention the user (by name, or ``@room`` by someone
    else), in rooms the user is a member of, in their current state, newest (highest message
    id) first, with message ids below ``before``. Deleted messages have no mention rows."""
    if limit <= 0:
        return []
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM mentions AS x"
        " JOIN memberships AS m ON m.room_id = x.room_id AND m.user_id = ?"
        " JOIN events AS e ON e.id = x.message_id"
        " JOIN rooms AS r ON r.id = x.room_id"
        " WHERE (x.user_id = ? OR (x.user_id = ? AND (x.author_id IS NULL OR x.author_id <> ?)))"
        " AND x.message_id < ? AND NOT e.deleted AND NOT r.deleted"
        " ORDER BY x.message_id DESC LIMIT ?",
        user_id,
        user_id,
        EVERYONE,
        user_id,
        before if before is not None else 2**62,
        limit,
    )
    return await with_current_state(conn, [event(row, row["room_name"]) for row in rows])


async def set_notify(
    conn: Connection, room_id: int, user_id: int, level: NotifyLevel, muted_until: int
) -> bool:
    """Set the member's notification level and mute end (0: not muted) for the room; False
    for a non-member (nothing stored)."""
    found = await conn.fetchval(
        "UPDATE memberships SET notify_level = ?, muted_until = ?"
        " WHERE room_id = ? AND user_id = ? RETURNING 1",
        level.value,
        muted_until or None,
        room_id,
        user_id,
    )
    return found is not None


# -- events --------------------------------------------------------------------------------


async def _append(
    conn: Connection,
    room_id: int,
    kind: EventKind,
    *,
    user_id: int | None,
    author: str,
    mid: int | None = None,
    text: str | None = None,
    invited_by: str | None = None,
    cid: str | None = None,
    archived_too: bool = False,
    mentions: Mentions | None = None,
    thread: int | None = None,
    broadcast: bool = False,
    emoji: str | None = None,
    removed: bool = False,
    ends_at: int | None = None,
) -> Event:
    """Insert the room's next event. Raises :class:`NotFound` for an unknown room, and
    :class:`Archived` for an archived one unless ``archived_too`` (a leave, an unarchive).

    Where the engine allows it, one statement: the counter's ``UPDATE`` (which locks the
    room's row until the transaction ends, on PostgreSQL) feeds the ``INSERT``; one round trip.
    """
    names = mentions or Mentions()
    values = (
        kind.value,
        user_id,
        author,
        now_ms(),
        mid,
        text,
        invited_by,
        cid,
        join_names(names.current),
        join_names(names.added),
        join_names(names.removed),
        thread,
        broadcast,
        emoji,
        removed,
        ends_at,
    )
    if conn.engine.writable_cte:
        row = await conn.fetchrow(
            "WITH counter AS ("  # noqa: S608
            " UPDATE rooms SET last_seq = last_seq + 1"
            " WHERE id = ? AND NOT deleted AND (NOT archived OR ?)"
            " RETURNING id, last_seq, name)"
            " INSERT INTO events"
            " (room_id, seq, kind, user_id, author, ts, mid, text, invited_by, cid,"
            " mentions, mentions_added, mentions_removed, thread, broadcast, emoji, removed,"
            " ends_at)"
            " SELECT id, last_seq, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),"
            " CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT),"
            " CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),"
            " CAST(? AS BIGINT), CAST(? AS BOOLEAN), CAST(? AS TEXT), CAST(? AS BOOLEAN),"
            " CAST(? AS BIGINT)"
            " FROM counter"
            f" RETURNING {_RETURNED_COLUMNS}, (SELECT name FROM counter) AS room_name",
            room_id,
            archived_too,
            *values,
        )
        if row is None:
            raise await _not_appendable(conn, room_id)
        return event(row, row["room_name"])
    counter = await conn.fetchrow(
        "UPDATE rooms SET last_seq = last_seq + 1"
        " WHERE id = ? AND NOT deleted AND (NOT archived OR ?)"
        " RETURNING last_seq, name",
        room_id,
        archived_too,
    )
    if counter is None:
        raise await _not_appendable(conn, room_id)
    row = await conn.fetchrow(
        "INSERT INTO events (room_id, seq, kind, user_id, author, ts, mid, text, invited_by, cid,"  # noqa: S608
        " mentions, mentions_added, mentions_removed, thread, broadcast, emoji, removed, ends_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" RETURNING {_RETURNED_COLUMNS}",
        room_id,
        counter["last_seq"],
        *values,
    )
    assert row is not None  # an INSERT without ON CONFLICT returns its row or raises
    return event(row, counter["name"])


async def _not_appendable(conn: Connection, room_id: int) -> Exception:
    """Why no event could be appended to the room: it is archived, or it does not exist."""
    name = await conn.fetchval("SELECT name FROM rooms WHERE id = ? AND NOT deleted", room_id)
    if name is None:
        return NotFound(f"no room {room_id}")
    return Archived(f"room {name!r} is archived: it can be read, not changed")


async def _add_member(
    conn: Connection, room_id: int, user_id: int, author: str, by: str | None = None
) -> Event:
    """Append the join event and insert the membership, whose read marker starts there: a
    new member has read nothing *new*; what was said before they came is history."""
    joined = await _append(
        conn, room_id, EventKind.JOIN, user_id=user_id, author=author, invited_by=by
    )
    await conn.execute(
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_seq) VALUES (?, ?, ?, ?)",
        room_id,
        user_id,
        now_ms(),
        joined.seq,
    )
    return joined


async def join(
    conn: Connection,
    room_id: int,
    user_id: int,
    author: str,
    by: str | None,
    quotas: RoomQuotas | None = None,
) -> Event | None:
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    await require_user(conn, user_id)
    if await is_member(conn, room_id, user_id):
        return None
    await check_not_banned(conn, room_id, user_id, author)
    if by is not None and quotas is not None and quotas.invited is not None:
        await _lock_user(conn, user_id)
        await _check_invited(conn, user_id, quotas.invited)
    return await _add_member(conn, room_id, user_id, author, by)


async def leave(conn: Connection, room_id: int, user_id: int, author: str) -> Event | None:
    if not await lock_room(conn, room_id):
        return None  # no room, no membership
    found = await conn.fetchval(
        "DELETE FROM memberships WHERE room_id = ? AND user_id = ? RETURNING 1", room_id, user_id
    )
    if found is None:
        return None
    return await _append(
        conn, room_id, EventKind.LEAVE, user_id=user_id, author=author, archived_too=True
    )


async def set_topic(conn: Connection, room_id: int, user_id: int, author: str, topic: str) -> Event:
    await require_user(conn, user_id)
    await require_in_room(conn, room_id, user_id, Action.TOPIC)
    changed = await _append(
        conn, room_id, EventKind.TOPIC, user_id=user_id, author=author, text=topic
    )
    await conn.execute("UPDATE rooms SET topic = ? WHERE id = ?", topic, room_id)
    return changed


async def mark_read(conn: Connection, room_id: int, user_id: int, seq: int) -> int:
    # The room's row is locked first, as every write to a room's rows does; the marker is
    # written only when it moves.
    row = await conn.fetchrow(
        "SELECT m.last_read_seq, r.last_seq FROM memberships AS m"  # noqa: S608
        " JOIN rooms AS r ON r.id = m.room_id WHERE m.room_id = ? AND m.user_id = ?"
        + conn.engine.row_lock_of("r"),
        room_id,
        user_id,
    )
    if row is None:
        return 0
    current: int = row["last_read_seq"]
    last_seq: int = row["last_seq"]
    marker = max(current, min(seq, last_seq))
    if marker != current:
        await conn.execute(
            "UPDATE memberships SET last_read_seq = ? WHERE room_id = ? AND user_id = ?",
            marker,
            room_id,
            user_id,
        )
    return marker


async def post_message(
    conn: Connection,
    room_id: int,
    user_id: int | None,
    author: str,
    text: str,
    cid: str | None,
    mentioned: Mentioned | None = None,
    thread: int | None = None,
    broadcast: bool = False,
) -> Appended:
    """``mentioned``: the text's mentions if the caller parsed them already. ``thread``: the
    message is a reply in the thread of that message (of the same room; a reply's thread is
    its root's); ``broadcast``: shown in the room's main timeline too."""
    if user_id is None:
        cid = None  # guests have no cid scope
    # The user and whether the room restricts posting, in one cheap query (the hot path: no
    # extra round trip for room roles); a restriction is enforced after the cid check, so that
    # a resend of a stored message is answered with it even if the author was muted since.
    known, restricted = await poster_check(conn, room_id, user_id)
    if not known:
        raise NotFound(f"no user {user_id}")
    if cid is not None:
        original = await message_by_cid(conn, user_id, cid)
        if original is not None:
            return Appended(original, duplicate=True)
    if restricted:  # announcement rooms, mutes, bans: the rules decide
        await require_in_room(conn, room_id, user_id, Action.POST)
    root = None
    if thread is not None:
        # The room's row is locked first, so the root cannot be deleted before the reply is in.
        if not await lock_room(conn, room_id):
            raise NotFound(f"no room {room_id}")
        root = await thread_root(conn, room_id, thread, deleted_too=False)
    if mentioned is None:
        mentioned = find_mentions(text)
    found = await resolve_mentions(conn, room_id, mentioned, writer_id=user_id, author_id=user_id)
    posted = await _append(
        conn,
        room_id,
        EventKind.MESSAGE,
        user_id=user_id,
        author=author,
        text=text,
        cid=cid,
        mentions=Mentions(found.names),
        thread=None if root is None else root.id,
        broadcast=root is not None and broadcast,
    )
    if found.user_ids:
        await store_rows(conn, posted, user_id, found)
    if root is None:
        return Appended(posted, duplicate=False)
    posted, newly = await after_reply(conn, posted, root, found.user_ids)
    return Appended(posted, duplicate=False, new_followers=newly)


@dataclass(frozen=True, slots=True)
class Post:
    """A queued :func:`post_message`, described plainly for :func:`bulk_post`."""

    room_id: int
    user_id: int | None
    author: str
    text: str
    cid: str | None
    #: The text's mentions (None: it has none), resolved in the batch's transaction.
    mentioned: Mentioned | None = None


async def bulk_post(conn: Connection, posts: list[Post]) -> list[Appended]:
    """Append many messages in a few statements: one counter update for all their rooms, one
    multi-row insert. Raises a constraint violation when a cid repeats or a user is unknown,
    :class:`NotFound` for an unknown room: the caller then undoes it and takes the one-by-one
    path, which knows how to answer those.

    Only for an engine with :attr:`~parley.store.sql.engine.Engine.bulk_posts` (SQLite): the
    message ids are the rows' ids, and a multi-row insert takes consecutive ids ending at
    ``last_insert_rowid()`` only because the store is the only writer and holds the
    database's write lock.

    Mentions are resolved against each room's members before the insert, stored with the
    row, and their ``mentions`` rows added after it. A refused one (:class:`MentionRefused`)
    raises :class:`NotFound` here, so that the batch takes the one-by-one path too, where that
    post alone fails, with its own error.
    """
    try:
        found = [
            None
            if post.mentioned is None
            else await resolve_mentions(
                conn, post.room_id, post.mentioned, writer_id=post.user_id, author_id=post.user_id
            )
            for post in posts
        ]
    except MentionRefused as refused:
        raise NotFound("a post of the batch is refused: store them one by one") from refused
    per_room: dict[int, int] = {}
    for post in posts:
        per_room[post.room_id] = per_room.get(post.room_id, 0) + 1
    if await restricted_posting(conn, list(per_room)):
        raise NotFound("a room of the batch restricts posting: store them one by one")
    # Every room's counter in one statement (the VALUES list holds only placeholders).
    values = ", ".join("(?, ?)" for _ in per_room)
    counters = await conn.fetch(
        "UPDATE rooms SET last_seq = last_seq + v.column2"  # noqa: S608
        f" FROM (VALUES {values}) AS v"
        " WHERE rooms.id = v.column1 AND NOT rooms.archived AND NOT rooms.deleted"
        " RETURNING rooms.id, rooms.last_seq, rooms.name",
        *[item for pair in per_room.items() for item in pair],
    )
    if len(counters) != len(per_room):
        raise NotFound("a room of the batch does not exist or is archived")
    next_seq: dict[int, int] = {}
    names: dict[int, str] = {}
    for counter in counters:
        next_seq[counter["id"]] = counter["last_seq"] - per_room[counter["id"]] + 1
        names[counter["id"]] = counter["name"]
    ts = now_ms()
    rows = []
    for post, mentions in zip(posts, found, strict=True):
        seq = next_seq[post.room_id]
        next_seq[post.room_id] = seq + 1
        stored = join_names(mentions.names) if mentions is not None else None
        rows.append((post.room_id, seq, post.user_id, post.author, ts, post.text, post.cid, stored))
    await conn.executemany(
        "INSERT INTO events (room_id, seq, kind, user_id, author, ts, text, cid, mentions)"
        " VALUES (?, ?, 'message', ?, ?, ?, ?, ?, ?)",
        rows,
    )
    last_id: int = await conn.fetchval("SELECT last_insert_rowid()")
    first_id = last_id - len(rows) + 1
    appended = [
        Appended(
            Event(
                room=names[room_id],
                room_id=room_id,
                seq=seq,
                kind=EventKind.MESSAGE,
                user=author,
                user_id=user_id,
                ts=ts,
                mid=first_id + index,
                text=text,
                cid=cid,
                mentions=split_names(mentions),
            ),
            duplicate=False,
        )
        for index, (room_id, seq, user_id, author, ts, text, cid, mentions) in enumerate(rows)
    ]
    for done, mentions in zip(appended, found, strict=True):
        if mentions is not None and mentions.user_ids:
            await store_rows(conn, done.event, done.event.user_id, mentions)
    return appended


async def message_by_cid(conn: Connection, user_id: int | None, cid: str) -> Event | None:
    row = await conn.fetchrow(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.user_id = ? AND e.cid = ? AND e.kind = 'message'",
        user_id,
        cid,
    )
    if row is None:
        return None
    return (await with_current_state(conn, [event(row, row["room_name"])]))[0]


async def _check_may_change(
    conn: Connection, room_id: int, user_id: int, mid: int, any_author: bool
) -> Row:
    """Raise unless ``user_id`` may edit or delete message ``mid`` of the room; return the
    message's ``user_id``, ``seq``, ``mentions``, ``thread`` and ``broadcast``.

    The room's row is locked first: no other transaction can delete or change the message
    between this check and the change.
    """
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    await require_user(conn, user_id)
    row = await conn.fetchrow(
        "SELECT user_id, seq, deleted, mentions, thread, broadcast FROM events"
        " WHERE id = ? AND room_id = ? AND kind = 'message'",
        mid,
        room_id,
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    if row["user_id"] != user_id and not any_author:
        raise Forbidden("only its author may change this message")
    return row


async def edit_message(
    conn: Connection,
    room_id: int,
    user_id: int,
    author: str,
    mid: int,
    text: str,
    any_author: bool,
) -> Event:
    message = await _check_may_change(conn, room_id, user_id, mid, any_author)
    # Mentions follow the message's current state: re-resolved from the new text, the
    # author's rights deciding nothing (the editor's do: an admin may add @room).
    found = await resolve_mentions(
        conn, room_id, find_mentions(text), writer_id=user_id, author_id=message["user_id"]
    )
    changed = changes(split_names(message["mentions"]), found.names)
    edited = await _append(
        conn,
        room_id,
        EventKind.EDIT,
        user_id=user_id,
        author=author,
        mid=mid,
        text=text,
        mentions=changed,
    )
    # The text it was sent with is kept on its first edit (its first version; the edit rows
    # keep the later ones). The right-hand sides read the row as it was.
    await conn.execute(
        "UPDATE events SET original = CASE WHEN edited THEN original ELSE text END,"
        " text = ?, edited = TRUE, mentions = ? WHERE id = ?",
        text,
        join_names(found.names),
        mid,
    )
    if changed.added or changed.removed:
        target = Event(
            room=edited.room,
            room_id=room_id,
            seq=message["seq"],
            kind=EventKind.MESSAGE,
            user=author,
            user_id=message["user_id"],
            ts=edited.ts,
            mid=mid,
            thread=message["thread"],
            broadcast=bool(message["broadcast"]),
        )
        await store_rows(conn, target, message["user_id"], found)
    return edited


async def delete_message(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, any_author: bool
) -> Event:
    message = await _check_may_change(conn, room_id, user_id, mid, any_author=True)
    if message["user_id"] != user_id:  # a moderator's or an admin's act: audited, no text
        if not any_author:
            await require_in_room(conn, room_id, user_id, Action.DELETE_ANY)
        await audit_ops.record(
            conn,
            "room.delete_message",
            actor=author,
            actor_id=user_id,
            target=await conn.fetchval("SELECT name FROM users WHERE id = ?", message["user_id"]),
            room=await conn.fetchval("SELECT name FROM rooms WHERE id = ?", room_id),
            detail=f"message {mid}",
        )
    # The delete retracts the message's mentions: the event names them (clients lower their
    # counts), and their rows go.
    deleted = await _append(
        conn,
        room_id,
        EventKind.DELETE,
        user_id=user_id,
        author=author,
        mid=mid,
        mentions=Mentions(removed=split_names(message["mentions"])),
        thread=message["thread"],
    )
    # The text is removed from the database, not just hidden: from the message and its edits
    # (every version), and with it what they said of mentions; it is no longer pinned, and
    # its reactions go.
    await conn.execute(
        "UPDATE events SET text = '', deleted = (id = ?), mentions = NULL,"
        " mentions_added = NULL, mentions_removed = NULL, original = NULL, pinned_seq = NULL,"
        " files = NULL"
        " WHERE id = ? OR (mid = ? AND kind = 'edit')",
        mid,
        mid,
        mid,
    )
    await conn.execute("DELETE FROM mentions WHERE message_id = ?", mid)
    await conn.execute("DELETE FROM reactions WHERE message_id = ?", mid)
    if deleted.thread is not None:
        deleted = await after_reply_deleted(conn, deleted)
    # Its files stop being served with this commit; the collector removes their bytes.
    await conn.execute("DELETE FROM uploads WHERE message_id = ?", mid)
    return deleted


async def events_after(conn: Connection, room_id: int, after: int, limit: int) -> list[Event]:
    if limit <= 0:
        return []
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.room_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
        room_id,
        after,
        limit,
    )
    return await with_current_state(conn, [event(row, row["room_name"]) for row in rows])


async def events_before(
    conn: Connection, room_id: int, before: int | None, limit: int
) -> list[Event]:
    if limit <= 0:
        return []
    # Two statements rather than one with an optional bound, so that each pages backwards
    # along the (room_id, seq) index from where the page starts.
    if before is None:
        rows = await conn.fetch(
            f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
            " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
            " WHERE e.room_id = ? ORDER BY e.seq DESC LIMIT ?",
            room_id,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {EVENT_COLUMNS}, r.name AS room_name"  # noqa: S608
            " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
            " WHERE e.room_id = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?",
            room_id,
            before,
            limit,
        )
    return await with_current_state(conn, [event(row, row["room_name"]) for row in reversed(rows)])


# -- the operator's room and account tools --------------------------------------------------


async def list_rooms(conn: Connection) -> list[tuple[Room, int]]:
    """Every room with its number of members, by name (for ``parley room list``)."""
    rows = await conn.fetch(
        "SELECT r.id, r.name, r.kind, r.topic, r.created_at, r.last_seq, r.archived,"
        " (SELECT COUNT(*) FROM memberships AS m WHERE m.room_id = r.id) AS members"
        " FROM rooms AS r WHERE NOT r.deleted ORDER BY r.name_key, r.name"
    )
    return [(room(row), row["members"]) for row in rows]


async def set_archived(
    conn: Connection, room_id: int, archived: bool, author: str, actor: Actor | None = None
) -> Event | None:
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    current = await require_room(conn, room_id)
    if current.name.lower() == LOBBY and archived:
        raise Forbidden("the lobby cannot be archived: everyone starts there")
    if current.archived == archived:
        return None
    kind = EventKind.ARCHIVE if archived else EventKind.UNARCHIVE
    changed = await _append(conn, room_id, kind, user_id=None, author=author, archived_too=True)
    await conn.execute("UPDATE rooms SET archived = ? WHERE id = ?", archived, room_id)
    await audit_ops.record_by(conn, actor, f"room.{kind.value}", room=current.name)
    return changed


async def rename_room(
    conn: Connection, room_id: int, name: str, author: str, actor: Actor | None = None
) -> Event:
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    current = await require_room(conn, room_id)
    if current.name.lower() == LOBBY:
        raise Forbidden("the lobby keeps its name: clients and guests find it by it")
    renamed = await _rename(conn, current, name, author)
    await audit_ops.record_by(conn, actor, "room.rename", room=current.name, detail=f"to {name}")
    return renamed


async def _rename(conn: Connection, current: Room, name: str, author: str) -> Event:
    """Append a ``rename`` event (text: the new name, the old one kept with it) and rename."""
    taken = await conn.fetchval(
        "SELECT 1 FROM rooms WHERE name_key = ? AND id <> ?", key(name), current.id
    )
    if taken is not None:
        raise Conflict(f"the room name {name!r} is taken")
    renamed = await _append(
        conn,
        current.id,
        EventKind.RENAME,
        user_id=None,
        author=author,
        text=name,
        invited_by=current.name,
        archived_too=True,
    )
    await conn.execute(
        "UPDATE rooms SET name = ?, name_key = ? WHERE id = ?", name, key(name), current.id
    )
    return renamed


async def delete_room(conn: Connection, room_id: int, actor: Actor | None = None) -> list[int]:
    """Erase the room: its events (every text), memberships, topic and name. Returns who were
    its members (their connections are told)."""
    if not await lock_room(conn, room_id):
        raise NotFound(f"no room {room_id}")
    current = await require_room(conn, room_id)
    if current.name.lower() == LOBBY:
        raise Forbidden("the lobby cannot be deleted: everyone starts there")
    members = await conn.fetch("SELECT user_id FROM memberships WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM memberships WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM room_roles WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM room_sanctions WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM mentions WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM reactions WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM thread_follows WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM uploads WHERE room_id = ?", room_id)
    await conn.execute("DELETE FROM events WHERE room_id = ?", room_id)
    # The row stays, empty and nameless, so that its id is never another room's (see 0003).
    await conn.execute(
        "UPDATE rooms SET deleted = TRUE, name = ?, name_key = ?, topic = '' WHERE id = ?",
        f"#{room_id}",
        f"#{room_id}",
        room_id,
    )
    await audit_ops.record_by(conn, actor, "room.delete", room=current.name)
    return sorted(row["user_id"] for row in members)


async def rename_user(
    conn: Connection, user_id: int, name: str, actor: Actor | None = None
) -> tuple[User, list[Event]]:
    """Rename an account everywhere its name is stored: the user, the author of its events,
    the inviter of joins, and its direct rooms (``dm:<a>:<b>`` is made of the names: each
    gets a ``rename`` event), and end its sessions in the same transaction (it signs in again
    under the new name; as :func:`set_disabled` does, whoever renames). Returns the renamed
    user and those events."""
    old = await require_user(conn, user_id)
    renamed = await conn.fetchrow(
        "UPDATE users SET name = ?, name_key = ? WHERE id = ?"
        " AND NOT EXISTS (SELECT 1 FROM users WHERE name_key = ? AND id <> ?)"
        " RETURNING id, name, password_hash, is_admin, disabled, created_at",
        name,
        key(name),
        user_id,
        key(name),
        user_id,
    )
    if renamed is None:
        raise Conflict(f"the user name {name!r} is taken")
    await audit_ops.record_by(conn, actor, "user.rename", target=old.name, detail=f"to {name}")
    await conn.execute("UPDATE events SET author = ? WHERE user_id = ?", name, user_id)
    await conn.execute(
        # Who invited (join) or moderated (role, kick, ban ...); a rename's holds a room name.
        "UPDATE events SET invited_by = ? WHERE kind <> 'rename' AND invited_by = ?",
        name,
        old.name,
    )
    rows = await conn.fetch(
        "SELECT r.id, r.name, r.kind, r.topic, r.created_at, r.last_seq, r.archived,"
        " u.name AS other FROM memberships AS m JOIN rooms AS r ON r.id = m.room_id"
        " JOIN memberships AS o ON o.room_id = r.id AND o.user_id <> m.user_id"
        " JOIN users AS u ON u.id = o.user_id"
        " WHERE m.user_id = ? AND r.kind = 'direct' ORDER BY r.id",
        user_id,
    )
    events = []
    for row in rows:
        direct = room(row)
        await lock_room(conn, direct.id)
        events.append(await _rename(conn, direct, direct_room_name(name, row["other"]), "operator"))
    await delete_sessions_of(conn, user_id, actor)
    return user(renamed), events
