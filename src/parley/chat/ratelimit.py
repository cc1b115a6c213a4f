"""Token buckets: how Parley says "slow down" before it says "goodbye".

Each signed-in user (across all their connections on a server) and each guest connection has
a bucket of ``burst`` tokens refilled at ``rate`` per second; every command takes one.

* A signed-in client can be told: a command that finds the bucket empty is refused with
  ``rate_limited`` and not executed (:meth:`TokenBucket.take`); one that keeps going —
  ``burst`` refusals in a row without one accepted command — is disconnected with 4003.
* A guest (the tutorial's plain-text client) cannot be told anything, so it is slowed instead
  (:meth:`TokenBucket.charge`): its message is taken, and its socket is not read again until
  the bucket has refilled (see ``chat/guests.py``).

Buckets are kept by key in a :class:`BucketTable` (users by id, guests' addresses), not by
connection, so that reconnecting does not refill them; a bucket is forgotten only once it is
full again, when forgetting it changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar


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

    def charge(self) -> float:
        """Take a token even if there is none (the bucket goes into debt); return the seconds
        until the balance is back at zero: how long the caller should wait before the next."""
        now = time.monotonic()
        limit = self.limit
        self._tokens = min(limit.burst, self._tokens + (now - self._stamp) * limit.rate) - 1.0
        self._stamp = now
        return -self._tokens / limit.rate if self._tokens < 0 else 0.0

    @property
    def full(self) -> bool:
        """True when the bucket is as a new one would be (nothing to remember)."""
        return self.strikes == 0 and self.available >= self.limit.burst

    @property
    def available(self) -> float:
        """Tokens available now (without taking one)."""
        elapsed = time.monotonic() - self._stamp
        return min(self.limit.burst, self._tokens + elapsed * self.limit.rate)

    @property
    def abusive(self) -> bool:
        """True once the client ignored ``burst`` refusals in a row."""
        return self.strikes >= self.limit.burst


K = TypeVar("K")


class BucketTable(Generic[K]):
    """Buckets by key (a user id, an address), shared by every connection of that key.

    A bucket outlives its connections, so a client cannot refill it by reconnecting; it is
    dropped once it is full again (after ``burst / rate`` seconds without use, at the
    latest), since a full bucket is exactly what a new one would be. That keeps the table's
    size near the number of keys active in the last ``burst / rate`` seconds; ``max_size`` is a
    hard bound on top (the oldest buckets go first) against a flood of new keys.
    """

    __slots__ = ("_buckets", "_last_prune", "limit", "max_size")

    def __init__(self, limit: RateLimit, *, max_size: int = 100_000) -> None:
        self.limit = limit
        self.max_size = max_size
        self._buckets: dict[K, TokenBucket] = {}
        self._last_prune = time.monotonic()

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    def get(self, key: K) -> TokenBucket:
        """The bucket of ``key`` (a new, full one if it has none)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            now = time.monotonic()
            if len(self._buckets) >= self.max_size or now - self._last_prune >= 1.0:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket(self.limit)
        return bucket

    def _prune(self, now: float) -> None:
        self._last_prune = now
        buckets = self._buckets
        for key in [key for key, bucket in buckets.items() if bucket.full]:
            del buckets[key]
        while len(buckets) >= self.max_size:
            del buckets[next(iter(buckets))]
