"""Token buckets: how Parley says "slow down" before it says "goodbye".

Each signed-in user (across all their connections on a server) and each guest connection has
a bucket of ``burst`` tokens refilled at ``rate`` per second; every command takes one. A
command that finds the bucket empty is refused with ``rate_limited`` and not executed. A
client that keeps going — ``burst`` refusals in a row without one accepted command — is
disconnected with close code 4003.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Commands per second, sustained, and the burst allowed above it."""

    rate: float = 10.0
    burst: int = 30


class TokenBucket:
    __slots__ = ("_stamp", "_tokens", "limit", "strikes")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._stamp = time.monotonic()
        #: Refusals since the last accepted command.
        self.strikes = 0

    def take(self) -> bool:
        """Take a token; False (and one more strike) when none is left."""
        now = time.monotonic()
        limit = self.limit
        self._tokens = min(limit.burst, self._tokens + (now - self._stamp) * limit.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self.strikes = 0
            return True
        self.strikes += 1
        return False

    @property
    def available(self) -> float:
        """Tokens available now (without taking one)."""
        elapsed = time.monotonic() - self._stamp
        return min(self.limit.burst, self._tokens + elapsed * self.limit.rate)

    @property
    def abusive(self) -> bool:
        """True once the client ignored ``burst`` refusals in a row."""
        return self.strikes >= self.limit.burst
