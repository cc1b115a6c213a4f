"""Store fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend is an async context manager that, given a fresh temporary directory, prepares an
empty database and yields a *store maker*: a function returning a new, not yet started store
on that database. The conformance suite only uses the :class:`~parley.store.base.Store`
interface; a maker (rather than one store) lets it close a store and open another on the same
data. Adding a backend is one entry in ``BACKENDS``.

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
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from parley.model import Room, RoomKind, User
from parley.store.base import Store
from parley.store.postgres import PostgresStore, describe_target
from parley.store.sqlite import SQLiteStore

POSTGRES_URL = os.environ.get("PARLEY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

StoreMaker = Callable[[], Store]
Backend = Callable[[Path], AbstractAsyncContextManager[StoreMaker]]


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[StoreMaker]:
    path = tmp_path / "parley.db"
    yield lambda: SQLiteStore(path)


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


@asynccontextmanager
async def postgres_backend(tmp_path: Path) -> AsyncIterator[StoreMaker]:
    # A small pool: the server is shared, and its max_connections with it.
    async with postgres_schema() as url:
        yield lambda: PostgresStore(url, max_size=4)


BACKENDS: dict[str, Backend] = {
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def store_maker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    async with BACKENDS[request.param](tmp_path) as maker:
        yield maker


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
