"""Three Parley processes on one PostgreSQL and one Redis, and what happens when parts fail.

The guarantees checked everywhere: every client sees every event of its rooms exactly once,
in one order shared by all (consecutive seqs), whatever node it is on, across a node killed
with SIGKILL, a Redis restart and a database outage; nothing acknowledged is ever lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from tests.cluster.conftest import PRESENCE_TTL, Cluster
from tests.helpers.chat import Chat, http_json, http_status, register
from tests.helpers.process import ServerProcess

ROOM = "team"


def healthz(node: ServerProcess) -> int:
    return http_status(node.http_url + "/healthz", timeout=3)


@dataclass
class Member:
    """A user's view of the room, across as many connections (and nodes) as it takes."""

    name: str
    token: str
    chat: Chat | None = None
    start: int | None = None  # the seq the stream began after (from the join)
    seqs: list[int] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)

    async def connect(self, node: ServerProcess) -> None:
        """Connect to ``node`` and resume from the last event seen (or join first)."""
        if self.chat is not None:
            self.record_inbox()  # what the old connection delivered before it broke
            await self.chat.close()
        chat = await Chat.connect(node.ws_url, self.token, stream=False)
        self.chat = chat
        if self.start is None:
            await chat.command("resume", rooms={})
            joined = await chat.command("join", room=ROOM)
            assert joined["type"] == "ok", joined
            self.start = joined["room"]["seq"]
        else:
            last = self.seqs[-1] if self.seqs else self.start
            resumed = await chat.command("resume", rooms={ROOM: last})
            assert resumed["type"] == "resumed", resumed

    def record(self, event: dict[str, Any]) -> None:
        self.seqs.append(event["seq"])
        if event["kind"] == "message":
            self.texts[event["seq"]] = event.get("text", "")

    def record_inbox(self) -> None:
        assert self.chat is not None
        while not self.chat.inbox.empty():
            message = self.chat.inbox.get_nowait()
            if message.get("type") == "event" and message.get("room") == ROOM:
                self.record(message)

    async def collect(self, until: Any, timeout: float = 30) -> None:
        """Read the room's events until ``until(self)`` holds."""
        assert self.chat is not None
        deadline = time.monotonic() + timeout
        while not until(self):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{self.name} saw {len(self.seqs)} events, not enough"
            self.record(await self.chat.next("event", remaining, room=ROOM))

    def assert_consecutive(self) -> None:
        assert self.seqs == list(range(self.seqs[0], self.seqs[0] + len(self.seqs))), (
            f"{self.name}: gap, duplicate or disorder in {self.seqs}"
        )


async def members_on(nodes: list[ServerProcess], names: list[str]) -> list[Member]:
    members = []
    for name, node in zip(names, itertools.cycle(nodes)):
        member = Member(name, register(node.http_url, name))
        await member.connect(node)
        members.append(member)
    return members


async def test_three_nodes_one_order(cluster: Cluster) -> None:
    nodes = [cluster.start_node() for _ in range(3)]
    founder = Member("founder", register(nodes[0].http_url, "founder"))
    founder.chat = await Chat.connect(nodes[0].ws_url, founder.token)
    assert (await founder.chat.command("create", room=ROOM))["type"] == "ok"
    members = await members_on(nodes, [f"user{i}" for i in range(9)])
    per_member = 15

    async def chat_away(member: Member) -> None:
        assert member.chat is not None
        for n in range(per_member):
            ack = await member.chat.command(
                "send", room=ROOM, text=f"{member.name}:{n}", cid=f"{n}"
            )
            assert ack["type"] == "ack", ack

    await asyncio.gather(*(chat_away(m) for m in members))
    total = per_member * len(members)

    def has_all(m: Member) -> bool:
        return sum(t.count(":") for t in m.texts.values()) >= total

    await asyncio.gather(*(m.collect(has_all) for m in members))
    orders = []
    for member in members:
        member.assert_consecutive()
        last_join = max(members[-1].seqs[0], 0)  # everyone's view from the last join on
        orders.append([(s, t) for s, t in sorted(member.texts.items()) if s > last_join])
    assert all(order == orders[0] for order in orders), "nodes disagree on the order"
    assert len(orders[0]) == total
    for member in members:  # each one's own messages in the order it sent them
        mine = [t for _, t in orders[0] if t.startswith(member.name + ":")]
        assert mine == [f"{member.name}:{n}" for n in range(per_member)]


async def test_a_killed_node_loses_no_acked_message(cluster: Cluster) -> None:
    victim, *others = [cluster.start_node() for _ in range(3)]
    founder = Member("founder", register(others[0].http_url, "founder"))
    founder.chat = await Chat.connect(others[0].ws_url, founder.token)
    assert (await founder.chat.command("create", room=ROOM))["type"] == "ok"
    senders = await members_on([victim], ["send0", "send1", "send2"])
    watchers = await members_on(others, ["watch0", "watch1"])
    acked: dict[str, int] = {}
    killed = asyncio.Event()

    async def send_forever(member: Member) -> None:
        for n in itertools.count():
            cid = f"{member.name}-{n}"
            while True:  # resend the same cid until acked: it can never be stored twice
                assert member.chat is not None
                try:
                    ack = await member.chat.command("send", room=ROOM, text=cid, cid=cid, timeout=3)
                except (TimeoutError, Exception):
                    await killed.wait()
                    await reconnect(member)
                    continue
                if ack.get("type") == "ack":
                    acked[cid] = ack["seq"]
                    break
            if n >= 40:
                return

    async def reconnect(member: Member) -> None:
        for attempt in range(50):
            try:
                await member.connect(others[attempt % 2])
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise AssertionError("could not reconnect")

    tasks = [asyncio.create_task(send_forever(s)) for s in senders]
    while len(acked) < 30:
        await asyncio.sleep(0.01)
    victim.signal(signal.SIGKILL)
    killed.set()
    await asyncio.gather(*tasks)
    assert len(acked) == 3 * 41
    expected = set(acked.values())

    def has_every_ack(m: Member) -> bool:
        return expected <= set(m.texts)

    await asyncio.gather(*(m.collect(has_every_ack) for m in [*watchers, *senders]))
    for member in [*watchers, *senders]:
        member.assert_consecutive()
        for cid, seq in acked.items():
            assert member.texts[seq] == cid


async def test_redis_restart_loses_nothing_and_health_says_so(cluster: Cluster) -> None:
    nodes = [cluster.start_node() for _ in range(3)]
    founder = Member("founder", register(nodes[0].http_url, "founder"))
    founder.chat = await Chat.connect(nodes[0].ws_url, founder.token)
    assert (await founder.chat.command("create", room=ROOM))["type"] == "ok"
    members = await members_on(nodes, [f"user{i}" for i in range(6)])
    acked: dict[str, int] = {}
    stop = asyncio.Event()

    async def chat_away(member: Member) -> None:
        assert member.chat is not None
        for n in itertools.count():
            if stop.is_set():
                return
            cid = f"{member.name}-{n}"
            ack = await member.chat.command("send", room=ROOM, text=cid, cid=cid)
            assert ack["type"] == "ack", ack  # the store is up: sends go on during the outage
            acked[cid] = ack["seq"]
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(chat_away(m)) for m in members]
    await asyncio.sleep(1.0)
    cluster.redis.kill()
    deadline = time.monotonic() + 15
    while any([await asyncio.to_thread(healthz, n) != 503 for n in nodes]):
        assert time.monotonic() < deadline, "/healthz stayed 200 while Redis was down"
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # traffic during the outage
    cluster.redis.start()  # same port
    recovered_by = time.monotonic() + 20
    while any(healthz(n) != 200 for n in nodes):
        assert time.monotonic() < recovered_by, "the nodes did not recover from the outage"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks)
    expected = set(acked.values())

    def has_every_ack(m: Member) -> bool:
        return expected <= set(m.texts)

    await asyncio.gather(*(m.collect(has_every_ack) for m in members))
    for member in members:
        member.assert_consecutive()


async def test_presence_of_a_killed_nodes_users_clears_within_the_bound(cluster: Cluster) -> None:
    victim, survivor = cluster.start_node(), cluster.start_node()
    watcher = await Chat.connect(survivor.ws_url, register(survivor.http_url, "watcher"))
    doomed = await Chat.connect(victim.ws_url, register(victim.http_url, "doomed"))
    online = await watcher.next("presence", 10, user="doomed")
    assert online["online"] is True
    victim.signal(signal.SIGKILL)
    started = time.monotonic()
    offline = await watcher.next("presence", 20, user="doomed")
    elapsed = time.monotonic() - started
    assert offline["online"] is False
    bound = PRESENCE_TTL + PRESENCE_TTL / 3
    assert elapsed < bound + 2.0, f"offline after {elapsed:.1f} s; the bound is {bound:.1f} s"
    who = await watcher.command("who", room="lobby")
    assert "doomed" not in who["online"]
    doomed.ws.transport.abort()


async def test_a_database_outage_gives_errors_never_false_acks_then_recovers(
    cluster: Cluster,
) -> None:
    node = cluster.start_node(through_proxy=True)
    alice = await Chat.connect(node.ws_url, register(node.http_url, "alice"))
    assert (await alice.command("send", room="lobby", text="before", cid="b"))["type"] == "ack"
    cluster.proxy.cut()
    reply = await alice.command("send", room="lobby", text="during", cid="d", timeout=30)
    assert reply["type"] == "error", reply  # never an ack for what was not stored
    assert reply["code"] == "unavailable"
    deadline = time.monotonic() + 15
    while healthz(node) != 503:
        assert time.monotonic() < deadline, "/healthz stayed 200 while the database was away"
        await asyncio.sleep(0.2)
    cluster.proxy.restore()
    deadline = time.monotonic() + 30
    while True:  # the node recovers by itself: the same cid is stored once
        reply = await alice.command("send", room="lobby", text="during", cid="d", timeout=30)
        if reply["type"] == "ack":
            break
        assert reply["code"] == "unavailable", reply
        assert time.monotonic() < deadline, "the node did not recover"
        await asyncio.sleep(0.5)
    history = await alice.command("history", room="lobby")
    texts = [e.get("text") for e in history["events"] if e["kind"] == "message"]
    assert texts == ["before", "during"]
    assert healthz(node) == 200
    assert http_json(node.http_url + "/healthz")[1]["database"] == "ok"


async def burst(chat: Chat, texts: list[str], timeout: float = 30) -> list[dict[str, Any]]:
    """Send a message for each text on ``chat`` back to back, each frame written before any
    reply is awaited (each text is also its cid), and return the replies in send order."""
    loop = asyncio.get_running_loop()
    replies = []
    for text in texts:
        ident = f"burst-{text}"
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        chat.replies[ident] = future
        replies.append(future)
        await chat.ws.send(
            json.dumps({"type": "send", "id": ident, "room": ROOM, "text": text, "cid": text})
        )
    return list(await asyncio.wait_for(asyncio.gather(*replies), timeout))


async def test_one_connections_burst_after_a_node_is_killed_is_stored_in_send_order(
    cluster: Cluster,
) -> None:
    """Issue 14 finding 5: three nodes on PostgreSQL and Redis; a node is killed with SIGKILL
    while its clients are sending, and right after, clients of the surviving nodes each send
    a burst on one WebSocket while others keep the room (and the store's writers and pool)
    busy. Each
    connection's messages get seqs in the order they were sent; none lost, none stored twice;
    every node's view agrees."""
    victim, *others = [cluster.start_node() for _ in range(3)]
    founder = Member("founder", register(others[0].http_url, "founder"))
    founder.chat = await Chat.connect(others[0].ws_url, founder.token)
    assert (await founder.chat.command("create", room=ROOM))["type"] == "ok"
    doomed = await members_on([victim], ["doomed0", "doomed1"])
    bursters = await members_on(others, ["burst0", "burst1", "burst2", "burst3"])
    busy = await members_on(others, ["busy0", "busy1", "busy2"])
    stop = asyncio.Event()

    async def keep_busy(member: Member) -> None:
        assert member.chat is not None
        for n in itertools.count():
            if stop.is_set():
                return
            texts = [f"{member.name}-{n}-{i}" for i in range(20)]
            replies = await burst(member.chat, texts)
            assert all(r["type"] == "ack" for r in replies), replies

    async def until_killed(member: Member) -> None:
        assert member.chat is not None
        with contextlib.suppress(Exception):  # the node dies under it
            for n in itertools.count():
                await burst(member.chat, [f"{member.name}-{n}-{i}" for i in range(20)], 5)

    readers = await members_on(others, [f"read{i}" for i in range(8)])

    async def keep_reading(member: Member) -> None:  # the store's pool busy with reads too
        assert member.chat is not None
        while not stop.is_set():
            reply = await member.chat.command("history", room=ROOM, limit=100)
            assert reply["type"] == "history", reply

    background = [asyncio.create_task(keep_busy(m)) for m in busy]
    background += [asyncio.create_task(keep_reading(m)) for m in readers]
    dying = [asyncio.create_task(until_killed(m)) for m in doomed]
    await asyncio.sleep(0.5)
    victim.signal(signal.SIGKILL)
    sent = {m.name: [f"{m.name}:{n}" for n in range(150)] for m in bursters}
    replies = await asyncio.gather(*(burst(m.chat, sent[m.name]) for m in bursters if m.chat))
    stop.set()
    await asyncio.gather(*background)
    await asyncio.gather(*dying)
    stored = await founder.chat.stored_texts(ROOM)
    seq_of = {text: seq for seq, text in stored.items()}
    assert len(seq_of) == len(stored), "a message stored twice"
    for member, answers in zip(bursters, replies, strict=True):
        assert [a["type"] for a in answers] == ["ack"] * len(answers), answers
        acked = [a["seq"] for a in answers]
        assert acked == sorted(acked), f"{member.name} sent in one order, stored in another"
        assert acked == [seq_of[text] for text in sent[member.name]]  # stored, each once
    for node in others:  # every surviving node serves the same history
        watcher = await Chat.connect(node.ws_url, founder.token)
        assert await watcher.stored_texts(ROOM) == stored
        await watcher.close()
