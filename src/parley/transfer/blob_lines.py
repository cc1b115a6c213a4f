"""The bytes of files in a Parley export: written and read as a stream, a piece per line.

After the rows of every table, an export (version 2) holds each blob the ``uploads`` rows
refer to (a file's bytes, an image's thumbnail), once, in the order of their digests::

    {"blob":"<sha-256 hex>","size":1234567}     the blob's digest and size in bytes
    {"bytes":"<base64>"}                        PIECE (512 KiB) of its bytes, the last shorter
    ...

An empty blob has no ``bytes`` line. Memory stays one piece, whatever the size of a file: the
export reads the blob store chunk by chunk, the import writes each piece to a spool file,
hashing on the way, and stores the blob (``BlobStore.put``) only once its size and SHA-256
match the ``blob`` line. Refused, with the line: a blob no imported upload refers to, bytes
that do not match the digest, a blob cut short (or longer than its size), blobs out of order
or twice, and, at the end, an upload whose blob the export did not carry.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from pathlib import Path
from typing import IO, Any, Final

import msgspec

from parley.files.blobs import BlobStore, check_digest
from parley.store.sql.store import Snapshot, SQLStore
from parley.transfer.sink import ImportFailed

#: Bytes per ``bytes`` line: its base64 (about 683 KiB) stays under the reader's line limit.
PIECE: Final = 512 * 1024
#: Digests asked of the store per page, exporting and checking.
_PAGE: Final = 1000

_encoder = msgspec.json.Encoder()


class ExportFailed(Exception):
    """The export cannot be written whole: the message says why, in one line."""


async def write_blobs(snapshot: Snapshot, blobs: BlobStore, out: IO[bytes]) -> int:
    """Write every blob the snapshot's uploads refer to; return how many. Raises
    :class:`ExportFailed` when the blob store lacks one (nothing is left out silently)."""
    count = 0
    after = ""
    while digests := await snapshot.referenced_blobs(after, _PAGE):
        for digest in digests:
            size = await blobs.size(digest)
            if size is None:
                raise ExportFailed(
                    f"an upload refers to the file {digest}, which the file store lacks"
                )
            out.write(_encoder.encode({"blob": digest, "size": size}) + b"\n")
            held = b""
            async for chunk in blobs.read(digest, 0, size):
                held += chunk
                while len(held) >= PIECE:
                    out.write(_piece(held[:PIECE]))
                    held = held[PIECE:]
            if held:
                out.write(_piece(held))
            count += 1
        after = digests[-1]
    return count


def _piece(data: bytes) -> bytes:
    return b'{"bytes":"' + base64.b64encode(data) + b'"}\n'


class BlobReader:
    """The ``blob`` and ``bytes`` lines of an import, into ``blobs``: :meth:`begin` at each
    ``blob`` line, :meth:`add` at each ``bytes`` line, :meth:`end` after the last, then
    :meth:`check_complete`."""

    def __init__(self, store: SQLStore, blobs: BlobStore) -> None:
        self._store = store
        self._blobs = blobs
        self._last = ""
        self._digest: str | None = None
        self._size = 0
        self._received = 0
        self._hash: Any = None
        self._spool: Path | None = None
        self._file: IO[bytes] | None = None
        self.count = 0

    async def begin(self, item: dict[str, Any]) -> None:
        """A ``blob`` line (the uploads' rows are stored: the caller flushed them)."""
        await self.end()
        digest, size = item.get("blob"), item.get("size")
        if not isinstance(digest, str) or set(item) != {"blob", "size"}:
            raise ImportFailed('expected {"blob": "<sha-256>", "size": <bytes>}')
        try:
            check_digest(digest)
        except ValueError as exc:
            raise ImportFailed(str(exc)) from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ImportFailed(f"file {digest}: the size must be a number of bytes")
        if digest <= self._last:
            raise ImportFailed(f"file {digest} is out of order or given twice")
        if not await self._store.refers_to_blob(digest):
            raise ImportFailed(f"file {digest}: no upload refers to it")
        self._last = self._digest = digest
        self._size, self._received = size, 0
        self._hash = hashlib.sha256()
        self._spool = self._blobs.spool_file()
        self._file = self._spool.open("wb")

    def add(self, item: dict[str, Any]) -> None:
        """A ``bytes`` line: the next piece of the open blob."""
        text = item.get("bytes")
        if not isinstance(text, str) or len(item) != 1:
            raise ImportFailed('expected {"bytes": "<base64>"}')
        if self._file is None or self._digest is None:
            raise ImportFailed('a "bytes" line with no "blob" line before it')
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImportFailed(f"file {self._digest}: the bytes are not base64") from None
        self._received += len(data)
        if self._received > self._size:
            raise ImportFailed(f"file {self._digest}: more bytes than its size, {self._size}")
        self._hash.update(data)
        self._file.write(data)

    async def end(self) -> None:
        """Store the open blob, if any, once its size and digest are right."""
        digest, spool, handle = self._digest, self._spool, self._file
        if digest is None or spool is None or handle is None:
            return
        self._digest = self._spool = self._file = None
        try:
            handle.close()
            if self._received < self._size:
                raise ImportFailed(
                    f"file {digest} is cut short: {self._received} of its {self._size} bytes"
                )
            if self._hash.hexdigest() != digest:
                raise ImportFailed(f"file {digest}: its bytes do not match its SHA-256")
            await self._blobs.put(digest, spool)
            self.count += 1
        finally:
            with contextlib.suppress(FileNotFoundError):
                spool.unlink()

    def abandon(self) -> None:
        """Close and remove the spool file of a blob left open by a failed import."""
        if self._file is not None and self._spool is not None:
            self._file.close()
            with contextlib.suppress(FileNotFoundError):
                self._spool.unlink()
        self._digest = self._spool = self._file = None

    async def check_complete(self) -> None:
        """Every blob an upload refers to is in the blob store (given by the export, or there
        already)."""
        after = ""
        while digests := await self._store.referenced_blobs(after, _PAGE):
            for digest in digests:
                if await self._blobs.size(digest) is None:
                    raise ImportFailed(f"an upload refers to the file {digest}, which it lacks")
            after = digests[-1]


__all__ = ["PIECE", "BlobReader", "ExportFailed", "write_blobs"]
