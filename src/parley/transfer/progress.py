"""Progress of a long export or import, as lines on standard error, at most one per interval.

A million rows take minutes: the operator sees the count and the rate, but never more than a
line per ``interval`` seconds (a line per row would cost more than the rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts rows; :meth:`tick` writes ``"<verb> N rows (R rows/s)"`` when ``interval`` has
    passed since the last line, :meth:`done` a last line always."""

    def __init__(
        self,
        verb: str,
        out: TextIO | None,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verb = verb
        self._out = out
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self.rows = 0
        self.lines = 0

    def sibling(self, verb: str) -> Progress:
        """Another count, written where this one is (a phase of the same job)."""
        return Progress(verb, self._out, interval=self._interval, clock=self._clock)

    def tick(self, rows: int = 1) -> None:
        self.rows += rows
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._say(now)

    def done(self) -> None:
        self._say(self._clock())

    def _say(self, now: float) -> None:
        if self._out is None:
            return
        elapsed = now - self._started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        self._out.write(f"{self._verb} {self.rows:,} rows ({rate:,.0f} rows/s)\n")
        self._out.flush()
        self.lines += 1


__all__ = ["Progress"]
