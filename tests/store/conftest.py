"""Store fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend is an async context manager that, given a fresh temporary directory, prepares an
empty database and yields a *store maker*: a function returning a new, not yet started store
on that database. The conformance suite only uses the :class:`~parley.store.base.Store`
interface; a maker (rather than one store) lets it close a store and open another on the same
data. Adding a backend is one entry in ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from parley.model import User
from parley.store.base import Store
from parley.store.sqlite import SQLiteStore

StoreMaker = Callable[[], Store]
Backend = Callable[[Path], AbstractAsyncContextManager[StoreMaker]]


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[StoreMaker]:
    path = tmp_path / "parley.db"
    yield lambda: SQLiteStore(path)


BACKENDS: dict[str, Backend] = {
    "sqlite": sqlite_backend,
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
async def bob(store: Store, alice: User) -> User:
    return await store.create_user("bob", "hash-b")


@pytest.fixture
async def carol(store: Store, bob: User) -> User:
    return await store.create_user("Carol", "hash-c")
