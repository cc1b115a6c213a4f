"""What only the Redis figure board has: several processes' connections on one board,
entries another version (or anything else) left that are skipped, and outages."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis.asyncio

from parley.figures.base import FiguresUnavailable
from parley.figures.memory import MemoryFigureBoard
from parley.figures.publisher import FigurePublisher
from parley.figures.redis import RedisFigureBoard
from tests.broker.redis_support import delete_prefix, shared_redis_url, unique_prefix
from tests.figures.test_figures_conformance import entry

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def prefix() -> Any:
    url, made = shared_redis_url(), unique_prefix()
    yield made
    delete_prefix(url, made)


async def test_boards_of_two_processes_share_the_entries(prefix: str) -> None:
    one = RedisFigureBoard(shared_redis_url(), prefix=prefix)
    two = RedisFigureBoard(shared_redis_url(), prefix=prefix)
    other = RedisFigureBoard(shared_redis_url(), prefix=prefix + "-other")
    for board in (one, two, other):
        await board.start()
    try:
        await one.publish(entry("a"))
        await two.publish(entry("b"))
        assert [e.node for e in (await one.read()).entries] == ["a", "b"]
        assert [e.node for e in (await two.read()).entries] == ["a", "b"]
        assert (await other.read()).total == 0  # another prefix: another deployment
    finally:
        for board in (one, two, other):
            await board.close()


async def test_malformed_entries_are_skipped(prefix: str) -> None:
    board = RedisFigureBoard(shared_redis_url(), prefix=prefix)
    await board.start()
    raw = redis.asyncio.Redis.from_url(shared_redis_url())
    try:
        await board.publish(entry("good"))
        bad = {
            "junk": b"\xff not json",
            "list": b"[1, 2]",
            "negative": entry("negative").encode().replace('"connections":1', '"connections":-1'),
            "infinite": entry("infinite").encode().replace('"pid":1234', '"pid":1e999'),
            "text": entry("text").encode().replace('"commits":3', '"commits":"3"'),
            "huge": b'{"node":"' + b"x" * 2000 + b'"}',
            "missing": b'{"node":"missing"}',
        }
        far = int(time.time() * 1000) + 60_000
        for node, value in bad.items():
            await raw.set(f"{prefix}:figures:node:{node}", value, px=60_000)
            await raw.zadd(f"{prefix}:figures:nodes", {node: far})
        reading = await board.read()
        assert [e.node for e in reading.entries] == ["good"]
        assert reading.total == 1 + len(bad)  # on the board, but not shown
    finally:
        await raw.aclose()
        await board.close()


async def test_an_unreachable_board_raises_and_the_report_falls_back(private_redis: Any) -> None:
    board = RedisFigureBoard(private_redis.url, prefix="outage", timeout=0.5)
    counters = {"connections": 3.0, "messages_in": 0.0, "commits": 0.0, "commit_seconds": 0.0}
    publisher = FigurePublisher(board, lambda: counters, node="me", address="here:1")
    await publisher.start()
    try:
        assert (await publisher.report())["partial"] is False
        private_redis.kill()
        started = time.monotonic()
        with pytest.raises(FiguresUnavailable, match="cannot reach Redis at"):
            await board.read()
        with pytest.raises(FiguresUnavailable):
            await board.publish(entry("me"))
        await publisher.publish()  # logged, not raised
        answer = await publisher.report()
        assert time.monotonic() - started < 5
        assert answer["partial"] is True
        assert [node["node"] for node in answer["nodes"]] == ["me"]
        assert answer["connections"] == 3
        private_redis.start()
        await publisher.publish()
        answer = await publisher.report()
        assert (answer["partial"], answer["nodes_total"]) == (False, 1)
    finally:
        await publisher.close()


async def test_a_closed_publisher_withdraws_its_entry(prefix: str) -> None:
    board = RedisFigureBoard(shared_redis_url(), prefix=prefix)
    watcher = RedisFigureBoard(shared_redis_url(), prefix=prefix)
    await watcher.start()
    publisher = FigurePublisher(board, dict, node="leaving", address="here:1")
    await publisher.start()
    assert [e.node for e in (await watcher.read()).entries] == ["leaving"]
    await publisher.close()
    assert (await watcher.read()).total == 0
    await watcher.close()


def test_publishing_must_be_more_frequent_than_expiry() -> None:
    with pytest.raises(ValueError, match="more often"):
        FigurePublisher(MemoryFigureBoard(ttl=2.0), dict, node="n", address="a", interval=2.0)
