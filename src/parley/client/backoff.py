"""How long to wait between reconnection attempts: exponential, capped, with jitter.

Jitter matters when a server restarts: every client lost its connection at the same moment,
and without it they would all come back at the same moments too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays of ``initial``, doubling up to ``maximum`` seconds; each one is shortened by up
    to ``jitter`` (a fraction) at random."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay * (1 - self.jitter * random.random())
            delay = min(delay * self.factor, self.maximum)
