"""Throttling password guesses without handing attackers a way to lock the owner out.

Checking a password is slow on purpose (Argon2id), which makes sign-in both a target for
guessing and a way to burn the server's CPU. Three limits, each charged *before* the password
is checked, so that concurrent requests cannot slip past a limit that is only updated once
their answers are known:

* **Per client address**, every sign-in and registration (``--auth-rate``): a flood from one
  address is refused (429) whatever it aims at.
* **Per account and client address**: :data:`PAIR_LIMIT` attempts, then one per 10 s, refused
  with 429 past that. A sign-in that succeeds clears its pair, so the owner, who knows the
  password, is never slowed by their own sign-ins; an attacker at another address does not
  touch the owner's pair at all, which is why a guesser can no longer lock the owner out.
* **Per account, from every address together**: a guesser with many addresses gets
  :data:`PAIR_LIMIT` tries at each. Past :data:`ACCOUNT_CEILING` attempts that were not
  successful sign-ins (the count leaks away at :data:`ACCOUNT_LEAK` per second), every answer
  about that account is delayed before its password is checked, exponentially up to
  :data:`MAX_DELAY`: the owner still gets in, a few seconds late, instead of being refused.
  Every attempt waits, the right password too: a delay only for wrong ones would tell a
  guesser which answer is coming before it arrives.

All three are per server process and kept in memory, for at most :data:`MAX_TRACKED` keys
each (the least recently used are forgotten).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from parley.chat.ratelimit import RateLimit, TokenBucket

#: Sign-in attempts per (account, client address): 5 at once, then one every 10 s.
PAIR_LIMIT = RateLimit(rate=0.1, burst=5)
#: Attempts at one account (from every address) that are not delayed ...
ACCOUNT_CEILING = 10
#: ... counting down by this many per second ...
ACCOUNT_LEAK = 0.1
#: ... past which the next attempt waits this long, each further one twice as long as the
#: one before, ...
FIRST_DELAY = 0.25
#: ... but never longer than this (seconds).
MAX_DELAY = 10.0
#: Keys remembered per limit; the least recently used beyond that are forgotten.
MAX_TRACKED = 50_000
#: Refusals of one (account, address) pair worth an audit entry: one per ten minutes.
AUDITED_REFUSALS = RateLimit(rate=1 / 600, burst=1)

Clock = Callable[[], float]


class Buckets:
    """Token buckets by key, forgetting the least recently used keys beyond ``max_keys``."""

    def __init__(self, limit: RateLimit, max_keys: int = MAX_TRACKED) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 if there was one, else the seconds until there is."""
        bucket = self._buckets.pop(key, None) or TokenBucket(self.limit)
        self._buckets[key] = bucket  # most recently used last
        if len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        if bucket.take():
            return 0.0
        return max(0.001, (1.0 - bucket.available) / self.limit.rate)

    def forget(self, key: str) -> None:
        """Give ``key`` a full bucket again."""
        self._buckets.pop(key, None)


class Pressure:
    """A count per key that leaks away at ``leak`` per second (never below 0)."""

    def __init__(self, leak: float, clock: Clock, max_keys: int = MAX_TRACKED) -> None:
        self.leak = leak
        self.clock = clock
        self.max_keys = max_keys
        self._levels: dict[str, tuple[float, float]] = {}  # key: (level, when)

    def add(self, key: str, amount: float) -> float:
        """Add ``amount`` (may be negative) to ``key``'s count; returns the new count."""
        now = self.clock()
        level, when = self._levels.pop(key, (0.0, now))
        level = max(0.0, level - (now - when) * self.leak + amount)
        if level > 0:
            self._levels[key] = (level, now)  # most recently used last
            if len(self._levels) > self.max_keys:
                del self._levels[next(iter(self._levels))]
        return level


def delay_for(attempts: float) -> float:
    """How long an attempt waits when ``attempts`` (itself included) are on the account."""
    excess = math.ceil(attempts - ACCOUNT_CEILING - 1e-9)
    if excess <= 0:
        return 0.0
    return min(MAX_DELAY, math.ldexp(FIRST_DELAY, min(excess - 1, 64)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one sign-in attempt: refuse it (``retry_after`` seconds > 0) or check
    the password after waiting ``delay`` seconds."""

    retry_after: float = 0.0
    delay: float = 0.0


class SignInGuard:
    """The three limits of the module docstring, for one server process."""

    def __init__(self, address_limit: RateLimit, *, clock: Clock = time.monotonic) -> None:
        self.by_address = Buckets(address_limit)
        self.by_pair = Buckets(PAIR_LIMIT)
        self.by_account = Pressure(ACCOUNT_LEAK, clock)
        self.audited = Buckets(AUDITED_REFUSALS)

    def attempt(self, address: str) -> float:
        """Charge one sign-in or registration to ``address``: 0, or the seconds to wait."""
        return self.by_address.take(address)

    def login(self, address: str, account: str) -> Verdict:
        """Charge one password check of ``account`` (a lower-cased name) from ``address``."""
        retry_after = self.by_pair.take(_pair(address, account))
        if retry_after:
            return Verdict(retry_after=retry_after)
        return Verdict(delay=delay_for(self.by_account.add(account, 1.0)))

    def first_refusal(self, address: str, account: str) -> bool:
        """Whether a refusal of this pair should be audited: the first of ten minutes."""
        return self.audited.take(_pair(address, account)) == 0

    def refund(self, address: str, account: str) -> None:
        """The attempt was no guess (the password was right, or could not be checked): give
        back what :meth:`login` charged for it."""
        self.by_pair.forget(_pair(address, account))
        self.by_account.add(account, -1.0)


def _pair(address: str, account: str) -> str:
    return f"{account}\n{address}"
