"""The figure board in the process: the default, for a single server process (which is then
the only node on it)."""

from __future__ import annotations

import time
from collections.abc import Callable

from parley.figures.base import (
    MAX_NODES,
    TTL,
    BoardReading,
    FigureBoard,
    NodeFigures,
    checked,
    ordered,
)


class MemoryFigureBoard(FigureBoard):
    """Entries in a dict, each with the monotonic time at which it expires."""

    def __init__(self, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, figures: NodeFigures) -> None:
        self._entries[figures.node] = (self._clock() + self.ttl, checked(figures))

    async def withdraw(self, node: str) -> None:
        self._entries.pop(node, None)

    async def read(self, limit: int = MAX_NODES) -> BoardReading:
        now = self._clock()
        for node in [node for node, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[node]
        raws = [raw for _, raw in list(self._entries.values())[: max(0, limit)]]
        return BoardReading(ordered([NodeFigures.decode(raw) for raw in raws]), len(self._entries))
