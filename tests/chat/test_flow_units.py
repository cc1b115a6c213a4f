"""The pieces of flow control without a server: token debt, bucket tables, work in flight.

The behaviour on real sockets is in tests/server/test_flow.py; these pin the rules those
tests rely on, with a fake peer and a controlled clock.
"""

from __future__ import annotations

import pytest

from parley.chat import ratelimit
from parley.chat.inflight import FlowLimits, InFlight, WorkQueue
from parley.chat.ratelimit import BucketTable, RateLimit, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit.time, "monotonic", fake)
    return fake


def test_charge_goes_into_debt_and_says_how_long_to_wait(clock: Clock) -> None:
    bucket = TokenBucket(RateLimit(rate=10, burst=2))
    assert bucket.charge() == 0.0
    assert bucket.charge() == 0.0
    assert bucket.charge() == pytest.approx(0.1)  # one token owed, at 10 a second
    assert bucket.charge() == pytest.approx(0.2)
    clock.now += 0.2
    assert bucket.charge() == pytest.approx(0.1)


def test_a_table_keeps_a_used_bucket_and_forgets_a_full_one(clock: Clock) -> None:
    table: BucketTable[int] = BucketTable(RateLimit(rate=1, burst=3))
    first = table.get(7)
    for _ in range(3):
        assert first.take()
    clock.now += 1.5
    table.get(8)  # a new key prunes: 7 is not full yet, so it stays
    assert table.get(7) is first
    assert first.available == pytest.approx(1.5)  # its debt was remembered
    clock.now += 10
    table.get(9)  # now 7 is full again: forgetting it changes nothing
    assert 7 not in table


def test_a_table_is_bounded(clock: Clock) -> None:
    table: BucketTable[int] = BucketTable(RateLimit(rate=1, burst=3), max_size=10)
    for key in range(100):
        table.get(key).take()  # none is full: only the bound can drop them
    assert len(table) <= 10
    assert 99 in table


class FakePeer:
    def __init__(self) -> None:
        self.holds = 0

    def hold_reading(self) -> None:
        self.holds += 1

    def release_reading(self) -> None:
        self.holds -= 1


def test_in_flight_holds_past_its_bound_and_releases_at_half() -> None:
    queue = WorkQueue(FlowLimits(max_in_flight=4, max_in_flight_bytes=1 << 20))
    peer = FakePeer()
    flight = InFlight(peer, queue)  # type: ignore[arg-type]
    for _ in range(3):
        flight.start(10)
    assert peer.holds == 0
    flight.start(10)
    assert peer.holds == 1  # four in flight: stop reading
    flight.finish(10)
    assert peer.holds == 1  # three: not yet half
    flight.finish(10)
    assert peer.holds == 0  # two: read again
    assert (queue.commands, queue.bytes) == (2, 20)


def test_in_flight_bytes_bound() -> None:
    queue = WorkQueue(FlowLimits(max_in_flight=100, max_in_flight_bytes=1000))
    peer = FakePeer()
    flight = InFlight(peer, queue)  # type: ignore[arg-type]
    flight.start(999)
    assert peer.holds == 0
    flight.start(1)
    assert peer.holds == 1
    flight.finish(999)
    assert peer.holds == 0


def test_a_full_queue_holds_every_connection_that_adds_and_releases_them_all() -> None:
    queue = WorkQueue(FlowLimits(max_in_flight=100, max_store_queue=4))
    peers = [FakePeer() for _ in range(4)]
    flights = [InFlight(peer, queue) for peer in peers]  # type: ignore[arg-type]
    for flight in flights:
        flight.start(1)
    assert [p.holds for p in peers] == [0, 0, 0, 1]  # the fourth filled the queue
    flights[0].finish(1)
    assert peers[3].holds == 1  # three queued: above half
    flights[1].finish(1)
    assert [p.holds for p in peers] == [0, 0, 0, 0]  # two: everyone reads again


def test_closing_a_connection_returns_its_share_of_the_queue() -> None:
    queue = WorkQueue(FlowLimits(max_store_queue=4))
    peer = FakePeer()
    flight = InFlight(peer, queue)  # type: ignore[arg-type]
    for _ in range(3):
        flight.start(5)
    flight.close()
    assert (queue.commands, queue.bytes) == (0, 0)
    flight.finish(5)  # a task that ends after the close does not count twice
    assert (queue.commands, queue.bytes) == (0, 0)
