"""The administrators' store operations (the /admin page, the admin API, ``parley``
commands), written once for every SQL engine: runtime settings, finding users and rooms a
page at a time, the admin flag, and a user's sessions.

Settings live in ``server_settings`` (migration 0010) so that a change reaches every node:
each reads the row when it needs the value, instead of keeping a copy that only the node that
made the change would update.

Every change here is an admin's action and records its audit entry (``audit_ops.record``) in
its own transaction: the change and its entry commit together or not at all. ``Audited`` says
who acts and from where; the operation names the action and its target.

Sessions are named to admins by the first :data:`SESSION_ID_CHARS` hex digits of their token's
hash: enough to tell a user's sessions apart, and nothing an attacker could sign in with (the
store never had the token).
"""

from __future__ import annotations

from typing import Final

from parley.clock import now_ms
from parley.model import Event, Room, Session, User
from parley.store.base import Audited, NotFound
from parley.store.sql import audit_ops
from parley.store.sql import operations as ops
from parley.store.sql.engine import Connection
from parley.store.sql.operations import key, room, user

#: How many hex digits of a session's token hash name it (see the module docstring).
SESSION_ID_CHARS: Final = 16

_USER_COLUMNS = "id, name, password_hash, is_admin, disabled, created_at"


def _like(query: str) -> str:
    """A ``LIKE`` pattern for names containing ``query`` (any case), its wildcards literal."""
    escaped = key(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def record(
    conn: Connection,
    audit: Audited,
    action: str,
    *,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Record ``audit``'s action in the caller's transaction."""
    await audit_ops.record(
        conn,
        action,
        actor=audit.actor,
        actor_id=audit.actor_id,
        address=audit.address,
        target=target,
        detail=detail,
    )


async def get_setting(conn: Connection, name: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT value FROM server_settings WHERE name = ?", name
    )
    return value


async def set_setting(conn: Connection, name: str, value: str, audit: Audited) -> None:
    await record(conn, audit, "settings.change", detail=f"{name}={value}")
    await conn.execute(
        "INSERT INTO server_settings (name, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at",
        name,
        value,
        now_ms(),
    )


async def find_users(conn: Connection, query: str, after: str | None, limit: int) -> list[User]:
    rows = await conn.fetch(
        f"SELECT {_USER_COLUMNS} FROM users"  # noqa: S608 (constant columns)
        " WHERE name_key LIKE ? ESCAPE '\\' AND name_key > ? ORDER BY name_key LIMIT ?",
        _like(query),
        key(after) if after is not None else "",
        limit,
    )
    return [user(row) for row in rows]


async def set_admin(conn: Connection, user_id: int, admin: bool, audit: Audited) -> None:
    name = await conn.fetchval(
        "UPDATE users SET is_admin = ? WHERE id = ? RETURNING name", admin, user_id
    )
    if name is None:
        raise NotFound(f"no user {user_id}")
    await record(conn, audit, "user.make_admin" if admin else "user.drop_admin", target=name)


async def set_disabled(conn: Connection, user_id: int, disabled: bool, audit: Audited) -> list[str]:
    """Disable the account and end its sessions (returned), or enable it."""
    target = await ops.require_user(conn, user_id)
    await ops.set_disabled(conn, user_id, disabled)
    ended = await ops.delete_sessions_of(conn, user_id) if disabled else []
    await record(conn, audit, "user.disable" if disabled else "user.enable", target=target.name)
    return ended


async def reset_password(
    conn: Connection, user_id: int, password_hash: str, audit: Audited
) -> list[str]:
    """Replace the password and end every session (returned)."""
    target = await ops.require_user(conn, user_id)
    await ops.set_password(conn, user_id, password_hash)
    ended = await ops.delete_sessions_of(conn, user_id)
    await record(conn, audit, "user.password_reset", target=target.name)
    return ended


async def set_archived(
    conn: Connection, room_id: int, archived: bool, audit: Audited
) -> Event | None:
    target = await ops.require_room(conn, room_id)
    changed = await ops.set_archived(conn, room_id, archived, audit.actor)
    if changed is not None:
        action = "room.archive" if archived else "room.unarchive"
        await record(conn, audit, action, target=target.name)
    return changed


async def delete_room(conn: Connection, room_id: int, audit: Audited) -> list[int]:
    target = await ops.require_room(conn, room_id)
    members = await ops.delete_room(conn, room_id)
    await record(conn, audit, "room.delete", target=target.name, detail=f"#{room_id}")
    return members


async def sessions_of(conn: Connection, user_id: int, now: int, limit: int) -> list[Session]:
    """The user's live sessions, newest first, at most ``limit``."""
    owner = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?",  # noqa: S608 (constant columns)
        user_id,
    )
    if owner is None:
        raise NotFound(f"no user {user_id}")
    rows = await conn.fetch(
        "SELECT token_hash, created_at, expires_at FROM sessions"
        " WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, token_hash LIMIT ?",
        user_id,
        now,
        limit,
    )
    found = user(owner)
    return [Session(r["token_hash"], found, r["created_at"], r["expires_at"]) for r in rows]


async def end_session(conn: Connection, user_id: int, session_id: str, audit: Audited) -> list[str]:
    """End the user's sessions named ``session_id`` (see the module docstring); returns the
    token hashes ended (none when nothing matched, and nothing is recorded)."""
    target = await ops.require_user(conn, user_id)
    rows = await conn.fetch(
        "DELETE FROM sessions WHERE user_id = ? AND substr(token_hash, 1, ?) = ?"
        " RETURNING token_hash",
        user_id,
        SESSION_ID_CHARS,
        session_id,
    )
    if rows:
        await record(conn, audit, "session.end", target=target.name)
    return sorted(row["token_hash"] for row in rows)


async def find_rooms(
    conn: Connection, query: str, after: str | None, limit: int
) -> list[tuple[Room, int]]:
    rows = await conn.fetch(
        "SELECT r.id, r.name, r.kind, r.topic, r.created_at, r.last_seq, r.archived,"
        " (SELECT COUNT(*) FROM memberships AS m WHERE m.room_id = r.id) AS members"
        " FROM rooms AS r WHERE NOT r.deleted AND r.name_key LIKE ? ESCAPE '\\'"
        " AND r.name_key > ? ORDER BY r.name_key LIMIT ?",
        _like(query),
        key(after) if after is not None else "",
        limit,
    )
    return [(room(row), row["members"]) for row in rows]


__all__ = [
    "SESSION_ID_CHARS",
    "delete_room",
    "end_session",
    "find_rooms",
    "find_users",
    "get_setting",
    "record",
    "reset_password",
    "sessions_of",
    "set_admin",
    "set_archived",
    "set_disabled",
    "set_setting",
]
