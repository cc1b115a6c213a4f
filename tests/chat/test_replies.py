"""Bounded replies (issue 14, findings 1 and 2, and `resumed`'s order from finding 5).

A reply is queued whole, and a client whose unread data passes the send buffer limit (1 MiB)
is disconnected: every list reply must be cut at the reply budget (256 KiB) with a
continuation, a replay must go out in pages with a drain between them, and the welcome must
not grow with the number of public rooms. Real server, real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from parley.protocol.budget import REPLY_BUDGET
from parley.store.sqlite import SQLiteStore
from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]

#: 4,000 characters of 4 bytes each: 16,000 bytes of JSON per message (JSON does not escape
#: it; control characters, which it would, are refused by the text policy).
LONG = "\N{GRINNING FACE}" * 4000
#: What a budgeted reply may weigh at most: the budget, plus its envelope.
MOST = REPLY_BUDGET + 1024


def size(message: dict[str, Any]) -> int:
    """The bytes of a message as the server writes it (compact JSON, UTF-8)."""
    return len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())


async def post(chat: Chat, room: str, count: int, text: str = LONG) -> list[int]:
    """Send ``count`` messages, ten at a time (pipelined), and return their seqs. (Not all at
    once: a group commit of a hundred 16 kB messages is delivered live in one loop pass, and
    the sender's own copy alone would pass its send buffer: issue 14's third item.)"""
    seqs: list[int] = []
    for start in range(0, count, 10):
        acks = await asyncio.gather(
            *(
                chat.command("send", room=room, text=text, cid=f"{room}-{n}")
                for n in range(start, min(count, start + 10))
            )
        )
        assert all(ack["type"] == "ack" for ack in acks), acks[0]
        seqs += [ack["seq"] for ack in acks]
    return sorted(seqs)


async def raw(
    server: ServerProcess, token: str, max_queue: int = 4, receive_buffer: int = 0
) -> ClientConnection:
    """A parley.v1 connection that reads only as fast as the test takes messages (with
    ``receive_buffer``, a small kernel buffer too, so that the server feels it at once)."""
    sock = None
    if receive_buffer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    return await connect(
        server.ws_url + "/ws",
        subprotocols=["parley.v1"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {token}"},
        max_queue=max_queue,
        max_size=2**22,
        sock=sock,
    )


async def test_history_of_long_messages_is_cut_at_the_budget(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    seqs = await post(alice, "lobby", 100)
    # 100 messages of 16 kB were 1.6 MB in one reply: over the send buffer, bob was closed.
    reply = await bob.command("history", room="lobby", limit=100)
    assert reply["type"] == "history"
    assert size(reply) <= MOST
    assert reply["more"] is True
    got = [event["seq"] for event in reply["events"]]
    assert got == list(range(got[0], seqs[-1] + 1))  # the newest ones, oldest first
    # Paging back with `before` gets every one, no gap, no duplicate.
    while reply["more"]:
        reply = await bob.command("history", room="lobby", before=got[0], limit=100)
        assert size(reply) <= MOST
        got = [event["seq"] for event in reply["events"]] + got
    assert got == list(range(1, seqs[-1] + 1))
    assert (await bob.command("ping"))["type"] == "pong"
    assert not bob.closed.done()


async def test_resume_over_a_large_backlog_completes(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    seen = next(room["seq"] for room in bob.welcome["rooms"] if room["name"] == "lobby")
    await bob.close()
    seqs = await post(alice, "lobby", 200)  # 3.2 MB: was cut off (up to 500 events at once)
    bob = await connect("bob", stream=False)
    resumed = await bob.command("resume", rooms={"lobby": seen}, timeout=60)
    assert resumed["type"] == "resumed"
    assert resumed["rooms"] == {"lobby": seqs[-1]}
    events = [bob.inbox.get_nowait() for _ in range(bob.inbox.qsize())]
    assert [e["seq"] for e in events if e["type"] == "event"] == list(range(seen + 1, seqs[-1] + 1))
    assert not bob.closed.done()


async def test_a_slow_reader_resumes_without_being_cut_off(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    seen = next(room["seq"] for room in bob.welcome["rooms"] if room["name"] == "lobby")
    token = bob.token  # type: ignore[attr-defined]
    await bob.close()
    seqs = await post(alice, "lobby", 150)
    ws = await raw(server, token, max_queue=2)
    try:
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(json.dumps({"type": "resume", "id": "r", "rooms": {"lobby": seen}}))
        got = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "resumed":
                break
            assert message["type"] == "event", message
            got.append(message["seq"])
            await asyncio.sleep(0.005)  # a slow client: 150 messages take a second or more
        assert got == list(range(seen + 1, seqs[-1] + 1))
        assert message["rooms"] == {"lobby": seqs[-1]}
    finally:
        await ws.close()
    assert ws.close_code == 1000


async def test_resumed_comes_after_the_replay_and_before_live_events(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="busy")
    await bob.command("join", room="busy")
    await alice.command("send", room="busy", text="hello", cid="hello")
    await bob.next("event", room="busy", kind="message")
    welcome_rooms = {
        r["name"]: r["seq"] for r in (await connect("bob", stream=False)).welcome["rooms"]
    }
    token = bob.token  # type: ignore[attr-defined]
    await bob.close()
    await post(alice, "lobby", 120)  # a backlog that takes a while to replay to a slow reader

    stop = asyncio.Event()

    async def live_traffic() -> int:
        n = 0
        while not stop.is_set():
            sent = await alice.command("send", room="busy", text=f"live {n}", cid=f"live-{n}")
            assert sent["type"] == "ack", sent
            n += 1
            await asyncio.sleep(0.005)
        return n

    traffic = asyncio.create_task(live_traffic())
    ws = await raw(server, token, max_queue=2)
    try:
        assert json.loads(await ws.recv())["type"] == "welcome"
        await asyncio.sleep(0.05)  # live traffic is flowing into busy
        await ws.send(json.dumps({"type": "resume", "id": "r", "rooms": welcome_rooms}))
        before: list[dict[str, Any]] = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "resumed":
                resumed = message
                break
            before.append(message)
            await asyncio.sleep(0.01)  # a slow reader: the lobby replays for a second or more
        after: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            while len(after) < 10:
                after.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    finally:
        stop.set()
        sent = await traffic
        await ws.close()
    assert sent > 10
    events = [m for m in before if m["type"] == "event"]
    assert events == before  # nothing but the replay before `resumed`
    busy_before = [m["seq"] for m in events if m["room"] == "busy"]
    lobby_before = [m["seq"] for m in events if m["room"] == "lobby"]
    reached = resumed["rooms"]
    # Every replayed event comes before `resumed`, which reports where each room got to:
    assert lobby_before == list(range(welcome_rooms["lobby"] + 1, reached["lobby"] + 1))
    assert busy_before == list(range(welcome_rooms["busy"] + 1, reached["busy"] + 1))
    # ... and no live event before it: live events continue right after what it reports.
    busy_after = [m["seq"] for m in after if m.get("room") == "busy" and m["type"] == "event"]
    assert busy_after, after
    assert busy_after == list(range(reached["busy"] + 1, reached["busy"] + 1 + len(busy_after)))


async def test_the_welcome_does_not_grow_with_public_rooms(
    server: ServerProcess, connect: Connect
) -> None:
    admin = await connect("admin")  # the first account: no room quota
    topic = "\N{GRINNING FACE}" * 250  # the longest topic: 1,000 bytes
    names = [f"room-{n:04d}-" + "x" * 30 for n in range(1000)]
    for start in range(0, len(names), 100):
        created = await asyncio.gather(
            *(
                admin.command("create", room=name, topic=topic)
                for name in names[start : start + 100]
            )
        )
        assert all(reply["type"] == "ok" for reply in created)
    # The welcome listed every public room: 1.15 MB, every new connection was closed 4001.
    carol = await connect("carol")
    assert [room["name"] for room in carol.welcome["rooms"]] == ["lobby"]
    assert size(carol.welcome) < 1024

    # The rooms are there to browse, page by page, sorted by name, each page bounded.
    listed: list[str] = []
    after = None
    pages = 0
    while True:
        fields = {"limit": 100} if after is None else {"limit": 100, "after": after}
        page = await carol.command("rooms", **fields)
        assert size(page) <= MOST
        listed += [room["name"] for room in page["rooms"]]
        pages += 1
        if not page["more"]:
            assert "next" not in page
            break
        after = page["next"]
        assert after == page["rooms"][-1]["name"]
    assert listed == sorted([*names, "lobby"], key=str.lower)
    assert pages == 11

    # Filtered by name (any case), and paged within the filter.
    found = await carol.command("rooms", query="ROOM-00", limit=100)
    assert [room["name"] for room in found["rooms"]] == names[:100]
    assert found["more"] is False
    first = await carol.command("rooms", query="room-01", limit=30)
    second = await carol.command("rooms", query="room-01", limit=100, after=first["next"])
    assert [r["name"] for r in first["rooms"] + second["rooms"]] == names[100:200]
    assert (await carol.command("rooms", query="nothing-like-it"))["rooms"] == []

    # A user in all of them gets the welcome in pages, each within the budget.
    ws = await raw(server, admin.token, max_queue=64)  # type: ignore[attr-defined]
    try:
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        assert welcome["more"] is True
        assert size(welcome) <= MOST
        rooms = [room["name"] for room in welcome["rooms"]]
        while True:
            page = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert page["type"] == "more_rooms"
            assert size(page) <= MOST
            rooms += [room["name"] for room in page["rooms"]]
            if not page["more"]:
                break
        assert rooms == sorted([*names, "lobby"], key=str.lower)
        assert all(room["member"] for room in welcome["rooms"])
        # The stream works as usual after the last page.
        await ws.send(json.dumps({"type": "ping", "id": "p"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong", "re": "p"}
    finally:
        await ws.close()


async def test_rooms_filter_takes_room_name_characters_literally(connect: Connect) -> None:
    alice = await connect("alice")
    for name in ("a_b", "axb", "A-B"):
        await alice.command("create", room=name)
    await alice.command("create", room="hidden_one", private=True)
    mallory = await connect("mallory")
    underscore = await mallory.command("rooms", query="_")
    assert [room["name"] for room in underscore["rooms"]] == ["a_b"]  # not a LIKE wildcard
    assert [r["name"] for r in (await alice.command("rooms", query="_"))["rooms"]] == [
        "a_b",
        "hidden_one",  # alice's own private room: hers to see
    ]
    assert [r["name"] for r in (await mallory.command("rooms", query="a-b"))["rooms"]] == ["A-B"]


@pytest.mark.parametrize(
    "fields",
    [
        {"query": "a b"},
        {"query": "%"},
        {"query": "50%"},
        {"query": "x" * 81},
        {"query": 5},
        {"query": None, "limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"after": "no spaces here"},
        {"after": ""},
        {"after": ["lobby"]},
    ],
)
async def test_rooms_refuses_bad_pages(connect: Connect, fields: dict[str, Any]) -> None:
    alice = await connect("alice")
    reply = await alice.command("rooms", **fields)
    assert reply["type"] == "error"
    assert reply["code"] == "bad_request"
    assert (await alice.command("rooms"))["type"] == "rooms"  # the connection goes on


async def test_who_pages_after_a_member(connect: Connect) -> None:
    chats = [await connect(name) for name in ("carol", "alice", "Bob")]
    everyone = await chats[0].command("who", room="lobby")
    assert everyone["members"] == ["alice", "Bob", "carol"]
    assert everyone["more"] is False
    rest = await chats[0].command("who", room="lobby", after="BOB")
    assert rest["members"] == ["carol"]
    assert rest["online"] == ["carol"]
    for bad in ("x", "not a name", 7):
        reply = await chats[0].command("who", room="lobby", after=bad)
        assert reply["code"] == "bad_request"


async def test_who_of_a_room_with_more_members_than_a_page(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # 1,500 members, made through the store before the server starts (registering them over
    # HTTP would hash 1,500 passwords).
    store = SQLiteStore(tmp_path / "parley.db")
    await store.start()
    try:
        lobby = await store.get_room("lobby")
        assert lobby is not None
        names = [f"member{n:04d}" for n in range(1500)]
        for start in range(0, len(names), 250):
            users = await asyncio.gather(
                *(store.create_user(name, "not-a-hash") for name in names[start : start + 250])
            )
            await asyncio.gather(*(store.join(lobby.id, u.id, u.name) for u in users))
        token = secrets.token_urlsafe(32)
        first = await store.get_user(names[0])
        assert first is not None
        expires = int(time.time() * 1000) + 3_600_000
        await store.create_session(first.id, hashlib.sha256(token.encode()).hexdigest(), expires)
    finally:
        await store.close()
    server = server_factory("serve")
    chat = await Chat.connect(server.ws_url, token)
    try:
        page = await chat.command("who", room="lobby")
        assert page["members"] == names[:1000]
        assert page["online"] == [names[0]]
        assert page["more"] is True
        assert page["next"] == names[999]
        assert size(page) <= MOST
        rest = await chat.command("who", room="lobby", after=page["next"])
        assert rest["members"] == names[1000:]
        assert rest["online"] == []
        assert rest["more"] is False
        assert "next" not in rest
        # A join's `ok` reports who is online among the first page of members: bounded too.
        joined = await chat.command("join", room="lobby")
        assert joined["online"] == [names[0]]
    finally:
        await chat.close()


async def test_a_held_room_that_gets_too_much_is_replayed_again(
    server: ServerProcess, connect: Connect
) -> None:
    """busy is at its end when the resume starts, so it is held at once; 40 long messages
    (640 kB) then arrive in it while the lobby (6.4 MB) replays to a slow reader: more than the
    server keeps for a connection (256 KiB). busy is let go and replayed again from the store, and
    the order holds: every event once, the replayed ones before ``resumed``, live ones after."""
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="busy")
    await bob.command("join", room="busy")
    welcome_rooms = {
        r["name"]: r["seq"] for r in (await connect("bob", stream=False)).welcome["rooms"]
    }
    token = bob.token  # type: ignore[attr-defined]
    await bob.close()
    # More than the kernel's socket buffers hold (a few MB on loopback), so that the server
    # is still replaying the lobby when busy's burst arrives.
    await post(alice, "lobby", 400)

    stop = asyncio.Event()

    async def traffic() -> None:
        await asyncio.sleep(0.2)  # busy is held by now: the lobby replays for a second
        await post(alice, "busy", 40, LONG[:-5])
        n = 0
        while not stop.is_set():  # then a trickle, to see live events after `resumed`
            await alice.command("send", room="busy", text=f"live {n}", cid=f"trickle-{n}")
            n += 1
            await asyncio.sleep(0.05)

    ws = await raw(server, token, max_queue=2, receive_buffer=8192)
    assert json.loads(await ws.recv())["type"] == "welcome"
    await ws.send(json.dumps({"type": "resume", "id": "r", "rooms": welcome_rooms}))
    sending = asyncio.create_task(traffic())
    try:
        before: list[dict[str, Any]] = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "resumed":
                reached = message["rooms"]
                break
            before.append(message)
            await asyncio.sleep(0.004)
        after: list[dict[str, Any]] = []
        with contextlib.suppress(TimeoutError):
            while len(after) < 5:
                after.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    finally:
        stop.set()
        await sending
        await ws.close()
    assert all(m["type"] == "event" for m in before)
    busy_before = [m["seq"] for m in before if m["room"] == "busy"]
    lobby_before = [m["seq"] for m in before if m["room"] == "lobby"]
    assert lobby_before == list(range(welcome_rooms["lobby"] + 1, reached["lobby"] + 1))
    # Replayed again: busy had nothing to replay when the resume began.
    assert len(busy_before) >= 40
    assert busy_before == list(range(welcome_rooms["busy"] + 1, reached["busy"] + 1))
    busy_after = [m["seq"] for m in after if m.get("room") == "busy" and m["type"] == "event"]
    assert busy_after, after
    assert busy_after == list(range(reached["busy"] + 1, reached["busy"] + 1 + len(busy_after)))
