"""Replies, reactions and pins across nodes (PostgreSQL and Redis): made on one node, seen on
the others exactly once and in order, with a node killed in the middle; the writers retry on
another node and nothing they were acknowledged is lost or stored twice."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from tests.cluster.conftest import Cluster
from tests.cluster.test_cluster import ROOM, Member, members_on
from tests.helpers.chat import Chat, register


async def test_threads_reactions_and_pins_survive_a_killed_node(cluster: Cluster) -> None:
    victim, *others = [cluster.start_node() for _ in range(3)]
    founder = Member("founder", register(others[0].http_url, "founder"))
    founder.chat = await Chat.connect(others[0].ws_url, founder.token)
    assert (await founder.chat.command("create", room=ROOM))["type"] == "ok"
    root = await founder.chat.command("send", room=ROOM, text="the plan", cid="root")
    writers = await members_on([victim], ["write0", "write1"])
    watchers = await members_on(others, ["watch0", "watch1"])
    acked: dict[int, tuple[str, int | None]] = {}  # seq -> (kind, mid)
    killed = asyncio.Event()

    async def until_acked(member: Member, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Send one command until it is answered; a retry stores nothing twice (a cid, a
        repeated react or pin)."""
        while True:
            assert member.chat is not None
            try:
                reply = await member.chat.command(kind, room=ROOM, timeout=3, **fields)
            except Exception:
                await killed.wait()
                await reconnect(member)
                continue
            if reply.get("type") in ("ack", "ok"):
                return reply

    async def reconnect(member: Member) -> None:
        for attempt in range(50):
            try:
                await member.connect(others[attempt % 2])
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise AssertionError("could not reconnect")

    async def write(member: Member) -> None:
        for n in range(12):
            cid = f"{member.name}-{n}"
            reply = await until_acked(
                member, "send", {"text": cid, "cid": cid, "thread": root["mid"]}
            )
            acked[reply["seq"]] = ("message", reply["mid"])
            react = await until_acked(member, "react", {"mid": reply["mid"], "emoji": "👍"})
            acked[react["seq"]] = ("reaction", reply["mid"])
            pin = await until_acked(member, "pin", {"mid": reply["mid"]})
            acked[pin["seq"]] = ("pin", reply["mid"])

    tasks = [asyncio.create_task(write(w)) for w in writers]
    while len(acked) < 12:
        await asyncio.sleep(0.01)
    victim.signal(signal.SIGKILL)
    killed.set()
    await asyncio.gather(*tasks)
    assert len(acked) == 2 * 12 * 3
    expected = set(acked)

    def has_every_ack(m: Member) -> bool:
        return expected <= set(m.seqs)

    events: dict[int, dict[str, Any]] = {}
    for member in [*watchers, *writers]:
        assert member.chat is not None
        original = member.record

        def keep(event: dict[str, Any], original: Any = original) -> None:
            events[event["seq"]] = event
            original(event)

        member.record = keep  # type: ignore[method-assign]
        await member.collect(has_every_ack)
        member.assert_consecutive()
    for seq, (kind, mid) in acked.items():
        assert (events[seq]["kind"], events[seq]["mid"]) == (kind, mid), seq
    # Read back on any node: the root counts every reply once.
    history = await founder.chat.command("history", room=ROOM, thread=root["mid"], limit=100)
    assert history["root"]["replies"] == 2 * 12
    assert len(history["events"]) == 2 * 12
    assert all(e["pinned"] and e["reactions"][0]["count"] == 1 for e in history["events"])
    for member in [founder, *writers, *watchers]:
        assert member.chat is not None
        await member.chat.close()
