"""Threads, reactions and pins through resume: after a disconnect and after a SIGKILL of the
server, a resuming client gets every reply, reaction and pin exactly once, in order, with the
state read back (thread summaries, reaction totals), then live events; retries after the crash
(a reply's ``cid``, a repeated ``react`` or ``pin``) store nothing twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


async def test_resume_replays_replies_reactions_and_pins_once(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    root = await alice.command("send", room="lobby", text="plan?", cid="root")
    last_seen = (await bob.next("event", kind="message"))["seq"]
    await bob.close()
    reply = await alice.command("send", room="lobby", text="a", thread=root["mid"], cid="r1")
    reacted = await alice.command("react", room="lobby", mid=root["mid"], emoji="🎉")
    pinned = await alice.command("pin", room="lobby", mid=root["mid"])
    loud = await alice.command(
        "send", room="lobby", text="b", thread=root["mid"], broadcast=True, cid="r2"
    )
    taken = await alice.command("unreact", room="lobby", mid=root["mid"], emoji="🎉")
    again = await alice.command("react", room="lobby", mid=reply["mid"], emoji=":ok:")
    seqs = [reply["seq"], reacted["seq"], pinned["seq"], loud["seq"], taken["seq"], again["seq"]]
    assert seqs == list(range(last_seen + 1, last_seen + 7))

    bob = await connect("bob", stream=False)
    resumed = await bob.command("resume", rooms={"lobby": last_seen})
    assert resumed["rooms"] == {"lobby": again["seq"]}
    events = [await bob.next("event", room="lobby") for _ in seqs]
    assert [e["seq"] for e in events] == seqs
    assert [e["kind"] for e in events] == [
        "message",
        "reaction",
        "pin",
        "message",
        "reaction",
        "reaction",
    ]
    # Read back: replies carry their thread's summary now; reactions their totals now.
    assert [(e["thread"], e["replies"]) for e in (events[0], events[3])] == [
        (root["mid"], 2),
        (root["mid"], 2),
    ]
    assert events[3]["broadcast"] is True
    assert (events[1]["count"], events[4]["count"], events[4]["removed"]) == (0, 0, True)
    assert events[5]["count"] == 1
    replayed_reply = events[0]
    assert replayed_reply["reactions"] == [{"emoji": ":ok:", "count": 1, "users": ["alice"]}]
    assert not [m for m in await bob.quiet(0.3) if m["type"] == "event"]  # nothing twice
    live = await alice.command("pin", room="lobby", mid=reply["mid"])
    assert (await bob.next("event"))["seq"] == live["seq"]


async def test_sigkill_loses_no_acked_reply_reaction_or_pin(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    names = [f"writer{i}" for i in range(4)]
    tokens = {name: register(server.http_url, name) for name in names}
    reader_token = register(server.http_url, "reader")
    reader = await Chat.connect(server.ws_url, reader_token, stream=False)
    await reader.command("resume", rooms={"lobby": 0})
    seen: list[dict[str, Any]] = []
    # What was acknowledged: (kind, key) -> seq, key naming the command.
    acked: dict[tuple[str, str], int] = {}

    async def drain(chat: Chat) -> None:
        try:
            while True:
                seen.append(await chat.next("event", 30, room="lobby"))
        except (TimeoutError, asyncio.CancelledError):
            return

    reading = asyncio.create_task(drain(reader))

    async def writer(name: str) -> None:
        chat = await Chat.connect(server.ws_url, tokens[name])
        n = 0
        try:
            while True:
                cid = f"{name}-{n}"
                root = await chat.command("send", room="lobby", text=cid, cid=cid, timeout=5)
                acked["message", cid] = root["seq"]
                reply = await chat.command(
                    "send", room="lobby", text="re", cid=cid + "r", thread=root["mid"], timeout=5
                )
                acked["message", cid + "r"] = reply["seq"]
                react = await chat.command(
                    "react", room="lobby", mid=root["mid"], emoji="👍", timeout=5
                )
                acked["reaction", str(root["mid"])] = react["seq"]
                pin = await chat.command("pin", room="lobby", mid=reply["mid"], timeout=5)
                acked["pin", str(reply["mid"])] = pin["seq"]
                n += 1
        except Exception:
            return  # the server died

    writers = [asyncio.create_task(writer(name)) for name in names]
    while len(acked) < 80:
        await asyncio.sleep(0.02)
    server.signal(signal.SIGKILL)
    await asyncio.gather(*writers)
    reading.cancel()
    await reading
    assert server.wait() == -signal.SIGKILL

    # Same folder, same parley.db; the same rates: the retries below come in a burst.
    restarted = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    checker = await Chat.connect(restarted.ws_url, reader_token, stream=False)
    last_seen = seen[-1]["seq"] if seen else 0
    resumed = await checker.command("resume", rooms={"lobby": last_seen})
    top = resumed["rooms"]["lobby"]
    replay = [await checker.next("event", 10, room="lobby") for _ in range(top - last_seen)]
    combined = [e["seq"] for e in seen + replay]
    assert combined == list(range(1, len(combined) + 1)), "gap or duplicate across the crash"
    by_seq = {e["seq"]: e for e in seen + replay}
    for (kind, key), seq in acked.items():
        assert by_seq[seq]["kind"] == kind, (kind, key, seq)
        if kind == "message":
            assert by_seq[seq].get("cid") == key
        else:
            assert str(by_seq[seq]["mid"]) == key
    # Retries after the crash store nothing again: the same seqs come back.
    writer_chat = await Chat.connect(restarted.ws_url, tokens[names[0]])
    for (kind, key), seq in acked.items():
        if not key.startswith(names[0]) and kind == "message":
            continue
        if kind == "message":
            thread = None
            if key.endswith("r"):
                root_seq = acked["message", key[:-1]]
                thread = by_seq[root_seq]["mid"]
            again = await writer_chat.command(
                "send", room="lobby", text="x", cid=key, **({"thread": thread} if thread else {})
            )
            assert again.get("seq") == seq, again
        elif kind == "reaction" and by_seq[seq]["user"] == names[0]:
            again = await writer_chat.command("react", room="lobby", mid=int(key), emoji="👍")
            assert again.get("seq") == seq, again
        elif kind == "pin" and by_seq[seq]["user"] == names[0]:
            again = await writer_chat.command("pin", room="lobby", mid=int(key))
            assert again.get("seq") == seq, again
    latest = (await checker.command("history", room="lobby", limit=1))["events"][-1]["seq"]
    assert latest == top  # nothing was appended by the retries
    await checker.close()
    await writer_chat.close()
