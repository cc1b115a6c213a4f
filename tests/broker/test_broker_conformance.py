"""The broker conformance suite: the rules of ``parley.broker.base``, for every backend.

Several brokers on one medium act as the nodes of one deployment. Only the ``Broker``
interface is used, so the same tests run against each backend of ``conftest.BACKENDS``.

Negative checks ("B did not get X") need no sleeping: one node's publications keep their
order, so once a marker published *after* X arrived, X would have arrived before it.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.broker.conftest import NodeMaker
from tests.broker.redis_support import eventually

pytestmark = pytest.mark.timeout(30)


async def test_a_publication_reaches_every_subscribed_node(make_node: NodeMaker) -> None:
    (a, _), (b, b_got), (c, c_got) = [await make_node() for _ in range(3)]
    await b.subscribe("room:1")
    await c.subscribe("room:1")
    a.publish("room:1", b"hello")
    await b_got.wait_for("room:1", b"hello")
    await c_got.wait_for("room:1", b"hello")
    assert b_got.on("room:1") == [b"hello"]
    assert c_got.on("room:1") == [b"hello"]


async def test_payloads_arrive_byte_for_byte(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    await b.subscribe("user:7")
    payloads = [bytes(range(256)), b"", b"\x00" * 70_000, "héllo ✓".encode()]
    for payload in payloads:
        a.publish("user:7", payload)
    await b_got.wait_for("user:7", payloads[-1])
    assert b_got.on("user:7") == payloads


async def test_a_node_gets_only_the_channels_it_subscribed(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    await b.subscribe("room:2")
    a.publish("room:1", b"not for b")
    a.publish("user:2", b"not for b either")
    a.publish("room:2", b"marker")
    await b_got.wait_for("room:2", b"marker")
    assert b_got.received == [("room:2", b"marker")]


async def test_unsubscribe_stops_delivery(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    await b.subscribe("room:1")
    await b.subscribe("room:2")
    a.publish("room:1", b"before")
    await b_got.wait_for("room:1", b"before")
    await b.unsubscribe("room:1")
    a.publish("room:1", b"after")
    a.publish("room:2", b"marker")
    await b_got.wait_for("room:2", b"marker")
    assert b_got.on("room:1") == [b"before"]


async def test_subscribe_returns_once_the_subscription_is_active(make_node: NodeMaker) -> None:
    """What the node relies on: subscribe, then read the store; nothing later is missed."""
    (a, _), (b, b_got) = await make_node(), await make_node()
    for i in range(30):
        channel = f"room:{100 + i}"
        await b.subscribe(channel)
        a.publish(channel, b"right after")  # no pause at all
    for i in range(30):
        await b_got.wait_for(f"room:{100 + i}", b"right after")


async def test_one_nodes_publications_on_a_channel_keep_their_order(
    make_node: NodeMaker,
) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    await b.subscribe("room:1")
    sent = [str(i).encode() for i in range(2_000)]
    for data in sent:
        a.publish("room:1", data)
    await b_got.wait_for("room:1", sent[-1])
    assert b_got.on("room:1") == sent


async def test_many_channels(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    channels = [f"room:{i}" for i in range(300)] + [f"user:{i}" for i in range(300)]
    await asyncio.gather(*(b.subscribe(ch) for ch in channels))
    for ch in channels:
        a.publish(ch, ch.encode())
    await b_got.wait_for(channels[-1], channels[-1].encode())
    assert sorted(b_got.received) == sorted((ch, ch.encode()) for ch in channels)


async def test_unsubscribe_racing_a_new_subscribe_leaves_it_subscribed(
    make_node: NodeMaker,
) -> None:
    """A node releasing a room while a new client joins it: the last call wins, whatever
    the state of the previous calls."""
    (a, _), (b, b_got) = await make_node(), await make_node()
    for i in range(20):
        channel = f"room:{i}"
        await b.subscribe(channel)
        leaving = asyncio.create_task(b.unsubscribe(channel))
        await asyncio.sleep(0)  # the unsubscribe is on its way
        await b.subscribe(channel)
        await leaving
        a.publish(channel, b"still here")
    for i in range(20):
        await b_got.wait_for(f"room:{i}", b"still here")


async def test_subscribe_and_unsubscribe_in_one_breath(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    await asyncio.gather(b.subscribe("room:1"), b.unsubscribe("room:1"), b.subscribe("room:2"))
    await asyncio.gather(b.unsubscribe("room:2"), b.subscribe("room:2"))
    a.publish("room:1", b"gone")
    a.publish("room:2", b"kept")
    await b_got.wait_for("room:2", b"kept")
    assert b_got.on("room:1") == []


async def test_publish_never_raises(make_node: NodeMaker) -> None:
    (a, _), (b, b_got) = await make_node(), await make_node()
    a.publish("room:nobody", b"no subscriber")
    await b.subscribe("room:1")
    await a.close()
    await a.close()  # idempotent
    a.publish("room:1", b"after close")
    await b.close()
    b.publish("room:1", b"after close")
    assert b_got.on("room:1") == []


async def test_a_started_broker_is_healthy(make_node: NodeMaker) -> None:
    broker, _ = await make_node()
    assert broker.healthy


async def test_every_broker_counts_its_publications(make_node: NodeMaker) -> None:
    """``/metrics`` reports ``stats``: one per ``publish`` call (subscribed or not, as Redis
    counts a PUBLISH nobody listens to), one per publication handed to the handler."""
    (a, _), (b, b_got) = await make_node(), await make_node()
    await b.subscribe("profiles")
    a.publish("room:9", b"nobody listens")
    for n in range(3):
        a.publish("profiles", b"%d" % n)
    await b_got.wait_for("profiles", b"2")
    await eventually(lambda: a.stats.published == 4)
    assert (a.stats.dropped, b.stats.received, b.stats.published) == (0, 3, 0)
