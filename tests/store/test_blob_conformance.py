"""One conformance suite for both blob stores (a directory with SQLite, the database with
PostgreSQL): content addressing, ranges, ages for the collector, and a store cut off half-way
leaving nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.backends import open_blobs
from parley.clock import now_ms
from parley.files.blobs import CHUNK, BlobStore
from parley.store.base import Store
from tests.store.conftest import Harness


@pytest.fixture
async def blobs(harness: Harness, store: Store, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """The harness's blob store (``store`` first: it migrates the database)."""
    opened = open_blobs(harness.db, str(tmp_path / "files"))
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


def spooled(blobs: BlobStore, data: bytes) -> tuple[str, Path]:
    path = blobs.spool_file()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


async def read_all(blobs: BlobStore, digest: str, start: int = 0, end: int | None = None) -> bytes:
    size = await blobs.size(digest)
    assert size is not None
    return b"".join(
        [chunk async for chunk in blobs.read(digest, start, size if end is None else end)]
    )


async def test_a_blob_is_stored_once_and_read_back_in_ranges(blobs: BlobStore) -> None:
    data = os.urandom(2 * CHUNK + 12345)  # across chunk boundaries
    digest, path = spooled(blobs, data)
    await blobs.put(digest, path)
    assert await blobs.size(digest) == len(data)
    assert await read_all(blobs, digest) == data
    for start, end in [
        (0, 1),
        (CHUNK - 5, CHUNK + 5),
        (len(data) - 1, len(data)),
        (10, 2 * CHUNK + 1),
    ]:
        assert await read_all(blobs, digest, start, end) == data[start:end]
    chunks = [c async for c in blobs.read(digest, 0, len(data))]
    assert max(len(c) for c in chunks) <= CHUNK
    # The same bytes again: nothing new, and the first copy stays whole.
    again, path2 = spooled(blobs, data)
    await blobs.put(again, path2)
    assert await read_all(blobs, digest) == data
    assert await blobs.size("0" * 64) is None


async def test_ages_and_deletion(blobs: BlobStore) -> None:
    old, path = spooled(blobs, b"old bytes")
    await blobs.put(old, path)
    later = now_ms() + 60_000
    assert old in await blobs.stored_before(later, "", 100)
    assert await blobs.stored_before(now_ms() - 60_000, "", 100) == []
    # Deleting spares a blob stored (or stored again) after the cutoff.
    assert not await blobs.delete(old, stored_before=now_ms() - 60_000)
    assert await blobs.size(old) == 9
    assert await blobs.delete(old, stored_before=later)
    assert await blobs.size(old) is None
    assert not await blobs.delete(old, stored_before=later)  # gone already: no error


async def test_a_held_store_removes_nothing(
    harness: Harness, blobs: BlobStore, tmp_path: Path
) -> None:
    """While another blob store on the same files holds them (as ``parley export`` does, from
    another process), a removal removes nothing; once let go, it removes again. Several may
    hold at once."""
    other = open_blobs(harness.db, str(tmp_path / "files"))
    await other.start()
    try:
        digest, path = spooled(blobs, b"orphan")
        await blobs.put(digest, path)
        later = now_ms() + 60_000
        async with other.holding(), other.holding():
            assert not await blobs.delete(digest, stored_before=later)
            assert await blobs.size(digest) == 6
        assert await blobs.delete(digest, stored_before=later)
        assert await blobs.size(digest) is None
    finally:
        await other.close()


async def test_candidates_come_in_pages_in_digest_order(blobs: BlobStore) -> None:
    digests = []
    for i in range(7):
        digest, path = spooled(blobs, f"blob {i}".encode())
        await blobs.put(digest, path)
        digests.append(digest)
    later = now_ms() + 60_000
    seen: list[str] = []
    after = ""
    while page := await blobs.stored_before(later, after, 3):
        assert len(page) <= 3
        seen += page
        after = page[-1]
    assert seen == sorted(digests)


async def test_a_bad_digest_is_refused(blobs: BlobStore) -> None:
    _, path = spooled(blobs, b"x")
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError, match="not a SHA-256"):
            await blobs.put(bad, path)


async def test_a_store_cut_off_half_way_leaves_nothing(blobs: BlobStore) -> None:
    """The task storing a blob is cancelled (its upload's client went away) while the bytes go
    in: no blob of that digest, whole or partial, is left."""
    data = os.urandom(8 * CHUNK)
    digest, path = spooled(blobs, data)
    task = asyncio.create_task(blobs.put(digest, path))
    await asyncio.sleep(0)  # started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    size = await blobs.size(digest)
    assert size is None or size == len(data)  # the local store renames: whole or nothing
    if size is not None:
        assert await read_all(blobs, digest) == data


async def test_a_postgresql_store_cancelled_between_chunks_leaves_nothing(
    harness: Harness, blobs: BlobStore, tmp_path: Path
) -> None:
    """The source is a pipe: two chunks go in, then the store waits for more and is cancelled
    there, its transaction open with a ``blobs`` row and chunks written. All of it is rolled
    back. (PostgreSQL only: the directory store renames a whole file, it never waits here.)"""
    if not harness.db.startswith("postgresql"):
        pytest.skip("the directory store stores by renaming a whole file")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    digest = "ab" * 32
    task = asyncio.create_task(blobs.put(digest, fifo))
    writer = await asyncio.to_thread(open, fifo, "wb")
    try:
        await asyncio.to_thread(writer.write, os.urandom(2 * CHUNK + 10))
        await asyncio.to_thread(writer.flush)
        while True:  # the chunks are in (not committed): the put waits for the pipe
            async with harness.raw() as conn:
                waiting = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                    " AND datname = current_database()"
                )
            if waiting:
                break
            await asyncio.sleep(0.02)
        task.cancel()
    finally:
        await asyncio.to_thread(writer.close)  # the reading thread ends: the put can unwind
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await blobs.size(digest) is None
    async with harness.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM blob_chunks WHERE hash = ?", digest) == 0
