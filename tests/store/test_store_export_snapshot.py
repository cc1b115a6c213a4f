"""``parley export`` of a server that keeps writing is one snapshot: exported while other tasks
post, reply, edit, delete, react and send (and delete) files, and while the file collector
runs, the export reads into an empty store as a consistent whole, on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import time
from pathlib import Path

import pytest

from parley.backends import open_blobs
from parley.files.blobs import BlobStore
from parley.files.collector import collect
from parley.model import RoomKind, User
from parley.store.sql.engine import Connection
from parley.store.sql.store import SQLStore
from parley.transfer import parley_format
from parley.transfer.jobs import import_parley
from parley.transfer.progress import Progress
from tests.store.conftest import BACKENDS, Harness
from tests.store.test_store_transfer import opened, read_blob, stored, upload_of

#: Rows per export page here: many pages, so that writes land between them.
PAGE = 2


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


class Traffic:
    """What a busy server does, over and over, from several tasks at once: every kind of write
    an export could catch half-way, and the collector removing the blobs of deleted files."""

    def __init__(self, store: SQLStore, blobs: BlobStore, users: list[User], rooms: list[int]):
        self.store, self.blobs, self.users, self.rooms = store, blobs, users, rooms
        #: Each file sent: its upload id and bytes (every one different: a blob each).
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count()
        self._stop = asyncio.Event()
        #: The collector (with an age of 0) never runs while a file is between its upload
        #: and its message: what ``--upload-ttl`` ensures on a server.
        self._sending = asyncio.Lock()

    async def run(self, worker: int) -> None:
        while not self._stop.is_set():
            await self._round(worker)

    def stop(self) -> None:
        self._stop.set()

    async def _round(self, worker: int) -> None:
        store, n = self.store, next(self._ids)
        user = self.users[n % len(self.users)]
        room = self.rooms[(n + worker) % len(self.rooms)]
        root = await store.post_message(room, user.id, user.name, f"m{n} @bob", f"c{n}")
        mid = root.event.mid or 0
        reply = await store.post_message(
            room, user.id, user.name, f"reply {n}", f"r{n}", thread=mid
        )
        await store.react(room, user.id, user.name, mid, "👍", add=True)
        await store.edit_message(room, user.id, user.name, mid, f"m{n} edited", any_author=True)
        upload_id = f"snap{n:018d}"
        data = f"file {n} ".encode() * (n % 7 + 1)
        self.files[upload_id] = data
        async with self._sending:
            digest = await stored(self.blobs, data)
            await store.add_upload(upload_of(user.id, upload_id, data, digest, None), quota=10**12)
            sent = await store.post_message(
                room, user.id, user.name, "a file", f"f{n}", [upload_id]
            )
        if n % 2:  # the message, its reactions, its reply and its file go
            await store.delete_message(room, user.id, user.name, mid, any_author=True)
            await store.delete_message(
                room, user.id, user.name, sent.event.mid or 0, any_author=True
            )
            await store.react(room, user.id, user.name, reply.event.mid or 0, "🎉", add=True)
        # The blob of a file deleted above may go at once (an age of 0 is old enough).
        async with self._sending:
            await collect(store, self.blobs, ttl_ms=0)


class SlowOutput(io.BytesIO):
    """An output that takes its time (a slow disk, a pipe read slowly): the export lasts long
    enough for the server to write a great deal meanwhile, whatever the machine's speed."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        time.sleep(0.001)
        return super().write(data)


def export_elsewhere(harness: Harness, folder: Path) -> bytes:
    """Export as ``parley export`` does: a store and a blob store of its own (connections of
    their own) on the same database and files, in another thread's event loop."""

    async def job() -> bytes:
        store = harness.make()
        await store.start()
        blobs = open_blobs(harness.db, str(folder / "files"))
        await blobs.start()
        try:
            out = SlowOutput()
            await parley_format.export(store, blobs, out, Progress("test", None))
            return out.getvalue()
        finally:
            await blobs.close()
            await store.close()

    return asyncio.run(job())


async def test_an_export_during_writes_is_one_consistent_snapshot(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parley_format, "PAGE", PAGE)
    async with opened(backend, tmp_path / "a") as (harness, store, blobs):
        users = [await store.create_user(name, "hash") for name in ("alice", "bob", "carol")]
        rooms = []
        for i in range(3):
            room, _ = await store.create_room(f"r{i}", RoomKind.PUBLIC, creator_id=users[0].id)
            for user in users[1:]:
                await store.join(room.id, user.id, user.name, by=users[0].name)
            rooms.append(room.id)
        traffic = Traffic(store, blobs, users, rooms)
        workers = [asyncio.create_task(traffic.run(i)) for i in range(3)]
        try:
            while store.stats.batched_ops < 300:  # a history of many pages before the export
                await asyncio.sleep(0.01)
            before = store.stats.batched_ops
            data = await asyncio.to_thread(export_elsewhere, harness, tmp_path / "a")
            during = store.stats.batched_ops - before
        finally:
            traffic.stop()
            await asyncio.gather(*workers)
    assert during >= 20, f"only {during} writes while exporting: the test proves nothing"
    async with opened(backend, tmp_path / "b") as (harness, copy, copy_blobs):
        await import_parley(copy, copy_blobs, io.BytesIO(data), Progress("t", None))
        async with harness.raw() as conn:
            await check_consistent(conn)
            sent = await conn.fetch(
                "SELECT id, hash FROM uploads WHERE message_id IS NOT NULL ORDER BY id"
            )
        assert sent, "no file in the export"
        for row in sent:
            data = traffic.files[row["id"]]
            assert row["hash"] == hashlib.sha256(data).hexdigest()
            assert await read_blob(copy_blobs, row["hash"]) == data


async def check_consistent(conn: Connection) -> None:
    """The invariants the store keeps at every commit, checked on an imported database."""
    rooms = await conn.fetch(
        "SELECT r.id, r.last_seq, COUNT(e.id) AS events, MIN(e.seq) AS first,"
        " MAX(e.seq) AS last FROM rooms r LEFT JOIN events e ON e.room_id = r.id"
        " GROUP BY r.id, r.last_seq"
    )
    for room in rooms:  # seqs unique per room (a key), so 1..N without a gap
        assert (room["events"], room["first"] or 1, room["last"] or 0) == (
            room["last_seq"],
            1,
            room["last_seq"],
        ), f"room {room['id']}: last_seq {room['last_seq']}, events {dict(room)}"
    orphans = {
        "reaction on a message not there, or deleted": "SELECT COUNT(*) FROM reactions x"
        " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.message_id"
        " AND e.kind = 'message' AND NOT e.deleted)",
        "reply count unlike the replies": "SELECT COUNT(*) FROM events r"
        " WHERE r.reply_count <> (SELECT COUNT(*) FROM events e WHERE e.thread = r.id"
        " AND e.kind = 'message' AND NOT e.deleted)",
        "file of a message not there, or deleted": "SELECT COUNT(*) FROM uploads u"
        " WHERE u.message_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e"
        " WHERE e.id = u.message_id AND NOT e.deleted)",
        "mention of an event not there": "SELECT COUNT(*) FROM mentions m WHERE NOT EXISTS"
        " (SELECT 1 FROM events e WHERE e.room_id = m.room_id AND e.seq = m.seq)",
        "read marker past the room's last seq": "SELECT COUNT(*) FROM memberships m"
        " JOIN rooms r ON r.id = m.room_id WHERE m.last_read_seq > r.last_seq",
    }
    for what, sql in orphans.items():
        assert await conn.fetchval(sql) == 0, what


async def test_an_export_that_fails_lets_go_of_its_snapshot_and_hold(
    backend: str, tmp_path: Path
) -> None:
    """A failed export (here: its output refuses to be written) leaves nothing held: the
    store serves reads and writes, and the collector removes blobs again."""

    class Refusing(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError("disk full")

    async with opened(backend, tmp_path / "a") as (_, store, blobs):
        alice = await store.create_user("alice", "hash")
        with pytest.raises(OSError, match="disk full"):
            await parley_format.export(store, blobs, Refusing(), Progress("t", None))
        lobby = await store.get_room("lobby")
        assert lobby is not None
        await store.join(lobby.id, alice.id, alice.name)
        await store.post_message(lobby.id, alice.id, alice.name, "still here", None)
        spool = blobs.spool_file()
        spool.write_bytes(b"orphan")
        digest = hashlib.sha256(b"orphan").hexdigest()
        await blobs.put(digest, spool)
        assert await blobs.delete(digest, stored_before=2**62)
