"""A node's entry (rates between two samples) and the deployment's totals."""

from __future__ import annotations

import dataclasses

import pytest

from parley.figures.base import BoardReading
from parley.figures.memory import MemoryFigureBoard
from parley.figures.publisher import FigurePublisher
from parley.figures.totals import report
from tests.figures.test_figures_conformance import entry


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def publisher(counters: dict[str, float], clock: Clock) -> FigurePublisher:
    return FigurePublisher(
        MemoryFigureBoard(), lambda: dict(counters), node="n1", address="h:1", clock=clock
    )


def test_rates_are_over_the_interval_between_two_samples() -> None:
    clock = Clock()
    counters = {"connections": 4, "messages_in": 100, "commits": 10, "commit_seconds": 0.5}
    made = publisher(counters, clock)
    first = made.sample()
    assert (first.messages_per_second, first.commit_ms) == (0.0, None)  # nothing to compare
    assert (first.connections, first.started, first.node, first.address) == (
        4,
        clock.ms,
        "n1",
        "h:1",
    )
    clock.ms += 2_000
    counters.update(messages_in=130, commits=14, commit_seconds=0.508)
    second = made.sample()
    assert second.messages_per_second == 15.0  # 30 messages in 2 s
    assert second.commit_ms == 2.0  # 8 ms over 4 commits
    clock.ms += 2_000
    third = made.sample()  # nothing happened
    assert (third.messages_per_second, third.commit_ms) == (0.0, None)


async def test_the_report_reads_the_board_this_node_included() -> None:
    clock = Clock()
    made = publisher({"connections": 2}, clock)
    await made.start()
    try:
        await made.board.publish(entry("other", connections=5))
        answer = await made.report()
        assert sorted(node["node"] for node in answer["nodes"]) == ["n1", "other"]
        assert (answer["connections"], answer["node"], answer["partial"]) == (7, "n1", False)
    finally:
        await made.close()
    assert (await made.board.read()).total == 1  # withdrawn on close; "other" stays


def test_totals_sum_what_sums_and_take_the_slowest_commit_time() -> None:
    a = dataclasses.replace(entry("a"), connections=3, messages_per_second=1.25, commit_ms=0.5)
    b = dataclasses.replace(entry("b"), connections=4, messages_per_second=2.5, commit_ms=4.0)
    c = dataclasses.replace(entry("c"), connections=0, messages_per_second=0.0, commit_ms=None)
    answer = report(BoardReading((a, b, c), 3), node="a", at=5, partial=False)
    assert answer["connections"] == 7
    assert answer["messages_per_second"] == 3.75
    assert answer["commit_ms"] == 4.0
    assert (answer["messages_in"], answer["commits"]) == (30, 9)
    assert answer["commit_seconds"] == pytest.approx(0.009)
    assert [node["node"] for node in answer["nodes"]] == ["a", "b", "c"]
    assert (answer["nodes_total"], answer["at"], answer["node"]) == (3, 5, "a")


def test_totals_of_nothing() -> None:
    answer = report(BoardReading((), 0), node="a", at=5, partial=True)
    assert (answer["connections"], answer["commit_ms"], answer["nodes"]) == (0, None, [])
