"""``parley export`` / ``parley import`` on the stores: a full server's data, exported, read
into an empty database and exported again, gives the same bytes, on both backends and from
one to the other; the imported database then works (search, mentions, new ids and seqs)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from parley.model import EventKind, NotifyLevel, RoomKind
from parley.search.query import parse
from parley.store.sql.store import SQLStore
from parley.store.sql.transfer_ops import TABLES
from parley.transfer import parley_format
from parley.transfer.jobs import import_parley, index_imported
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed
from tests.store.conftest import BACKENDS

PAIRS = [
    ("sqlite", "sqlite"),
    ("postgres", "postgres"),
    ("sqlite", "postgres"),
    ("postgres", "sqlite"),
]


@asynccontextmanager
async def fresh(backend: str, folder: Path) -> AsyncIterator[SQLStore]:
    folder.mkdir()
    async with BACKENDS[backend](folder) as harness:
        store = harness.make()
        await store.start()
        try:
            yield store
        finally:
            await store.close()


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


async def exported(store: SQLStore) -> bytes:
    out = io.BytesIO()
    await parley_format.export(store, out, quiet())
    return out.getvalue()


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
async def test_export_import_export_is_byte_identical(
    source: str, target: str, tmp_path: Path
) -> None:
    async with fresh(source, tmp_path / "a") as original:
        await fill(original)
        first = await exported(original)
    async with fresh(target, tmp_path / "b") as copy:
        counts = await import_parley(copy, io.BytesIO(first), quiet())
        await index_imported(copy, quiet())
        assert await exported(copy) == first
        lines = [json.loads(line) for line in first.splitlines()]
        assert lines[0]["format"] == "parley-export"
        assert lines[0]["version"] == 1
        assert list(lines[0]["tables"]) == [table.name for table in TABLES]
        assert "password_hash" not in lines[0]["tables"]["users"]
        assert lines[-1] == {"end": {table.name: counts.get(table.name, 0) for table in TABLES}}
        await works_after_import(copy)


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
    async with fresh(harness_name, tmp_path / "a") as original:
        await fill(original)
        data = await exported(original)
        with pytest.raises(ImportFailed, match="not empty") as refused:
            await import_parley(original, io.BytesIO(data), quiet())
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
        "version 99",
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
    async with fresh(harness_name, tmp_path / "a") as store:
        with pytest.raises(ImportFailed, match=re.escape(message)):
            await import_parley(store, io.BytesIO(data), quiet())


async def test_claim_tokens_are_single_use_and_expire(harness_name: str, tmp_path: Path) -> None:
    from parley.chat.auth import hash_token
    from parley.transfer.claims import issue_claims

    async with fresh(harness_name, tmp_path / "a") as original:
        await fill(original)
        data = await exported(original)
    async with fresh(harness_name, tmp_path / "b") as store:
        await import_parley(store, io.BytesIO(data), quiet())
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
