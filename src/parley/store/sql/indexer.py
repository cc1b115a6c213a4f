"""The search indexer of a store whose index is deferred (SQLite; migration 0005 says why).

A new message is queued in ``search_pending`` by the transaction that stores it; this task
moves queued messages into the full-text index, :data:`~parley.store.sql.search.INDEX_CHUNK`
at a time, as ordinary writes through the store's group commit (so it never races the
writer, and a chunk shares a commit with whatever else is queued). Writers come first: while
writes wait in the queue, the indexer waits too, unless :data:`MOST_PENDING` messages are
queued: past that bound it indexes anyway, and the senders pay for it (their writes wait
behind the chunk), which keeps what search cannot see yet bounded. ``search`` reports that
number (``pending``) so a client can say that the newest messages may be missing.

Nothing is lost if the process stops: the queue is a table, and the next start indexes it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final, Protocol

from parley.store.base import Unavailable
from parley.tasks import stop

log = logging.getLogger(__name__)

#: Past this many queued messages, the indexer no longer waits for the writers.
MOST_PENDING: Final = 10_000
#: Seconds between two looks at the queue when it was empty or writers were busy.
IDLE: Final = 0.05


class Indexed(Protocol):
    """What the indexer needs of its store (:class:`~parley.store.sql.store.SQLStore`)."""

    @property
    def write_queue_depth(self) -> int: ...

    async def count_pending(self) -> int: ...

    async def index_pending(self) -> int: ...


class Indexer:
    """One store's indexing task: :meth:`start` after the store started, :meth:`stop` before
    it closes."""

    def __init__(
        self, store: Indexed, *, most_pending: int = MOST_PENDING, idle: float = IDLE
    ) -> None:
        self._store = store
        self._most_pending = most_pending
        self._idle = idle
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="search-indexer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await stop(task)

    async def _run(self) -> None:
        while True:
            try:
                waiting = await self._store.count_pending()
                while waiting:
                    busy = self._store.write_queue_depth > 0
                    if busy and waiting < self._most_pending:
                        break  # the writers first; back when they are done
                    waiting = await self._store.index_pending()
            except Unavailable as exc:
                # The database cannot be used right now (or the store is closing): the queue
                # keeps the messages; try again later.
                log.warning("search indexer: %s", exc)
                await asyncio.sleep(1.0)
            except Exception:
                # A bug: said loudly, and the indexer lives on (searches report what waits).
                log.exception("search indexer failed; trying again in a second")
                await asyncio.sleep(1.0)
            await asyncio.sleep(self._idle)


__all__ = ["IDLE", "MOST_PENDING", "Indexer"]
