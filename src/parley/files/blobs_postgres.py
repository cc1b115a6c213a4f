"""The blob store in PostgreSQL (used when ``--db`` is PostgreSQL): every server process reads
and writes the same files with no other service (migration 0008: ``blobs``, ``blob_chunks``).

A blob is stored in one transaction: its ``blobs`` row first (``INSERT ... ON CONFLICT``:
a second process storing the same digest waits for the first to commit, then finds it), then
its chunks of :data:`~parley.files.blobs.CHUNK` bytes, each read from the spool file in a
thread. A process killed or a connection lost half-way rolls it all back. Reads fetch one
chunk (or the part of it a range needs) per query.

It has a small pool of its own (``--db``'s URL): a large file's transfer never holds one of
the store's connections, which chat commands wait for.

A hold (:meth:`BlobStore.holding`) is a session advisory lock, :data:`HOLD`, taken shared on
a connection kept for the hold; a removal takes it exclusive for its transaction, without
waiting, or removes nothing. The server lets go of a lost session's locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]

from parley.clock import now_ms
from parley.files.blobs import CHUNK, BlobStore, check_digest
from parley.store.base import Unavailable

#: The advisory lock of a hold: PostgreSQL's two-key space ("parl", 1), apart from the
#: store's one-key locks (``pg_advisory_xact_lock(bigint)``), whose keys never meet it.
HOLD: Final = (0x7061726C, 1)


class PostgresBlobs(BlobStore):
    def __init__(self, url: str, spool: Path, *, max_connections: int = 4) -> None:
        super().__init__(spool)
        self.url = url
        self.max_connections = max_connections
        self._pool: Any = None

    async def start(self) -> None:
        await super().start()
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self.max_connections
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise Unavailable(f"cannot connect to the file storage: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _usable(self) -> Any:
        if self._pool is None:
            raise Unavailable("the file storage is not started")
        return self._pool

    async def put(self, digest: str, source: Path) -> None:
        check_digest(digest)
        try:
            await self._put(digest, source)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Unavailable(f"cannot store the file: {exc}") from exc

    async def _put(self, digest: str, source: Path) -> None:
        size = await asyncio.to_thread(os.path.getsize, source)
        async with self._usable().acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO blobs (hash, size, stored_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (hash) DO UPDATE SET stored_at = EXCLUDED.stored_at"
                " RETURNING xmax = 0",
                digest,
                size,
                now_ms(),
            )
            if not fresh:
                return  # stored already: its age is refreshed
            handle = await asyncio.to_thread(open, source, "rb")
            try:
                n = 0
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    await conn.execute(
                        "INSERT INTO blob_chunks (hash, n, data) VALUES ($1, $2, $3)",
                        digest,
                        n,
                        chunk,
                    )
                    n += 1
            finally:
                await asyncio.to_thread(handle.close)

    async def size(self, digest: str) -> int | None:
        check_digest(digest)
        try:
            async with self._usable().acquire() as conn:
                value = await conn.fetchval("SELECT size FROM blobs WHERE hash = $1", digest)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Unavailable(f"cannot read the file storage: {exc}") from exc
        return None if value is None else int(value)

    async def read(self, digest: str, start: int, end: int) -> AsyncIterator[bytes]:
        check_digest(digest)
        position = start
        while position < end:
            n, offset = divmod(position, CHUNK)
            length = min(CHUNK - offset, end - position)
            async with self._usable().acquire() as conn:
                # substring of a bytea counts from 1
                chunk = await conn.fetchval(
                    "SELECT substring(data FROM $3 FOR $4) FROM blob_chunks"
                    " WHERE hash = $1 AND n = $2",
                    digest,
                    n,
                    offset + 1,
                    length,
                )
            if not chunk:
                raise OSError("the blob is shorter than expected")
            position += len(chunk)
            yield bytes(chunk)

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        pool = self._usable()
        try:
            conn = await pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Unavailable(f"cannot hold the file storage: {exc}") from exc
        try:
            try:
                await conn.execute("SELECT pg_advisory_lock_shared($1, $2)", *HOLD)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise Unavailable(f"cannot hold the file storage: {exc}") from exc
            yield
        finally:
            # Should this fail, the pool's reset on release (pg_advisory_unlock_all) or the
            # end of a broken connection lets go of the lock.
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock_shared($1, $2)", *HOLD)
            await pool.release(conn)

    async def delete(self, digest: str, *, stored_before: int) -> bool:
        check_digest(digest)
        async with self._usable().acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", *HOLD):
                return False  # held by an export
            gone = await conn.fetchval(
                "DELETE FROM blobs WHERE hash = $1 AND stored_at < $2 RETURNING 1",
                digest,
                stored_before,
            )
        return gone is not None

    async def stored_before(self, cutoff: int, after: str, limit: int) -> list[str]:
        async with self._usable().acquire() as conn:
            rows = await conn.fetch(
                "SELECT hash FROM blobs WHERE stored_at < $1 AND hash > $2 ORDER BY hash LIMIT $3",
                cutoff,
                after,
                limit,
            )
        return [row["hash"] for row in rows]
