"""A file's bytes, spooled, into the blob store: what an upload over HTTP
(``server/uploads.py``) and an import of another chat's files (``transfer/mattermost.py``)
both do once the bytes are on disk.

Its type is sniffed from its first bytes (``sniff.py``); an image is decoded and re-encoded
with its thumbnail (``images.py``, in a thread, at most as many at once as the caller's
semaphore allows), and the re-encoded bytes are what is stored and served; an image that
cannot be decoded is kept as it came, as ``application/octet-stream`` (served only as an
attachment), unless it was meant as an avatar (:class:`NotAnImage`). The spool file is the
caller's; the files made beside it are removed here.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

from parley.files.blobs import BlobStore
from parley.files.images import NotAnImage, Processed, process_image
from parley.files.sniff import BINARY, IMAGE_TYPES, sniff
from parley.model import FileRef


@dataclass(frozen=True, slots=True)
class Stored:
    """A file's bytes in the blob store: what its ``uploads`` row records."""

    type: str
    digest: str
    size: int
    thumb_hash: str | None
    processed: Processed | None

    def ref(self, file_id: str, name: str) -> FileRef:
        """The file as a message carries it."""
        image = self.processed
        return FileRef(
            id=file_id,
            name=name,
            type=self.type,
            size=self.size,
            width=image.width if image else 0,
            height=image.height if image else 0,
            thumb_width=image.thumb_width if image else 0,
            thumb_height=image.thumb_height if image else 0,
        )


async def store_spooled(
    blobs: BlobStore,
    spool: Path,
    digest: str,
    size: int,
    head: bytes,
    *,
    max_pixels: int,
    decoding: asyncio.Semaphore,
    avatar: bool = False,
) -> Stored:
    """Put the bytes of ``spool`` (SHA-256 ``digest``, ``size`` bytes, starting with ``head``)
    in ``blobs``, an image re-encoded with its thumbnail. Raises :class:`NotAnImage` for an
    ``avatar`` that is not an image."""
    kind = sniff(head)
    served = spool.with_suffix(".served")
    thumb = spool.with_suffix(".thumb")
    try:
        processed: Processed | None = None
        if kind in IMAGE_TYPES:
            try:
                async with decoding:
                    processed = await asyncio.to_thread(
                        process_image, spool, served, kind, max_pixels=max_pixels, avatar=avatar
                    )
            except NotAnImage as exc:
                if avatar:
                    raise NotAnImage(f"an avatar must be an image: {exc}") from None
                kind = BINARY  # kept as it came, served only as an attachment
        elif avatar:
            raise NotAnImage("an avatar must be a PNG, JPEG, GIF or WebP image")
        thumb_hash = None
        if processed is not None:
            digest, size = await asyncio.to_thread(_digest_of, served)
            await blobs.put(digest, served)
            thumb_hash = hashlib.sha256(processed.thumbnail).hexdigest()
            await asyncio.to_thread(thumb.write_bytes, processed.thumbnail)
            await blobs.put(thumb_hash, thumb)
        else:
            await blobs.put(digest, spool)
    finally:
        await asyncio.to_thread(_remove, served, thumb)
    return Stored(kind, digest, size, thumb_hash, processed)


def _digest_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


__all__ = ["Stored", "store_spooled"]
