"""Claim tokens for imported accounts, which have no password (migration 0011 says why).

After an import, every account without a password gets one single-use token, printed once by
``parley import`` (as a link when the server's public URL is given): whoever opens it sets
the account's password (``POST /api/claim``, docs/protocol.md). Only the token's SHA-256 is
stored, as for sessions; a token expires after ``ttl``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from parley.chat.auth import hash_token, new_token
from parley.clock import now_ms
from parley.store.sql.store import SQLStore

#: Accounts given tokens per write (bounds memory however many accounts were imported).
PAGE: Final = 1000
#: How long a claim token stays valid by default: a week, in milliseconds.
DEFAULT_TTL_MS: Final = 7 * 24 * 3600 * 1000


async def issue_claims(
    store: SQLStore, *, ttl_ms: int = DEFAULT_TTL_MS
) -> AsyncIterator[tuple[str, str]]:
    """Give every account without a password a new claim token; yield (name, token), by id."""
    after = 0
    while True:
        accounts = await store.users_without_password(after, PAGE)
        if not accounts:
            return
        issued = [(user_id, name, new_token()) for user_id, name in accounts]
        now = now_ms()
        await store.add_claim_tokens(
            [(hash_token(token), user_id) for user_id, _, token in issued], now, now + ttl_ms
        )
        for _, name, token in issued:
            yield name, token
        after = accounts[-1][0]


def claim_link(public_url: str | None, token: str) -> str:
    """Where a person claims an account: the server's claim page with the token in the
    fragment (never sent to the server in a request line, so never in an access log)."""
    if public_url is None:
        return token
    return f"{public_url.rstrip('/')}/claim#{token}"


__all__ = ["DEFAULT_TTL_MS", "claim_link", "issue_claims"]
