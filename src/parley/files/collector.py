"""The collector: removes what nothing refers to any more.

Every ``--collect-interval`` each node (several may run at once: every step is idempotent):

1. removes the uploads never sent, nor set as an avatar, older than ``--upload-ttl``;
2. removes the blobs that no upload refers to (a deleted message's rows went with it) and
   that were stored before ``--upload-ttl`` ago: a blob younger than that may belong to an
   upload whose row is not written yet (or is being written again by a new upload of the
   same bytes, which refreshes its age), unless an export holds the blob store
   (``BlobStore.holding``: its snapshot may refer to blobs whose uploads are gone since; they
   go at the first pass after it);
3. removes spool files older than that, left by a process that died while receiving.

The scan goes through the blob store's candidates a page at a time, in digest order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from parley.clock import now_ms
from parley.files.blobs import BlobStore
from parley.store.base import Store

log = logging.getLogger(__name__)

#: Blobs examined per query.
PAGE = 500


@dataclass(frozen=True, slots=True)
class Collected:
    uploads: int
    blobs: int
    spool_files: int


async def collect(
    store: Store, blobs: BlobStore, *, ttl_ms: int, now: int | None = None
) -> Collected:
    """One pass (see the module docstring)."""
    cutoff = (now_ms() if now is None else now) - ttl_ms
    uploads = await store.drop_stale_uploads(cutoff)
    removed = 0
    after = ""
    while True:
        candidates = await blobs.stored_before(cutoff, after, PAGE)
        if not candidates:
            break
        kept = await store.referenced(candidates)
        for digest in candidates:
            if digest not in kept and await blobs.delete(digest, stored_before=cutoff):
                removed += 1
        after = candidates[-1]
    spool = await blobs.sweep_spool(cutoff)
    if uploads or removed or spool:
        log.info(
            "collected %d unsent uploads, %d blobs, %d spool files",
            uploads,
            removed,
            spool,
            extra={"event": "files_collected"},
        )
    return Collected(uploads, removed, spool)
