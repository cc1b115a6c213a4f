"""This node's entry on the figure board, published every ``interval`` seconds, and the
deployment's figures read back from the board for the admin API.

The node's counters come from ``/metrics`` (:meth:`parley.server.metrics.Metrics.figures`);
rates are computed here between two publications, so every entry carries its own rates and
the admin page needs no two readings of its own. A publication that fails (Redis away) is
logged once and tried again at the next tick; the node serves on regardless.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from parley.clock import now_ms
from parley.figures.base import BoardReading, FigureBoard, FiguresUnavailable, NodeFigures
from parley.figures.totals import report
from parley.tasks import stop

log = logging.getLogger(__name__)

#: Seconds between two publications of a node's figures (the admin page reads as often).
INTERVAL = 2.0


class FigurePublisher:
    """Owns the board: starts and closes it, and withdraws this node's entry on close.

    ``counters``: this node's counters (``connections``, ``messages_in``,
    ``events_published``, ``commits``, ``commit_seconds``). ``address``: how an admin tells
    the node apart (host name and port; set again once the port is bound).
    """

    def __init__(
        self,
        board: FigureBoard,
        counters: Callable[[], dict[str, float]],
        *,
        node: str,
        address: str,
        interval: float = INTERVAL,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        if not 0 < interval < board.ttl:
            raise ValueError("the figures must be published more often than they expire")
        self.board = board
        self.counters = counters
        self.node = node
        self.address = address
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.pid = os.getpid()
        self.latest: NodeFigures | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def sample(self) -> NodeFigures:
        """This node's figures now, with rates since the previous sample."""
        counters, at, before = self.counters(), self.clock(), self.latest
        messages_in = int(counters.get("messages_in", 0))
        commits = int(counters.get("commits", 0))
        commit_seconds = float(counters.get("commit_seconds", 0.0))
        rate, commit_ms = 0.0, None
        if before is not None:
            seconds = (at - before.at) / 1000
            if seconds > 0:
                rate = max(0, messages_in - before.messages_in) / seconds
            if commits > before.commits:
                spent = commit_seconds - before.commit_seconds
                commit_ms = round(max(0.0, spent) / (commits - before.commits) * 1000, 3)
        self.latest = NodeFigures(
            node=self.node,
            address=self.address,
            pid=self.pid,
            started=self.started,
            at=at,
            connections=int(counters.get("connections", 0)),
            messages_in=messages_in,
            events_published=int(counters.get("events_published", 0)),
            commits=commits,
            commit_seconds=round(commit_seconds, 6),
            messages_per_second=round(rate, 2),
            commit_ms=commit_ms,
        )
        return self.latest

    async def publish(self) -> None:
        """Publish a fresh sample (a failure is logged, not raised)."""
        try:
            await self.board.publish(self.sample())
        except FiguresUnavailable as exc:
            if not self._failing:
                self._failing = True
                log.warning("could not publish this node's figures (%s); retrying", exc)
            return
        if self._failing:
            self._failing = False
            log.info("this node's figures are published again")

    async def start(self) -> None:
        await self.board.start()
        await self.publish()
        self._task = asyncio.create_task(self._publish_forever())

    async def close(self) -> None:
        """Stop publishing and take this node's entry off the board (others stop counting
        it at once rather than after ``ttl``)."""
        await stop(self._task)
        self._task = None
        try:
            await self.board.withdraw(self.node)
        except FiguresUnavailable as exc:
            log.warning("could not withdraw this node's figures (%s); they expire", exc)
        await self.board.close()

    async def report(self) -> dict[str, Any]:
        """The deployment's figures (``figures/totals.py``); this node's alone, marked
        ``partial``, when the board cannot be read."""
        try:
            reading, partial = await self.board.read(), False
        except FiguresUnavailable as exc:
            log.warning("could not read the figure board: %s", exc)
            own = self.latest or self.sample()
            reading, partial = BoardReading((own,), 1), True
        return report(reading, node=self.node, at=self.clock(), partial=partial)

    async def _publish_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.publish()
            except Exception:
                log.exception("publishing this node's figures failed")
