"""The mailer's store operations (email for missed mentions and direct messages), written
once for every SQL engine.

What is due is computed from the messages themselves, never queued by the hot path: a
mention of a user (``mentions`` rows, ``@room`` expanded to the members) or a message of a
direct room, made in the window ``(since, due]`` (``due`` = now minus the delay), still after
the user's read marker, not deleted, by someone else, in a room whose level is not ``none``
and not muted, to a user with an address who has not turned email off.

Each (user, message) is mailed at most once: :func:`claim_emails` inserts its
``email_outbox`` row with ``ON CONFLICT DO NOTHING``, so of several nodes (or a node and its
restarted self) exactly one gets the row back and sends it. A failed send puts the row back
(``pending`` with a retry time); a node that died holding rows leaves them ``claimed`` until
their lease runs out; both are taken again with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
(SQLite has one writer), and checked again first: read or deleted meanwhile, they are
``dropped``, not sent.
"""

from __future__ import annotations

from parley.model import EmailDue
from parley.store.sql.engine import Connection, Row
from parley.store.sql.operations import EVENT_COLUMNS, event

#: Conditions on ``m`` (membership), ``u`` (user), ``e`` (the message) for "missed".
_MISSED = (
    " e.kind = 'message' AND NOT e.deleted AND e.seq > m.last_read_seq"
    " AND (e.user_id IS NULL OR e.user_id <> m.user_id)"
    " AND u.email IS NOT NULL AND u.email_notify AND NOT u.disabled"
    " AND COALESCE(m.notify_level, 'mentions') <> 'none'"
    " AND COALESCE(m.muted_until, 0) <= ?"
)

_NEW_DUE = (
    "INSERT INTO email_outbox"  # noqa: S608
    " (user_id, message_id, room_id, state, claimed_until, attempts, created_at)"
    " SELECT user_id, message_id, room_id, 'claimed', ?, 1, ? FROM ("
    "  SELECT m.user_id AS user_id, e.id AS message_id, e.room_id AS room_id"
    "  FROM mentions AS x JOIN events AS e ON e.id = x.message_id"
    "  JOIN memberships AS m ON m.room_id = x.room_id"
    "   AND (m.user_id = x.user_id OR x.user_id = 0)"
    "  JOIN users AS u ON u.id = m.user_id"
    "  WHERE x.ts > ? AND x.ts <= ? AND" + _MISSED + ""
    "  UNION"
    "  SELECT m.user_id, e.id, e.room_id"
    "  FROM rooms AS r JOIN memberships AS m ON m.room_id = r.id"
    "  JOIN users AS u ON u.id = m.user_id"
    "  JOIN events AS e ON e.room_id = r.id AND e.seq > m.last_read_seq"
    "  WHERE r.kind = 'direct' AND NOT r.deleted AND e.ts > ? AND e.ts <= ? AND" + _MISSED + ""
    # A reply only to the thread's followers (docs/protocol.md, threads).
    "  AND (e.thread IS NULL OR e.broadcast OR EXISTS (SELECT 1 FROM thread_follows AS f"
    "   WHERE f.thread = e.thread AND f.user_id = m.user_id AND f.following))"
    " ) AS due WHERE TRUE ORDER BY message_id, user_id LIMIT ?"
    " ON CONFLICT (user_id, message_id) DO NOTHING RETURNING user_id, message_id"
)


async def claim_emails(
    conn: Connection, now: int, due: int, since: int, lease_until: int, limit: int
) -> list[EmailDue]:
    """Claim up to ``limit`` messages to mail (new ones first, then retries whose time came
    and claims whose lease ran out), until ``lease_until``; see the module docstring."""
    claimed = await conn.fetch(_NEW_DUE, lease_until, now, since, due, now, since, due, now, limit)
    keys = [(row["user_id"], row["message_id"]) for row in claimed]
    if len(keys) < limit:
        keys += await _reclaim(conn, now, lease_until, limit - len(keys))
    found: list[EmailDue] = []
    for user_id, message_id in keys:
        row = await _still_missed(conn, user_id, message_id, now)
        if row is None:  # read, deleted, left, turned off, muted meanwhile: nothing to send
            await conn.execute(
                "UPDATE email_outbox SET state = 'dropped' WHERE user_id = ? AND message_id = ?",
                user_id,
                message_id,
            )
            continue
        found.append(
            EmailDue(
                user_id=user_id,
                user=row["user_name"],
                address=row["email"],
                message=event(row, row["room_name"]),
                attempts=row["attempts"],
            )
        )
    return found


async def _reclaim(
    conn: Connection, now: int, lease_until: int, limit: int
) -> list[tuple[int, int]]:
    lock = conn.engine.row_lock + (" SKIP LOCKED" if conn.engine.row_lock else "")
    rows = await conn.fetch(
        "SELECT user_id, message_id FROM email_outbox"  # noqa: S608
        " WHERE state IN ('claimed', 'pending') AND claimed_until <= ?"
        " ORDER BY claimed_until LIMIT ?" + lock,
        now,
        limit,
    )
    keys = [(row["user_id"], row["message_id"]) for row in rows]
    for user_id, message_id in keys:
        await conn.execute(
            "UPDATE email_outbox SET state = 'claimed', claimed_until = ?,"
            " attempts = attempts + 1 WHERE user_id = ? AND message_id = ?",
            lease_until,
            user_id,
            message_id,
        )
    return keys


async def _still_missed(conn: Connection, user_id: int, message_id: int, now: int) -> Row | None:
    """The message and its reader, if the message is still to be mailed: the same rules as
    the scan (a mention that an edit removed counts no longer; a direct message does)."""
    return await conn.fetchrow(
        f"SELECT {EVENT_COLUMNS}, r.name AS room_name, u.name AS user_name, u.email, o.attempts"  # noqa: S608
        " FROM email_outbox AS o JOIN events AS e ON e.id = o.message_id"
        " JOIN rooms AS r ON r.id = e.room_id"
        " JOIN memberships AS m ON m.room_id = e.room_id AND m.user_id = o.user_id"
        " JOIN users AS u ON u.id = o.user_id"
        " WHERE o.user_id = ? AND o.message_id = ? AND" + _MISSED + ""
        " AND (r.kind = 'direct' OR EXISTS (SELECT 1 FROM mentions AS x"
        "  WHERE x.message_id = e.id AND (x.user_id = m.user_id OR x.user_id = 0)))",
        user_id,
        message_id,
        now,
    )


async def finish_emails(
    conn: Connection, keys: list[tuple[int, int]], sent: bool, now: int, retry_at: int
) -> None:
    """Record the outcome of a send: ``sent``, or back to ``pending`` until ``retry_at``."""
    for user_id, message_id in keys:
        if sent:
            await conn.execute(
                "UPDATE email_outbox SET state = 'sent', sent_at = ?"
                " WHERE user_id = ? AND message_id = ?",
                now,
                user_id,
                message_id,
            )
        else:
            await conn.execute(
                "UPDATE email_outbox SET state = 'pending', claimed_until = ?"
                " WHERE user_id = ? AND message_id = ? AND state = 'claimed'",
                retry_at,
                user_id,
                message_id,
            )


async def set_email(conn: Connection, user_id: int, address: str | None, notify: bool) -> bool:
    """Store the user's address (None: none) and whether they want email; False for an unknown
    user."""
    found = await conn.fetchval(
        "UPDATE users SET email = ?, email_notify = ? WHERE id = ? RETURNING id",
        address,
        notify,
        user_id,
    )
    return found is not None


async def get_email(conn: Connection, user_id: int) -> tuple[str | None, bool]:
    row = await conn.fetchrow("SELECT email, email_notify FROM users WHERE id = ?", user_id)
    if row is None:
        return None, False
    return row["email"], bool(row["email_notify"])


__all__ = ["claim_emails", "finish_emails", "get_email", "set_email"]
