"""Broker fixtures: every backend in ``BACKENDS`` runs the whole conformance suite.

A backend yields a *broker maker*: each call returns a new, not yet started broker, and all
the brokers of one test share one medium (a :class:`MemoryBus`, or one Redis under a prefix
of the test's own), so that each acts as one node of a deployment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from parley.broker.base import Broker
from parley.broker.memory import MemoryBroker, MemoryBus
from parley.broker.redis import RedisBroker
from tests.broker.redis_support import PrivateRedis, eventually, shared_redis_url, unique_prefix

BrokerMaker = Callable[[], Broker]


@asynccontextmanager
async def memory_backend() -> AsyncIterator[BrokerMaker]:
    bus = MemoryBus()
    yield lambda: MemoryBroker(bus)


@asynccontextmanager
async def redis_backend() -> AsyncIterator[BrokerMaker]:
    url, prefix = shared_redis_url(), unique_prefix()
    yield lambda: RedisBroker(url, prefix=prefix)


BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[BrokerMaker]]] = {
    "memory": memory_backend,
    "redis": redis_backend,
}


class Recorder:
    """A publication handler that remembers what it received, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.reconnects = 0

    def on_publication(self, channel: str, data: bytes) -> None:
        self.received.append((channel, data))

    def on_broker_reconnected(self) -> None:
        self.reconnects += 1

    def on(self, channel: str) -> list[bytes]:
        return [data for ch, data in self.received if ch == channel]

    async def wait_for(self, channel: str, data: bytes, timeout: float = 5.0) -> None:
        await eventually(lambda: (channel, data) in self.received, timeout)


Node = tuple[Broker, Recorder]
NodeMaker = Callable[[], Awaitable[Node]]


@pytest.fixture(params=list(BACKENDS))
async def make_node(request: pytest.FixtureRequest) -> AsyncIterator[NodeMaker]:
    """``broker, recorder = await make_node()``: a started broker of the test's medium."""
    started: list[Broker] = []
    async with BACKENDS[request.param]() as make_broker:

        async def make() -> Node:
            broker, recorder = make_broker(), Recorder()
            await broker.start(recorder)
            started.append(broker)
            return broker, recorder

        yield make
        for broker in started:
            await broker.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()
