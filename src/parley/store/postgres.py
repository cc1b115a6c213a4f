"""The PostgreSQL store: for several Parley processes sharing one database.

The operations (row locks, names taken with ``ON CONFLICT``, gap-free counters) and the group
commit are :mod:`parley.store.sql`'s; this module keeps what only PostgreSQL has:

* **Writer tasks and a pool.** Each of ``writers`` tasks takes a batch of the writes queued
  for it and commits it (:mod:`parley.store.sql.batch`, which says why batches beat
  per-operation transactions here too) on a pooled connection; reads use the other
  connections. Two writers by default: on this CPU-bound host one and two were alike, but
  with the database across a network one batch's round trips and commit overlap the other's
  execution, and batches of different rooms proceed side by side. Each batch runs its writes
  in lock order, so concurrent batches never wait for each other in a cycle.
* **One room, one batch at a time.** The writers take their batches from one
  :class:`~parley.store.sql.write_queue.WriteQueue`, which gives a writer only the writes of
  rooms no other writer's batch holds: a batch that waits for a pooled connection or a lock,
  or runs again after a lost connection, is never overtaken by a later batch of its room, so
  a connection's sends to a room commit in the order it sent them; a free writer takes any
  other room's writes meanwhile (that module says why not a queue per writer).
* **Races between processes end as SQLite's single writer would end them**: a write that
  violates a unique key a concurrent transaction has just committed (a ``cid`` posted twice at
  once) runs once more in its savepoint and finds the original; a deadlock victim's batch
  (another program's transactions, say) runs again whole.
* **Unavailable, never a hang, never a false success.** Every read and every write
  transaction is bounded by ``timeout`` (pool acquisition included) and every statement by
  ``command_timeout``; connection errors, timeouts and server errors become
  :class:`Unavailable`. A read, or a batch whose ``COMMIT`` was not sent, is tried once more
  on a fresh connection when its connection turns out to be dead (the pool reconnects by
  itself), so one restart or terminated backend costs at most one failed call. One case no
  client of a database server can decide: the connection lost *during* ``COMMIT``. The batch
  then gets :class:`Unavailable` although it may have committed; a client retrying a message
  with its ``cid`` gets the original back, so nothing is stored twice.
* **Migrations** (``migrations/postgres/``) run under ``pg_advisory_xact_lock``: several
  processes starting at once apply each file exactly once.

A PostgreSQL ``TEXT`` cannot hold the character U+0000, which SQLite stores: a write with it
raises :class:`ValueError` (the caller's input, not an outage; it fails alone in its batch).
The URL is asyncpg's: ``postgresql://user:password@host:port/database``; other query
parameters are server settings (``?search_path=parley`` puts the tables in that schema).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
import asyncpg.exceptions._base as asyncpg_base  # type: ignore[import-untyped]

from parley.store import migrations
from parley.store.base import Conflict, NotFound, StoreError, Unavailable
from parley.store.sql import migrate
from parley.store.sql.batch import GroupCommit, Op
from parley.store.sql.engine import Connection, Engine, Row
from parley.store.sql.store import Query, Reader, SQLStore
from parley.store.sql.write_queue import WriteQueue

T = TypeVar("T")

#: The package holding the PostgreSQL migration files.
MIGRATIONS: Final = "parley.store.migrations.postgres"


#: An ``asyncpg.Connection`` (or a pool's proxy of one). asyncpg has no type information;
#: :class:`PostgresConnection` is the narrow view of it the store uses.
_Raw = Any


class _Pool(Protocol):
    async def acquire(self) -> _Raw: ...

    async def release(self, connection: _Raw) -> None: ...

    async def close(self) -> None: ...

    def terminate(self) -> None: ...

    async def expire_connections(self) -> None: ...


# -- the dialect ---------------------------------------------------------------------------

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


class PostgresEngine(Engine):
    """PostgreSQL's dialect: several writers, so rows are locked and batches ordered."""

    begin = "BEGIN"
    # NO KEY UPDATE: the lock an UPDATE of the row takes, which does not block the foreign
    # keys of concurrent inserts (events, memberships) referencing the row.
    row_lock = " FOR NO KEY UPDATE"
    transaction_lock = "SELECT pg_advisory_xact_lock(?)"
    writable_cte = True
    orders_batches = True
    text_search = "tsvector"

    columns_query = (
        "SELECT column_name::text, data_type::text, is_generated <> 'NEVER'"
        " FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
    )
    # The ids are GENERATED ALWAYS: a row may bring its own only when the insert says so.
    given_ids = " OVERRIDING SYSTEM VALUE"

    def __init__(self, target: str) -> None:
        self.target = target

    def row_lock_of(self, alias: str) -> str:
        return f"{self.row_lock} OF {alias}"

    def resync_ids(self, table: str) -> str | None:
        # The identity's sequence does not see ids given explicitly: move it past them.
        return (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
            f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )

    def names_array(self, select: str) -> str:
        return f"ARRAY({select})"

    def names(self, value: Any) -> tuple[str, ...]:
        return tuple(value or ())

    def statements(self, script: str) -> list[str]:
        return [script]  # one simple-protocol round trip runs several statements

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(
            exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError | TimeoutError
        ) or _is_connection_loss(exc)

    def dooms_transaction(self, exc: BaseException) -> bool:
        return isinstance(
            exc, TimeoutError | asyncpg.exceptions.TransactionRollbackError
        ) or _is_connection_loss(exc)

    def worth_running_again(self, exc: BaseException) -> bool:
        return isinstance(exc, asyncpg.UniqueViolationError)

    def worth_retrying_batch(self, exc: BaseException, *, commit_sent: bool) -> bool:
        # A deadlock victim, or a connection lost before the COMMIT: nothing was committed.
        return isinstance(exc, asyncpg.exceptions.TransactionRollbackError) or (
            _is_connection_loss(exc) and not commit_sent
        )

    def op_error(self, exc: Exception) -> BaseException:
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            return NotFound(_one_line(exc))
        if isinstance(exc, asyncpg.UniqueViolationError):
            return Conflict(_one_line(exc))
        if self.is_database_error(exc):
            plain = Unavailable(f"the write failed: {_one_line(exc)}")
            plain.__cause__ = exc
            return _to_caller_error(exc, plain)
        return exc  # a bug, which must show as one

    def unavailable(self, cause: BaseException, *, reading: bool = False) -> Unavailable:
        return self.cannot("cannot read from" if reading else "cannot write to", cause)

    def cannot(self, what: str, cause: BaseException) -> Unavailable:
        """:class:`Unavailable` on one line, naming the server but no password."""
        error = Unavailable(f"{what} PostgreSQL at {self.target}: {_one_line(cause)}")
        error.__cause__ = cause
        return error


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


#: A string literal, a quoted name, or a placeholder (see :func:`_numbered`).
_QUESTION_MARKS: Final = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?")


@functools.cache
def _numbered(sql: str) -> str:
    """``sql`` with its ``?`` placeholders numbered as PostgreSQL wants them (``$1`` ...);
    those inside quotes are text. Cached: the store's statements are a fixed set."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _QUESTION_MARKS.sub(number, sql)


class PostgresConnection:
    """An asyncpg connection as :class:`~parley.store.sql.engine.Connection`: the only way the
    store's statements reach asyncpg."""

    __slots__ = ("engine", "raw")

    def __init__(self, raw: _Raw, engine: PostgresEngine) -> None:
        self.raw = raw
        self.engine = engine

    async def execute(self, sql: str, *args: object) -> None:
        await self.raw.execute(_numbered(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self.raw.executemany(_numbered(sql), rows)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        rows: list[Row] = await self.raw.fetch(_numbered(sql), *args)
        return rows

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self.raw.fetchrow(_numbered(sql), *args)
        return row

    async def fetchval(self, sql: str, *args: object) -> Any:
        return await self.raw.fetchval(_numbered(sql), *args)

    async def script(self, *statements: str) -> None:
        await self.raw.execute("; ".join(statements))  # no arguments: one round trip

    def in_transaction(self) -> bool:
        return not _is_closed(self.raw) and self.raw.is_in_transaction()

    async def abandon(self, exc: BaseException) -> None:
        _drop_if_broken(self.raw, exc)
        await _roll_back(self.raw)


# -- the store -------------------------------------------------------------------------------


class PostgresStore(SQLStore):
    """The :class:`Store` on a PostgreSQL database (see the module docstring for how it works).

    ``min_size`` and ``max_size`` bound the connection pool; ``writers`` of its connections at
    most are busy with write batches (by default two, or one for a pool of one: one batch
    executes while another room's commits; one room's batches never overlap), the rest
    serve reads. ``max_batch`` bounds how many
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
        self._engine = PostgresEngine(describe_target(url))
        self._min_size = min_size
        self._max_size = max_size
        self._max_batch = max_batch
        self._command_timeout = command_timeout
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._start_retry = start_retry
        self._application_name = application_name
        super().__init__()
        self._writer_count = writers
        self._writes = WriteQueue()  # see "One room, one batch at a time" above
        self._pool: _Pool | None = None
        self._writers: list[asyncio.Task[None]] = []

    @property
    def target(self) -> str:
        """``host:port`` of the server (the URL without user or password), for messages."""
        return self._engine.target

    @property
    def application_name(self) -> str:
        """How this store's connections show in ``pg_stat_activity`` (unless the URL says)."""
        return self._application_name

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._starting()
        _quiet_pool_tracebacks()
        pool = await self._create_pool()
        try:
            async with self._connection(pool) as conn:
                await migrate.prepare(conn, migrations.load(MIGRATIONS))
        except BaseException as exc:
            await _close_pool(pool, self._timeout)
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, Exception) and self._engine.is_database_error(exc):
                raise self._engine.cannot("cannot prepare the database on", exc) from exc
            raise
        if self._closed:  # closed while starting
            await _close_pool(pool, self._timeout)
            raise Unavailable("the store is closed")
        self._pool = pool
        commit = GroupCommit(
            self, self._engine, self.stats, lambda: self._connection(pool), self._max_batch
        )
        self._writers = [
            asyncio.create_task(commit.serve(self._writes), name=f"parley-store-writer-{i}")
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
                if not self._engine.is_database_error(exc):
                    raise
                remaining = deadline - time.monotonic()
                if not _worth_retrying_at_start(exc) or remaining <= 0:
                    raise self._engine.cannot("cannot connect to", exc) from exc
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
        self._writes.close()  # the writers stop after every write already queued
        if self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            await _close_pool(pool, self._timeout)

    # -- writes and reads ----------------------------------------------------------------

    @property
    def write_queue_depth(self) -> int:
        return self._writes.qsize()

    def _submit(self, op: Op) -> None:
        self._usable(self._pool)
        self._writes.put(op)

    async def _read(self, query: Query[T]) -> T:
        """Run ``query`` (one statement: one snapshot) on a pooled connection."""
        pool = self._usable(self._pool)
        for attempt in (1, 2):
            try:
                async with self._connection(pool) as conn:
                    return await query(conn)
            except Exception as exc:
                if not self._engine.is_database_error(exc):
                    raise
                if attempt == 1 and _is_connection_loss(exc) and not self._closed:
                    self.stats.retried_reads += 1
                    continue
                error = _to_caller_error(exc, self._engine.unavailable(exc, reading=True))
                if error is exc:
                    raise
                raise error from exc
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Reader]:
        """A pooled connection held for the whole snapshot: ``timeout`` bounds getting it, and
        ``command_timeout`` each statement, not the transaction (an export lasts minutes)."""
        pool = self._usable(self._pool)
        engine = self._engine
        try:
            async with asyncio.timeout(self._timeout):
                raw = await pool.acquire()
        except Exception as exc:
            if not engine.is_database_error(exc):
                raise
            raise engine.unavailable(exc, reading=True) from exc
        conn = PostgresConnection(raw, engine)
        failed: list[BaseException] = []  # a statement's failure: is the connection usable?

        async def read(query: Query[T]) -> T:
            try:
                return await query(conn)
            except BaseException as exc:
                failed.append(exc)
                if not isinstance(exc, Exception) or not engine.is_database_error(exc):
                    raise
                raise engine.unavailable(exc, reading=True) from exc

        try:
            await read(lambda c: c.script(*engine.snapshot_begin))
            yield read
        finally:
            # Not the caller's failure (its output's OSError is no lost connection): a
            # statement's decides whether the connection is dropped.
            if failed:
                _drop_if_broken(raw, failed[-1])
            await _roll_back(raw)
            await _release(pool, raw)

    @contextlib.asynccontextmanager
    async def _connection(self, pool: _Pool) -> AsyncIterator[Connection]:
        """A pooled connection for one read or write transaction, within ``timeout``.

        A connection that failed in a way that may leave it unusable is dropped rather than
        handed to the next caller; after finding one connection dead, every idle one is
        replaced on its next use: what ended one (a server restart, an administrator) has most
        likely ended them all, and each would otherwise cost a caller a failed try.
        """
        try:
            async with asyncio.timeout(self._timeout):
                raw = await pool.acquire()
                try:
                    yield PostgresConnection(raw, self._engine)
                except BaseException as exc:
                    _drop_if_broken(raw, exc)
                    raise
                finally:
                    await _release(pool, raw)
        except Exception as exc:
            if _is_connection_loss(exc):
                with contextlib.suppress(Exception):
                    await pool.expire_connections()
            raise


# -- connections -------------------------------------------------------------------------------


def _worth_retrying_at_start(exc: BaseException) -> bool:
    """A server that refuses connections or is starting up may accept them in a moment;
    a wrong password or database name will not change."""
    return isinstance(
        exc,
        OSError
        | TimeoutError
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


async def _keep_session(conn: _Raw) -> None:
    """The pool's reset hook: nothing to reset (see :meth:`PostgresStore._create_pool`)."""


async def _release(pool: _Pool, conn: _Raw) -> None:
    """Give a connection back to the pool; the pool replaces it if it is broken.

    A failure here is the connection's, not the work's (which is already done or already
    failed), so it is not raised.
    """
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await pool.release(conn)


async def _roll_back(conn: _Raw) -> None:
    """End the connection's transaction without committing it (an abandoned write, a
    read-only snapshot), or drop the connection that cannot within a second (the server then
    rolls back by itself); a connection already dropped (a pool's proxy then refuses every
    call) is left alone."""
    try:
        async with asyncio.timeout(1.0):
            if not _is_closed(conn) and conn.is_in_transaction():
                await conn.execute("ROLLBACK")
    except (Exception, asyncio.CancelledError):
        with contextlib.suppress(Exception):
            conn.terminate()


def _is_closed(conn: _Raw) -> bool:
    """Whether ``conn`` is closed. A pool's connection that was dropped (``terminate``) is
    released at once, and its proxy then refuses every call, ``is_closed`` included, with an
    ``InterfaceError`` that would take the place of the error being handled (a cancellation
    among them): such a connection is closed."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


def _drop_if_broken(conn: _Raw, exc: BaseException) -> None:
    """Close a connection that failed in a way that may leave it unusable (lost, or
    interrupted mid-statement by a timeout), rather than hand it to the next caller: the pool
    replaces it."""
    if not _is_closed(conn) and (
        _is_connection_loss(exc) or not isinstance(exc, Exception) or isinstance(exc, TimeoutError)
    ):
        conn.terminate()


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


__all__ = [
    "MIGRATIONS",
    "PostgresConnection",
    "PostgresEngine",
    "PostgresStore",
    "describe_target",
]
