"""The SQLite store: Parley's default backend, one database file and no server to run.

How it keeps the rules of :mod:`parley.store.base`:

* **One writer, group commit.** A dedicated thread owns the only write connection and a queue
  of write operations. It takes the first queued operation, then whatever else is already
  queued (up to ``max_batch``), and runs them all in one ``BEGIN IMMEDIATE`` ... ``COMMIT``:
  under load, many writes share one fsync. Each operation runs inside its own ``SAVEPOINT``,
  so one that fails on its own (``Conflict``, ``NotFound``, ``Forbidden``) is rolled back
  alone while the rest of the batch commits. If the transaction itself fails (the ``COMMIT``,
  a full disk, an I/O error) every operation of the batch gets :class:`Unavailable`: none of
  it was committed. The results of a batch reach the event loop in one
  ``call_soon_threadsafe``, however many callers are waiting.
* **Durable acks.** WAL journal mode with ``synchronous=FULL`` (the default): a write call
  returns after its commit is in the WAL *and* fsynced, so it survives a crash of the process
  and of the operating system.
* **Readers never wait for the writer.** Reads run on a small pool of threads, each with its
  own read-only connection; WAL lets them read the last committed state while the writer
  writes. A read that needs several queries runs them in one read transaction (one snapshot).
* **Gap-free seq without a cache.** ``rooms.last_seq`` is the room's counter: an event takes
  ``last_seq + 1`` through ``UPDATE ... RETURNING`` in the transaction that inserts it. A
  rolled-back operation or batch rolls the counter back with it, so nothing in memory can
  drift; and since the counter lives in the file, several processes writing to the same
  database (serialised by SQLite's file lock) stay gap-free too.

The database must be a file: ``":memory:"`` is refused, because every connection to it would
get its own empty database (the writer's and the readers' would differ).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

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
    Unavailable,
    direct_room_name,
)

T = TypeVar("T")
Row = sqlite3.Row
Connection = sqlite3.Connection
Params = Sequence[object]

#: ``PRAGMA synchronous`` takes no parameter, so the value is looked up here, never formatted.
_SYNCHRONOUS: Final = {"off": 0, "normal": 1, "full": 2, "extra": 3}


def _key(name: str) -> str:
    """The case-insensitive form of a user or room name (see ``name_key`` in the schema).

    ``str.lower`` rather than ``casefold``, to agree with :func:`direct_room_name`.
    """
    return name.lower()


@dataclass
class SQLiteStats:
    """Counters kept by the writer thread, for tests, benchmarks and metrics.

    Only the writer thread changes them; read from elsewhere they are a recent snapshot.
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


class SQLiteStore(Store):
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
        self.stats = SQLiteStats()
        # Guards the life-cycle state, so that no write is queued after the writer's stop.
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._writer: _Writer | None = None
        self._readers: _ReaderPool | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def write_queue_depth(self) -> int:
        """How many write calls wait for the writer thread (a load metric)."""
        writer = self._writer
        return 0 if writer is None else writer.depth

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        with self._lock:
            if self._closed:
                raise Unavailable("the store is closed")
            if self._started:
                raise RuntimeError("the store is already started")
            self._started = True
        try:
            write_conn, read_conns = await asyncio.to_thread(self._open_database)
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot open the database {self._path}: {exc}") from exc
        with self._lock:
            if self._closed:  # closed while opening
                _close_all([write_conn, *read_conns])
                raise Unavailable("the store is closed")
            self._writer = _Writer(write_conn, self._max_batch, self.stats, self)
            self._readers = _ReaderPool(read_conns)

    async def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer, readers = self._writer, self._readers
            if writer is not None:
                writer.stop()  # after every write already queued
        if writer is not None:
            await asyncio.to_thread(writer.join)
        if readers is not None:
            await asyncio.to_thread(readers.close)

    def _open_database(self) -> tuple[Connection, list[Connection]]:
        """Open the write connection, bring the schema up to date, then open the readers.

        Runs in a worker thread: opening a file and migrating may block.
        """
        opened: list[Connection] = []
        try:
            writer = self._connect(query_only=False)
            opened.append(writer)
            _enable_wal(writer)
            apply_migrations(writer, migrations.load())
            _transaction(writer, _ensure_lobby)
            for _ in range(self._reader_count):
                opened.append(self._connect(query_only=True))
        except BaseException:
            _close_all(opened)
            raise
        return opened[0], opened[1:]

    def _connect(self, *, query_only: bool) -> Connection:
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

    # -- plumbing: every method is one write or one read -----------------------------------

    async def _write(self, operation: Callable[[Connection], T], post: _Post | None = None) -> T:
        """Queue ``operation`` for the writer thread; return its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            writer = self._usable(self._writer)
            writer.submit(_Op(operation, future, loop, post))
        return await future

    async def _read(self, query: Callable[[Connection], T]) -> T:
        """Run ``query`` on a reader thread, in one read transaction."""
        with self._lock:
            readers = self._usable(self._readers)
        try:
            return await readers.run(query)
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot read the database: {exc}") from exc

    def _usable(self, part: T | None) -> T:
        if self._closed:
            raise Unavailable("the store is closed")
        if part is None:
            raise Unavailable("the store is not started")
        return part

    # -- users and sessions --------------------------------------------------------------

    async def create_user(
        self, name: str, password_hash: str, *, admin: bool | None = None
    ) -> User:
        return await self._write(lambda conn: _create_user(conn, name, password_hash, admin))

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
        return await self._write(lambda conn: _create_room(conn, name, kind, creator_id, topic))

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
        if user_id is None:
            cid = None  # guests have no cid scope
        return await self._write(
            lambda conn: _post_message(conn, room_id, user_id, author, text, cid),
            _Post(room_id, user_id, author, text, cid),
        )

    async def edit_message(
        self, room_id: int, user_id: int, author: str, mid: int, text: str, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: _edit_message(conn, room_id, user_id, author, mid, text, any_author)
        )

    async def delete_message(
        self, room_id: int, user_id: int, author: str, mid: int, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: _delete_message(conn, room_id, user_id, author, mid, any_author)
        )

    async def join(
        self, room_id: int, user_id: int, author: str, *, by: str | None = None
    ) -> Event | None:
        return await self._write(lambda conn: _join(conn, room_id, user_id, author, by))

    async def leave(self, room_id: int, user_id: int, author: str) -> Event | None:
        return await self._write(lambda conn: _leave(conn, room_id, user_id, author))

    async def set_topic(self, room_id: int, user_id: int, author: str, topic: str) -> Event:
        return await self._write(lambda conn: _set_topic(conn, room_id, user_id, author, topic))

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        return await self._write(lambda conn: _mark_read(conn, room_id, user_id, seq))

    async def events_after(self, room_id: int, after: int, limit: int) -> list[Event]:
        return await self._read(lambda conn: _events_after(conn, room_id, after, limit))

    async def events_before(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        return await self._read(lambda conn: _events_before(conn, room_id, before, limit))


# -- the writer thread ---------------------------------------------------------------------


@dataclass(slots=True)
class _Op:
    """One queued write call: what to run, and where to send its outcome.

    A message post also carries its plain description (``post``), so that the writer can
    store a run of consecutive posts with one multi-row insert (see ``_bulk_post``).
    """

    run: Callable[[Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    post: _Post | None = None


@dataclass(frozen=True, slots=True)
class _Post:
    room_id: int
    user_id: int | None
    author: str
    text: str
    cid: str | None


@dataclass(slots=True)
class _Outcome:
    op: _Op
    result: Any = None
    error: BaseException | None = None


class _Writer:
    """The thread that owns the write connection and group-commits the queued writes."""

    def __init__(self, conn: Connection, max_batch: int, stats: SQLiteStats, store: Store) -> None:
        self._conn = conn
        self._store = store
        self._max_batch = max_batch
        self._stats = stats
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()  # None: stop
        self._thread = threading.Thread(target=self._run, name="parley-store-writer", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def submit(self, op: _Op) -> None:
        self._queue.put(op)

    def stop(self) -> None:
        """Let the writes queued so far finish, then close the connection and end the thread."""
        self._queue.put(None)

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                batch, stopping = self._take_batch()
                if batch:
                    self._run_batch(batch)
        finally:
            self._conn.close()

    def _take_batch(self) -> tuple[list[_Op], bool]:
        """Wait for one write, then take the ones already queued behind it (never waiting).

        Returns the batch and whether the stop mark was reached.
        """
        batch: list[_Op] = []
        item = self._queue.get()
        while item is not None:
            batch.append(item)
            if len(batch) >= self._max_batch:
                return batch, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _run_batch(self, batch: list[_Op]) -> None:
        # A caller cancelled before its turn gets nothing done on its behalf: it could not
        # be told anyway. (Cancelled later, its write may still commit, as with any database.)
        ops = [op for op in batch if not op.future.cancelled()]
        if not ops:
            return
        try:
            outcomes = self._commit(ops)
        except Exception as exc:  # the transaction is lost, whatever the cause
            self._roll_back()
            self._stats.failed_transactions += 1
            outcomes = [_Outcome(op, error=_unavailable("the write failed", exc)) for op in ops]
        _deliver(outcomes)

    def _commit(self, ops: list[_Op]) -> list[_Outcome]:
        started = time.perf_counter()
        self._conn.execute("BEGIN IMMEDIATE")
        outcomes: list[_Outcome] = []
        run: list[_Op] = []  # consecutive posts, stored together
        for op in ops:
            if op.post is not None:
                run.append(op)
                continue
            if run:
                outcomes += self._run_posts(run)
                run = []
            outcomes.append(self._run_op(op))
        if run:
            outcomes += self._run_posts(run)
        self._conn.execute("COMMIT")
        observe = self._store.observe_commit
        if observe is not None:
            observe(time.perf_counter() - started)
        self._stats.transactions += 1
        self._stats.batched_ops += len(ops)
        self._stats.largest_batch = max(self._stats.largest_batch, len(ops))
        return outcomes

    def _run_posts(self, run: list[_Op]) -> list[_Outcome]:
        """Store a run of posts with one multi-row insert; if any of them needs the careful
        path (a repeated cid, an unknown room or user), undo and run them one by one."""
        if len(run) == 1:
            return [self._run_op(run[0])]
        conn = self._conn
        conn.execute("SAVEPOINT posts")
        try:
            appended = _bulk_post(conn, [op.post for op in run if op.post is not None])
        except (sqlite3.IntegrityError, NotFound):
            conn.execute("ROLLBACK TO posts")
            conn.execute("RELEASE posts")
            return [self._run_op(op) for op in run]
        conn.execute("RELEASE posts")
        return [_Outcome(op, result=result) for op, result in zip(run, appended, strict=True)]

    def _run_op(self, op: _Op) -> _Outcome:
        """Run one write in its own savepoint; on failure undo it alone."""
        conn = self._conn
        conn.execute("SAVEPOINT op")
        try:
            result = op.run(conn)
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and not conn.in_transaction:
                raise  # SQLite rolled the whole transaction back: the batch is lost
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            return _Outcome(op, error=_op_error(exc))
        conn.execute("RELEASE op")
        return _Outcome(op, result=result)

    def _roll_back(self) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")


def _op_error(exc: Exception) -> BaseException:
    """What the caller of a write that failed alone is told."""
    if isinstance(exc, sqlite3.Error):
        return _unavailable("the write failed", exc)
    return exc  # a StoreError for the caller's mistake, or a bug that must show as one


def _unavailable(message: str, cause: BaseException) -> Unavailable:
    """A fresh error per caller: one instance raised in several tasks would mix tracebacks."""
    error = Unavailable(f"{message}: {cause}")
    error.__cause__ = cause
    return error


def _deliver(outcomes: list[_Outcome]) -> None:
    """Hand a batch's outcomes to their event loops: one wake-up per loop, not per call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome.op.loop, []).append(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, items)


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve the futures of a batch; runs in their event loop."""
    for outcome in outcomes:
        future = outcome.op.future
        if future.done():  # its caller was cancelled meanwhile
            continue
        if outcome.error is None:
            future.set_result(outcome.result)
        else:
            future.set_exception(outcome.error)


# -- the reader threads --------------------------------------------------------------------


class _ReaderPool:
    """``len(conns)`` threads, each taking an idle connection for one read transaction."""

    def __init__(self, conns: list[Connection]) -> None:
        self._conns = conns
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for conn in conns:
            self._idle.put(conn)
        # As many threads as connections, so a thread never waits for a connection.
        self._executor = ThreadPoolExecutor(len(conns), thread_name_prefix="parley-store-read")

    async def run(self, query: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            pending = loop.run_in_executor(self._executor, self._call, query)
        except RuntimeError as exc:  # the executor is shut down: the store closed meanwhile
            raise Unavailable("the store is closed") from exc
        return await pending

    def _call(self, query: Callable[[Connection], T]) -> T:
        conn = self._idle.get()
        try:
            conn.execute("BEGIN")
            try:
                return query(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # read-only: nothing to commit
        finally:
            self._idle.put(conn)

    def close(self) -> None:
        """Wait for the reads under way, then close the connections (blocking)."""
        self._executor.shutdown(wait=True)
        _close_all(self._conns)


def _close_all(conns: Iterable[Connection]) -> None:
    for conn in conns:
        conn.close()


# -- schema ----------------------------------------------------------------------------------


def _enable_wal(conn: Connection) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":  # e.g. a file system without shared memory
        raise sqlite3.OperationalError(f"cannot use WAL journal mode (got {mode!r})")


def apply_migrations(conn: Connection, available: Iterable[migrations.Migration]) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``, in version order.

    Each migration runs in its own transaction together with its ``schema_migrations`` row,
    so a failing one leaves the database as the previous one left it. Whether a version is
    applied is checked inside that transaction: two processes starting at once do not apply
    it twice. Returns the versions applied. Raises :class:`Unavailable` for a database whose
    schema is newer than this code knows (it was opened by a newer Parley).
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
    )
    ordered = sorted(available, key=lambda migration: migration.version)
    _refuse_newer_schema(conn, max((m.version for m in ordered), default=0))
    applied: list[int] = []
    for migration in ordered:
        if _transaction(conn, functools.partial(_apply_one, migration=migration)):
            applied.append(migration.version)
    return applied


def _refuse_newer_schema(conn: Connection, newest_known: int) -> None:
    newest = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    if newest is not None and newest > newest_known:
        raise Unavailable(
            f"cannot use the database: it has schema version {newest}; this Parley knows up "
            f"to {newest_known}"
        )


def _apply_one(conn: Connection, migration: migrations.Migration) -> bool:
    done = _one(conn, "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,))
    if done is not None:
        return False
    try:
        for statement in split_statements(migration.sql):
            conn.execute(statement)
    except sqlite3.Error as exc:
        exc.add_note(f"in migration {migration.name}")
        raise
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
        (migration.version, now_ms()),
    )
    return True


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


def _transaction(conn: Connection, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in its own write transaction (outside the writer thread's batches)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _ensure_lobby(conn: Connection) -> None:
    conn.execute(
        "INSERT INTO rooms (name, name_key, kind, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name_key) DO NOTHING",
        (LOBBY, _key(LOBBY), RoomKind.PUBLIC.value, now_ms()),
    )


# -- rows to values ----------------------------------------------------------------------


def _one(conn: Connection, sql: str, params: Params = ()) -> Row | None:
    """The first row, reading them all so the statement is finished (``RETURNING`` too)."""
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        is_admin=bool(row["is_admin"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def _room(row: Row) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        kind=RoomKind(row["kind"]),
        topic=row["topic"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
    )


def _event(row: Row, room_name: str) -> Event:
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
        edited=bool(row["edited"]),
        deleted=bool(row["deleted"]),
        by=row["invited_by"],
        cid=row["cid"],
    )


# -- users and sessions --------------------------------------------------------------------


def _user_by_name(conn: Connection, name: str) -> User | None:
    row = _one(conn, "SELECT * FROM users WHERE name_key = ?", (_key(name),))
    return None if row is None else _user(row)


def _user_by_id(conn: Connection, user_id: int) -> User | None:
    row = _one(conn, "SELECT * FROM users WHERE id = ?", (user_id,))
    return None if row is None else _user(row)


def _require_user(conn: Connection, user_id: int) -> User:
    user = _user_by_id(conn, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _list_users(conn: Connection) -> list[User]:
    return [_user(row) for row in conn.execute("SELECT * FROM users ORDER BY id")]


def _create_user(conn: Connection, name: str, password_hash: str, admin: bool | None) -> User:
    if admin is None:  # the first account is the admin; decided inside the write transaction
        admin = _one(conn, "SELECT 1 FROM users LIMIT 1") is None
    row = _one(
        conn,
        "INSERT INTO users (name, name_key, password_hash, is_admin, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING RETURNING *",
        (name, _key(name), password_hash, admin, now_ms()),
    )
    if row is None:
        raise Conflict(f"the user name {name!r} is taken")
    return _user(row)


def _set_password(conn: Connection, user_id: int, password_hash: str) -> None:
    cursor = conn.execute(
        "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
    )
    if cursor.rowcount == 0:
        raise NotFound(f"no user {user_id}")


def _set_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    cursor = conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (disabled, user_id))
    if cursor.rowcount == 0:
        raise NotFound(f"no user {user_id}")


def _create_session(conn: Connection, user_id: int, token_hash: str, expires_at: int) -> Session:
    user = _require_user(conn, user_id)
    row = _one(
        conn,
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (token_hash) DO NOTHING RETURNING created_at",
        (token_hash, user_id, now_ms(), expires_at),
    )
    if row is None:
        raise Conflict("a session with this token hash exists")
    return Session(token_hash, user, row["created_at"], expires_at)


def _live_session(conn: Connection, token_hash: str, now: int) -> Session | None:
    row = _one(
        conn,
        "SELECT s.token_hash, s.created_at AS session_created_at, s.expires_at, u.*"
        " FROM sessions AS s JOIN users AS u ON u.id = s.user_id"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        (token_hash, now),
    )
    if row is None:
        return None
    return Session(row["token_hash"], _user(row), row["session_created_at"], row["expires_at"])


def _delete_session(conn: Connection, token_hash: str) -> bool:
    cursor = conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
    return cursor.rowcount > 0


def _delete_sessions_of(conn: Connection, user_id: int) -> list[str]:
    rows = conn.execute(
        "DELETE FROM sessions WHERE user_id = ? RETURNING token_hash", (user_id,)
    ).fetchall()
    return sorted(row["token_hash"] for row in rows)


# -- rooms ---------------------------------------------------------------------------------


def _room_by_name(conn: Connection, name: str) -> Room | None:
    row = _one(conn, "SELECT * FROM rooms WHERE name_key = ?", (_key(name),))
    return None if row is None else _room(row)


def _room_by_id(conn: Connection, room_id: int) -> Room | None:
    row = _one(conn, "SELECT * FROM rooms WHERE id = ?", (room_id,))
    return None if row is None else _room(row)


def _require_room(conn: Connection, room_id: int) -> Room:
    room = _room_by_id(conn, room_id)
    if room is None:
        raise NotFound(f"no room {room_id}")
    return room


def _insert_room(conn: Connection, name: str, kind: RoomKind, topic: str) -> int:
    row = _one(
        conn,
        "INSERT INTO rooms (name, name_key, kind, topic, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (name_key) DO NOTHING RETURNING id",
        (name, _key(name), kind.value, topic, now_ms()),
    )
    if row is None:
        raise Conflict(f"the room name {name!r} is taken")
    room_id: int = row["id"]
    return room_id


def _create_room(
    conn: Connection, name: str, kind: RoomKind, creator_id: int | None, topic: str
) -> tuple[Room, list[Event]]:
    creator = None if creator_id is None else _require_user(conn, creator_id)
    room_id = _insert_room(conn, name, kind, topic)
    events = [] if creator is None else [_add_member(conn, room_id, creator.id, creator.name)]
    return _require_room(conn, room_id), events


def _open_direct(conn: Connection, user_id: int, other_id: int) -> tuple[Room, list[Event]]:
    if user_id == other_id:
        raise Forbidden("a direct room is between two different users")
    users = (_require_user(conn, user_id), _require_user(conn, other_id))
    name = direct_room_name(users[0].name, users[1].name)
    existing = _room_by_name(conn, name)
    if existing is not None:
        if existing.kind is not RoomKind.DIRECT:
            raise Conflict(f"the room name {name!r} is taken")
        return existing, []
    room_id = _insert_room(conn, name, RoomKind.DIRECT, "")
    events = [_add_member(conn, room_id, user.id, user.name) for user in users]
    return _require_room(conn, room_id), events


def _is_member(conn: Connection, room_id: int, user_id: int) -> bool:
    row = _one(
        conn,
        "SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    )
    return row is not None


def _room_members(conn: Connection, room_id: int) -> list[tuple[int, str]]:
    rows = conn.execute(
        "SELECT u.id, u.name FROM memberships AS m JOIN users AS u ON u.id = m.user_id"
        " WHERE m.room_id = ? ORDER BY u.name_key, u.name",
        (room_id,),
    )
    return [(row["id"], row["name"]) for row in rows]


def _unread_of_member(conn: Connection, room_id: int, user_id: int) -> int:
    row = _one(
        conn,
        "SELECT last_read_seq FROM memberships WHERE room_id = ? AND user_id = ?",
        (room_id, user_id),
    )
    return 0 if row is None else _unread(conn, room_id, user_id, row["last_read_seq"])


def _rooms_for(conn: Connection, user_id: int) -> list[RoomView]:
    rows = conn.execute(
        "SELECT r.*, m.user_id IS NOT NULL AS member,"
        " COALESCE(m.last_read_seq, 0) AS last_read_seq"
        " FROM rooms AS r LEFT JOIN memberships AS m ON m.room_id = r.id AND m.user_id = ?"
        " WHERE r.kind = 'public' OR m.user_id IS NOT NULL"
        " ORDER BY r.name_key, r.name",
        (user_id,),
    ).fetchall()
    return [_room_view(conn, row, user_id) for row in rows]


def _room_view(conn: Connection, row: Row, user_id: int) -> RoomView:
    room = _room(row)
    member = bool(row["member"])
    last_read: int = row["last_read_seq"]
    return RoomView(
        room=room,
        member=member,
        last_read_seq=last_read,
        unread=_unread(conn, room.id, user_id, last_read) if member else 0,
        members=tuple(name for _, name in _room_members(conn, room.id))
        if room.kind is RoomKind.DIRECT
        else (),
    )


def _unread(conn: Connection, room_id: int, user_id: int, after: int) -> int:
    # Spelled like the partial index events_live_messages, so SQLite counts on the index alone;
    # capped, so that a room a user never reads does not make every welcome slower.
    row = conn.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM events"
        " WHERE room_id = ? AND seq > ? AND kind = 'message' AND NOT deleted"
        " AND (user_id IS NULL OR user_id <> ?) LIMIT ?)",
        (room_id, after, user_id, UNREAD_CAP),
    ).fetchone()
    count: int = row[0]
    return count


# -- events --------------------------------------------------------------------------------


def _append(
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
    """Insert the room's next event. Raises :class:`NotFound` for an unknown room."""
    counter = _one(
        conn,
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq, name",
        (room_id,),
    )
    if counter is None:
        raise NotFound(f"no room {room_id}")
    row = _one(
        conn,
        "INSERT INTO events (room_id, seq, kind, user_id, author, ts, mid, text, invited_by, cid)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            room_id,
            counter["last_seq"],
            kind.value,
            user_id,
            author,
            now_ms(),
            mid,
            text,
            invited_by,
            cid,
        ),
    )
    assert row is not None  # an INSERT without ON CONFLICT returns its row or raises
    return _event(row, counter["name"])


def _add_member(
    conn: Connection, room_id: int, user_id: int, author: str, by: str | None = None
) -> Event:
    conn.execute(
        "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?, ?, ?)",
        (room_id, user_id, now_ms()),
    )
    event = _append(conn, room_id, EventKind.JOIN, user_id=user_id, author=author, invited_by=by)
    # A new member has read nothing *new*: what was said before they came is history, not
    # unread mail.
    conn.execute(
        "UPDATE memberships SET last_read_seq = ? WHERE room_id = ? AND user_id = ?",
        (event.seq, room_id, user_id),
    )
    return event


def _join(
    conn: Connection, room_id: int, user_id: int, author: str, by: str | None
) -> Event | None:
    _require_room(conn, room_id)
    _require_user(conn, user_id)
    if _is_member(conn, room_id, user_id):
        return None
    return _add_member(conn, room_id, user_id, author, by)


def _leave(conn: Connection, room_id: int, user_id: int, author: str) -> Event | None:
    cursor = conn.execute(
        "DELETE FROM memberships WHERE room_id = ? AND user_id = ?", (room_id, user_id)
    )
    if cursor.rowcount == 0:
        return None
    return _append(conn, room_id, EventKind.LEAVE, user_id=user_id, author=author)


def _set_topic(conn: Connection, room_id: int, user_id: int, author: str, topic: str) -> Event:
    _require_user(conn, user_id)
    event = _append(conn, room_id, EventKind.TOPIC, user_id=user_id, author=author, text=topic)
    conn.execute("UPDATE rooms SET topic = ? WHERE id = ?", (topic, room_id))
    return event


def _mark_read(conn: Connection, room_id: int, user_id: int, seq: int) -> int:
    row = _one(
        conn,
        "SELECT m.last_read_seq, r.last_seq FROM memberships AS m"
        " JOIN rooms AS r ON r.id = m.room_id WHERE m.room_id = ? AND m.user_id = ?",
        (room_id, user_id),
    )
    if row is None:
        return 0
    current: int = row["last_read_seq"]
    last_seq: int = row["last_seq"]
    marker = max(current, min(seq, last_seq))
    if marker != current:
        conn.execute(
            "UPDATE memberships SET last_read_seq = ? WHERE room_id = ? AND user_id = ?",
            (marker, room_id, user_id),
        )
    return marker


def _post_message(
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
        _require_user(conn, user_id)
    if cid is not None:
        original = _message_by_cid(conn, user_id, cid)
        if original is not None:
            return Appended(original, duplicate=True)
    event = _append(
        conn, room_id, EventKind.MESSAGE, user_id=user_id, author=author, text=text, cid=cid
    )
    return Appended(event, duplicate=False)


def _bulk_post(conn: Connection, posts: list[_Post]) -> list[Appended]:
    """Append many messages in a few statements: one counter update per room, one
    multi-row insert. Raises ``sqlite3.IntegrityError`` when a cid repeats or a user is
    unknown (the unique and foreign-key constraints), :class:`NotFound` for an unknown room:
    the caller then takes the one-by-one path, which knows how to answer those.

    The message ids are the rows' ids: the writer is the only writer and holds the database's
    write lock, so a multi-row insert takes consecutive ids ending at ``last_insert_rowid()``.
    """
    per_room: dict[int, int] = {}
    for post in posts:
        per_room[post.room_id] = per_room.get(post.room_id, 0) + 1
    # Every room's counter in one statement (the VALUES list holds only placeholders).
    values = ", ".join("(?, ?)" for _ in per_room)
    rows = conn.execute(
        "UPDATE rooms SET last_seq = last_seq + v.column2"  # noqa: S608
        f" FROM (VALUES {values}) AS v WHERE rooms.id = v.column1"
        " RETURNING rooms.id, rooms.last_seq, rooms.name",
        [item for pair in per_room.items() for item in pair],
    ).fetchall()
    if len(rows) != len(per_room):
        raise NotFound("a room of the batch does not exist")
    next_seq: dict[int, int] = {}
    names: dict[int, str] = {}
    for row in rows:
        next_seq[row["id"]] = row["last_seq"] - per_room[row["id"]] + 1
        names[row["id"]] = row["name"]
    ts = now_ms()
    rows = []
    for post in posts:
        rows.append(
            (
                post.room_id,
                next_seq[post.room_id],
                post.user_id,
                post.author,
                ts,
                post.text,
                post.cid,
            )
        )
        next_seq[post.room_id] += 1
    conn.executemany(
        "INSERT INTO events (room_id, seq, kind, user_id, author, ts, text, cid)"
        " VALUES (?, ?, 'message', ?, ?, ?, ?, ?)",
        rows,
    )
    last_id: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    first_id = last_id - len(rows) + 1
    return [
        Appended(
            Event(
                room=names[room_id],
                room_id=room_id,
                seq=seq,
                kind=EventKind.MESSAGE,
                user=author,
                user_id=user_id,
                ts=ts,
                mid=first_id + index,
                text=text,
                cid=cid,
            ),
            duplicate=False,
        )
        for index, (room_id, seq, user_id, author, ts, text, cid) in enumerate(rows)
    ]


def _message_by_cid(conn: Connection, user_id: int | None, cid: str) -> Event | None:
    row = _one(
        conn,
        "SELECT e.*, r.name AS room_name FROM events AS e JOIN rooms AS r ON r.id = e.room_id"
        " WHERE e.user_id = ? AND e.cid = ? AND e.kind = 'message'",
        (user_id, cid),
    )
    return None if row is None else _event(row, row["room_name"])


def _check_may_change(
    conn: Connection, room_id: int, user_id: int, mid: int, any_author: bool
) -> None:
    """Raise unless ``user_id`` may edit or delete message ``mid`` of the room."""
    _require_user(conn, user_id)
    row = _one(
        conn,
        "SELECT user_id, deleted FROM events WHERE id = ? AND room_id = ? AND kind = 'message'",
        (mid, room_id),
    )
    if row is None or row["deleted"]:
        raise NotFound(f"no message {mid} in room {room_id}")
    if row["user_id"] != user_id and not any_author:
        raise Forbidden("only its author may change this message")


def _edit_message(
    conn: Connection,
    room_id: int,
    user_id: int,
    author: str,
    mid: int,
    text: str,
    any_author: bool,
) -> Event:
    _check_may_change(conn, room_id, user_id, mid, any_author)
    event = _append(
        conn, room_id, EventKind.EDIT, user_id=user_id, author=author, mid=mid, text=text
    )
    conn.execute("UPDATE events SET text = ?, edited = TRUE WHERE id = ?", (text, mid))
    return event


def _delete_message(
    conn: Connection, room_id: int, user_id: int, author: str, mid: int, any_author: bool
) -> Event:
    _check_may_change(conn, room_id, user_id, mid, any_author)
    event = _append(conn, room_id, EventKind.DELETE, user_id=user_id, author=author, mid=mid)
    # The text is removed from the database, not just hidden: from the message and its edits.
    conn.execute("UPDATE events SET text = '', deleted = TRUE WHERE id = ?", (mid,))
    conn.execute("UPDATE events SET text = '' WHERE mid = ? AND kind = 'edit'", (mid,))
    return event


def _events_after(conn: Connection, room_id: int, after: int, limit: int) -> list[Event]:
    room = _room_by_id(conn, room_id)
    if room is None or limit <= 0:
        return []
    rows = conn.execute(
        "SELECT * FROM events WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (room_id, after, limit),
    )
    return [_event(row, room.name) for row in rows]


def _events_before(conn: Connection, room_id: int, before: int | None, limit: int) -> list[Event]:
    room = _room_by_id(conn, room_id)
    if room is None or limit <= 0:
        return []
    upper = room.last_seq + 1 if before is None else before
    rows = conn.execute(
        "SELECT * FROM events WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        (room_id, upper, limit),
    ).fetchall()
    return [_event(row, room.name) for row in reversed(rows)]


__all__ = ["SQLiteStats", "SQLiteStore", "apply_migrations", "split_statements"]
