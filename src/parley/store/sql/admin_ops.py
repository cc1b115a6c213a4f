"""The administrators' store operations (the /admin page, the admin API, ``parley``
commands), written once for every SQL engine: runtime settings, finding users and rooms a
page at a time, the admin flag, and a user's sessions.

Settings live in ``server_settings`` (migration 0010) so that a change reaches every node:
each reads the row when it needs the value, instead of keeping a copy that only the node that
made the change would update.

Every change here is an admin's action and records its audit entry in its own transaction
(``audit_ops.record_by``): the change and its entry commit together or not at all. The
:class:`~parley.model.Actor` says who acts and from where. Disabling an account and setting
its password are not here: ``operations.set_disabled`` / ``set_password`` end the account's
sessions in their transaction for every caller, the operator's commands as much as an admin.

Sessions are named to admins by the first :data:`SESSION_ID_CHARS` hex digits of their token's
hash: enough to tell a user's sessions apart, and nothing an attacker could sign in with (the
store never had the token).
"""

from __future__ import annotations

from typing import Final

from parley.clock import now_ms
from parley.model import Actor, Room, Session, User
from parley.store.base import NotFound
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


async def get_setting(conn: Connection, name: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT value FROM server_settings WHERE name = ?", name
    )
    return value


async def set_setting(conn: Connection, name: str, value: str, actor: Actor) -> None:
    await audit_ops.record_by(conn, actor, "settings.change", detail=f"{name}={value}")
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


async def set_admin(conn: Connection, user_id: int, admin: bool, actor: Actor) -> None:
    name = await conn.fetchval(
        "UPDATE users SET is_admin = ? WHERE id = ? RETURNING name", admin, user_id
    )
    if name is None:
        raise NotFound(f"no user {user_id}")
    action = "user.make_admin" if admin else "user.drop_admin"
    await audit_ops.record_by(conn, actor, action, target=name)


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


async def end_session(conn: Connection, user_id: int, session_id: str, actor: Actor) -> list[str]:
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
        await audit_ops.record_by(conn, actor, "session.revoke", target=target.name)
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
    "end_session",
    "find_rooms",
    "find_users",
    "get_setting",
    "sessions_of",
    "set_admin",
    "set_setting",
]
