"""The PostgreSQL store: for several Parley processes sharing one database.

How it keeps the rules of :mod:`parley.store.base`:

* **Gap-free seq with any number of writers.** ``rooms.last_seq`` is the room's counter, as in
  SQLite: an event takes its seq through ``UPDATE rooms SET last_seq = last_seq + 1 ...
  RETURNING`` in the transaction that inserts it. That ``UPDATE`` locks the room's row until
  the transaction ends, so the writers of one room, in this process or any other, take turns,
  while different rooms proceed in parallel. A rolled-back operation or transaction rolls the
  counter back with it: nothing can drift, and no seq is ever skipped or taken twice. Every
  write that checks a room's state before appending to it (join, leave, edit, delete, read
  markers) locks the room's row first, so its checks see the latest committed state.
* **Group commit: writer tasks and batches, as in SQLite.** Write calls are queued; a writer
  task takes the first, then whatever else is already queued (up to ``max_batch``), and runs
  them in one transaction on one pooled connection, each in its own ``SAVEPOINT``: a write
  that fails alone (``Conflict``, ``NotFound``, ``Forbidden``, a database error of its own) is
  rolled back alone and the others commit. If the transaction itself fails (the ``COMMIT``,
  the connection) every write of the batch gets :class:`Unavailable`. The alternative,
  per-operation transactions on the pool with PostgreSQL grouping the WAL flushes of
  concurrent commits, loses where it matters, on a busy room: the room's row lock is held
  until the commit, so its writers take turns at one commit (one fsync) each, while a batch
  appends a hundred messages under one lock and one commit. Measured (PostgreSQL 15 on the
  same 2-core host, fsync on, a commit ~0.2 ms, 100 clients each posting 20 messages and
  waiting for each acknowledgement, three runs each, a noisy shared machine): to one room,
  per-operation transactions on 8 connections 1,000-2,400 posts/s (p99 70-150 ms), batches
  2,800-4,900 posts/s (p99 25-45 ms); spread over 20 rooms, 2,400-4,700 against
  4,400-5,500. ``commit_delay=1ms`` made per-operation transactions slower still (~30%).
  Disks slower to fsync than this one widen the gap: a batch pays one commit, per-operation
  transactions one per post of a room. Two writers by default: on this CPU-bound host one and
  two were alike, but with the database across a network one batch's round trips and commit
  overlap the other's execution, and batches of different rooms proceed side by side.
* **Several writers without deadlocks.** Each batch runs its writes in the order of what they
  lock: first those on users and sessions by id, then those taking a new name (by name),
  then those on existing rooms (by room id; a stable sort, so one room's writes keep their
  order). Every transaction takes its locks in that one order, so none waits for another in
  a cycle. Should a deadlock happen all the same (with another program's transactions, say),
  PostgreSQL aborts one transaction; its batch is rolled back whole and run again, as is a
  batch whose connection was lost before its ``COMMIT`` was sent (nothing of it can have
  been committed).
* **Races between processes end as SQLite's single writer would end them.** Names use
  ``INSERT ... ON CONFLICT DO NOTHING`` (the loser gets :class:`Conflict`; a direct room
  opened by two processes at once is returned to both); a ``cid`` posted twice at once makes
  the second ``INSERT`` violate ``events_by_cid``, and that write is rolled back to its
  savepoint and run again, which finds the original and returns it as a duplicate; "the first
  account is an admin" takes a transaction-level advisory lock while no account exists.
* **Unavailable, never a hang, never a false success.** Every read and every write
  transaction is bounded by ``timeout`` (pool acquisition included) and every statement by
  ``command_timeout``; connection errors, timeouts and server errors become
  :class:`Unavailable`. A read, or a batch whose ``COMMIT`` was not sent, is tried once more
  on a fresh connection when its connection turns out to be dead (the pool reconnects by
  itself), so one restart or terminated backend costs at most one failed call. One case no
  client of a database server can decide: the connection lost *during* ``COMMIT``. The batch
  then gets :class:`Unavailable` although it may have committed; a client retrying a message
  with its ``cid`` gets the original back, so nothing is stored twice.
* **Migrations.** Numbered files in ``migrations/postgres/``, each applied in its own
  transaction (PostgreSQL's DDL is transactional) under ``pg_advisory_xact_lock``: several
  processes starting at once apply each file exactly once.

A PostgreSQL ``TEXT`` cannot hold the character U+0000, which SQLite stores: a write with it
raises :class:`ValueError` (the caller's input, not an outage; it fails alone in its batch).
The URL is asyncpg's: ``postgresql://user:password@host:port/database``; other query
parameters are server settings (``?search_path=parley`` puts the tables in that schema).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
import asyncpg.exceptions._base as asyncpg_base  # type: ignore[import-untyped]

from parley.clock import now_ms
from parley.model import Appended, Event, EventKind, Room, RoomKind, RoomView, Session, User
from parley.store import migrations
from parley.store.base import (
    LOBBY,
    UNREAD_CAP,
    Conflict,
    Forbidden,
    NotFound,
    Store,
    StoreError,
    Unavailable,
    direct_room_name,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The package holding the PostgreSQL migration files.
MIGRATIONS: Final = "parley.store.migrations.postgres"

#: ``pg_advisory_xact_lock`` keys (one 64-bit key space per database): migrations, and the
#: decision that the first account is an admin.
_MIGRATION_LOCK: Final = 0x7061726C65790001  # "parley" and a number
_FIRST_USER_LOCK: Final = 0x7061726C65790002

#: How many times a batch is run when PostgreSQL aborts it for a deadlock, or its connection
#: was lost before the commit.
_ATTEMPTS: Final = 3


# -- the narrow view of asyncpg this module uses (asyncpg has no type information) ----------


class Record(Protocol):
    """A result row (``asyncpg.Record``): columns by name."""

    def __getitem__(self, key: str) -> Any: ...


class Connection(Protocol):
    """The parts of ``asyncpg.Connection`` (or a pool's proxy of one) the store uses."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetch(self, query: str, *args: object) -> list[Record]: ...

    async def fetchrow(self, query: str, *args: object) -> Record | None: ...

    async def fetchval(self, query: str, *args: object) -> Any: ...

    def is_closed(self) -> bool: ...

    def is_in_transaction(self) -> bool: ...

    def terminate(self) -> None: ...


class _Pool(Protocol):
    async def acquire(self) -> Connection: ...

    async def release(self, connection: Connection) -> None: ...

    async def close(self) -> None: ...

    def terminate(self) -> None: ...

    async def expire_connections(self) -> None: ...


#: The errors that mean the connection (or the server) is gone, not that the statement was
#: wrong: worth one more try on a fresh connection when nothing can have been committed.
#: asyncpg's ``DataError`` for a Python value it cannot encode is an ``InterfaceError`` too,
#: but it is the caller's input: see :func:`_is_connection_loss`.
_CONNECTION_LOSS: Final[tuple[type[BaseException], ...]] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # A connection the server ended while it was idle can be caught between the server's
    # last message and the end of the socket: asyncpg then refuses to use it this way.
    asyncpg_base.InternalClientError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


def _is_connection_loss(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection is gone (a timeout is not: the server may be alive
    but stuck, and trying again would only double the wait)."""
    return isinstance(exc, _CONNECTION_LOSS) and not isinstance(
        exc, asyncpg_base.DataError | TimeoutError
    )


@dataclass
class PostgresStats:
    """Counters kept by the writer tasks, for tests, benchmarks and metrics.

    ``batched_ops / transactions`` is the average batch size.
    """

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


class PostgresStore(Store):
    """The :class:`Store` on a PostgreSQL database (see the module docstring for how it works).

    ``min_size`` and ``max_size`` bound the connection pool; ``writers`` of its connections at
    most are busy with write batches (by default two, or one for a pool of one: one batch
    executes while the other commits), the rest serve reads. ``max_batch`` bounds how many
    writes share a transaction. ``command_timeout`` bounds each statement, ``timeout`` a whole
    read or write transaction (waiting for a pooled connection included) and
    ``connect_timeout`` each new connection, in seconds. ``start_retry`` is how long
    :meth:`start` keeps trying to reach a server that refuses connections (one that is
    starting up), ``application_name`` how the connections show in ``pg_stat_activity``.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        writers: int | None = None,
        max_batch: int = 256,
        command_timeout: float = 10.0,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        start_retry: float = 2.0,
        application_name: str = "parley",
    ) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("the PostgreSQL URL starts with postgresql://")
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("the pool needs 0 <= min_size <= max_size and max_size >= 1")
        writers = min(2, max_size) if writers is None else writers
        if not 1 <= writers <= max_size or max_batch < 1:
            raise ValueError("writers must be within 1..max_size and max_batch at least 1")
        if min(command_timeout, timeout, connect_timeout) <= 0 or start_retry < 0:
            raise ValueError("timeouts must be positive")
        self._url = url
        self._target = describe_target(url)
        self._min_size = min_size
        self._max_size = max_size
        self._writer_count = writers
        self._max_batch = max_batch
        self._command_timeout = command_timeout
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._start_retry = start_retry
        self._application_name = application_name
        self.stats = PostgresStats()
        self._started = False
        self._closed = False
        self._pool: _Pool | None = None
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._writers: list[asyncio.Task[None]] = []

    @property
    def target(self) -> str:
        """``host:port`` of the server (the URL without user or password), for messages."""
        return self._target

    @property
    def application_name(self) -> str:
        """How this store's connections show in ``pg_stat_activity`` (unless the URL says)."""
        return self._application_name

    @property
    def write_queue_depth(self) -> int:
        """How many write calls wait for a writer task (a load metric)."""
        return self._queue.qsize()

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._closed:
            raise Unavailable("the store is closed")
        if self._started:
            raise RuntimeError("the store is already started")
        self._started = True
        _quiet_pool_tracebacks()
        pool = await self._create_pool()
        try:
            async with asyncio.timeout(self._timeout):
                conn = await pool.acquire()
                try:
                    await apply_migrations(conn, migrations.load(MIGRATIONS))
                    await _ensure_lobby(conn)
                finally:
                    await _release(pool, conn)
        except BaseException as exc:
            await _close_pool(pool, self._timeout)
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, Exception) and _is_database_error(exc):
                raise self._unavailable("cannot prepare the database on", exc) from exc
            raise
        if self._closed:  # closed while starting
            await _close_pool(pool, self._timeout)
            raise Unavailable("the store is closed")
        self._pool = pool
        self._writers = [
            asyncio.create_task(self._write_loop(pool), name=f"parley-store-writer-{i}")
            for i in range(self._writer_count)
        ]

    async def _create_pool(self) -> _Pool:
        """Open the pool (its first connection included), retrying a refusing server briefly."""
        deadline = time.monotonic() + self._start_retry
        delay = 0.05
        while True:
            try:
                pool: _Pool = await asyncpg.create_pool(
                    self._url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    command_timeout=self._command_timeout,
                    timeout=self._connect_timeout,
                    server_settings=self._server_settings(),
                    # Nothing the store does changes a session (no SET, LISTEN or session
                    # lock), so a released connection needs no RESET ALL round trip.
                    reset=_keep_session,
                )
                return pool
            except Exception as exc:
                if not _is_database_error(exc):
                    raise
                remaining = deadline - time.monotonic()
                if not _worth_retrying_at_start(exc) or remaining <= 0:
                    raise self._unavailable("cannot connect to", exc) from exc
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)

    def _server_settings(self) -> dict[str, str]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self._url).query)
        if "application_name" in query:  # the URL's own choice wins
            return {}
        return {"application_name": self._application_name}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._writers:
            self._queue.put_nowait(None)  # after every write already queued
        if self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            await _close_pool(pool, self._timeout)

    # -- plumbing: every method is one write or one read -----------------------------------

    async def _write(self, run: Callable[[Connection], Awaitable[T]], key: _LockKey = (0, "")) -> T:
        """Queue ``run`` for a writer task; return its result once committed.

        ``key`` orders the writes of a batch (see :class:`_Op`).
        """
        self._usable()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Op(run, future, key))
        return await future

    async def _read(self, query: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``query`` (one statement: one snapshot) on a pooled connection."""
        pool = self._usable()
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self._timeout):
                    conn = await pool.acquire()
                    try:
                        return await query(conn)
                    except BaseException as exc:
                        _drop_if_broken(conn, exc)
                        raise
                    finally:
                        await _release(pool, conn)
            except Exception as exc:
                if not _is_database_error(exc):
                    raise
                if attempt == 1 and _is_connection_loss(exc) and not self._closed:
                    self.stats.retried_reads += 1
                    await _expire(pool)
                    continue
                error = _to_caller_error(exc, self._unavailable("cannot read from", exc))
                if error is exc:
                    raise
                raise error from exc
        raise AssertionError("unreachable")

    def _usable(self) -> _Pool:
        if self._closed:
            raise Unavailable("the store is closed")
        if self._pool is None:
            raise Unavailable("the store is not started")
        return self._pool

    def _unavailable(self, what: str, cause: BaseException) -> Unavailable:
        """A fresh :class:`Unavailable` on one line, naming the server but no password (one
        instance per caller: raised in several tasks, one would mix their tracebacks)."""
        error = Unavailable(f"{what} PostgreSQL at {self._target}: {_one_line(cause)}")
        error.__cause__ = cause
        return error

    # -- the writer tasks ------------------------------------------------------------------

    async def _write_loop(self, pool: _Pool) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await self._take_batch()
            if batch:
                try:
                    await self._run_batch(pool, batch)
                except Exception as exc:  # a bug: fail the batch, keep the writer alive
                    log.exception("the PostgreSQL writer failed a batch")
                    _settle(
                        [
                            _Outcome(op, error=self._unavailable("cannot write to", exc))
                            for op in batch
                        ]
                    )

    async def _take_batch(self) -> tuple[list[_Op], bool]:
        """Wait for one write, then take the ones already queued behind it (never waiting).

        Returns the batch and whether this writer's stop mark was reached.
        """
        batch: list[_Op] = []
        item = await self._queue.get()
        while item is not None:
            batch.append(item)
            if len(batch) >= self._max_batch:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return batch, False
        return batch, True

    async def _run_batch(self, pool: _Pool, batch: list[_Op]) -> None:
        # A caller cancelled before its turn gets nothing done on its behalf: it could not
        # be told anyway. (Cancelled later, its write may still commit, as with any database.)
        ops = sorted((op for op in batch if not op.future.cancelled()), key=lambda op: op.key)
        if not ops:
            return
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                outcomes = await self._transaction(pool, ops)
            except _BatchLost as lost:
                if lost.retry and attempt < _ATTEMPTS:
                    self.stats.retried_transactions += 1
                    continue
                self.stats.failed_transactions += 1
                cause = lost.__cause__ or lost
                outcomes = [
                    _Outcome(op, error=self._unavailable("cannot write to", cause)) for op in ops
                ]
            break
        _settle(outcomes)

    async def _transaction(self, pool: _Pool, ops: list[_Op]) -> list[_Outcome]:
        """Run ``ops`` in one transaction, each in its own savepoint; commit.

        Raises :class:`_BatchLost` when the transaction as a whole failed.
        """
        commit_sent = False
        try:
            async with asyncio.timeout(self._timeout):
                conn = await pool.acquire()
                try:
                    started = time.perf_counter()
                    await conn.execute("BEGIN; SAVEPOINT op")
                    outcomes: list[_Outcome] = []
                    for index, op in enumerate(ops):
                        if index:
                            await conn.execute("RELEASE SAVEPOINT op; SAVEPOINT op")
                        outcomes.append(await _run_op(conn, op))
                    commit_sent = True
                    await conn.execute("COMMIT")
                except BaseException as exc:
                    await _abandon(conn, exc)
                    raise
                finally:
                    await _release(pool, conn)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            # A deadlock victim, or a connection lost before the COMMIT: nothing of the batch
            # was committed, so it can run again.
            retry = isinstance(exc, asyncpg.exceptions.TransactionRollbackError) or (
                _is_connection_loss(exc) and not commit_sent
            )
            if _is_connection_loss(exc):
                await _expire(pool)
            raise _BatchLost(retry=retry) from exc
        elapsed = time.perf_counter() - started
        observe = self.observe_commit
        if observe is not None:
            try:
                observe(elapsed)
            except Exception:  # a metrics bug must not fail writes that are committed
                log.exception("observe_commit failed")
        self.stats.transactions += 1
        self.stats.batched_ops += len(ops)
        self.stats.largest_batch = max(self.stats.largest_batch, len(ops))
        return outcomes

    # -- users and sessions --------------------------------------------------------------

    async def create_user(
        self, name: str, password_hash: str, *, admin: bool | None = None
    ) -> User:
        return await self._write(
            lambda conn: _create_user(conn, name, password_hash, admin), (0, "u:" + _key(name))
        )

    async def get_user(self, name: str) -> User | None:
        return await self._read(lambda conn: _user_by_name(conn, name))

    async def get_user_by_id(self, user_id: int) -> User | None:
        return await self._read(lambda conn: _user_by_id(conn, user_id))

    async def list_users(self) -> list[User]:
        return await self._read(_list_users)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        await self._write(lambda conn: _set_password(conn, user_id, password_hash))

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        await self._write(lambda conn: _set_disabled(conn, user_id, disabled))

    async def create_session(self, user_id: int, token_hash: str, expires_at: int) -> Session:
        return await self._write(
            lambda conn: _create_session(conn, user_id, token_hash, expires_at)
        )

    async def get_session(self, token_hash: str, now: int) -> Session | None:
        return await self._read(lambda conn: _live_session(conn, token_hash, now))

    async def delete_session(self, token_hash: str) -> bool:
        return await self._write(lambda conn: _delete_session(conn, token_hash))

    async def delete_sessions_of(self, user_id: int) -> list[str]:
        return await self._write(lambda conn: _delete_sessions_of(conn, user_id))

    # -- rooms ---------------------------------------------------------------------------

    async def create_room(
        self,
        name: str,
        kind: RoomKind,
        *,
        creator_id: int | None,
        topic: str = "",
    ) -> tuple[Room, list[Event]]:
        return await self._write(
            lambda conn: _create_room(conn, name, kind, creator_id, topic), (0, "r:" + _key(name))
        )

    async def open_direct(self, user_id: int, other_id: int) -> tuple[Room, list[Event]]:
        return await self._write(lambda conn: _open_direct(conn, user_id, other_id))

    async def get_room(self, name: str) -> Room | None:
        return await self._read(lambda conn: _room_by_name(conn, name))

    async def get_room_by_id(self, room_id: int) -> Room | None:
        return await self._read(lambda conn: _room_by_id(conn, room_id))

    async def is_member(self, room_id: int, user_id: int) -> bool:
        return await self._read(lambda conn: _is_member(conn, room_id, user_id))

    async def room_members(self, room_id: int) -> list[tuple[int, str]]:
        return await self._read(lambda conn: _room_members(conn, room_id))

    async def unread_count(self, room_id: int, user_id: int) -> int:
        return await self._read(lambda conn: _unread_of_member(conn, room_id, user_id))

    async def rooms_for(self, user_id: int) -> list[RoomView]:
        return await self._read(lambda conn: _rooms_for(conn, user_id))

    # -- events --------------------------------------------------------------------------

    async def post_message(
        self,
        room_id: int,
        user_id: int | None,
        author: str,
        text: str,
        cid: str | None = None,
    ) -> Appended:
        return await self._write(
            lambda conn: _post_message(conn, room_id, user_id, author, text, cid), (room_id, "")
        )

    async def edit_message(
        self, room_id: int, user_id: int, author: str, mid: int, text: str, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: _edit_message(conn, room_id, user_id, author, mid, text, any_author),
            (room_id, ""),
        )

    async def delete_message(
        self, room_id: int, user_id: int, author: str, mid: int, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: _delete_message(conn, room_id, user_id, author, mid, any_author),
            (room_id, ""),
        )

    async def join(
        self, room_id: int, user_id: int, author: str, *, by: str | None = None
    ) -> Event | None:
        return await self._write(
            lambda conn: _join(conn, room_id, user_id, author, by), (room_id, "")
        )

    async def leave(self, room_id: int, user_id: int, author: str) -> Event | None:
        return await self._write(lambda conn: _leave(conn, room_id, user_id, author), (room_id, ""))

    async def set_topic(self, room_id: int, user_id: int, author: str, topic: str) -> Event:
        return await self._write(
            lambda conn: _set_topic(conn, room_id, user_id, author, topic), (room_id, "")
        )

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        return await self._write(
            lambda conn: _mark_read(conn, room_id, user_id, seq), (room_id, "")
        )

    async def events_after(self, room_id: int, after: int, limit: int) -> list[Event]:
        return await self._read(lambda conn: _events_after(conn, room_id, after, limit))

    async def events_before(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        return await self._read(lambda conn: _events_before(conn, room_id, before, limit))


# -- batches ---------------------------------------------------------------------------------

#: Orders the writes of a batch: ``(room id, "")`` for a write to an existing room, whose row
#: it locks; ``(0, name)`` for a write that takes a name (``"u:alice"``, ``"r:general"``) and
#: ``(0, "")`` for the rest (users and sessions by id), which lock no room and so run first.
_LockKey = tuple[int, str]


@dataclass(slots=True)
class _Op:
    """One queued write call: what to run, where to send its outcome, and its place in a
    batch (every transaction takes its locks in this order, so none waits in a cycle)."""

    run: Callable[[Connection], Awaitable[Any]]
    future: asyncio.Future[Any]
    key: _LockKey = field(default=(0, ""))


@dataclass(slots=True)
class _Outcome:
    op: _Op
    result: Any = None
    error: BaseException | None = None


class _BatchLost(Exception):
    """The transaction of a batch failed as a whole (its cause is ``__cause__``)."""

    def __init__(self, *, retry: bool) -> None:
        super().__init__("the batch's transaction failed")
        self.retry = retry


async def _run_op(conn: Connection, op: _Op) -> _Outcome:
    """Run one write inside the savepoint ``op``; on failure undo it alone.

    A unique violation means a concurrent transaction (another batch, another process) has
    just committed the same key: the write is undone and run once more, now seeing that row
    (a ``cid`` then returns the original message). Errors that doom the whole transaction (a
    deadlock, a lost connection, a timeout) propagate.
    """
    for attempt in (1, 2):
        try:
            result = await op.run(conn)
        except Exception as exc:
            if isinstance(exc, asyncio.TimeoutError | asyncpg.exceptions.TransactionRollbackError):
                raise
            if _is_connection_loss(exc) or conn.is_closed():
                raise
            await conn.execute("ROLLBACK TO SAVEPOINT op")
            if attempt == 1 and isinstance(exc, asyncpg.UniqueViolationError):
                continue
            return _Outcome(op, error=_op_error(exc))
        return _Outcome(op, result=result)
    raise AssertionError("unreachable")


def _op_error(exc: Exception) -> BaseException:
    """What the caller of a write that failed alone is told."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound(_one_line(exc))
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(_one_line(exc))
    if _is_database_error(exc):
        return _to_caller_error(exc, _plain_unavailable("the write failed", exc))
    return exc  # a bug, which must show as one


def _to_caller_error(exc: Exception, otherwise: Unavailable) -> BaseException:
    """A value the database refuses (U+0000 in a text, an id beyond 64 bits) is the caller's
    error, not an outage: :class:`ValueError`. Anything else: ``otherwise``."""
    original: BaseException = exc  # (isinstance with an untyped class makes ``exc`` Any)
    if isinstance(exc, asyncpg_base.DataError):  # asyncpg could not encode the value
        return original
    if isinstance(exc, asyncpg.exceptions.DataError):  # PostgreSQL refused it (class 22)
        error = ValueError(f"PostgreSQL cannot store this value: {_one_line(exc)}")
        error.__cause__ = exc
        return error
    return otherwise


def _settle(outcomes: list[_Outcome]) -> None:
    for outcome in outcomes:
        future = outcome.op.future
        if future.done():  # its caller was cancelled meanwhile
            continue
        if outcome.error is None:
            future.set_result(outcome.result)
        else:
            future.set_exception(outcome.error)


# -- connections -------------------------------------------------------------------------------


def _is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database or the way to it (rather than from a bug)."""
    return isinstance(
        exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError | asyncio.TimeoutError
    ) or _is_connection_loss(exc)


def _worth_retrying_at_start(exc: BaseException) -> bool:
    """A server that refuses connections or is starting up may accept them in a moment;
    a wrong password or database name will not change."""
    return isinstance(
        exc,
        OSError
        | asyncio.TimeoutError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.TooManyConnectionsError,
    )


class _OneLineWarnings(logging.Filter):
    """Turns a warning with a traceback into one line with the error's message.

    During an outage asyncpg's pool keeps reconnecting in the background to keep ``min_size``
    connections and logs each failure with its traceback; Parley's logs are one event per
    line, and a database that is down is an expected condition, not a bug to trace.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {_one_line(record.exc_info[1])}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


_ONE_LINE_WARNINGS: Final = _OneLineWarnings()


def _quiet_pool_tracebacks() -> None:
    """Install :class:`_OneLineWarnings` on asyncpg's pool logger (once)."""
    pool_log = logging.getLogger("asyncpg.pool")
    if _ONE_LINE_WARNINGS not in pool_log.filters:
        pool_log.addFilter(_ONE_LINE_WARNINGS)


async def _keep_session(conn: Connection) -> None:
    """The pool's reset hook: nothing to reset (see :meth:`PostgresStore._create_pool`)."""


async def _release(pool: _Pool, conn: Connection) -> None:
    """Give a connection back to the pool; the pool replaces it if it is broken.

    A failure here is the connection's, not the work's (which is already done or already
    failed), so it is not raised.
    """
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await pool.release(conn)


def _drop_if_broken(conn: Connection, exc: BaseException) -> None:
    """Close a connection that failed in a way that may leave it unusable (lost, or
    interrupted mid-statement by a timeout), rather than hand it to the next caller: the pool
    replaces it."""
    if not conn.is_closed() and (
        _is_connection_loss(exc) or not isinstance(exc, Exception) or isinstance(exc, TimeoutError)
    ):
        conn.terminate()


async def _abandon(conn: Connection, exc: BaseException) -> None:
    """End a failed transaction: roll it back, or drop the connection if it may be unusable or
    the rollback fails (the server then rolls back by itself)."""
    _drop_if_broken(conn, exc)
    if conn.is_closed():
        return
    try:
        async with asyncio.timeout(1.0):
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
    except (Exception, asyncio.CancelledError):
        conn.terminate()


async def _expire(pool: _Pool) -> None:
    """After finding one connection dead, replace every idle one on its next use: what ended
    one (a server restart, an administrator) has most likely ended them all, and each would
    otherwise cost a caller a failed try."""
    with contextlib.suppress(Exception):
        await pool.expire_connections()


async def _close_pool(pool: _Pool, grace: float) -> None:
    """Close the pool gracefully (its connections end their work), or drop it after ``grace``
    seconds: closing must not hang on a dead server."""
    try:
        async with asyncio.timeout(grace):
            await pool.close()
    except Exception:
        pool.terminate()
    except asyncio.CancelledError:
        pool.terminate()
        raise


def describe_target(url: str) -> str:
    """``host:port`` of a PostgreSQL URL, without user name or password (for messages)."""
    parts = urllib.parse.urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts:  # postgresql:///db?host=...: a host (or a Unix socket folder) in the query
        query = urllib.parse.parse_qs(parts.query)
        host = query.get("host", ["localhost"])[0]
        port = query.get("port", ["5432"])[0]
        return host if host.startswith("/") else f"{host}:{port}"
    if "," in hosts:  # several hosts, each with its own port or none
        return hosts
    if hosts.startswith("["):  # an IPv6 address
        return hosts if "]:" in hosts else f"{hosts}:5432"
    return hosts if ":" in hosts else f"{hosts}:5432"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, asyncpg_base.InternalClientError):  # see _CONNECTION_LOSS
        return "the server closed the connection"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _plain_unavailable(message: str, cause: BaseException) -> Unavailable:
    error = Unavailable(f"{message}: {_one_line(cause)}")
    error.__cause__ = cause
    return error


# -- schema ----------------------------------------------------------------------------------


async def apply_migrations(
    conn: Connection, available: Iterable[migrations.Migration]
) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``, in version order.

    Each runs in its own transaction together with its ``schema_migrations`` row, after
    ``pg_advisory_xact_lock``: a failing one leaves the database as the previous one left it,
    and several processes starting at once apply each exactly once (the second waits for the
    lock, then finds the version recorded). Returns the versions applied. Raises
    :class:`Unavailable` for a database whose schema is newer than this code knows.
    """
    ordered = sorted(available, key=lambda migration: migration.version)
    newest_known = max((m.version for m in ordered), default=0)
    await conn.execute("BEGIN")
    try:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        await conn.execute("COMMIT")
    except BaseException as exc:
        await _abandon(conn, exc)
        raise
    newest = max(done, default=0)
    if newest > newest_known:
        raise Unavailable(
            f"cannot use the database: it has schema version {newest}; this Parley knows up "
            f"to {newest_known}"
        )
    applied: list[int] = []
    for migration in ordered:
        if migration.version not in done and await _apply_one(conn, migration):
            applied.append(migration.version)
    return applied


async def _apply_one(conn: Connection, migration: migrations.Migration) -> bool:
    await conn.execute("BEGIN")
    try:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        found = await conn.fetchval(
            "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
        )
        if found is not None:  # another process applied it while this one waited
            await conn.execute("ROLLBACK")
            return False
        try:
            await conn.execute(migration.sql)  # no arguments: several statements at once
        except asyncpg.PostgresError as exc:
            exc.add_note(f"in migration {migration.name}")
            raise
        await conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            migration.version,
            now_ms(),
        )
        await conn.execute("COMMIT")
    except BaseException as exc:
        await _abandon(conn, exc)
        raise
    return True


async def _ensure_lobby(conn: Connection) -> None:
    await conn.execute(
        "INSERT INTO rooms (name, name_key, kind, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (name_key) DO NOTHING",
        LOBBY,
        _key(LOBBY),
        RoomKind.PUBLIC.value,
        now_ms(),
    )


# -- rows to values ----------------------------------------------------------------------

# The queries name their columns, never ``*``: a later migration adding a column then does not
# invalidate the prepared statements of a process still running the older code. They are
# literal strings throughout, never formatted.


def _key(name: str) -> str:
    """The case-insensitive form of a name, as the SQLite store computes it."""
    return name.lower()


def _user(row: Record) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        is_admin=row["is_admin"],
        disabled=row["disabled"],
        created_at=row["created_at"],
    )


def _room(row: Record) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        kind=RoomKind(row["kind"]),
        topic=row["topic"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
    )


def _event(row: Record, room_name: str) -> Event:
    """An ``events`` row as an :class:`Event`; a message's row holds its current state."""
    kind = EventKind(row["kind"])
    return Event(
        room=room_name,
        room_id=row["room_id"],
        seq=row["seq"],
        kind=kind,
        user=row["author"],
        user_id=row["user_id"],
        ts=row["ts"],
        mid=row["id"] if kind is EventKind.MESSAGE else row["mid"],
        text=row["text"],
        edited=row["edited"],
        deleted=row["deleted"],
        by=row["invited_by"],
        cid=row["cid"],
    )


# -- users and sessions --------------------------------------------------------------------


async def _user_by_name(conn: Connection, name: str) -> User | None:
    row = await conn.fetchrow(
        "SELECT id, name, password_hash, is_admin, disabled, created_at"
        " FROM users WHERE name_key = $1",
        _key(name),
    )
    return None if row is None else _user(row)


async def _user_by_id(conn: Connection, user_id: int) -> User | None:
    row = await conn.fetchrow(
        "SELECT id, name, password_hash, is_admin, disabled, created_at FROM users WHERE id = $1",
        user_id,
    )
    return None if row is None else _user(row)


async def _require_user(conn: Connection, user_id: int) -> User:
    user = await _user_by_id(conn, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def _list_users(conn: Connection) -> list[User]:
    return [
        _user(row)
        for row in await conn.fetch(
            "SELECT id, name, password_hash, is_admin, disabled, created_at FROM users ORDER BY id"
        )
    ]


async def _no_user_yet(conn: Connection) -> bool:
    """Whether no account exists, decided once across every transaction and process.

    While there is none, the answer is taken under a transaction-level advisory lock, and
    asked again once it is held: a concurrent creator of the first account commits (and
    releases the lock) before this one looks, and its account is then seen.
    """
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)"):
        return False
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _FIRST_USER_LOCK)
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users)")


async def _create_user(conn: Connection, name: str, password_hash: str, admin: bool | None) -> User:
    if admin is None:  # the first account is the admin; decided inside the write transaction
        admin = await _no_user_yet(conn)
    row = await conn.fetchrow(
        "INSERT INTO users (name, name_key, password_hash, is_admin, created_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name_key) DO NOTHING"
        " RETURNING id, name, password_hash, is_admin, disabled, created_at",
        name,
        _key(name),
        password_hash,
        admin,
        now_ms(),
    )
    if row is None:
        raise Conflict(f"the user name {name!r} is taken")
    return _user(row)


async def _set_password(conn: Connection, user_id: int, password_hash: str) -> None:
    found = await conn.fetchval(
        "UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING id", password_hash, user_id
    )
    if found is None:
        raise NotFound(f"no user {user_id}")


async def _set_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    found = await conn.fetchval(
        "UPDATE users SET disabled = $1 WHERE id = $2 RETURNING id", disabled, user_id
    )
    if found is None:
        raise NotFound(f"no user {user_id}")


async def _create_session(
    conn: Connection, user_id: int, token_hash: str, expires_at: int
) -> Session:
    user = await _require_user(conn, user_id)
    created_at = await conn.fetchval(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING RETURNING created_at",
        token_hash,
        user_id,
        now_ms(),
        expires_at,
    )
    if created_at is None:
        raise Conflict("a session with this token hash exists")
    return Session(token_hash, user, created_at, expires_at)


async def _live_session(conn: Connection, token_hash: str, now: int) -> Session | None:
    row = await conn.fetchrow(
        "SELECT s.token_hash, s.created_at AS session_created_at, s.expires_at,"
        " u.id, u.name, u.password_hash, u.is_admin, u.disabled, u.created_at"
        " FROM sessions AS s JOIN users AS u ON u.id = s.user_id"
        " WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
        token_hash,
        now,
    )
    if row is None:
        return None
    return Session(row["token_hash"], _user(row), row["session_created_at"], row["expires_at"])


async def _delete_session(conn: Connection, token_hash: str) -> bool:
    found = await conn.fetchval(
        "DELETE FROM sessions WHERE token_hash = $1 RETURNING 1", token_hash
    )
    return found is not None


async def _delete_sessions_of(conn: Connection, user_id: int) -> list[str]:
    rows = await conn.fetch("DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash", user_id)
    return sorted(row["token_hash"] for row in rows)


# -- rooms ---------------------------------------------------------------------------------


async def _room_by_name(conn: Connection, name: str) -> Room | None:
    row = await conn.fetchrow(
        "SELECT id, name, kind, topic, created_at, last_seq FROM rooms WHERE name_key = $1",
        _key(name),
    )
    return None if row is None else _room(row)


async def _room_by_id(conn: Connection, room_id: int) -> Room | None:
    row = await conn.fetchrow(
        "SELECT id, name, kind, topic, created_at, last_seq FROM rooms WHERE id = $1", room_id
    )
    return None if row is None else _room(row)


async def _require_room(conn: Connection, room_id: int) -> Room:
    room = await _room_by_id(conn, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}")
    return room


async def _lock_room(conn: Connection, room_id: int) -> Room | None:
    """The room, its row locked until the transaction ends (as appending to it would lock it):
    what the caller checks next cannot change under it, in any process."""
    row = await conn.fetchrow(
        "SELECT id, name, kind, topic, created_at, last_seq"
        " FROM rooms WHERE id = $1 FOR NO KEY UPDATE",
        room_id,
    )
    return None if row is None else _room(row)


async def _insert_room(conn: Connection, name: str, kind: RoomKind, topic: str) -> int | None:
    """The new room's id; None if the name is taken (a concurrent creator's commit included:
    ``ON CONFLICT`` waits for it)."""
    room_id: int | None = await conn.fetchval(
        "INSERT INTO rooms (name, name_key, kind, topic, created_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (name_key) DO NOTHING RETURNING id",
        name,
        _key(name),
        kind.value,
        topic,
        now_ms(),
    )
    return room_id


async def _create_room(
    conn: Connection, name: str, kind: RoomKind, creator_id: int | None, topic: str
) -> tuple[Room, list[Event]]:
    creator = None if creator_id is None else await _require_user(conn, creator_id)
    room_id = await _insert_room(conn, name, kind, topic)
    if room_id is None:
        raise Conflict(f"the room name {name!r} is taken")
    events = [] if creator is None else [await _add_member(conn, room_id, creator.id, creator.name)]
    return await _require_room(conn, room_id), events


async def _open_direct(conn: Connection, user_id: int, other_id: int) -> tuple[Room, list[Event]]:
    if user_id == other_id:
        raise Forbidden("a direct room is between two different users")
    users = (await _require_user(conn, user_id), await _require_user(conn, other_id))
    name = direct_room_name(users[0].name, users[1].name)
    room_id = None
    existing = await _room_by_name(conn, name)
    if existing is None:
        room_id = await _insert_room(conn, name, RoomKind.DIRECT, "")
        if room_id is None:  # opened meanwhile by another transaction, now committed
            existing = await _room_by_name(conn, name)
    if room_id is None:
        if existing is None or existing.kind is not RoomKind.DIRECT:
            raise Conflict(f"the room name {name!r} is taken")
        return existing, []
    events = [await _add_member(conn, room_id, user.id, user.name) for user in users]
    return await _require_room(conn, room_id), events


async def _is_member(conn: Connection, room_id: int, user_id: int) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2", room_id, user_id
    )
    return found is not None


async def _room_members(conn: Connection, room_id: int) -> list[tuple[int, str]]:
    rows = await conn.fetch(
        "SELECT u.id, u.name FROM memberships AS m JOIN users AS u ON u.id = m.user_id"
        " WHERE m.room_id = $1 ORDER BY u.name_key, u.name",
        room_id,
    )
    return [(row["id"], row["name"]) for row in rows]


async def _unread_of_member(conn: Connection, room_id: int, user_id: int) -> int:
    # Messages by others, not deleted, after the member's read marker: spelled like the
    # partial index events_live_messages, so PostgreSQL counts on the index (as in rooms_for).
    count: int | None = await conn.fetchval(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM events AS e"
        "  WHERE e.room_id = m.room_id AND e.seq > m.last_read_seq"
        "  AND e.kind = 'message' AND NOT e.deleted"
        "  AND (e.user_id IS NULL OR e.user_id <> m.user_id) LIMIT $3) AS capped)"
        " FROM memberships AS m WHERE m.room_id = $1 AND m.user_id = $2",
        room_id,
        user_id,
        UNREAD_CAP,
    )
    return count or 0


async def _rooms_for(conn: Connection, user_id: int) -> list[RoomView]:
    # One statement, so one snapshot: the unread counts and members agree with the rooms.
    rows = await conn.fetch(
        "SELECT r.id, r.name, r.kind, r.topic, r.created_at, r.last_seq,"
        " m.user_id IS NOT NULL AS member,"
        " COALESCE(m.last_read_seq, 0) AS last_read_seq,"
        " CASE WHEN m.user_id IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM (SELECT 1 FROM events AS e"
        "   WHERE e.room_id = m.room_id AND e.seq > m.last_read_seq"
        "   AND e.kind = 'message' AND NOT e.deleted"
        "   AND (e.user_id IS NULL OR e.user_id <> m.user_id) LIMIT $2) AS capped)"
        " END AS unread,"
        " CASE WHEN r.kind = 'direct' THEN ARRAY("
        "   SELECT u.name FROM memberships AS dm JOIN users AS u ON u.id = dm.user_id"
        "   WHERE dm.room_id = r.id ORDER BY u.name_key, u.name"
        " ) END AS members"
        " FROM rooms AS r LEFT JOIN memberships AS m ON m.room_id = r.id AND m.user_id = $1"
        " WHERE r.kind = 'public' OR m.user_id IS NOT NULL"
        " ORDER BY r.name_key, r.name",
        user_id,
        UNREAD_CAP,
    )
    return [
        RoomView(
            room=_room(row),
            member=row["member"],
            last_read_seq=row["last_read_seq"],
            unread=row["unread"],
            members=tuple(row["members"] or ()),
        )
        for row in rows
    ]


# -- events --------------------------------------------------------------------------------


async def _append(
    conn: Connection,
    room_id: int,
    kind: EventKind,
    *,
    user_id: int | None,
    author: str,
    mid: int | None = None,
    text: str | None = None,
    invited_by: str | None = None,
    cid: str | None = None,
) -> Event:
    """Insert the room's next event. Raises :class:`NotFound` for an unknown room.

    One statement: the counter's ``UPDATE`` (which locks the room's row until the transaction
    ends) and the ``INSERT`` that uses it.
    """
    row = await conn.fetchrow(
        "WITH counter AS ("
        " UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING id, last_seq, name)"
        " INSERT INTO events"
        " (room_id, seq, kind, user_id, author, ts, mid, text, invited_by, cid)"
        " SELECT id, last_seq, $2::text, $3::bigint, $4::text, $5::bigint, $6::bigint,"
        " $7::text, $8::text, $9::text FROM counter"
        " RETURNING id, room_id, seq, kind, user_id, author, ts, mid, text, edited, deleted,"
        " invited_by, cid,"
        " (SELECT name FROM counter) AS room_name",
        room_id,
        kind.value,
        user_id,
        author,
        now_ms(),
        mid,
        text,
        invited_by,
        cid,
    )
    if row is None:
        raise NotFound(f"no room {room_id}")
    return _event(row, row["room_name"])


async def _add_member(
    conn: Connection, room_id: int, user_id: int, author: str, by: str | None = None
) -> Event:
    """Append the join event and insert the membership, whose read marker starts there: a
    new member has read nothing *new*; what was said before they came is history."""
    event = await _append(
        conn, room_id, EventKind.JOIN, user_id=user_id, author=author, invited_by=by
    )
    await conn.execute(
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_seq)"
        " VALUES ($1, $2, $3, $4)",
        room_id,
        user_id,
        now_ms(),
        event.seq,
    )
    return event


async def _join(
    conn: Connection, room_id: int, user_id: int, author: str, by: str | None
) -> Event | None:
    if await _lock_room(conn, room_id) is None:
        raise NotFound(f"no room {room_id}")
    await _require_user(conn, user_id)
    if await _is_member(conn, room_id, user_id):
        return None
    return await _add_member(conn, room_id, user_id, author, by)


async def _leave(conn: Connection, room_id: int, user_id: int, author: str) -> Event | None:
    if await _lock_room(conn, room_id) is None:
        return None  # no room, no membership
    found = await conn.fetchval(
        "DELETE FROM memberships WHERE room_id = $1 AND user_id = $2 RETURNING 1",
        room_id,
        user_id,
    )
    if found is None:
        return None
    return await _append(conn, room_id, EventKind.LEAVE, user_id=user_id, author=author)


async def _set_topic(
    conn: Connection, room_id: int, user_id: int, author: str, topic: str
) -> Event:
    await _require_user(conn, user_id)
    event = await _append(
        conn, room_id, EventKind.TOPIC, user_id=user_id, author=author, text=topic
    )
    await conn.execute("UPDATE rooms SET topic = $1 WHERE id = $2", topic, room_id)
    return event


async def _mark_read(conn: Connection, room_id: int, user_id: int, seq: int) -> int:
    # The room's row is locked first, as every write to a room's rows does (see _Op).
    marker: int | None = await conn.fetchval(
        "WITH room AS (SELECT id, last_seq FROM rooms WHERE id = $1 FOR NO KEY UPDATE)"
        " UPDATE memberships AS m"
        " SET last_read_seq = GREATEST(m.last_read_seq, LEAST($3::bigint, room.last_seq))"
        " FROM room WHERE m.room_id = room.id AND m.user_id = $2"
        " RETURNING m.last_read_seq",
        room_id,
        user_id,
        seq,
    )
    return marker or 0


async def _post_message(
    conn: Connection,
    room_id: int,
    user_id: int | None,
    author: str,
    text: str,
    cid: str | None,
) -> Appended:
    if user_id is None:
        cid = None  # guests have no cid scope
    else:
        await _require_user(conn, user_id)
    if cid is not None:
        original = await _message_by_cid(conn, user_id, cid)
        if original is not None:
            return Appended(original, duplicate=True)
    event = await _append(
        conn, room_id, EventKind.MESSAGE, user_id=user_id, author=author, text=text, cid=cid
    )
    return Appended(event, duplicate=False)


async def _message_by_cid(conn: Connection, user_id: int | None, cid: str) -> Event | None:
    row = await conn.fetchrow(
        "SELECT e.id, e.room_id, e.seq, e.kind, e.user_id, e.author, e.ts, e.mid, e.text, e.edited,"
        " e.deleted, e.invited_by, e.cid, r.name AS room_name"
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.user_id = $1 AND e.cid = $2 AND e.kind = 'message'",
        user_id,
        cid,
    )
    return None if row is None else _event(row, row["room_name"])


async def _check_may_change(
    conn: Connection, room_id: int, user_id: int, mid: int, any_author: bool
) -> None:
    """Raise unless ``user_id`` may edit or delete message ``mid`` of the room.

    The room's row is locked first: no other transaction can delete or change the message
    between this check and the change.
    """
    if await _lock_room(conn, room_id) is None:
        raise NotFound(f"no room {room_id}")
    await _require_user(conn, user_id)
    row = await conn.fetchrow(
        "SELECT user_id, deleted FROM events WHERE id = $1 AND room_id = $2 AND kind = 'message'",
        mid,
        room_id,
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    if row["user_id"] != user_id and not any_author:
        raise Forbidden("only its author may change this message")


async def _edit_message(
    conn: Connection,
    room_id: int,
    user_id: int,
    author: str,
    mid: int,
    text: str,
    any_author: bool,
) -> Event:
    await _check_may_change(conn, room_id, user_id, mid, any_author)
    event = await _append(
        conn, room_id, EventKind.EDIT, user_id=user_id, author=author, mid=mid, text=text
    )
    await conn.execute("UPDATE events SET text = $1, edited = TRUE WHERE id = $2", text, mid)
    return event


async def _delete_message(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, any_author: bool
) -> Event:
    await _check_may_change(conn, room_id, user_id, mid, any_author)
    event = await _append(conn, room_id, EventKind.DELETE, user_id=user_id, author=author, mid=mid)
    # The text is removed from the database, not just hidden: from the message and its edits.
    await conn.execute(
        "UPDATE events SET text = '', deleted = (id = $1)"
        " WHERE id = $1 OR (mid = $1 AND kind = 'edit')",
        mid,
    )
    return event


async def _events_after(conn: Connection, room_id: int, after: int, limit: int) -> list[Event]:
    if limit <= 0:
        return []
    rows = await conn.fetch(
        "SELECT e.id, e.room_id, e.seq, e.kind, e.user_id, e.author, e.ts, e.mid, e.text, e.edited,"
        " e.deleted, e.invited_by, e.cid, r.name AS room_name"
        " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.room_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
        room_id,
        after,
        limit,
    )
    return [_event(row, row["room_name"]) for row in rows]


async def _events_before(
    conn: Connection, room_id: int, before: int | None, limit: int
) -> list[Event]:
    if limit <= 0:
        return []
    # Two statements rather than one with an optional bound, so that each pages backwards
    # along the (room_id, seq) index from where the page starts.
    if before is None:
        rows = await conn.fetch(
            "SELECT e.id, e.room_id, e.seq, e.kind, e.user_id, e.author, e.ts, e.mid, e.text,"
            " e.edited, e.deleted, e.invited_by, e.cid, r.name AS room_name"
            " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
            " WHERE e.room_id = $1 ORDER BY e.seq DESC LIMIT $2",
            room_id,
            limit,
        )
    else:
        rows = await conn.fetch(
            "SELECT e.id, e.room_id, e.seq, e.kind, e.user_id, e.author, e.ts, e.mid, e.text,"
            " e.edited, e.deleted, e.invited_by, e.cid, r.name AS room_name"
            " FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
            " WHERE e.room_id = $1 AND e.seq < $2 ORDER BY e.seq DESC LIMIT $3",
            room_id,
            before,
            limit,
        )
    return [_event(row, row["room_name"]) for row in reversed(rows)]


__all__ = ["MIGRATIONS", "PostgresStats", "PostgresStore", "apply_migrations", "describe_target"]
