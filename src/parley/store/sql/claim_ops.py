"""Claiming an imported account with its claim token (migration 0011), written once for
every SQL engine.

A token is single-use: the write that sets the password deletes it (and the account's other
tokens) in the same transaction, so two requests with one token cannot both succeed.
"""

from __future__ import annotations

from parley.model import User
from parley.store.sql.engine import Connection
from parley.store.sql.operations import user, user_by_id


async def claimable(conn: Connection, token_hash: str, now: int) -> User | None:
    """The account a live claim token is for, or None (unknown, used or expired)."""
    user_id = await conn.fetchval(
        "SELECT user_id FROM claim_tokens WHERE token_hash = ? AND expires_at > ?",
        token_hash,
        now,
    )
    return None if user_id is None else await user_by_id(conn, user_id)


async def claim(conn: Connection, token_hash: str, password_hash: str, now: int) -> User | None:
    """Use a live claim token: give its account ``password_hash`` and delete every claim
    token of the account. None if the token is not live (another request used it first)."""
    user_id = await conn.fetchval(
        "DELETE FROM claim_tokens WHERE token_hash = ? AND expires_at > ? RETURNING user_id",
        token_hash,
        now,
    )
    if user_id is None:
        return None
    await conn.execute("DELETE FROM claim_tokens WHERE user_id = ?", user_id)
    row = await conn.fetchrow(
        "UPDATE users SET password_hash = ? WHERE id = ?"
        " RETURNING id, name, password_hash, is_admin, disabled, created_at",
        password_hash,
        user_id,
    )
    return None if row is None else user(row)


__all__ = ["claim", "claimable"]
