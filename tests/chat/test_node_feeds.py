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
from parley.protocol.budget import REPLY_BUDGET
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


class PassRecorder(Recorder):
    """Records how many bytes were queued for it in each pass of the event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[int] = []
        self._open_pass = False

    def send_prepared(self, message: PreparedText) -> None:
        super().send_prepared(message)
        if not self._open_pass:
            self._open_pass = True
            self.passes.append(0)
            asyncio.get_running_loop().call_soon(self._end_pass)
        self.passes[-1] += len(message.payload)

    def _end_pass(self) -> None:
        self._open_pass = False


async def test_a_gap_filled_from_the_store_reaches_live_peers_a_budget_at_a_time(
    node: Node,
) -> None:
    """Events the broker never brought (it was away) are read from the store and delivered in
    portions of the reply budget, each written before the next: 100 messages of 16 kB used to
    be queued for every live peer in one pass, over its 1 MiB send buffer."""
    guest = PassRecorder()
    await node.add_guest(guest)
    user = await node.store.create_user("alice", "not-a-hash")
    text = "\N{GRINNING FACE}" * 4000
    for n in range(100):  # stored, never published
        await node.store.post_message(node.lobby_id, user.id, "alice", text, f"c{n}")
    await node.sync_feeds()
    assert len(guest.frames) == 100
    assert max(guest.passes) <= REPLY_BUDGET + len(guest.frames[0])
    assert len(guest.passes) >= 6
