"""``parley export`` / ``parley import`` on the stores: a full server's data, exported, read
into an empty database and exported again, gives the same bytes, on both backends and from
one to the other; the imported database then works (search, mentions, new ids and seqs)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from parley.backends import open_blobs
from parley.files.blobs import CHUNK, BlobStore
from parley.model import EventKind, FileRef, NotifyLevel, RoomKind, Upload
from parley.search.query import parse
from parley.store.sql.store import SQLStore
from parley.store.sql.transfer_ops import TABLES
from parley.transfer import parley_format
from parley.transfer.blob_lines import ExportFailed
from parley.transfer.jobs import import_parley, index_imported
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed
from tests.store.conftest import BACKENDS, Harness

PAIRS = [
    ("sqlite", "sqlite"),
    ("postgres", "postgres"),
    ("sqlite", "postgres"),
    ("postgres", "sqlite"),
]


@asynccontextmanager
async def opened(backend: str, folder: Path) -> AsyncIterator[tuple[Harness, SQLStore, BlobStore]]:
    """An empty store of ``backend``, started, with its harness and blob store (PostgreSQL's
    tables, or a folder)."""
    folder.mkdir()
    async with BACKENDS[backend](folder) as harness:
        store = harness.make()
        await store.start()
        blobs = open_blobs(harness.db, str(folder / "files"))
        await blobs.start()
        try:
            yield harness, store, blobs
        finally:
            await blobs.close()
            await store.close()


@asynccontextmanager
async def fresh_with_files(backend: str, folder: Path) -> AsyncIterator[tuple[SQLStore, BlobStore]]:
    """An empty store of ``backend`` and its blob store."""
    async with opened(backend, folder) as (_, store, blobs):
        yield store, blobs


@asynccontextmanager
async def fresh(backend: str, folder: Path) -> AsyncIterator[SQLStore]:
    async with fresh_with_files(backend, folder) as (store, _):
        yield store


def quiet() -> Progress:
    return Progress("test", None)


async def fill(store: SQLStore) -> None:
    """A little of everything a server holds."""
    alice = await store.create_user("Alice", "hash-a")
    bob = await store.create_user("bob", "hash-b")
    carol = await store.create_user("carol.x", "hash-c")
    await store.set_disabled(carol.id, True)
    await store.set_email(bob.id, "bob@example.org", True)
    room, _ = await store.create_room("team", RoomKind.PUBLIC, creator_id=alice.id, topic="plans")
    await store.join(room.id, bob.id, bob.name, by=alice.name)
    first = await store.post_message(room.id, alice.id, alice.name, "héllo @bob ✨", "c1")
    await store.post_message(room.id, bob.id, bob.name, "@room lunch?\nsecond line", "c2")
    await store.edit_message(
        room.id, alice.id, alice.name, first.event.mid or 0, "héllo @bob, edited", any_author=False
    )
    gone = await store.post_message(room.id, bob.id, bob.name, "oops", "c3")
    await store.delete_message(room.id, bob.id, bob.name, gone.event.mid or 0, any_author=False)
    await store.set_topic(room.id, alice.id, alice.name, "new plans")
    await store.mark_read(room.id, bob.id, 2)
    await store.set_notify(room.id, bob.id, NotifyLevel.ALL, 0)
    await store.open_direct(alice.id, bob.id)
    secret, _ = await store.create_room("secret", RoomKind.PRIVATE, creator_id=bob.id)
    await store.post_message(secret.id, bob.id, bob.name, "just me", None)
    old, _ = await store.create_room("old", RoomKind.PUBLIC, creator_id=alice.id)
    await store.set_archived(old.id, True, author=alice.name)
    spam, _ = await store.create_room("spam", RoomKind.PUBLIC, creator_id=alice.id)
    await store.delete_room(spam.id)
    lobby = await store.get_room("lobby")
    assert lobby is not None
    await store.post_message(lobby.id, None, "guest-1234", "a guest was here", None)


#: The ids of :func:`fill_files`'s uploads (22 characters of base64url, as the server makes).
BIG_FILE_ID, NOTE_1_ID, NOTE_2_ID = (
    "BigFile_0123456789abcd",
    "Note1_0123456789abcdef",
    "Note2_0123456789abcdef",
)
#: The files :func:`fill_files` sends: larger than a ``bytes`` line, and than a blob chunk.
BIG = bytes(range(256)) * (3 * CHUNK // 256) + b"tail"
SMALL = "a small note ✨\n".encode()


async def stored(blobs: BlobStore, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    spool = blobs.spool_file()
    spool.write_bytes(data)
    await blobs.put(digest, spool)
    spool.unlink(missing_ok=True)
    return digest


def upload_of(owner_id: int, upload_id: str, data: bytes, digest: str, thumb: str | None) -> Upload:
    return Upload(
        file=FileRef(
            id=upload_id, name=f"{upload_id}.bin", type="application/octet-stream", size=len(data)
        ),
        owner_id=owner_id,
        hash=digest,
        thumb_hash=thumb,
        avatar=False,
        created_at=1_700_000_000_000,
        message_id=None,
        room_id=None,
    )


async def fill_files(store: SQLStore, blobs: BlobStore) -> None:
    """Files sent in the "team" room: a big one (with a thumbnail: a blob of its own), and two
    uploads of the same small bytes (one blob), one of them never sent."""
    alice, room = await store.get_user("alice"), await store.get_room("team")
    assert alice is not None
    assert room is not None
    big, small, thumb = (
        await stored(blobs, BIG),
        await stored(blobs, SMALL),
        await stored(blobs, b""),
    )
    await store.add_upload(upload_of(alice.id, BIG_FILE_ID, BIG, big, thumb), quota=10**9)
    await store.add_upload(upload_of(alice.id, NOTE_1_ID, SMALL, small, None), quota=10**9)
    await store.add_upload(upload_of(alice.id, NOTE_2_ID, SMALL, small, None), quota=10**9)
    await store.post_message(
        room.id, alice.id, alice.name, "files", "c-files", files=(BIG_FILE_ID, NOTE_1_ID)
    )


async def exported(store: SQLStore, blobs: BlobStore) -> bytes:
    out = io.BytesIO()
    await parley_format.export(store, blobs, out, quiet())
    return out.getvalue()


async def read_blob(blobs: BlobStore, digest: str) -> bytes:
    size = await blobs.size(digest)
    assert size is not None
    return b"".join([chunk async for chunk in blobs.read(digest, 0, size)])


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
async def test_export_import_export_is_byte_identical(
    source: str, target: str, tmp_path: Path
) -> None:
    async with fresh_with_files(source, tmp_path / "a") as (original, original_blobs):
        await fill(original)
        await fill_files(original, original_blobs)
        first = await exported(original, original_blobs)
    async with fresh_with_files(target, tmp_path / "b") as (copy, blobs):
        counts = await import_parley(copy, blobs, io.BytesIO(first), quiet())
        await index_imported(copy, quiet())
        assert await exported(copy, blobs) == first
        lines = [json.loads(line) for line in first.splitlines()]
        assert lines[0]["format"] == "parley-export"
        assert lines[0]["version"] == 2
        assert list(lines[0]["tables"]) == [table.name for table in TABLES]
        assert "password_hash" not in lines[0]["tables"]["users"]
        assert lines[-1] == {
            "end": {table.name: counts.get(table.name, 0) for table in TABLES},
            "blobs": 3,
        }
        assert counts["uploads"] == 3
        # Each blob once, in digest order; no line near the reader's limit.
        assert [line["blob"] for line in lines if "blob" in line] == sorted(
            hashlib.sha256(data).hexdigest() for data in (BIG, SMALL, b"")
        )
        assert max(len(line) for line in first.splitlines()) < parley_format.MAX_LINE
        await works_after_import(copy)
        await files_after_import(copy, blobs)


async def files_after_import(store: SQLStore, blobs: BlobStore) -> None:
    """A member of the room reads the imported files' bytes (what GET /files serves); others
    may not."""
    bob, carol = await store.get_user("bob"), await store.get_user("carol.x")
    assert bob is not None
    assert carol is not None
    big = await store.readable_upload(BIG_FILE_ID, bob.id)
    assert big is not None
    assert await read_blob(blobs, big.hash) == BIG
    assert big.thumb_hash is not None
    assert await read_blob(blobs, big.thumb_hash) == b""
    note = await store.readable_upload(NOTE_1_ID, bob.id)
    assert note is not None
    assert await read_blob(blobs, note.hash) == SMALL
    assert await store.readable_upload(BIG_FILE_ID, carol.id) is None  # not a member
    assert await store.readable_upload(NOTE_2_ID, bob.id) is None  # never sent: alice's only


async def works_after_import(store: SQLStore) -> None:
    """Search, mentions, seq and ids go on from the imported state."""
    alice, bob = await store.get_user("alice"), await store.get_user("bob")
    room = await store.get_room("team")
    assert alice is not None
    assert bob is not None
    assert room is not None
    assert alice.password_hash == ""  # an import never brings a password
    found = await store.search(bob.id, parse("edited"))
    assert [event.text for event in found.events] == ["héllo @bob, edited"]
    assert found.pending == 0
    assert not (await store.search(bob.id, parse("oops"))).events  # deleted: not findable
    mentions = await store.mentions_of(bob.id, None, 10)
    assert [event.text for event in mentions] == ["héllo @bob, edited"]
    state = await store.unread_state(room.id, bob.id)
    assert state.read == 2
    history = await store.events_after(room.id, 0, 100)
    assert [event.seq for event in history] == list(range(1, len(history) + 1))
    assert EventKind.EDIT in {event.kind for event in history}
    posted = await store.post_message(room.id, bob.id, bob.name, "after the import", "c9")
    assert posted.event.seq == history[-1].seq + 1
    assert posted.event.mid is not None
    assert posted.event.mid > max(event.mid or 0 for event in history)
    dave = await store.create_user("dave", "hash-d")
    assert dave.id > bob.id
    again = await store.post_message(room.id, bob.id, bob.name, "dup", "c2")
    assert again.duplicate  # client message ids came along


async def test_import_refuses_a_database_that_is_not_empty(
    harness_name: str, tmp_path: Path
) -> None:
    async with fresh_with_files(harness_name, tmp_path / "a") as (original, blobs):
        await fill(original)
        data = await exported(original, blobs)
        with pytest.raises(ImportFailed, match="not empty") as refused:
            await import_parley(original, blobs, io.BytesIO(data), quiet())
        assert not refused.value.partial


@pytest.fixture(params=list(BACKENDS))
def harness_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


BAD_INPUTS = {
    "empty file": (b"", "empty"),
    "not json": (b"{nope\n", "not JSON"),
    "not an export": (b'{"format":"other"}\n', "not a Parley export"),
    "unknown version": (
        b'{"format":"parley-export","version":99,"tables":{}}\n{"end":{}}\n',
        "version 99, but this Parley reads versions 1, 2 only",
    ),
    "unknown table": (
        b'{"format":"parley-export","version":1,"tables":{"secrets":["id"]}}\n',
        "unknown table 'secrets'",
    ),
    "unknown column": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id","shoe_size"]}}\n',
        "unknown column 'shoe_size'",
    ),
    "wrong type": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id","name"]}}\n'
        b'{"table":"users","row":["1","x"]}\n',
        "line 2: table 'users', column 'id': expected an integer, got a string",
    ),
    "wrong width": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id","name"]}}\n'
        b'{"table":"users","row":[1]}\n',
        "1 values for 2 columns",
    ),
    "nul in text": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id","name"]}}\n'
        b'{"table":"users","row":[1,"a\\u0000b"]}\n',
        "U+0000",
    ),
    "huge number": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id"]}}\n'
        b'{"table":"users","row":[99999999999999999999]}\n',
        "64 bits",
    ),
    "cut short": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id"]}}\n',
        "cut short",
    ),
    "count mismatch": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id"]}}\n{"end":{"users":5}}\n',
        "counts 5 rows of 'users', the file has 0",
    ),
    "a row that refers to nothing": (
        b'{"format":"parley-export","version":1,"tables":'
        b'{"memberships":["room_id","user_id","joined_at"]}}\n'
        b'{"table":"memberships","row":[7,7,0]}\n{"end":{"memberships":1}}\n',
        "the database refused a row",
    ),
    "duplicate users": (
        b'{"format":"parley-export","version":1,"tables":'
        b'{"users":["created_at","id","name","name_key"]}}\n'
        b'{"table":"users","row":[0,1,"ann","ann"]}\n{"table":"users","row":[0,2,"Ann","ann"]}\n'
        b'{"end":{"users":2}}\n',
        "the database refused a row",
    ),
    "a line too long": (
        b'{"format":"parley-export","version":1,"tables":{"users":["id","name"]}}\n'
        + b'{"table":"users","row":[1,"'
        + b"x" * (parley_format.MAX_LINE + 10)
        + b'"]}\n',
        "longer than",
    ),
    "invalid utf-8": (b'{"format":"parley-export","version":1,"tables":{}}\n\xff\xfe\n', "line 2"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_a_bad_export_is_refused_with_the_line(
    case: str, harness_name: str, tmp_path: Path
) -> None:
    data, message = BAD_INPUTS[case]
    async with fresh_with_files(harness_name, tmp_path / "a") as (store, blobs):
        with pytest.raises(ImportFailed, match=re.escape(message)):
            await import_parley(store, blobs, io.BytesIO(data), quiet())


async def test_claim_tokens_are_single_use_and_expire(harness_name: str, tmp_path: Path) -> None:
    from parley.chat.auth import hash_token
    from parley.transfer.claims import issue_claims

    async with fresh_with_files(harness_name, tmp_path / "a") as (original, blobs):
        await fill(original)
        data = await exported(original, blobs)
    async with fresh_with_files(harness_name, tmp_path / "b") as (store, blobs):
        await import_parley(store, blobs, io.BytesIO(data), quiet())
        tokens = {name: token async for name, token in issue_claims(store, ttl_ms=60_000)}
        assert sorted(tokens) == ["Alice", "bob", "carol.x"]
        again = {name: token async for name, token in issue_claims(store, ttl_ms=60_000)}
        now = 1  # far before any expiry
        bob = await store.claimable(hash_token(tokens["bob"]), now)
        assert bob is not None
        assert bob.name == "bob"
        assert await store.claimable(hash_token("not a token"), now) is None
        late = 2**62
        assert await store.claimable(hash_token(tokens["bob"]), late) is None  # expired
        assert await store.claim(hash_token(tokens["bob"]), "hash-new", late) is None
        claimed = await store.claim(hash_token(tokens["bob"]), "hash-new", now)
        assert claimed is not None
        assert claimed.password_hash == "hash-new"
        assert await store.claim(hash_token(tokens["bob"]), "hash-x", now) is None  # used
        assert await store.claimable(hash_token(again["bob"]), now) is None  # all of bob's
        assert await store.claimable(hash_token(again["Alice"]), now) is not None
        stored = await store.get_user("bob")
        assert stored is not None
        assert stored.password_hash == "hash-new"
        # A claimed account has a password: no new token is issued for it.
        names = [name async for name, _ in issue_claims(store)]
        assert "bob" not in names


def with_files_broken(data: bytes, change: Callable[[list[bytes]], list[bytes]]) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(change(lines))


def _blob_line(lines: list[bytes], data: bytes) -> int:
    digest = hashlib.sha256(data).hexdigest().encode()
    return next(i for i, line in enumerate(lines) if line.startswith(b'{"blob":"' + digest))


def _flip_a_byte(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, SMALL) + 1
    piece = bytearray(base64.b64decode(json.loads(lines[at])["bytes"]))
    piece[0] ^= 1
    lines[at] = b'{"bytes":"' + base64.b64encode(bytes(piece)) + b'"}\n'
    return lines


def _cut_a_piece(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, BIG) + 1
    return lines[:at] + lines[at + 1 :]  # the next blob line comes early


def _shorten_the_last_piece(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, BIG) + 1
    while lines[at + 1].startswith(b'{"bytes"'):
        at += 1
    piece = base64.b64decode(json.loads(lines[at])["bytes"])
    lines[at] = b'{"bytes":"' + base64.b64encode(piece[:-1]) + b'"}\n'
    return lines


def _unknown_blob(lines: list[bytes]) -> list[bytes]:
    other = b"not referred to"
    extra = [
        b'{"blob":"' + ("f" * 64).encode() + b'","size":' + str(len(other)).encode() + b"}\n",
        b'{"bytes":"' + base64.b64encode(other) + b'"}\n',
    ]
    return lines[:-1] + extra + lines[-1:]


def _too_many_bytes(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, SMALL) + 1
    return [*lines[: at + 1], b'{"bytes":"' + base64.b64encode(b"x") + b'"}\n', *lines[at + 1 :]]


def _not_base64(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, SMALL) + 1
    lines[at] = b'{"bytes":"%%%"}\n'
    return lines


def _missing_blob(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, SMALL)
    kept = lines[:at] + lines[at + 2 :]
    end = json.loads(kept[-1])
    end["blobs"] -= 1
    return [*kept[:-1], json.dumps(end).encode() + b"\n"]


def _twice(lines: list[bytes]) -> list[bytes]:
    at = _blob_line(lines, SMALL)
    return lines[: at + 2] + lines[at : at + 2] + lines[at + 2 :]


BAD_FILES: dict[str, tuple[Callable[[list[bytes]], list[bytes]], str]] = {
    "bytes that do not match the hash": (_flip_a_byte, "its bytes do not match its SHA-256"),
    "a truncated blob (a piece missing)": (_cut_a_piece, "is cut short"),
    "a truncated blob (one byte short)": (_shorten_the_last_piece, "is cut short"),
    "a blob no upload refers to": (_unknown_blob, "no upload refers to it"),
    "more bytes than its size": (_too_many_bytes, "more bytes than its size"),
    "bytes not in base64": (_not_base64, "not base64"),
    "an upload with no blob": (_missing_blob, "which it lacks"),
    "a blob twice": (_twice, "out of order or given twice"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_files_in_an_export_are_refused_with_the_line(
    case: str, harness_name: str, tmp_path: Path
) -> None:
    change, message = BAD_FILES[case]
    async with fresh_with_files(harness_name, tmp_path / "a") as (original, blobs):
        await fill(original)
        await fill_files(original, blobs)
        data = with_files_broken(await exported(original, blobs), change)
    async with fresh_with_files(harness_name, tmp_path / "b") as (store, blobs):
        with pytest.raises(ImportFailed, match=re.escape(message)) as refused:
            await import_parley(store, blobs, io.BytesIO(data), quiet())
        assert refused.value.partial
        assert not [path for path in blobs.spool.iterdir()]  # no spool file left behind


async def test_an_export_refuses_an_upload_whose_blob_is_gone(
    harness_name: str, tmp_path: Path
) -> None:
    async with fresh_with_files(harness_name, tmp_path / "a") as (store, blobs):
        await fill(store)
        await fill_files(store, blobs)
        digest = hashlib.sha256(SMALL).hexdigest()
        assert await blobs.delete(digest, stored_before=2**62)
        with pytest.raises(ExportFailed, match=f"the file {digest}, which the file store lacks"):
            await exported(store, blobs)


async def test_a_version_1_export_is_still_read(harness_name: str, tmp_path: Path) -> None:
    async with fresh_with_files(harness_name, tmp_path / "a") as (original, blobs):
        await fill(original)
        lines = (await exported(original, blobs)).splitlines(keepends=True)
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    header["version"] = 1
    del header["tables"]["uploads"]
    old = [
        json.dumps(header).encode() + b"\n",
        *lines[1:-1],
        json.dumps({"end": end["end"]}).encode() + b"\n",
    ]
    async with fresh_with_files(harness_name, tmp_path / "b") as (store, blobs):
        counts = await import_parley(store, blobs, io.BytesIO(b"".join(old)), quiet())
        assert counts["events"] == end["end"]["events"]
