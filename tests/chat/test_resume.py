"""Resume: a client that reconnects with its last seen seq per room gets every event after it,
in order, with no gap and no duplicate, then live events, including while others publish."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


async def test_resume_replays_messages_edits_and_deletes_made_while_away(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    keep = await alice.command("send", room="lobby", text="before", cid="k")
    last_seen = (await bob.next("event", kind="message"))["seq"]
    await bob.close()
    await alice.command("edit", room="lobby", mid=keep["mid"], text="after")
    gone = await alice.command("send", room="lobby", text="to delete", cid="g")
    await alice.command("delete", room="lobby", mid=gone["mid"])
    new = await alice.command("send", room="lobby", text="new", cid="n")

    bob = await connect("bob", stream=False)
    resumed = await bob.command("resume", rooms={"lobby": last_seen})
    assert resumed["rooms"] == {"lobby": new["seq"]}
    events = []
    while len(events) < new["seq"] - last_seen:
        events.append(await bob.next("event"))
    assert [e["seq"] for e in events] == list(range(last_seen + 1, new["seq"] + 1))
    kinds = [e["kind"] for e in events]
    assert kinds == ["edit", "message", "delete", "message"]
    assert events[0]["text"] == "after"
    assert events[1]["deleted"] is True  # replayed with its current state: the text is gone
    assert events[1].get("text", "") == ""
    # Then live:
    live = await alice.command("send", room="lobby", text="live", cid="l")
    assert (await bob.next("event"))["seq"] == live["seq"]


async def test_resume_from_zero_and_from_now(connect: Connect) -> None:
    alice = await connect("alice")
    for n in range(3):
        await alice.command("send", room="lobby", text=f"{n}", cid=f"{n}")
    bob = await connect("bob", stream=False)
    lobby_seq = next(r["seq"] for r in bob.welcome["rooms"] if r["name"] == "lobby")
    await bob.command("resume", rooms={"lobby": 0})
    replay = [await bob.next("event") for _ in range(lobby_seq)]
    assert [e["seq"] for e in replay] == list(range(1, lobby_seq + 1))
    carol = await connect("carol")  # resumes from the welcome's seq: nothing old
    assert [m for m in await carol.quiet(0.3) if m["type"] == "event"] == []


async def test_a_seq_from_the_future_is_refused(connect: Connect) -> None:
    alice = await connect("alice")
    reply = await alice.command("resume", rooms={"lobby": 10_000})
    # The error comes first, then "resumed" for what could be resumed.
    assert reply["type"] in ("error", "resumed")
    if reply["type"] == "error":
        assert reply["code"] == "bad_request"
        assert "future" in reply["message"]
    assert (await alice.command("resume", rooms={"nope": 1}))["type"] in ("error", "resumed")


async def test_resume_race_while_others_publish(server: ServerProcess, connect: Connect) -> None:
    """Publish continuously while clients disconnect and resume many times: each client's
    stream of seqs must be exactly 1, 2, 3 ... with no gap and no duplicate."""
    publishers = [await connect(f"pub{i}") for i in range(3)]
    await publishers[0].command("create", room="race")
    for pub in publishers[1:]:
        await pub.command("join", room="race")
    stop = asyncio.Event()
    sent = 0

    async def publish(pub: Chat, index: int) -> None:
        nonlocal sent
        n = 0
        while not stop.is_set():
            await pub.command("send", room="race", text=f"{index}-{n}", cid=f"{index}-{n}")
            sent += 1
            n += 1

    async def reader(name: str) -> list[int]:
        seen: list[int] = []
        chat = await connect(name)
        joined = await chat.command("join", room="race")
        start = joined["room"]["seq"]  # the stream starts right after it: with our join
        for _ in range(6):
            deadline = asyncio.get_running_loop().time() + 0.3
            while asyncio.get_running_loop().time() < deadline:
                try:
                    event = await chat.next("event", 0.3, room="race")
                except TimeoutError:
                    break
                seen.append(event["seq"])
            await chat.close()
            chat = await connect(name, stream=False)
            await chat.command("resume", rooms={"race": seen[-1] if seen else start})
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.sleep(0.3)
        while True:
            try:
                seen.append((await chat.next("event", 1.0, room="race"))["seq"])
            except TimeoutError:
                break
        assert seen[0] == start + 1
        return seen

    tasks = [asyncio.create_task(publish(p, i)) for i, p in enumerate(publishers)]
    results = await asyncio.gather(*(reader(f"reader{i}") for i in range(4)))
    stop.set()
    await asyncio.gather(*tasks)
    assert sent > 50, "the publishers did not publish enough to test anything"
    for seen in results:
        assert seen == list(range(seen[0], seen[0] + len(seen))), "gap, duplicate or disorder"
    # Every reader saw every message sent after it joined, through six reconnections.
    assert all(seen[-1] == results[0][-1] for seen in results)
