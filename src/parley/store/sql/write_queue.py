"""The queue between the store's callers and several writer tasks: a room's writes in order,
one batch at a time, and no writer idle while another room has writes waiting.

Several writers commit concurrently on PostgreSQL. Taking batches from one plain FIFO lets a
batch of a room commit after a later batch of the same room (one waited for a pooled
connection or the room's lock, or ran again after a lost connection): issue 14 saw a
connection's two sends 3 ms apart stored with seqs 1858 and 1838. So a writer takes only the
writes of keys (:data:`~parley.store.sql.batch.LockKey`: a room, a name) that no other
writer's batch holds, and the key stays held until its batch is settled, re-runs included.
Two batches of one key therefore never overlap, and each takes that key's writes in arrival
order: they commit in the order they were submitted.

Why not give each writer a fixed share of the rooms (a queue per writer, a room always on the
same one)? That keeps the order too, but a writer then idles while the other has a backlog
(each write waits for the one writer of its room, not for whichever is free first). It was
tried first: in one series of six alternating runs of ``bench/store_writers.py`` (100 posters
over 100 rooms) it committed fewer posts a second than one shared queue in five (medians
1,105 and 1,660), though later series on the same busy machine were too noisy to confirm it
(bench/results/2026-12-06-order.md); this queue is never less work-conserving than the
shared one. Here a free writer takes whatever no one holds; while a busy
room's batch runs, its next writes accumulate and go in one larger batch after it, which is
what makes one busy room faster than two writers queueing on its row lock.

Writes with the key ``(0, "")`` (users and sessions by id, which no connection pipelines)
are not ordered among themselves, as before: any free writer takes them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from parley.store.sql.batch import LockKey, Op

#: Writes under this key are not ordered: they never hold it.
UNORDERED: Final[LockKey] = (0, "")


class WriteQueue:
    """Writes waiting for a writer, by key, in arrival order (see the module docstring)."""

    def __init__(self) -> None:
        # Keys in the order their oldest waiting write arrived; each with its writes in order.
        self._pending: dict[LockKey, deque[Op]] = {}
        self._held: set[LockKey] = set()  # keys in a batch being run
        self._size = 0
        self._closing = False
        self._changed = asyncio.Event()  # set on every put, done and close

    def qsize(self) -> int:
        """How many writes wait for a writer."""
        return self._size

    def put(self, op: Op) -> None:
        """Queue ``op`` (never waits); a writer waiting for work is woken."""
        self._pending.setdefault(op.key, deque()).append(op)
        self._size += 1
        self._wake()

    def close(self) -> None:
        """No more writes will come: once every queued write is taken and settled, each
        writer's :meth:`take` returns None."""
        self._closing = True
        self._wake()

    async def take(self, max_batch: int) -> list[Op] | None:
        """The next batch: the waiting writes of every key no other batch holds, oldest key
        first, up to ``max_batch`` (a key's writes are taken in order, a prefix when they do
        not all fit). Its keys are held until :meth:`done`. Waits while there is nothing to
        take; None once closed and nothing is left."""
        while True:
            batch = self._take_now(max_batch)
            if batch:
                return batch
            if self._closing and not self._pending and not self._held:
                return None
            # (Checked and cleared in one step of the event loop: no change can slip between.)
            self._changed.clear()
            await self._changed.wait()

    def done(self, batch: list[Op]) -> None:
        """``batch`` is settled (committed, or failed for good): its keys are free again."""
        for op in batch:
            self._held.discard(op.key)
        self._wake()

    def _take_now(self, max_batch: int) -> list[Op]:
        batch: list[Op] = []
        for key in list(self._pending):
            if key in self._held:
                continue
            waiting = self._pending[key]
            while waiting and len(batch) < max_batch:
                batch.append(waiting.popleft())
            if not waiting:
                del self._pending[key]
            if key != UNORDERED:
                self._held.add(key)
            if len(batch) >= max_batch:
                break
        self._size -= len(batch)
        return batch

    def _wake(self) -> None:
        """Every waiting writer looks again (those finding nothing wait anew)."""
        self._changed.set()


__all__ = ["UNORDERED", "WriteQueue"]
