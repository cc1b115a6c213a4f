"""The blob store in a local directory (the default with a SQLite database).

``<root>/<first two hex digits>/<digest>`` holds each blob; ``<root>/tmp/`` the spool. A blob
is stored by renaming its spool file into place (atomic, on the same file system), so a
reader never sees half a blob. A file's modification time is its age for the collector.
File system calls run in threads: the event loop never waits on the disk.

The directory itself is how a hold (:meth:`BlobStore.holding`) reaches every process using
it: a holder keeps a shared ``flock`` on ``<root>``, and a removal first tries an exclusive
one without waiting (the kernel lets go of a dead process's lock). No lock file: nothing in
the directory but blobs and the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from parley.files.blobs import CHUNK, BlobStore, check_digest


class LocalBlobs(BlobStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root / "tmp")
        self.root = root

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest

    async def put(self, digest: str, source: Path) -> None:
        await asyncio.to_thread(self._put, self._path(digest), source)

    def _put(self, target: Path, source: Path) -> None:
        if target.exists():
            os.utime(target)  # reused: younger than any cutoff now
            return
        target.parent.mkdir(exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:  # another file system: copy beside it, then rename
            partial = target.with_suffix(".partial")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        os.utime(target)

    async def size(self, digest: str) -> int | None:
        try:
            stat = await asyncio.to_thread(os.stat, self._path(digest))
        except FileNotFoundError:
            return None
        return stat.st_size

    async def read(self, digest: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(digest), "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, left))
                if not chunk:
                    raise OSError("the blob is shorter than expected")
                left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        fd = await asyncio.to_thread(self._lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            await asyncio.to_thread(os.close, fd)  # closing lets go of the lock

    def _lock(self, how: int) -> int:
        """A descriptor of the root directory, locked ``how`` (``BlockingIOError`` if a
        non-blocking lock is taken)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, how)
        except BaseException:
            os.close(fd)
            raise
        return fd

    async def delete(self, digest: str, *, stored_before: int) -> bool:
        return await asyncio.to_thread(self._delete, self._path(digest), stored_before)

    def _delete(self, path: Path, stored_before: int) -> bool:
        try:
            fd = self._lock(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # held by an export
        try:
            if path.stat().st_mtime * 1000 >= stored_before:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        finally:
            os.close(fd)
        return True

    async def stored_before(self, cutoff: int, after: str, limit: int) -> list[str]:
        return await asyncio.to_thread(self._stored_before, cutoff, after, limit)

    def _stored_before(self, cutoff: int, after: str, limit: int) -> list[str]:
        found: list[str] = []
        for folder in sorted(p for p in self.root.iterdir() if len(p.name) == 2 and p.is_dir()):
            if folder.name < after[:2]:
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name <= after or len(entry.name) != 64:
                    continue
                try:
                    if entry.stat().st_mtime * 1000 < cutoff:
                        found.append(entry.name)
                except FileNotFoundError:
                    continue
                if len(found) >= limit:
                    return found
        return found
