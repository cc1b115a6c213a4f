"""The figure board conformance suite: the rules of ``parley.figures.base``, for every backend.

Only the ``FigureBoard`` interface is used, so the same tests run against each backend of
``conftest.BACKENDS``. Redis-only matters (several connections, an outage) are in
``test_redis_figures.py``; the publisher and the totals in ``test_publisher.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from parley.figures.base import MAX_ENTRY, MAX_NODES, NodeFigures

pytestmark = pytest.mark.timeout(30)

MakeBoard = Callable[..., Any]


def entry(node: str, *, connections: int = 1, address: str | None = None) -> NodeFigures:
    return NodeFigures(
        node=node,
        address=address or f"host-{node}:8080",
        pid=1234,
        started=1_000,
        at=2_000,
        connections=connections,
        messages_in=10,
        events_published=5,
        commits=3,
        commit_seconds=0.003,
        messages_per_second=2.5,
        commit_ms=1.0,
    )


async def test_an_empty_board_reads_empty(make_board: MakeBoard) -> None:
    board = await make_board()
    reading = await board.read()
    assert (reading.entries, reading.total) == ((), 0)


async def test_every_nodes_entry_is_read_back_whole_and_in_order(make_board: MakeBoard) -> None:
    board = await make_board()
    b, a = entry("b", connections=2, address="two:1"), entry("a", address="one:1")
    await board.publish(b)
    await board.publish(a)
    reading = await board.read()
    assert reading.entries == (a, b)  # by address, then node id
    assert reading.total == 2


async def test_a_publication_replaces_the_nodes_entry(make_board: MakeBoard) -> None:
    board = await make_board()
    await board.publish(entry("a", connections=1))
    await board.publish(entry("a", connections=7))
    reading = await board.read()
    assert [e.connections for e in reading.entries] == [7]
    assert reading.total == 1


async def test_a_withdrawn_entry_is_gone_and_others_stay(make_board: MakeBoard) -> None:
    board = await make_board()
    await board.publish(entry("a"))
    await board.publish(entry("b"))
    await board.withdraw("a")
    await board.withdraw("never-there")
    reading = await board.read()
    assert [e.node for e in reading.entries] == ["b"]


async def test_an_entry_not_published_again_expires_within_ttl(make_board: MakeBoard) -> None:
    board = await make_board(ttl=0.6)
    await board.publish(entry("quiet"))
    await board.publish(entry("busy"))
    for _ in range(4):  # "busy" keeps publishing, "quiet" stopped
        await asyncio.sleep(0.25)
        await board.publish(entry("busy"))
    reading = await board.read()
    assert [e.node for e in reading.entries] == ["busy"]
    assert reading.total == 1


async def test_a_read_is_bounded_and_says_how_many_nodes_there_are(
    make_board: MakeBoard,
) -> None:
    board = await make_board()
    for i in range(MAX_NODES + 5):
        await board.publish(entry(f"n{i:03}"))
    reading = await board.read()
    assert len(reading.entries) == MAX_NODES
    assert reading.total == MAX_NODES + 5
    small = await board.read(limit=3)
    assert (len(small.entries), small.total) == (3, MAX_NODES + 5)
    assert (await board.read(limit=0)).entries == ()
    assert (await board.read(limit=-1)).entries == ()


async def test_an_entry_over_the_size_limit_is_refused(make_board: MakeBoard) -> None:
    board = await make_board()
    huge = dataclasses.replace(entry("big"), address="x" * MAX_ENTRY)
    with pytest.raises(ValueError, match="at most"):
        await board.publish(huge)
    assert (await board.read()).total == 0
