"""Presence fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend yields a *presence maker*: each call returns a new, not yet started presence of
the test's medium (Redis: one prefix of the test's own, removed afterwards; every instance
acts as one node, with its own node id). In-process presence has no shared medium: each
instance is a deployment of its own, so the conformance suite uses one instance.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from parley.presence.base import Presence
from parley.presence.memory import MemoryPresence
from parley.presence.redis import RedisPresence
from tests.broker.redis_support import (
    PrivateRedis,
    delete_prefix,
    shared_redis_url,
    unique_prefix,
)

PresenceMaker = Callable[..., Presence]


@asynccontextmanager
async def memory_backend() -> AsyncIterator[PresenceMaker]:
    yield lambda **_: MemoryPresence()


@asynccontextmanager
async def redis_backend() -> AsyncIterator[PresenceMaker]:
    url, prefix = shared_redis_url(), unique_prefix()

    def make(**options: Any) -> Presence:
        options.setdefault("node_id", secrets.token_hex(8))
        return RedisPresence(url, prefix=prefix, **options)

    try:
        yield make
    finally:
        delete_prefix(url, prefix)


BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[PresenceMaker]]] = {
    "memory": memory_backend,
    "redis": redis_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    """A started presence of each backend, closed after the test."""
    async with BACKENDS[request.param]() as make:
        opened = make()
        await opened.start()
        try:
            yield opened
        finally:
            await opened.close()


@pytest.fixture
async def redis_presences() -> AsyncIterator[Callable[..., Any]]:
    """``await make(**options)``: a started RedisPresence on the shared Redis (one prefix per
    test, removed afterwards), closed after the test. Options go to ``RedisPresence``."""
    url, prefix = shared_redis_url(), unique_prefix()
    opened: list[RedisPresence] = []

    async def make(**options: Any) -> RedisPresence:
        options.setdefault("node_id", secrets.token_hex(8))
        options.setdefault("prefix", prefix)
        made = RedisPresence(options.pop("url", url), **options)
        await made.start()
        opened.append(made)
        return made

    try:
        yield make
    finally:
        for made in opened:
            await made.close()
        delete_prefix(url, prefix)


@pytest.fixture
def private_redis(tmp_path: Path) -> Any:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()
