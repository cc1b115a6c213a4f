"""Group commit: the writes queued at one moment share one transaction and one ``COMMIT``.

The same core serves every engine; only the way to a connection differs (SQLite's one writer
thread drives it without an event loop, PostgreSQL's writer tasks await it):

1. **A batch** is the first queued write and whatever is already queued behind it, up to
   ``max_batch`` (:func:`take_batch`; it never waits for more). A caller cancelled before its
   turn gets nothing done on its behalf. On an engine with
   :attr:`~parley.store.sql.engine.Engine.orders_batches` the batch runs in lock order
   (:attr:`Op.key`): every transaction takes its locks in one order, so none waits for
   another in a cycle; the sort is stable, so one room's writes keep their queue order.
2. **One transaction, a savepoint per write.** A write that fails on its own (``Conflict``,
   ``NotFound``, ``Forbidden``, a database error of its own) is rolled back to its savepoint
   alone, and the others commit. A run of consecutive posts may be stored with one multi-row
   insert (:func:`~parley.store.sql.operations.bulk_post`, where the engine allows it), and
   falls back to one by one when one of them needs the careful path.
3. **One COMMIT** (an fsync, or a WAL flush) covers the batch: under load, many writes share
   one. Then ``observe_commit`` gets the duration, guarded: a failing metrics hook is logged
   and cannot turn writes that are committed into errors.
4. **A lost transaction** (the ``COMMIT`` refused, a full disk, a lost connection, a
   deadlock) gives every write of the batch :class:`~parley.store.base.Unavailable`: none of
   it was committed. Where the engine says nothing can have been committed and another try
   may succeed (a deadlock victim; a connection lost before ``COMMIT`` was sent), the whole
   batch runs again first, up to :data:`ATTEMPTS` times.
5. **One room, one batch at a time.** Where several writers commit concurrently (PostgreSQL),
   they take their batches from a :class:`~parley.store.sql.write_queue.WriteQueue`, which
   never gives a room (a key) to a writer while another writer's batch holds it: one room's
   writes commit in the order they were submitted, re-runs included, which is the order a
   connection sent them (docs/protocol.md: "stored in the order sent").

The results go back to the callers' event loops by :func:`settle` (in the loop) or
:func:`deliver` (from a thread: one wake-up per loop and batch, however many callers wait).

Why batches on PostgreSQL too, rather than a transaction per write on the pool with the server
grouping the WAL flushes of concurrent commits: a room's row lock is held until the commit, so
a busy room's writers would take turns at one commit (one fsync) each, while a batch appends a
hundred messages under one lock and one commit. Measured (PostgreSQL 15 on the same 2-core
host, fsync on, a commit ~0.2 ms, 100 clients each posting 20 messages and waiting for each
acknowledgement, three runs each, a noisy shared machine): to one room, per-operation
transactions on 8 connections 1,000-2,400 posts/s (p99 70-150 ms), batches 2,800-4,900
posts/s (p99 25-45 ms); spread over 20 rooms, 2,400-4,700 against 4,400-5,500.
``commit_delay=1ms`` made per-operation transactions slower still (~30%). Disks slower to
fsync widen the gap: a batch pays one commit, per-operation transactions one per post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from parley.model import Appended
from parley.store.base import NotFound, Store
from parley.store.sql.engine import Connection, Engine, run_sync
from parley.store.sql.operations import Post, bulk_post

log = logging.getLogger(__name__)

#: How many times a batch runs when its transaction is lost in a way worth another try.
ATTEMPTS: Final = 3

#: Orders the writes of a batch: ``(room id, "")`` for a write to an existing room, whose row
#: it locks; ``(0, name)`` for a write that takes a name (``"u:alice"``, ``"r:general"``) and
#: ``(0, "")`` for the rest (users and sessions by id), which lock no room and so run first.
LockKey = tuple[int, str]

#: One write: an operation to run on the batch's connection.
Write = Callable[[Connection], Coroutine[Any, Any, Any]]


@dataclass(slots=True)
class Op:
    """One queued write call: what to run, where to send its outcome, its place in a batch
    (``key``), and for a message post its plain description (``post``, for ``bulk_post``)."""

    run: Write
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    key: LockKey = field(default=(0, ""))
    post: Post | None = None


@dataclass(slots=True)
class Outcome:
    op: Op
    result: Any = None
    error: BaseException | None = None


@dataclass
class StoreStats:
    """Counters kept by the writers (and PostgreSQL's readers), for tests, benchmarks and
    metrics. ``batched_ops / transactions`` is the average batch size. Changed only by the
    writer (a thread, for SQLite): read from elsewhere, they are a recent snapshot."""

    #: Write transactions committed (one per batch).
    transactions: int = 0
    #: Write calls run in those transactions (those rejected alone by their savepoint included).
    batched_ops: int = 0
    #: The most write calls committed in one transaction.
    largest_batch: int = 0
    #: Batches whose transaction failed: each of their calls got :class:`Unavailable`.
    failed_transactions: int = 0
    #: Batches run again after a deadlock or a connection lost before their commit.
    retried_transactions: int = 0
    #: Reads run again after their connection turned out to be lost.
    retried_reads: int = 0


def take_batch(
    first: Op | None, get_nowait: Callable[[], Op | None], max_batch: int
) -> tuple[list[Op], bool]:
    """The batch that starts with ``first`` (the write the writer waited for): the writes
    already queued behind it, taken with ``get_nowait`` without ever waiting, up to
    ``max_batch``. Returns the batch and whether the stop mark (None) was reached."""
    batch: list[Op] = []
    item = first
    while item is not None:
        batch.append(item)
        if len(batch) >= max_batch:
            return batch, False
        try:
            item = get_nowait()
        except (queue.Empty, asyncio.QueueEmpty):
            return batch, False
    return batch, True


class Batches(Protocol):
    """Where concurrent writer tasks take their batches (a
    :class:`~parley.store.sql.write_queue.WriteQueue`)."""

    async def take(self, max_batch: int) -> list[Op] | None:
        """The next batch, or None: stop."""

    def done(self, batch: list[Op]) -> None:
        """``batch`` is settled."""


class _BatchLost(Exception):
    """The transaction of a batch failed as a whole (its cause is ``__cause__``)."""

    def __init__(self, *, retry: bool) -> None:
        super().__init__("the batch's transaction failed")
        self.retry = retry


class GroupCommit:
    """Runs batches for one store (see the module docstring). ``connect`` opens the context in
    which the writer holds a connection (a pooled one, within a deadline; or SQLite's one)."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        stats: StoreStats,
        connect: Callable[[], AbstractAsyncContextManager[Connection]],
        max_batch: int,
    ) -> None:
        self._store = store
        self._engine = engine
        self._stats = stats
        self._connect = connect
        self._max_batch = max_batch

    def serve_in_thread(self, writes: queue.SimpleQueue[Op | None]) -> None:
        """A writer thread's life, for a connection whose calls never suspend: batch after
        batch until the stop mark (None), each outcome sent to its caller's event loop."""
        stopping = False
        while not stopping:
            batch, stopping = take_batch(writes.get(), writes.get_nowait, self._max_batch)
            deliver(run_sync(self.run(batch)))

    async def serve(self, writes: Batches) -> None:
        """A writer task's life: batch after batch until there are no more. A batch is
        settled, re-runs included, before ``writes`` hears it is done."""
        while (batch := await writes.take(self._max_batch)) is not None:
            try:
                settle(await self.run(batch))
            finally:
                writes.done(batch)

    async def run(self, batch: list[Op]) -> list[Outcome]:
        """Commit ``batch``; the outcome of each of its calls not cancelled. Never raises."""
        ops = [op for op in batch if not op.future.cancelled()]
        if self._engine.orders_batches:
            ops.sort(key=lambda op: op.key)
        attempt = 1
        while ops:
            try:
                return await self._transaction(ops)
            except _BatchLost as lost:
                cause = lost.__cause__ or lost
                if lost.retry and attempt < ATTEMPTS:
                    self._stats.retried_transactions += 1
                    attempt += 1
                    continue
                self._stats.failed_transactions += 1
                if not self._engine.is_database_error(cause):
                    log.error("a write batch failed on a bug", exc_info=cause)
                return [Outcome(op, error=self._engine.unavailable(cause)) for op in ops]
        return []

    async def _transaction(self, ops: list[Op]) -> list[Outcome]:
        """Run ``ops`` in one transaction, each in its own savepoint; commit.

        Raises :class:`_BatchLost` when the transaction as a whole failed.
        """
        commit_sent = False
        try:
            async with self._connect() as conn:
                started = time.perf_counter()
                try:
                    await conn.script(self._engine.begin, "SAVEPOINT op")
                    outcomes = await self._run_all(conn, ops)
                    commit_sent = True
                    await conn.execute("COMMIT")
                except BaseException as exc:
                    await conn.abandon(exc)
                    raise
        except Exception as exc:
            retry = self._engine.worth_retrying_batch(exc, commit_sent=commit_sent)
            raise _BatchLost(retry=retry) from exc
        self._observe(time.perf_counter() - started)
        self._stats.transactions += 1
        self._stats.batched_ops += len(ops)
        self._stats.largest_batch = max(self._stats.largest_batch, len(ops))
        return outcomes

    def _observe(self, elapsed: float) -> None:
        observe = self._store.observe_commit
        if observe is not None:
            try:
                observe(elapsed)
            except Exception:  # a metrics bug must not fail writes that are committed
                log.exception("observe_commit failed")

    async def _run_all(self, conn: Connection, ops: list[Op]) -> list[Outcome]:
        """Every write in the savepoint ``op``: released and taken anew before a write when the
        one before it stored something, reused when it was rolled back (one statement less)."""
        outcomes: list[Outcome] = []
        used = False  # whether the savepoint holds a write's work
        for unit in self._units(ops):
            if len(unit) > 1:
                if used:
                    await conn.script("RELEASE SAVEPOINT op", "SAVEPOINT op")
                appended = await self._try_bulk(conn, unit)
                used = appended is not None
                if appended is not None:
                    outcomes += map(Outcome, unit, appended)
                    continue
            for op in unit:
                if used:
                    await conn.script("RELEASE SAVEPOINT op", "SAVEPOINT op")
                outcome = await self._run_op(conn, op)
                used = outcome.error is None
                outcomes.append(outcome)
        return outcomes

    def _units(self, ops: list[Op]) -> Iterator[list[Op]]:
        """The batch as runs of consecutive posts (where the engine stores them in bulk) and
        single writes."""
        if not self._engine.bulk_posts:
            for op in ops:
                yield [op]
            return
        run: list[Op] = []
        for op in ops:
            if op.post is not None:
                run.append(op)
                continue
            if run:
                yield run
                run = []
            yield [op]
        if run:
            yield run

    async def _try_bulk(self, conn: Connection, run: list[Op]) -> list[Appended] | None:
        """Store a run of posts with one multi-row insert; None when one of them needs the
        careful path (a repeated cid, an unknown room or user): undone, nothing stored."""
        try:
            return await bulk_post(conn, [op.post for op in run if op.post is not None])
        except Exception as exc:
            wanted = isinstance(exc, NotFound) or self._engine.is_constraint_violation(exc)
            if not wanted or self._engine.dooms_transaction(exc) or not conn.in_transaction():
                raise
        await conn.execute("ROLLBACK TO SAVEPOINT op")
        return None

    async def _run_op(self, conn: Connection, op: Op) -> Outcome:
        """Run one write in the savepoint ``op``; on failure undo it alone.

        When the engine says so (a unique violation on PostgreSQL: a concurrent transaction has
        just committed the same key), the write is undone and run once more, now seeing that
        row (a ``cid`` then returns the original message). Errors that doom the whole
        transaction propagate.
        """
        for attempt in (1, 2):
            try:
                result = await op.run(conn)
            except Exception as exc:
                if self._engine.dooms_transaction(exc) or not conn.in_transaction():
                    raise
                await conn.execute("ROLLBACK TO SAVEPOINT op")
                if attempt == 1 and self._engine.worth_running_again(exc):
                    continue
                return Outcome(op, error=self._engine.op_error(exc))
            return Outcome(op, result=result)
        raise AssertionError("unreachable")


def settle(outcomes: list[Outcome]) -> None:
    """Resolve the futures of a batch; runs in their event loop."""
    for outcome in outcomes:
        future = outcome.op.future
        if future.done():  # its caller was cancelled meanwhile
            continue
        if outcome.error is None:
            future.set_result(outcome.result)
        else:
            future.set_exception(outcome.error)


def deliver(outcomes: list[Outcome]) -> None:
    """Hand a batch's outcomes to their event loops from another thread: one wake-up per
    loop, not per call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome.op.loop, []).append(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, items)


__all__ = [
    "ATTEMPTS",
    "Batches",
    "GroupCommit",
    "LockKey",
    "Op",
    "Outcome",
    "StoreStats",
    "Write",
    "deliver",
    "settle",
    "take_batch",
]
