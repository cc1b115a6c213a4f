"""SQLite's deferred search index (migration 0005, ``store/sql/indexer.py``): messages queued
by their transaction, indexed later as they are then; edits and deletes of indexed messages
change the index at once; the queue survives a restart; reused ids are indexed anew."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.model import RoomKind, User
from parley.search.query import parse
from parley.store.sql.indexer import Indexer
from parley.store.sqlite import SQLiteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "search.db")
    await opened.start()
    await opened._indexer.stop()  # the tests index by hand
    yield opened
    await opened.close()


async def texts(store: SQLiteStore, user: User, query: str) -> list[str]:
    page = await store.search(user.id, parse(query), public=True)
    return [event.text or "" for event in page.events]


async def test_pending_messages_are_counted_then_indexed_as_they_are(store: SQLiteStore) -> None:
    alice = await store.create_user("alice", "h")
    lobby = await store.get_room("lobby")
    assert lobby is not None
    kept = (await store.post_message(lobby.id, alice.id, "alice", "first words")).event
    doomed = (await store.post_message(lobby.id, alice.id, "alice", "secret words")).event
    assert kept.mid is not None
    assert doomed.mid is not None
    page = await store.search(alice.id, parse("words "), public=True)
    assert (page.events, page.pending) == ([], 2)
    # Changed while still queued: indexed as they are when their turn comes.
    await store.edit_message(
        lobby.id, alice.id, "alice", kept.mid, "better words", any_author=False
    )
    await store.delete_message(lobby.id, alice.id, "alice", doomed.mid, any_author=False)
    assert await store.index_pending() == 0
    assert await texts(store, alice, "words ") == ["better words"]
    for gone in ("first ", "secret "):
        assert await texts(store, alice, gone) == []
    # Indexed now: an edit and a delete change the index in their own transaction.
    await store.edit_message(lobby.id, alice.id, "alice", kept.mid, "final text", any_author=False)
    assert await store.count_pending() == 0
    assert await texts(store, alice, "better ") == []
    assert await texts(store, alice, "final ") == ["final text"]
    await store.delete_message(lobby.id, alice.id, "alice", kept.mid, any_author=False)
    assert await texts(store, alice, "final ") == []


async def test_the_queue_survives_a_restart(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "restart.db")
    await first.start()
    await first._indexer.stop()
    alice = await first.create_user("alice", "h")
    lobby = await first.get_room("lobby")
    assert lobby is not None
    await first.post_message(lobby.id, alice.id, "alice", "remember me")
    await first.close()
    second = SQLiteStore(tmp_path / "restart.db")
    await second.start()  # its indexer runs
    try:
        for _ in range(200):
            page = await second.search(alice.id, parse("remember "), public=True)
            if page.events:
                break
            await asyncio.sleep(0.05)
        assert [e.text for e in page.events] == ["remember me"]
        assert page.pending == 0
    finally:
        await second.close()


async def test_a_reused_id_is_indexed_with_its_own_text(store: SQLiteStore) -> None:
    alice = await store.create_user("alice", "h")
    room, _ = await store.create_room("doomed", RoomKind.PUBLIC, creator_id=None)
    old = (await store.post_message(room.id, alice.id, "alice", "old secret")).event
    await store.index_pending()
    await store.delete_room(room.id)  # the newest events go: SQLite may give their ids again
    lobby = await store.get_room("lobby")
    assert lobby is not None
    new = (await store.post_message(lobby.id, alice.id, "alice", "new text")).event
    assert new.mid == old.mid  # the id was given again
    await store.index_pending()
    assert await texts(store, alice, "secret ") == []
    assert await texts(store, alice, "new ") == ["new text"]
    assert await texts(store, alice, "old ") == []


class FakeStore:
    """A store whose queue the test controls, to watch the indexer's choices."""

    def __init__(self, pending: int, queued_writes: int) -> None:
        self.pending = pending
        self.write_queue_depth = queued_writes
        self.chunks = 0

    async def count_pending(self) -> int:
        return self.pending

    async def index_pending(self) -> int:
        self.chunks += 1
        self.pending = max(0, self.pending - 100)
        return self.pending


async def test_the_indexer_lets_writers_first_until_its_bound() -> None:
    under = FakeStore(pending=500, queued_writes=3)
    over = FakeStore(pending=500, queued_writes=3)
    idle = FakeStore(pending=500, queued_writes=0)
    indexers = [
        Indexer(under, most_pending=1000, idle=0.01),
        Indexer(over, most_pending=300, idle=0.01),
        Indexer(idle, most_pending=1000, idle=0.01),
    ]
    for indexer in indexers:
        indexer.start()
    await asyncio.sleep(0.2)
    for indexer in indexers:
        await indexer.stop()
    assert under.chunks == 0  # writers waiting, under the bound: they go first
    assert (over.chunks, over.pending) == (3, 200)  # back under the bound, then waits
    assert (idle.chunks, idle.pending) == (5, 0)


class BrokenStore(FakeStore):
    async def index_pending(self) -> int:
        self.chunks += 1
        raise RuntimeError("a bug")


async def test_a_failing_chunk_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    broken = BrokenStore(pending=5, queued_writes=0)
    indexer = Indexer(broken, idle=0.01)
    indexer.start()
    for _ in range(300):
        await asyncio.sleep(0.01)
        if broken.chunks >= 2:
            break
    await indexer.stop()
    assert broken.chunks >= 2  # it lived on after the first failure
    assert "search indexer failed" in caplog.text
