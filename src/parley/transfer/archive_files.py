"""Files an export's zip carries (Mattermost's ``data/`` folder), stored as Parley files.

Each is streamed from the zip (:meth:`~parley.transfer.safe_zip.SafeZip.stream`: bounded in
how far it inflates) to a spool file of the blob store, hashed on the way, at most
:data:`MAX_FILE` bytes, then stored as an upload's bytes are (:mod:`parley.files.storing`: its
type sniffed, an image re-encoded without its metadata and thumbnailed). Memory: a chunk.
A file that cannot be stored (missing from the zip, empty, too large, a name Parley refuses)
is :class:`NotStored`, with the reason the import reports; the import then lists it by name.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Final

from parley.config import FileSettings
from parley.files.blobs import BlobStore
from parley.files.names import name_problem
from parley.files.sniff import HEAD_BYTES
from parley.files.storing import Stored, store_spooled
from parley.transfer.safe_zip import SafeZip

#: The largest file imported (Mattermost's own default limit is 100 MB; an upload's here is
#: ``--max-upload``, which an import does not apply: the file was accepted once already).
MAX_FILE: Final = 1 << 30
#: Bytes copied at a time.
_CHUNK: Final = 1 << 20


class NotStored(Exception):
    """The file is not stored: the reason, as the import's report counts it."""


class ArchiveFiles:
    """The files of ``archive`` below ``folder``, into ``blobs``."""

    def __init__(self, archive: SafeZip, blobs: BlobStore, folder: str = "data/") -> None:
        self.archive = archive
        self.blobs = blobs
        self.folder = folder
        self._decoding = asyncio.Semaphore(1)
        self._max_pixels = FileSettings().max_image_pixels

    async def store(self, path: str) -> tuple[str, Stored]:
        """The file at ``path`` (relative to the folder) stored; with its name (the path's
        last part). Raises :class:`NotStored`."""
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        if name_problem(name) is not None:
            raise NotStored("attachments whose name Parley refuses (listed by name)")
        member = path if path.startswith(self.folder) else self.folder + path
        if not self.archive.has(member):
            raise NotStored(f"attachments missing from the archive's {self.folder} folder")
        spool = await asyncio.to_thread(self.blobs.spool_file)
        try:
            digest, size, head = await asyncio.to_thread(self._copy, member, spool)
            if size == 0:
                raise NotStored("empty attachments (listed by name)")
            stored = await store_spooled(
                self.blobs,
                spool,
                digest,
                size,
                head,
                max_pixels=self._max_pixels,
                decoding=self._decoding,
            )
        finally:
            await asyncio.to_thread(spool.unlink, missing_ok=True)
        return name, stored

    def _copy(self, member: str, spool: Path) -> tuple[str, int, bytes]:
        digest = hashlib.sha256()
        size = 0
        head = b""
        with self.archive.stream(member) as source, spool.open("wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > MAX_FILE:
                    raise NotStored(f"attachments over {MAX_FILE >> 20} MiB (listed by name)")
                digest.update(chunk)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                out.write(chunk)
        return digest.hexdigest(), size, head


__all__ = ["MAX_FILE", "ArchiveFiles", "NotStored"]
