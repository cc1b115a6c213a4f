"""Where the bytes of files live: a content-addressed blob store.

A blob is named by the SHA-256 (hex) of its bytes, so the same file uploaded twice, by
anyone, is stored once. Two stores, one interface and one conformance suite
(tests/files/test_blob_conformance.py):

* :class:`~parley.files.blobs_local.LocalBlobs`: a directory (the default, next to the SQLite
  database);
* :class:`~parley.files.blobs_postgres.PostgresBlobs`: the PostgreSQL database itself, in 1 MiB
  chunks, so that several server processes share files with no other service.

Uploads are first written to a *spool* file (:attr:`BlobStore.spool`), hashed on the way; a
blob is then stored from that file whole or not at all, so an upload cut off half-way leaves
nothing but its spool file, which the upload removes at once. Reading streams a range in
chunks: memory use does not grow with the size of a file.

Blobs are not counted by references: the collector (``collector.py``) removes the blobs no
upload refers to that were stored before a cutoff; storing a blob again refreshes its age, so
a blob being reused by a new upload is never taken between its store and its row. While an
export runs it *holds* the store (:meth:`BlobStore.holding`): its snapshot of the database may
refer to blobs whose uploads are deleted after it began, and no process removes a blob then.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Final

#: The size of the pieces blobs are read (and, in PostgreSQL, stored) in.
CHUNK: Final = 1 << 20

_DIGEST = re.compile(r"\A[0-9a-f]{64}\Z")


def check_digest(digest: str) -> str:
    """``digest`` if it is a SHA-256 in lower-case hex (it becomes a file name), else
    ValueError."""
    if not _DIGEST.match(digest):
        raise ValueError(f"not a SHA-256 digest: {digest[:80]!r}")
    return digest


class BlobStore(ABC):
    """See the module docstring."""

    def __init__(self, spool: Path) -> None:
        #: Where uploads in progress are written (created at start).
        self.spool = spool

    async def start(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:  # noqa: B027 (nothing to close by default)
        """Release connections."""

    def spool_file(self) -> Path:
        """A new, empty, private file in :attr:`spool` for an upload in progress."""
        fd, name = tempfile.mkstemp(dir=self.spool, prefix="upload-")
        os.close(fd)
        return Path(name)

    @abstractmethod
    async def put(self, digest: str, source: Path) -> None:
        """Store the bytes of ``source`` (whose SHA-256 is ``digest``) unless a blob of that
        digest exists, whose age is then refreshed. Whole or nothing. ``source`` may be moved
        away; the caller removes it if it is still there."""

    @abstractmethod
    async def size(self, digest: str) -> int | None:
        """The blob's size in bytes, or None when there is none."""

    @abstractmethod
    def read(self, digest: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` of the blob, in chunks of at most :data:`CHUNK`."""

    @abstractmethod
    async def delete(self, digest: str, *, stored_before: int) -> bool:
        """Remove the blob if it was stored (or stored again) before ``stored_before`` (ms
        since the epoch). Returns whether it was removed; removing an absent one is no
        error."""

    @abstractmethod
    def holding(self) -> AbstractAsyncContextManager[None]:
        """While the block runs, :meth:`delete` removes nothing, in this process or any other
        sharing the store (it returns False). Several holders may hold at once; a holder
        that dies lets go with it. Taken by ``parley export`` *before* its snapshot of the
        database begins: a blob the snapshot refers to is either still there then (and stays
        until the export ends) or was removed before, when no upload referred to it."""

    @abstractmethod
    async def stored_before(self, cutoff: int, after: str, limit: int) -> list[str]:
        """Up to ``limit`` digests greater than ``after`` of blobs stored before ``cutoff``
        (ms since the epoch), in order: the collector's candidates."""

    async def sweep_spool(self, cutoff: int) -> int:
        """Remove spool files older than ``cutoff`` (left by a process that died while
        receiving); returns how many."""
        removed = 0
        for entry in os.scandir(self.spool):
            try:
                if entry.is_file() and entry.stat().st_mtime * 1000 < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
