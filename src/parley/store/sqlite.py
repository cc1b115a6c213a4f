"""The SQLite store: Parley's default backend, one database file and no server to run.

The operations and the group commit are :mod:`parley.store.sql`'s; this module keeps what only
SQLite has:

* **One writer thread** owns the only write connection and the queue of writes, and drives
  the group commit (:mod:`parley.store.sql.batch`) itself: SQLite's calls are synchronous, so
  an operation's coroutine never suspends and :func:`~parley.store.sql.engine.run_sync` runs
  it to the end without an event loop. ``BEGIN IMMEDIATE`` takes the database's write lock:
  this process's writes need no other lock, and several processes writing to the same file
  take turns (each waits up to ``busy_timeout``), the counters in the file keeping every room
  gap-free. A batch's results reach the event loop in one ``call_soon_threadsafe``.
* **Durable acks.** WAL journal mode with ``synchronous=FULL`` (the default): a write call
  returns after its commit is in the WAL *and* fsynced, so it survives a crash of the process
  and of the operating system.
* **Readers never wait for the writer.** Reads run on a small pool of threads, each with its
  own read-only connection; WAL lets them read the last committed state while the writer
  writes. Each read is one read transaction (one snapshot).

The database must be a file: ``":memory:"`` is refused, because every connection to it would
get its own empty database (the writer's and the readers' would differ).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

from parley.store import migrations
from parley.store.base import Unavailable
from parley.store.sql import migrate
from parley.store.sql.batch import GroupCommit, Op
from parley.store.sql.engine import Engine, Row, run_sync
from parley.store.sql.indexer import Indexer
from parley.store.sql.store import Query, Reader, SQLStore

T = TypeVar("T")

#: ``PRAGMA synchronous`` takes no parameter, so the value is looked up here, never formatted.
_SYNCHRONOUS: Final = {"off": 0, "normal": 1, "full": 2, "extra": 3}


class SQLiteEngine(Engine):
    """SQLite's dialect. One writer excludes all others, so nothing is locked row by row, and
    a multi-row insert takes consecutive ids (``bulk_posts``)."""

    begin = "BEGIN IMMEDIATE"
    bulk_posts = True
    deferred_index = True

    # hidden: 0 for an ordinary column, 2 or 3 for a generated one (1: a virtual table's).
    columns_query = "SELECT name, type, hidden <> 0 FROM pragma_table_xinfo(?) ORDER BY cid"
    # A deferred transaction: in WAL mode a reader's snapshot is the database at its first
    # read (here, of the schema), kept until the transaction ends; it never blocks the writer.
    snapshot_begin = ("BEGIN DEFERRED", "SELECT COUNT(*) FROM sqlite_master")

    def names_array(self, select: str) -> str:
        return f"(SELECT json_group_array(name) FROM ({select}))"  # noqa: S608

    def names(self, value: Any) -> tuple[str, ...]:
        # Sorted here as the subquery's ORDER BY says (name_key, then name; SQLite compares
        # text by code point, as Python does): SQLite does not promise that an aggregate
        # sees the rows of a subquery in its order.
        names: list[str] = json.loads(value) if value else []
        return tuple(sorted(names, key=lambda name: (name.lower(), name)))

    def statements(self, script: str) -> list[str]:
        return split_statements(script)

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)

    def is_constraint_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    def op_error(self, exc: Exception) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            return self.unavailable(exc)
        return exc  # a StoreError for the caller's mistake, or a bug that must show as one

    def unavailable(self, cause: BaseException, *, reading: bool = False) -> Unavailable:
        what = "cannot read the database" if reading else "the write failed"
        error = Unavailable(f"{what}: {cause}")
        error.__cause__ = cause
        return error


ENGINE: Final = SQLiteEngine()


class SQLiteConnection:
    """A ``sqlite3`` connection as :class:`~parley.store.sql.engine.Connection`: each call
    runs at once, so the coroutines calling it never suspend."""

    __slots__ = ("raw",)

    engine: Final = ENGINE

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, *args: object) -> None:
        self.raw.execute(sql, args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.raw.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return self.raw.execute(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        rows = self.raw.execute(sql, args).fetchall()  # all: the statement is finished
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: object) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def script(self, *statements: str) -> None:
        for statement in statements:
            self.raw.execute(statement)

    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    async def abandon(self, exc: BaseException) -> None:
        if self.raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.raw.execute("ROLLBACK")


class SQLiteStore(SQLStore):
    """The :class:`Store` on one SQLite file (see the module docstring for how it works).

    ``synchronous`` is SQLite's ``PRAGMA synchronous`` (``off``, ``normal``, ``full`` or
    ``extra``): ``full`` makes every acknowledged write survive a power loss; ``normal`` keeps
    the database consistent but may lose the last commits on a power loss. ``max_batch``
    bounds how many writes share one transaction, ``readers`` is the number of read threads
    and connections, and ``busy_timeout`` (seconds) how long a connection waits for another
    process's lock on the file before giving up with :class:`Unavailable`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "full",
        max_batch: int = 256,
        readers: int = 2,
        busy_timeout: float = 5.0,
    ) -> None:
        if str(path) in ("", ":memory:"):
            raise ValueError("SQLiteStore needs a database file, not an in-memory database")
        if synchronous.lower() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}")
        if max_batch < 1 or readers < 1:
            raise ValueError("max_batch and readers must be at least 1")
        self._path = Path(path)
        self._synchronous = _SYNCHRONOUS[synchronous.lower()]
        self._max_batch = max_batch
        self._reader_count = readers
        self._busy_timeout = busy_timeout
        super().__init__()
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()  # None: stop mark
        # Guards the life-cycle state, so that no write is queued after the writer's stop.
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self._readers: _ReaderPool | None = None
        #: Moves new messages into the search index (deferred here: see migration 0005).
        self._indexer = Indexer(self)

    @property
    def path(self) -> Path:
        return self._path

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        with self._lock:
            self._starting()
        try:
            write_conn, read_conns = await asyncio.to_thread(self._open_database)
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot open the database {self._path}: {exc}") from exc
        with self._lock:
            if self._closed:  # closed while opening
                _close_all([write_conn, *read_conns])
                raise Unavailable("the store is closed")
            self._writer = threading.Thread(
                target=self._write_loop, args=(write_conn,), name="parley-store-writer", daemon=True
            )
            self._writer.start()
            self._readers = _ReaderPool(read_conns)
        self._indexer.start()

    async def close(self) -> None:
        await self._indexer.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer, readers = self._writer, self._readers
            if writer is not None:
                self._queue.put(None)  # after every write already queued
        if writer is not None:
            await asyncio.to_thread(writer.join)
        if readers is not None:
            await asyncio.to_thread(readers.close)

    def _open_database(self) -> tuple[sqlite3.Connection, list[sqlite3.Connection]]:
        """Open the write connection, bring the schema up to date, then open the readers.

        Runs in a worker thread: opening a file and migrating may block.
        """
        opened: list[sqlite3.Connection] = []
        try:
            writer = self._connect(query_only=False)
            opened.append(writer)
            mode = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a file system without shared memory
                raise sqlite3.OperationalError(f"cannot use WAL journal mode (got {mode!r})")
            run_sync(migrate.prepare(SQLiteConnection(writer), migrations.load()))
            for _ in range(self._reader_count):
                opened.append(self._connect(query_only=True))
        except BaseException:
            _close_all(opened)
            raise
        return opened[0], opened[1:]

    def _connect(self, *, query_only: bool) -> sqlite3.Connection:
        # isolation_level=None: the store issues BEGIN / COMMIT itself. check_same_thread is
        # off because a connection is opened in one thread and used in another; each one is
        # only ever used by one thread at a time.
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            # A deleted message's text is overwritten on disk, not left in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            if query_only:
                conn.execute("PRAGMA query_only = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    # -- writes and reads ----------------------------------------------------------------

    @property
    def write_queue_depth(self) -> int:
        return self._queue.qsize()

    def _submit(self, op: Op) -> None:
        with self._lock:
            self._usable(self._writer)
            self._queue.put(op)

    async def _read(self, query: Query[T]) -> T:
        with self._lock:
            readers = self._usable(self._readers)
        try:
            return await readers.run(query)
        except sqlite3.Error as exc:
            raise ENGINE.unavailable(exc, reading=True) from exc

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Reader]:
        # A connection of its own, not one of the pool's: an export holds it for minutes.
        # Its calls run in worker threads one after another (never two at once).
        with self._lock:
            self._usable(self._readers)
        try:
            raw = await asyncio.to_thread(self._begin_snapshot)
        except sqlite3.Error as exc:
            raise ENGINE.unavailable(exc, reading=True) from exc
        conn = SQLiteConnection(raw)

        async def read(query: Query[T]) -> T:
            try:
                return await asyncio.to_thread(run_sync, query(conn))
            except sqlite3.Error as exc:
                raise ENGINE.unavailable(exc, reading=True) from exc

        try:
            yield read
        finally:
            await asyncio.to_thread(raw.close)  # ends the read transaction

    def _begin_snapshot(self) -> sqlite3.Connection:
        raw = self._connect(query_only=True)
        try:
            run_sync(SQLiteConnection(raw).script(*ENGINE.snapshot_begin))
        except BaseException:
            raw.close()
            raise
        return raw

    def _write_loop(self, raw: sqlite3.Connection) -> None:
        """The writer thread: batch after batch until the stop mark, then close."""
        conn = SQLiteConnection(raw)
        commit = GroupCommit(
            self, ENGINE, self.stats, lambda: contextlib.nullcontext(conn), self._max_batch
        )
        try:
            commit.serve_in_thread(self._queue)
        finally:
            raw.close()


class _ReaderPool:
    """``len(conns)`` threads, each taking an idle connection for one read transaction."""

    def __init__(self, conns: list[sqlite3.Connection]) -> None:
        self._conns = conns
        self._idle: queue.SimpleQueue[SQLiteConnection] = queue.SimpleQueue()
        for conn in conns:
            self._idle.put(SQLiteConnection(conn))
        # As many threads as connections, so a thread never waits for a connection.
        self._executor = ThreadPoolExecutor(len(conns), thread_name_prefix="parley-store-read")

    async def run(self, query: Query[T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            pending = loop.run_in_executor(self._executor, self._call, query)
        except RuntimeError as exc:  # the executor is shut down: the store closed meanwhile
            raise Unavailable("the store is closed") from exc
        return await pending

    def _call(self, query: Query[T]) -> T:
        conn = self._idle.get()
        try:
            conn.raw.execute("BEGIN")
            try:
                return run_sync(query(conn))
            finally:
                if conn.raw.in_transaction:
                    conn.raw.execute("ROLLBACK")  # read-only: nothing to commit
        finally:
            self._idle.put(conn)

    def close(self) -> None:
        """Wait for the reads under way, then close the connections (blocking)."""
        self._executor.shutdown(wait=True)
        _close_all(self._conns)


def _close_all(conns: Iterable[sqlite3.Connection]) -> None:
    for conn in conns:
        conn.close()


# -- schema ----------------------------------------------------------------------------------


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements, as ``sqlite3`` executes one at a time.

    Semicolons inside strings, comments and trigger bodies do not end a statement: SQLite's
    own :func:`sqlite3.complete_statement` decides. (``executescript`` would do the splitting
    but commits first, and a migration must run in one transaction with its bookkeeping.)
    """
    statements: list[str] = []
    pending = ""
    for chunk in re.split(r"(?<=;)", script):
        pending += chunk
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():  # comments, or a last statement without a semicolon
        statements.append(pending.strip())
    return statements


__all__ = ["ENGINE", "SQLiteConnection", "SQLiteEngine", "SQLiteStore", "split_statements"]
