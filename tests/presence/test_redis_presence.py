"""What only Redis presence has: several nodes, entries that expire with their node, the
sweep, a clean close, outages and the start-up check."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio

from parley.presence.base import PresenceChanges, PresenceUnavailable
from parley.presence.redis import RedisPresence
from tests.broker.redis_support import PrivateRedis, shared_redis_url
from tests.helpers.process import free_port

pytestmark = pytest.mark.timeout(30)

Make = Callable[..., Any]

#: A node that registers connections, says so, and waits to be killed (SIGKILL: no cleanup).
DOOMED_NODE = """
import asyncio, sys
from parley.presence.redis import RedisPresence

async def main():
    presence = RedisPresence(
        sys.argv[1], prefix=sys.argv[2], node_id="doomed", ttl=float(sys.argv[3]), heartbeat=0.2
    )
    await presence.start()
    for user, conn in [(1, "a"), (1, "b"), (2, "c"), (3, "d")]:
        await presence.connect(user, conn)
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_nodes_share_presence(redis_presences: Make) -> None:
    a, b = await redis_presences(), await redis_presences()
    assert await a.connect(1, "tab") is True
    assert await b.connect(1, "phone") is False
    assert await b.online([1, 2]) == {1}
    assert await a.disconnect(1, "tab") is False
    assert await a.online([1]) == {1}
    assert await b.disconnect(1, "phone") is True
    assert await a.online([1]) == set()


async def test_node_ids_keep_equal_connection_ids_apart(redis_presences: Make) -> None:
    a, b = await redis_presences(), await redis_presences()
    assert await a.connect(1, "same") is True
    assert await b.connect(1, "same") is False
    assert await a.disconnect(1, "same") is False
    assert await b.disconnect(1, "same") is True


async def test_racing_nodes_report_one_transition(redis_presences: Make) -> None:
    nodes = [await redis_presences() for _ in range(4)]
    came = await asyncio.gather(*(node.connect(5, f"c{i}") for i in range(10) for node in nodes))
    assert came.count(True) == 1
    went = await asyncio.gather(*(node.disconnect(5, f"c{i}") for i in range(10) for node in nodes))
    assert went.count(True) == 1


async def test_a_killed_nodes_users_go_offline_within_ttl_plus_the_sweep_interval(
    redis_presences: Make,
) -> None:
    ttl, sweep_every = 1.0, 0.25
    survivor = await redis_presences(ttl=ttl, heartbeat=0.2)
    assert await survivor.connect(3, "e") is True
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DOOMED_NODE,
        shared_redis_url(),
        survivor.prefix,
        str(ttl),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert doomed.stdout is not None
        assert await asyncio.wait_for(doomed.stdout.readline(), 10) == b"ready\n"
        assert await survivor.online([1, 2, 3]) == {1, 2, 3}
        # Its heartbeat keeps its entries alive well past their time to live.
        for _ in range(int(1.5 * ttl / sweep_every)):
            assert await survivor.sweep() == PresenceChanges()
            await asyncio.sleep(sweep_every)
        assert await survivor.online([1, 2, 3]) == {1, 2, 3}
    finally:
        doomed.kill()
        await doomed.wait()
    killed = time.monotonic()

    offline: set[int] = set()
    while not {1, 2} <= offline:
        assert time.monotonic() - killed < 3 * ttl, "the dead node's users never went offline"
        await asyncio.sleep(sweep_every)
        changes = await survivor.sweep()
        assert changes.online == frozenset()
        offline |= changes.offline
    assert time.monotonic() - killed <= ttl + sweep_every + 0.3
    assert offline == {1, 2}  # user 3 is still connected to the survivor
    assert await survivor.online([1, 2, 3]) == {3}
    assert await survivor.sweep() == PresenceChanges()  # announced once only


async def test_close_removes_this_nodes_entries(redis_presences: Make) -> None:
    a, b = await redis_presences(), await redis_presences()
    await a.connect(1, "a1")
    await a.connect(2, "a2")
    await a.connect(3, "a3")
    await b.connect(3, "b3")
    await a.close()
    await a.close()  # idempotent
    assert await b.online([1, 2, 3]) == {3}
    assert await b.sweep() == PresenceChanges()  # no ghost left to expire
    async with redis.asyncio.Redis.from_url(shared_redis_url()) as raw:
        keys = {key async for key in raw.scan_iter(match=f"{a.prefix}:*")}
        assert keys == {
            f"{a.prefix}:presence:user:3".encode(),
            f"{a.prefix}:presence:users".encode(),
        }
        assert await raw.zrange(f"{a.prefix}:presence:users", 0, -1) == [b"3"]
    assert await a.connect(4, "late") is False  # closed: nothing registered


async def test_users_whose_entries_were_removed_are_registered_again(
    redis_presences: Make,
) -> None:
    """After an outage longer than the time to live, another node's sweep may remove this
    node's entries (and announce those users offline): the next heartbeat registers them
    again, and the sweep reports them online so that the node announces it."""
    a, b = await redis_presences(), await redis_presences()
    await a.connect(1, "a1")
    await a.connect(2, "a2")
    async with redis.asyncio.Redis.from_url(shared_redis_url()) as raw:
        await raw.delete(f"{a.prefix}:presence:user:1")
        await raw.zrem(f"{a.prefix}:presence:users", "1")
    assert await b.online([1, 2]) == {2}
    await a.heartbeat()
    assert await b.online([1, 2]) == {1, 2}
    assert await a.sweep() == PresenceChanges(online=frozenset({1}))
    assert await a.sweep() == PresenceChanges()


async def test_a_nodes_own_expired_entries_are_refreshed_not_announced(
    redis_presences: Make,
) -> None:
    """A stalled event loop let this node's entries expire; its users never left."""
    a, b = await redis_presences(), await redis_presences()
    await a.connect(1, "a1")
    async with redis.asyncio.Redis.from_url(shared_redis_url()) as raw:
        await raw.zadd(f"{a.prefix}:presence:user:1", {f"{a.node_id}:a1": 1})
        await raw.zadd(f"{a.prefix}:presence:users", {"1": 1})
    assert await b.online([1]) == set()
    assert await a.sweep() == PresenceChanges()
    assert await b.online([1]) == {1}


async def test_an_outage_degrades_to_this_nodes_connections(
    private_redis: PrivateRedis, redis_presences: Make
) -> None:
    fast = {"url": private_redis.url, "timeout": 0.3}
    a, b = await redis_presences(**fast), await redis_presences(**fast)
    assert await a.connect(1, "a1") is True
    private_redis.kill()
    started = time.perf_counter()
    assert await a.connect(2, "a2") is False  # recorded here; announced when Redis is back
    assert await a.online([1, 2, 3]) == {1, 2}
    assert await a.disconnect(1, "a1") is False  # its entry expires by itself
    assert await a.sweep() == PresenceChanges()
    await a.heartbeat()
    assert time.perf_counter() - started < 2

    assert not a.healthy
    private_redis.start()  # empty: nothing survived the restart
    await a.heartbeat()
    assert a.healthy
    # Neither change was announced: the sweep tells both, as they are in Redis now.
    assert await a.sweep() == PresenceChanges(online=frozenset({2}), offline=frozenset({1}))
    assert await a.sweep() == PresenceChanges()
    assert await b.online([1, 2]) == {2}


async def test_a_disconnect_during_an_outage_is_removed_once_redis_is_back(
    private_redis: PrivateRedis, redis_presences: Make
) -> None:
    a, b = (
        await redis_presences(url=private_redis.url),
        await redis_presences(url=private_redis.url, timeout=0.3),
    )
    assert await a.connect(1, "a1") is True
    assert await b.connect(1, "b1") is False
    assert await b.connect(2, "b2") is True
    private_redis.pause()
    try:
        assert await b.disconnect(1, "b1") is False  # times out
        assert await b.disconnect(2, "b2") is False  # not even tried
    finally:
        private_redis.resume()
    await b.heartbeat()
    # User 1 is still on node a; user 2 is gone, long before its entry would expire.
    assert await b.sweep() == PresenceChanges(offline=frozenset({2}))
    assert await a.online([1, 2]) == {1}
    assert await a.disconnect(1, "a1") is True


async def test_a_hung_redis_costs_one_timeout_not_one_per_sign_in(
    private_redis: PrivateRedis, redis_presences: Make
) -> None:
    a = await redis_presences(url=private_redis.url, timeout=0.3)
    assert await a.connect(1, "before") is True
    private_redis.pause()
    try:
        started = time.perf_counter()
        came = await asyncio.gather(*(a.connect(uid, f"c{uid}") for uid in range(2, 32)))
        assert came == [False] * 30
        assert await a.online(range(40)) == set(range(1, 32))
        assert time.perf_counter() - started < 1.5  # not 30 timeouts in a row
    finally:
        private_redis.resume()
    await a.heartbeat()  # the probe: Redis answers again
    changes = await a.sweep()
    assert changes == PresenceChanges(online=frozenset(range(2, 32)))
    assert await a.online(range(40)) == set(range(1, 32))


async def test_an_unreachable_redis_fails_the_start_quickly_in_one_line() -> None:
    port = free_port()
    presence = RedisPresence(f"redis://127.0.0.1:{port}", node_id="n")
    started = time.perf_counter()
    with pytest.raises(PresenceUnavailable) as caught:
        await presence.start()
    assert time.perf_counter() - started < 1.5
    assert str(caught.value) == f"cannot reach Redis at 127.0.0.1:{port}: Connection refused"
    await presence.close()


def test_the_heartbeat_must_beat_within_the_time_to_live() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        RedisPresence("redis://127.0.0.1", node_id="n", ttl=5, heartbeat=5)


async def test_close_ends_even_when_the_heartbeat_swallows_its_cancellation(
    redis_presences: Make,
) -> None:
    """redis-py may swallow a cancellation that lands inside a command (the heartbeat's), and
    the heartbeat then went on: close waited for it for ever (a server's shutdown hung with
    it; a CI run timed out in a teardown). With a heartbeat that is almost always mid-command,
    every close ends, and promptly."""
    for attempt in range(20):
        presence = await redis_presences(ttl=1.0, heartbeat=0.001)
        assert await presence.connect(1, f"c{attempt}") is True
        await asyncio.sleep(0.003 + (attempt % 7) * 0.0007)  # somewhere inside a command
        await asyncio.wait_for(presence.close(), 3)
        assert presence._heartbeat_task is not None
        assert presence._heartbeat_task.done()
