"""The audit log's operations, written once for every SQL engine (migration 0009).

An entry is written by :func:`record` *inside the transaction of the action it records*: a
store operation that moderates, changes a role, ends a session or acts for the operator calls
it before it returns, so the action and its entry commit together or not at all. An event
with no transaction of its own (refused sign-ins past the limit) is recorded alone, through
:meth:`~parley.store.base.Store.record_audit`.

What an entry may hold is checked here, in one place: an ``action`` is ``subject.verb`` in
lower case, and every text is bounded. The callers never pass a password, a token or a
message's text (``tests/store/test_store_audit.py`` looks for them).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from parley.clock import now_ms
from parley.model import Actor, AuditEntry, AuditFilter
from parley.store.sql.engine import Connection, Row

#: ``room.kick``, ``user.disable``, ``login.throttled``: a subject and a verb, lower case.
ACTION: Final = re.compile(r"^[a-z]+(?:\.[a-z_]+)+$")
#: The longest action name.
MAX_ACTION: Final = 64
#: Longer names, addresses and details are cut to this many characters (never refused: an
#: audit entry must not make its action fail).
MAX_FIELD: Final = 200
#: The most entries one page of :func:`entries` returns.
MAX_PAGE: Final = 500


def _bounded(value: str | None) -> str | None:
    return None if value is None else value[:MAX_FIELD]


async def record(
    conn: Connection,
    action: str,
    *,
    actor: str,
    actor_id: int | None = None,
    target: str | None = None,
    room: str | None = None,
    address: str | None = None,
    detail: str | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction; return it.

    Raises :class:`ValueError` for an action that is not ``subject.verb``: a bug in the
    caller, not the user's input (every action is a constant of the code).
    """
    if len(action) > MAX_ACTION or not ACTION.match(action):
        raise ValueError(f"not an audit action: {action!r}")
    entry = AuditEntry(
        id=0,
        ts=now_ms(),
        actor=actor[:MAX_FIELD],
        action=action,
        actor_id=actor_id,
        target=_bounded(target),
        room=_bounded(room),
        address=_bounded(address),
        detail=_bounded(detail),
    )
    entry_id = await conn.fetchval(
        "INSERT INTO audit_log (ts, actor_id, actor, actor_key, action, target, room, address,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        entry.ts,
        entry.actor_id,
        entry.actor,
        entry.actor.lower(),
        entry.action,
        entry.target,
        entry.room,
        entry.address,
        entry.detail,
    )
    return dataclasses.replace(entry, id=entry_id)


async def record_by(
    conn: Connection,
    actor: Actor | None,
    action: str,
    *,
    target: str | None = None,
    room: str | None = None,
    detail: str | None = None,
) -> None:
    """:func:`record` for an operation that takes an optional ``actor``: an act with none
    (a user's own, a test's) records nothing."""
    if actor is not None:
        await record(
            conn,
            action,
            actor=actor.name,
            actor_id=actor.id,
            target=target,
            room=room,
            address=actor.address,
            detail=detail,
        )


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        ts=row["ts"],
        actor=row["actor"],
        action=row["action"],
        actor_id=row["actor_id"],
        target=row["target"],
        room=row["room"],
        address=row["address"],
        detail=row["detail"],
    )


async def entries(conn: Connection, where: AuditFilter) -> list[AuditEntry]:
    """A page of entries matching ``where``, newest first: at most ``where.limit`` (capped at
    :data:`MAX_PAGE`), below the id ``where.before`` when given."""
    clauses: list[str] = []
    args: list[object] = []
    if where.actor is not None:
        clauses.append("actor_key = ?")
        args.append(where.actor.lower())
    if where.action is not None:
        if "." in where.action:
            clauses.append("action = ?")
            args.append(where.action)
        else:  # a subject: every action on it
            clauses.append("action LIKE ?")
            args.append(where.action.replace("%", "").replace("_", "") + ".%")
    for clause, value in (
        ("ts >= ?", where.since),
        ("ts < ?", where.until),
        ("id < ?", where.before),
    ):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    condition = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = await conn.fetch(
        "SELECT id, ts, actor_id, actor, action, target, room, address, detail"  # noqa: S608
        f" FROM audit_log{condition} ORDER BY id DESC LIMIT ?",
        *args,
        max(1, min(where.limit, MAX_PAGE)),
    )
    return [_entry(row) for row in rows]


async def remove_before(conn: Connection, before: int, limit: int) -> int:
    """Remove up to ``limit`` entries older than ``before`` (ms), oldest first (the ``ts``
    index finds them); how many. Bounded, so that one transaction never holds the writer
    for a whole year of entries: the caller repeats it until fewer come back."""
    rows = await conn.fetch(
        "DELETE FROM audit_log WHERE id IN"
        " (SELECT id FROM audit_log WHERE ts < ? ORDER BY ts LIMIT ?) RETURNING id",
        before,
        limit,
    )
    return len(rows)


__all__ = ["ACTION", "MAX_FIELD", "MAX_PAGE", "entries", "record", "record_by", "remove_before"]
