"""Store fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend is an async context manager that, given a fresh temporary directory, prepares an
empty database and yields a :class:`Harness` on it. Its :meth:`~Harness.make` is the *store
maker*: a function returning a new, not yet started store on that database (rather than one
store, so that a test can close a store and open another on the same data). Most of the suite
uses only the :class:`~parley.store.base.Store` interface; its tests of group commit,
transactions and the database's contents also reach the database as another process would,
through the harness (:meth:`~Harness.raw`, a lock held, a trigger), which says how for each
backend. Adding a backend is one entry in ``BACKENDS`` and one :class:`Harness`.

PostgreSQL: the server at ``$PARLEY_TEST_POSTGRES`` (default below) is shared with whoever
else uses it, so the tests never touch anything they did not create. A test session creates
one database of its own on first use (dropped at the end, with everything in it) and each
test gets a fresh *schema* in it (``?search_path=`` in the store's URL). Measured: creating a
schema costs under a millisecond, a database ~60 ms with its drop (CREATE DATABASE from
template0 ~27 ms, DROP ~35 ms), while starting a store on an empty schema or database
(connecting and migrating) costs ~35 ms either way. Tests that need a database to themselves
(several processes starting on an empty one) make one with :func:`postgres_database`.
Without a reachable server the PostgreSQL tests are skipped, with the reason; with ``$CI``
set they fail instead, so CI cannot pass without them.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from parley.model import Room, RoomKind, User
from parley.store.base import LOBBY, Store
from parley.store.postgres import (
    MIGRATIONS,
    PostgresConnection,
    PostgresEngine,
    PostgresStore,
    describe_target,
)
from parley.store.sql.engine import Connection
from parley.store.sql.store import SQLStore
from parley.store.sqlite import SQLiteConnection, SQLiteStore
from tests.helpers.process import child_setup

POSTGRES_URL = os.environ.get("PARLEY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

StoreMaker = Callable[[], Store]


class Harness(ABC):
    """A backend's fresh, empty database, as the conformance suite drives it."""

    #: How a process opens the database (``--db``): a file or a URL.
    db: str
    #: The package holding the backend's migration files.
    migrations: str
    #: Part of the message of a commit refused by :meth:`fail_commit_when`.
    commit_refusal: str

    @abstractmethod
    def make(
        self, *, exact: bool = False, max_batch: int = 256, lock_wait: float | None = None
    ) -> SQLStore:
        """A new, not yet started store. ``exact``: the batches are exactly what
        :func:`writes_held` queued (one writer). ``lock_wait``: seconds a write waits for a lock
        held elsewhere before it is :class:`Unavailable`."""

    @abstractmethod
    def raw(self) -> AbstractAsyncContextManager[Connection]:
        """A plain autocommit connection to the database, as another process would have."""

    @abstractmethod
    async def block_writes(self, conn: Connection) -> None:
        """Begin a transaction on ``conn`` that makes every write to the lobby wait."""

    @abstractmethod
    async def wait_until_blocked(self, conn: Connection, store: SQLStore) -> None:
        """Wait until the store's writer waits for :meth:`block_writes`'s lock."""

    @abstractmethod
    async def refuse_insert(self, conn: Connection, text: str, message: str) -> None:
        """Make inserting an event with this text fail with ``message`` (a real database error
        for one write)."""

    @abstractmethod
    async def fail_commit_when(self, conn: Connection, text: str) -> None:
        """Make a transaction that inserted an event with this text fail at its ``COMMIT``."""

    @abstractmethod
    async def tables(self, conn: Connection) -> set[str]:
        """The names of the database's tables."""

    async def enforce_foreign_keys(self, conn: Connection) -> None:  # noqa: B027 (a default)
        """Make ``conn`` check foreign keys, as the store's own connections do (PostgreSQL
        always does: nothing to do)."""

    @abstractmethod
    def delay_transactions(self, monkeypatch: pytest.MonkeyPatch, most: float) -> None:
        """Make every write transaction of the backend's stores start late, by a random time
        up to ``most`` seconds: what a wait for a pooled connection, a busy server or a slow
        network does to a batch, injected where a writer begins its transaction."""


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


# -- SQLite ----------------------------------------------------------------------------------


class SQLiteHarness(Harness):
    migrations = "parley.store.migrations"
    commit_refusal = "FOREIGN KEY constraint failed"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = str(path)

    def make(
        self, *, exact: bool = False, max_batch: int = 256, lock_wait: float | None = None
    ) -> SQLStore:
        return SQLiteStore(self.path, max_batch=max_batch, busy_timeout=lock_wait or 5.0)

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Connection]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield SQLiteConnection(conn)
        finally:
            conn.close()

    async def enforce_foreign_keys(self, conn: Connection) -> None:
        await conn.execute("PRAGMA foreign_keys = ON")  # off by default, per connection

    def delay_transactions(self, monkeypatch: pytest.MonkeyPatch, most: float) -> None:
        original = SQLiteConnection.script

        async def late(conn: SQLiteConnection, *statements: str) -> None:
            if statements and statements[0] == conn.engine.begin:
                time.sleep(random.uniform(0, most))  # the writer thread's own time
            await original(conn, *statements)

        monkeypatch.setattr(SQLiteConnection, "script", late)

    async def block_writes(self, conn: Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")  # the database's write lock

    async def wait_until_blocked(self, conn: Connection, store: SQLStore) -> None:
        await wait_until(lambda: store.write_queue_depth == 0)  # taken by the writer thread

    async def refuse_insert(self, conn: Connection, text: str, message: str) -> None:
        await conn.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.text = '{text}'"
            f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )

    async def fail_commit_when(self, conn: Connection, text: str) -> None:
        # A deferred foreign key is only checked at COMMIT: this trigger makes that COMMIT fail.
        await conn.execute(
            "CREATE TABLE commit_guard"
            " (room_id INTEGER REFERENCES rooms (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        await conn.execute(
            f"CREATE TRIGGER fail_commit AFTER INSERT ON events WHEN NEW.text = '{text}'"
            " BEGIN INSERT INTO commit_guard VALUES (-1); END"
        )

    async def tables(self, conn: Connection) -> set[str]:
        rows = await conn.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[Harness]:
    yield SQLiteHarness(tmp_path / "parley.db")


# -- PostgreSQL ------------------------------------------------------------------------------


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def with_schema(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (and only it) for unqualified names."""
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("search_path", schema)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class _Shared:
    """What the test session keeps of the server: whether it answers, and its database."""

    unreachable: str | None = None  # why the server could not be used, once known
    database: str | None = None  # this session's database, created on first use


async def postgres_connect(url: str = POSTGRES_URL) -> Any:
    """A plain asyncpg connection; the test fails or is skipped if the server cannot be reached
    (fails with ``$CI`` set)."""
    if _Shared.unreachable is None:
        try:
            return await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _Shared.unreachable = f"PostgreSQL at {describe_target(url)} is unreachable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"{_Shared.unreachable} (and $CI is set: PostgreSQL tests must run)")
    pytest.skip(f"{_Shared.unreachable} (set $PARLEY_TEST_POSTGRES to a server to run them)")


async def _create_database() -> str:
    name = f"parley_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await postgres_connect()
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    return name


async def _drop_database(name: str) -> None:
    admin = await postgres_connect()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty database of its own; yields its URL. Dropped afterwards."""
    name = await _create_database()
    try:
        yield with_database(POSTGRES_URL, name)
    finally:
        await _drop_database(name)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A new, empty schema in the session's database; yields a URL using it.

    Not dropped after the test: dropping the session's database at the end drops every schema
    at once, which saves ~10 ms a test (and cannot wait on a store a failed test left open).
    """
    if _Shared.database is None:
        _Shared.database = await _create_database()
    url = with_database(POSTGRES_URL, _Shared.database)
    schema = f"parley_{secrets.token_hex(6)}"
    conn = await postgres_connect(url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    yield with_schema(url, schema)


@pytest.fixture(scope="session", autouse=True)
def _drop_the_session_database() -> Iterator[None]:
    yield
    if _Shared.database is not None:
        # A fresh event loop: the tests' loops are closed by now.
        asyncio.run(_drop_database(_Shared.database))
        _Shared.database = None


def new_postgres_store(url: str, **kwargs: Any) -> PostgresStore:
    """A store with a name of its own in ``pg_stat_activity`` (so that a test finds its
    connections, and only them), and a small pool: the server is shared, and its
    max_connections with it."""
    kwargs.setdefault("application_name", f"parley-test-{secrets.token_hex(4)}")
    kwargs.setdefault("max_size", 4)
    return PostgresStore(url, **kwargs)


async def wait_until_waiting_for_a_lock(conn: Any, store: PostgresStore, count: int = 1) -> None:
    """Wait until ``count`` of the store's connections wait for a lock (``conn``: asyncpg's)."""
    deadline = time.monotonic() + 10
    while True:
        waiting = await conn.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE application_name = $1 AND wait_event_type = 'Lock'",
            store.application_name,
        )
        if waiting >= count:
            return
        assert time.monotonic() < deadline, "the store never waited for the lock"
        await asyncio.sleep(0.005)


class PostgresHarness(Harness):
    migrations = MIGRATIONS
    commit_refusal = "commit refused"

    def __init__(self, url: str) -> None:
        self.db = url

    def make(
        self, *, exact: bool = False, max_batch: int = 256, lock_wait: float | None = None
    ) -> SQLStore:
        options: dict[str, Any] = {"max_batch": max_batch}
        if exact:
            options["writers"] = 1
        if lock_wait is not None:
            options["command_timeout"] = lock_wait
        return new_postgres_store(self.db, **options)

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Connection]:
        conn = await postgres_connect(self.db)
        try:
            yield PostgresConnection(conn, PostgresEngine(describe_target(self.db)))
        finally:
            await conn.close()

    def delay_transactions(self, monkeypatch: pytest.MonkeyPatch, most: float) -> None:
        original = PostgresConnection.script

        async def late(conn: PostgresConnection, *statements: str) -> None:
            if statements and statements[0] == conn.engine.begin:
                await asyncio.sleep(random.uniform(0, most))
            await original(conn, *statements)

        monkeypatch.setattr(PostgresConnection, "script", late)

    async def block_writes(self, conn: Connection) -> None:
        await conn.execute("BEGIN")  # the lobby's row lock, which every write to it takes
        await conn.execute("SELECT 1 FROM rooms WHERE name_key = ? FOR UPDATE", LOBBY)

    async def wait_until_blocked(self, conn: Connection, store: SQLStore) -> None:
        assert isinstance(conn, PostgresConnection)
        assert isinstance(store, PostgresStore)
        await wait_until_waiting_for_a_lock(conn.raw, store)

    async def refuse_insert(self, conn: Connection, text: str, message: str) -> None:
        await conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF NEW.text = '{text}' THEN RAISE EXCEPTION '{message}'; END IF;"
            " RETURN NEW; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()"
        )

    async def fail_commit_when(self, conn: Connection, text: str) -> None:
        # A deferred constraint trigger: checked at COMMIT.
        await conn.execute(
            "CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{self.commit_refusal}'; END $$"
        )
        await conn.execute(
            "CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON events"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            f" WHEN (NEW.text = '{text}') EXECUTE FUNCTION fail_commit()"
        )

    async def tables(self, conn: Connection) -> set[str]:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}


@asynccontextmanager
async def postgres_backend(tmp_path: Path) -> AsyncIterator[Harness]:
    async with postgres_schema() as url:
        yield PostgresHarness(url)


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[Harness]]] = {
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with BACKENDS[request.param](tmp_path) as prepared:
        yield prepared


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    """The name of each backend in turn (for tests that make their stores themselves)."""
    name: str = request.param
    return name


@pytest.fixture
def store_maker(harness: Harness) -> StoreMaker:
    return harness.make


@asynccontextmanager
async def writes_held(harness: Harness, store: SQLStore) -> AsyncIterator[Connection]:
    """Hold the lobby's writes while the body queues writes; they form one batch on exit
    (with ``harness.make(exact=True)``). Yields the connection holding the lock.

    The writer first takes a plug write (a guest post to the lobby, its own batch and
    transaction) and waits for the lock, so whatever the body queues meanwhile waits behind it.
    That makes the next batch's content exact instead of a matter of timing.
    """
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    async with harness.raw() as conn:
        await harness.block_writes(conn)
        plug = asyncio.create_task(store.post_message(lobby.id, None, "plug", "plug"))
        await asyncio.sleep(0)  # the plug is queued ...
        await harness.wait_until_blocked(conn, store)  # ... and its writer waits for the lock
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")
    await plug


PythonRunner = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def run_python() -> Iterator[PythonRunner]:
    """Start ``python -c script args...``; whatever still runs after the test is killed."""
    started: list[subprocess.Popen[str]] = []

    def run(script: str, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), *args],
            preexec_fn=child_setup,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reaps it and closes its pipes


#: Posts ``count`` guest messages to the lobby of ``db`` (a file or a URL), ten at a time
#: (batches, and interleaving), printing each seq once acknowledged; with ``crash`` it then
#: exits without closing the store, so only what was committed survives.
POSTER = """
    import asyncio, os, sys
    from parley.backends import open_store

    async def main(db: str, count: int, crash: bool) -> None:
        store = open_store(db)
        await store.start()
        lobby = await store.get_room("lobby")

        async def post(i: int) -> None:
            appended = await store.post_message(lobby.id, None, "other", f"p{i}")
            print(appended.event.seq, flush=True)  # acknowledged

        for start in range(0, count, 10):
            await asyncio.gather(*(post(i) for i in range(start, min(start + 10, count))))
        if crash:
            os._exit(3)
        await store.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "crash"))
"""


@pytest.fixture
async def store(store_maker: StoreMaker) -> AsyncIterator[Store]:
    """A started store on an empty database, closed after the test."""
    opened = store_maker()
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def alice(store: Store) -> User:
    """The first account: an admin."""
    return await store.create_user("Alice", "hash-a")


@pytest.fixture
async def room(store: Store, alice: User) -> Room:
    """A public room that Alice created."""
    created, _ = await store.create_room("room", RoomKind.PUBLIC, creator_id=alice.id)
    return created


@pytest.fixture
async def bob(store: Store, alice: User) -> User:
    return await store.create_user("bob", "hash-b")


@pytest.fixture
async def carol(store: Store, bob: User) -> User:
    return await store.create_user("Carol", "hash-c")
