"""Audit log retention: entries older than ``--audit-retention`` (a year by default) are
removed; ``forever`` (0) keeps every one.

The audit log records who did what and from which address: worth keeping for a while, but
not without end (its addresses are personal data, and it would grow with the server's age).
Each server process removes the expired entries with its collector, every
``--collect-interval`` (several processes at once is safe: each removes what is still
there). Entries go oldest first in batches of :data:`BATCH`, each its own write
transaction, so a first run over years of entries never holds the writer for long.
"""

from __future__ import annotations

import logging
from typing import Final

from parley.clock import now_ms
from parley.store.base import Store

log = logging.getLogger(__name__)

#: Entries removed per write transaction.
BATCH: Final = 1000


async def remove_expired(store: Store, *, retention_ms: int, now: int | None = None) -> int:
    """Remove the entries written more than ``retention_ms`` before ``now`` (0: none is
    ever removed); how many."""
    if retention_ms <= 0:
        return 0
    cutoff = (now_ms() if now is None else now) - retention_ms
    removed = 0
    while True:  # new entries are younger than the cutoff: this ends
        batch = await store.remove_audit_before(cutoff, BATCH)
        removed += batch
        if batch < BATCH:
            break
    if removed:
        log.info(
            "removed %d audit log entries older than the retention",
            removed,
            extra={"event": "audit_expired"},
        )
    return removed
