"""Figure board fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend yields a *board maker*: each call returns a new, not yet started board on the
test's medium (Redis: a prefix of the test's own on the shared Redis, removed afterwards, so
parallel runs never see each other's entries). Unlike presence, one board holds the entries
of several nodes, so the conformance suite plays several nodes on one board of each kind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from parley.figures.base import FigureBoard
from parley.figures.memory import MemoryFigureBoard
from parley.figures.redis import RedisFigureBoard
from tests.broker.redis_support import delete_prefix, shared_redis_url, unique_prefix
from tests.presence.conftest import private_redis  # noqa: F401 (the fixture, shared)

BoardMaker = Callable[..., FigureBoard]


@asynccontextmanager
async def memory_backend() -> AsyncIterator[BoardMaker]:
    yield lambda **options: MemoryFigureBoard(**options)


@asynccontextmanager
async def redis_backend() -> AsyncIterator[BoardMaker]:
    url, prefix = shared_redis_url(), unique_prefix()
    try:
        yield lambda **options: RedisFigureBoard(url, prefix=prefix, **options)
    finally:
        delete_prefix(url, prefix)


BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[BoardMaker]]] = {
    "memory": memory_backend,
    "redis": redis_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def make_board(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """``await make_board(ttl=...)``: a started board of each backend, closed after the test."""
    opened: list[FigureBoard] = []
    async with BACKENDS[request.param]() as make:

        async def started(**options: Any) -> FigureBoard:
            board = make(**options)
            await board.start()
            opened.append(board)
            return board

        try:
            yield started
        finally:
            for board in opened:
                await board.close()
