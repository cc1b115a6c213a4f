"""The sign-in limits as values (``server/throttle.py``), with a clock the test moves; a real
server is driven in ``test_sign_in_throttle.py``."""

from __future__ import annotations

import pytest

from parley.chat.ratelimit import RateLimit
from parley.server.throttle import (
    ACCOUNT_CEILING,
    ACCOUNT_LEAK,
    FIRST_DELAY,
    MAX_DELAY,
    PAIR_LIMIT,
    Buckets,
    Pressure,
    SignInGuard,
    delay_for,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_delay_up_to_the_ceiling_then_doubling_up_to_the_bound() -> None:
    assert [delay_for(n) for n in range(ACCOUNT_CEILING + 1)] == [0.0] * (ACCOUNT_CEILING + 1)
    past = [delay_for(ACCOUNT_CEILING + n) for n in range(1, 12)]
    assert past[:4] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY, 8 * FIRST_DELAY]
    assert max(past) == past[-1] == MAX_DELAY
    assert delay_for(1e12) == MAX_DELAY  # no overflow, however hard an account is hit
    assert delay_for(ACCOUNT_CEILING + 0.5) == FIRST_DELAY  # a count that leaked part-way


def test_pressure_leaks_away_and_never_goes_negative() -> None:
    clock = Clock()
    pressure = Pressure(ACCOUNT_LEAK, clock)
    for _ in range(5):
        pressure.add("a", 1.0)
    clock.now += 20  # 20 s at 0.1/s: two of the five are gone
    assert pressure.add("a", 0.0) == pytest.approx(3.0)
    clock.now += 3600
    assert pressure.add("a", -1.0) == 0.0
    assert pressure.add("a", 1.0) == 1.0


def test_the_guard_refuses_a_pair_past_its_burst_and_refunds_successes() -> None:
    clock = Clock()
    guard = SignInGuard(RateLimit(rate=1000, burst=1000), clock=clock)
    verdicts = [guard.login("10.0.0.1", "owner") for _ in range(PAIR_LIMIT.burst + 1)]
    assert [v.retry_after > 0 for v in verdicts] == [False] * PAIR_LIMIT.burst + [True]
    assert 0 < verdicts[-1].retry_after <= 1 / PAIR_LIMIT.rate
    # Another address at the same account is not refused ...
    assert guard.login("10.0.0.2", "owner").retry_after == 0
    # ... and a success gives its pair a full bucket again, and takes back its own charge.
    guard.refund("10.0.0.2", "owner")
    for _ in range(PAIR_LIMIT.burst):
        assert guard.login("10.0.0.2", "owner").retry_after == 0
        guard.refund("10.0.0.2", "owner")
    # Five failures from the first address are all that weigh on the account.
    assert guard.by_account.add("owner", 0.0) == pytest.approx(PAIR_LIMIT.burst)


def test_the_guard_slows_an_account_guessed_from_many_addresses() -> None:
    clock = Clock()
    guard = SignInGuard(RateLimit(rate=1000, burst=1000), clock=clock)
    delays = [guard.login(f"10.0.{n}.1", "owner").delay for n in range(ACCOUNT_CEILING + 3)]
    assert delays == [0.0] * ACCOUNT_CEILING + [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY]
    # Quiet for long enough, the account is answered at once again.
    clock.now += (ACCOUNT_CEILING + 3) / ACCOUNT_LEAK
    assert guard.login("10.0.99.1", "owner").delay == 0.0


def test_buckets_forget_the_least_recently_used_keys() -> None:
    buckets = Buckets(RateLimit(rate=0.001, burst=1), max_keys=3)
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0  # empty
    for key in ("b", "c", "d"):  # "a" is now the least recently used, and forgotten
        buckets.take(key)
    assert buckets.take("a") == 0.0
