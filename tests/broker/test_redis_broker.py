"""What only the Redis broker has: outages, reconnection, the start-up check, the queue.

Outages use a private ``redis-server`` (``conftest.private_redis``) that the test kills,
pauses and restarts on the same port; the shared Redis is never disturbed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio

from parley.broker.base import BrokerUnavailable
from parley.broker.redis import RedisBroker
from tests.broker.conftest import Recorder
from tests.broker.redis_support import (
    PrivateRedis,
    eventually,
    shared_redis_url,
    unique_prefix,
)
from tests.helpers.process import free_port

pytestmark = pytest.mark.timeout(30)

Maker = Callable[..., Awaitable[tuple[RedisBroker, Recorder]]]

#: Quick reconnection and outage detection, so the tests stay short.
FAST = {"backoff_min": 0.05, "backoff_max": 0.3, "ping_interval": 0.3, "timeout": 0.5}


@pytest.fixture
async def make_broker() -> AsyncIterator[Maker]:
    """``await make_broker(url, **options)``: a started RedisBroker, closed after the test;
    brokers of one test share a prefix."""
    prefix = unique_prefix()
    started: list[RedisBroker] = []

    async def make(url: str | None = None, **options: float) -> tuple[RedisBroker, Recorder]:
        broker = RedisBroker(url or shared_redis_url(), prefix=prefix, **options)  # type: ignore[arg-type]
        recorder = Recorder()
        await broker.start(recorder)
        started.append(broker)
        return broker, recorder

    yield make
    for broker in started:
        await broker.close()


async def test_an_outage_drops_publications_then_everything_resumes(
    private_redis: PrivateRedis, make_broker: Maker
) -> None:
    (a, _), (b, b_got) = (
        await make_broker(private_redis.url, **FAST),
        await make_broker(private_redis.url, **FAST),
    )
    await b.subscribe("room:1")
    a.publish("room:1", b"before")
    await b_got.wait_for("room:1", b"before")

    private_redis.kill()
    await eventually(lambda: not a.healthy and not b.healthy)

    started = time.perf_counter()
    for i in range(5_000):
        a.publish("room:1", str(i).encode())
    assert time.perf_counter() - started < 0.5  # no blocking: the store is the truth
    assert a.stats.dropped >= 5_000
    # Subscribing meanwhile returns at once: the channel is subscribed on reconnection.
    await asyncio.wait_for(b.subscribe("room:2"), 0.5)
    await b.unsubscribe("room:1")
    await b.subscribe("room:1")
    assert b_got.reconnects == 0

    private_redis.start()  # the same port
    await eventually(lambda: a.healthy and b.healthy and b_got.reconnects == 1, timeout=10)
    assert a.stats.reconnects == 1
    assert b.stats.reconnects == 1
    a.publish("room:1", b"after")
    a.publish("room:2", b"subscribed during the outage")
    await b_got.wait_for("room:1", b"after")
    await b_got.wait_for("room:2", b"subscribed during the outage")
    assert b_got.on("room:1") == [b"before", b"after"]
    assert a.stats.published == 3
    assert b.stats.received == 3


async def test_a_hung_redis_is_detected_by_its_silence(
    private_redis: PrivateRedis, make_broker: Maker
) -> None:
    (a, _), (b, b_got) = (
        await make_broker(private_redis.url, **FAST),
        await make_broker(private_redis.url, **FAST),
    )
    await b.subscribe("room:1")
    private_redis.pause()
    try:
        # No PONG within one ping interval: the connection is given up.
        await eventually(lambda: not b.healthy, timeout=3)
    finally:
        private_redis.resume()
    await eventually(lambda: a.healthy and b.healthy and b_got.reconnects == 1, timeout=10)
    a.publish("room:1", b"back")
    await b_got.wait_for("room:1", b"back")


async def test_an_unconfirmed_subscription_gives_up_and_reconnects(
    private_redis: PrivateRedis, make_broker: Maker
) -> None:
    """A subscribe that Redis never confirms (hung) gives up after ``subscribe_timeout``
    and replaces the connection; it does not hang the node."""
    b, b_got = await make_broker(private_redis.url, **FAST, subscribe_timeout=0.3)
    private_redis.pause()
    try:
        started = time.perf_counter()
        await asyncio.wait_for(b.subscribe("room:9"), 3)
        assert time.perf_counter() - started >= 0.2
    finally:
        private_redis.resume()
    a, _ = await make_broker(private_redis.url, **FAST)
    await eventually(lambda: b.healthy and b_got.reconnects == 1, timeout=10)
    a.publish("room:9", b"subscribed after all")
    await b_got.wait_for("room:9", b"subscribed after all")


async def test_subscribe_returns_after_redis_confirmed_it(
    private_redis: PrivateRedis, make_broker: Maker
) -> None:
    b, _ = await make_broker(private_redis.url)
    private_redis.pause()
    try:
        subscribing = asyncio.create_task(b.subscribe("room:1"))
        await asyncio.sleep(0.2)
        assert not subscribing.done()  # Redis has not answered yet
    finally:
        private_redis.resume()
    await asyncio.wait_for(subscribing, 2)
    async with redis.asyncio.Redis.from_url(private_redis.url) as raw:
        assert await raw.pubsub_numsub(f"{b.prefix}:room:1") == [(f"{b.prefix}:room:1".encode(), 1)]


async def test_a_subscribe_behind_an_unsubscribe_in_flight_wins(
    private_redis: PrivateRedis, make_broker: Maker
) -> None:
    (a, _), (b, b_got) = await make_broker(private_redis.url), await make_broker(private_redis.url)
    await b.subscribe("room:1")
    private_redis.pause()
    try:
        await b.unsubscribe("room:1")
        await asyncio.sleep(0.05)  # UNSUBSCRIBE sent, unanswered
        subscribing = asyncio.create_task(b.subscribe("room:1"))
        await asyncio.sleep(0.05)  # SUBSCRIBE sent behind it
        assert not subscribing.done()
    finally:
        private_redis.resume()
    await asyncio.wait_for(subscribing, 2)
    a.publish("room:1", b"subscribed")
    await b_got.wait_for("room:1", b"subscribed")
    async with redis.asyncio.Redis.from_url(private_redis.url) as raw:
        assert await raw.pubsub_numsub(f"{b.prefix}:room:1") == [(f"{b.prefix}:room:1".encode(), 1)]


async def test_redis_state_follows_the_wanted_subscriptions(make_broker: Maker) -> None:
    b, _ = await make_broker()
    async with redis.asyncio.Redis.from_url(shared_redis_url()) as raw:
        for i in range(20):
            channel = f"room:{i}"
            await b.subscribe(channel)
            assert await raw.pubsub_numsub(f"{b.prefix}:{channel}") == [
                (f"{b.prefix}:{channel}".encode(), 1)
            ]
        # Unsubscribing happens in the background: Redis catches up shortly.
        await asyncio.gather(*(b.unsubscribe(f"room:{i}") for i in range(0, 20, 2)))
        names = [f"{b.prefix}:room:{i}" for i in range(20)]

        async def every_other_channel_left() -> bool:
            counts = dict(await raw.pubsub_numsub(*names))
            return [counts[name.encode()] for name in names] == [0, 1] * 10

        await eventually(every_other_channel_left)


async def test_an_unreachable_redis_fails_the_start_quickly_in_one_line() -> None:
    port = free_port()
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0", prefix=unique_prefix())
    started = time.perf_counter()
    with pytest.raises(BrokerUnavailable) as caught:
        await broker.start(Recorder())
    assert time.perf_counter() - started < 1.5
    assert str(caught.value) == f"cannot reach Redis at 127.0.0.1:{port}: Connection refused"
    assert not broker.healthy
    broker.publish("room:1", b"dropped, not raised")
    await broker.close()


def test_a_bad_url_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="redis://"):
        RedisBroker("http://127.0.0.1:6379")


async def test_the_publish_queue_is_bounded_and_its_overflow_is_logged(
    make_broker: Maker, caplog: pytest.LogCaptureFixture
) -> None:
    (a, _), (b, b_got) = await make_broker(queue_size=10), await make_broker()
    await b.subscribe("room:1")
    with caplog.at_level(logging.WARNING, logger="parley.broker.redis"):
        for i in range(1_000):  # no await: the publisher cannot run meanwhile
            a.publish("room:1", str(i).encode())
        assert a.queued == 10
        assert a.stats.dropped == 990
        # Said once when it starts dropping, not once per publication ...
        assert [r.getMessage() for r in caplog.records] == [
            "broker publish queue full (10): dropping publications until it drains; rooms"
            " catch up from the store, notices to users are lost"
        ]
        await b_got.wait_for("room:1", b"9")
        await eventually(lambda: a.stats.published == 10)
        # ... and once when it drained, with the count.
        await eventually(lambda: len(caplog.records) == 2)
        assert caplog.records[1].getMessage() == (
            "broker publish queue drained; 990 publications were dropped while it was full"
        )
    assert b_got.on("room:1") == [str(i).encode() for i in range(10)]


async def test_queued_publications_travel_in_few_round_trips(make_broker: Maker) -> None:
    (a, _), (b, b_got) = await make_broker(batch_size=100), await make_broker()
    await b.subscribe("room:1")
    pipelines = 0
    send = a._send

    async def counting_send(*args: object) -> bool:
        nonlocal pipelines
        pipelines += 1
        return await send(*args)  # type: ignore[arg-type]

    a._send = counting_send  # type: ignore[method-assign]
    for i in range(1_000):
        a.publish("room:1", str(i).encode())
    await b_got.wait_for("room:1", b"999")
    assert pipelines == 10


async def test_close_sends_what_is_queued(make_broker: Maker) -> None:
    (a, _), (b, b_got) = await make_broker(), await make_broker()
    await b.subscribe("room:1")
    for i in range(100):
        a.publish("room:1", str(i).encode())
    await a.close()
    await b_got.wait_for("room:1", b"99")
    assert a.stats.published == 100


async def test_a_failing_handler_does_not_stop_delivery(make_broker: Maker) -> None:
    (a, _), (b, b_got) = await make_broker(), await make_broker()
    calls = 0
    record = b_got.on_publication

    def flaky(channel: str, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in the handler")
        record(channel, data)

    b_got.on_publication = flaky  # type: ignore[method-assign]
    await b.subscribe("room:1")
    a.publish("room:1", b"lost to the bug")
    a.publish("room:1", b"delivered")
    await b_got.wait_for("room:1", b"delivered")


async def test_a_handler_without_the_reconnect_hook_still_works(
    private_redis: PrivateRedis,
) -> None:
    class Plain:
        def __init__(self) -> None:
            self.received: list[bytes] = []

        def on_publication(self, channel: str, data: bytes) -> None:
            self.received.append(data)

    prefix = unique_prefix()
    a = RedisBroker(private_redis.url, prefix=prefix, **FAST)  # type: ignore[arg-type]
    b = RedisBroker(private_redis.url, prefix=prefix, **FAST)  # type: ignore[arg-type]
    plain = Plain()
    await a.start(Recorder())
    await b.start(plain)
    try:
        await b.subscribe("room:1")
        private_redis.kill()
        await eventually(lambda: not b.healthy)
        private_redis.start()
        await eventually(lambda: a.healthy and b.healthy and b.stats.reconnects == 1, timeout=10)
        a.publish("room:1", b"fine")
        await eventually(lambda: plain.received == [b"fine"])
    finally:
        await a.close()
        await b.close()


async def test_prefixes_keep_deployments_apart(make_broker: Maker) -> None:
    a, _ = await make_broker()
    other = RedisBroker(shared_redis_url(), prefix=unique_prefix())
    other_got = Recorder()
    await other.start(other_got)
    try:
        await other.subscribe("room:1")
        b, b_got = await make_broker()
        await b.subscribe("room:1")
        a.publish("room:1", b"ours")
        await b_got.wait_for("room:1", b"ours")
        other.publish("room:1", b"marker")
        await other_got.wait_for("room:1", b"marker")
        assert other_got.received == [("room:1", b"marker")]
    finally:
        await other.close()
