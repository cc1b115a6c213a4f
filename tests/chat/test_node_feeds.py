"""The node's room feeds come and go with their local subscribers: one that asked for a feed
while it was starting must end up in the node's current feed, never in one already released.

A node on a real SQLite store and the in-process broker; the peers are recorders (the node
only queues messages for them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.broker.memory import MemoryBroker
from parley.chat.node import Node
from parley.peer import PreparedText
from parley.presence.memory import MemoryPresence
from parley.store.sqlite import SQLiteStore


class Recorder:
    def __init__(self) -> None:
        self.open = True
        self.remote = "test"
        self.frames: list[bytes] = []

    def send_prepared(self, message: PreparedText) -> None:
        self.frames.append(message.payload)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    store = SQLiteStore(tmp_path / "parley.db")
    await store.start()
    node = Node(store, MemoryBroker(), MemoryPresence())
    await node.start()
    yield node
    await node.close()
    await store.close()


async def test_a_guest_that_waited_for_the_feed_is_in_the_current_feed(node: Node) -> None:
    """As in tests/server/test_plaintext.py: two guests connect, the first leaves at once;
    the second must still receive the lobby's messages (it used to be left on a feed the node
    had released, and received nothing, now and then)."""
    for _ in range(20):
        first, second = Recorder(), Recorder()
        adding = asyncio.create_task(node.add_guest(second))
        await node.add_guest(first)  # creates the feed; the second waits for it
        first.open = False
        node.remove_guest(first)  # leaves before the second one got the feed
        await adding
        feed = node.feeds.get(node.lobby_id)
        assert feed is not None
        assert second in feed.guests
        node.remove_guest(second)
        for _ in range(5):  # let the feed go
            await asyncio.sleep(0)
