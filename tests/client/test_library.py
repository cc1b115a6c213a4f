"""``parley.client.Client`` against a real ``parley serve`` (and, where a failure must be
forced at an exact moment, against a scripted stand-in server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from parley.client import (
    Ack,
    AuthError,
    Backoff,
    Client,
    CommandError,
    Connected,
    ConnectError,
    Disconnected,
    EventMessage,
    FollowChanged,
    HandshakeRefused,
    HistoryReply,
    MentionsReply,
    NotifyChanged,
    RoomChanged,
    SearchReply,
    WhoReply,
)
from parley.protocol import messages as m
from parley.protocol.codec import encode
from tests.helpers.chat import PASSWORD, http_json, register
from tests.helpers.process import ServerProcess

FAST = Backoff(initial=0.1, maximum=0.5)

Account = Callable[..., tuple[str, str]]


async def next_event(client: Client, type_: type[Any], timeout: float = 10, **match: Any) -> Any:
    """The next event of type ``type_`` whose fields match ``match`` (others are skipped)."""

    async def find() -> Any:
        async for event in client.events():
            if isinstance(event, type_) and all(getattr(event, k) == v for k, v in match.items()):
                return event
        raise AssertionError("the event stream ended")

    return await asyncio.wait_for(find(), timeout)


async def test_send_returns_the_ack_and_others_get_a_typed_event(
    server: ServerProcess, account: Account
) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.ws_url + "/ws", token=bob_token) as bob,
    ):
        assert alice.user is not None
        assert alice.user.name == "alice"
        assert "lobby" in alice.rooms
        ack = await alice.send("lobby", "hello bob")
        assert isinstance(ack, Ack)
        assert ack.room == "lobby"
        assert ack.seq > alice.rooms["lobby"].seq
        event = await next_event(bob, EventMessage, kind="message")
        assert (event.user, event.text, event.seq, event.mid, event.cid) == (
            "alice",
            "hello bob",
            ack.seq,
            ack.mid,
            ack.cid,
        )
        assert bob.positions["lobby"] == ack.seq


async def test_rooms_history_who_edit_and_errors(server: ServerProcess, account: Account) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.http_url, token=bob_token) as bob,
    ):
        room = await alice.create("games", topic="dice")
        assert (room.name, room.member, room.topic) == ("games", True, "dice")
        joined = await bob.join("games")
        assert joined.name == "games"
        assert "games" in bob.rooms
        await next_event(alice, EventMessage, room="games", kind="join", user="bob")
        first = await alice.send("games", "one")
        await alice.send("games", "two")
        assert await alice.edit("games", first.mid, "uno") > first.seq
        history = await bob.history("games", limit=3)
        assert isinstance(history, HistoryReply)
        assert [e.text for e in history.events if e.kind == "message"] == ["uno", "two"]
        assert history.more is True
        who = await bob.who("games")
        assert isinstance(who, WhoReply)
        assert sorted(who.members) == ["alice", "bob"]
        assert {r.name for r in await bob.list_rooms()} >= {"lobby", "games"}
        with pytest.raises(CommandError) as refused:
            await bob.send("nowhere", "hello?")
        assert refused.value.code == "forbidden"
        with pytest.raises(CommandError):
            await bob.edit("games", first.mid, "not yours")
        left = await bob.leave("games")
        assert left.member is False
        assert "games" not in bob.rooms


async def test_search_pages_and_history_around(server: ServerProcess, account: Account) -> None:
    (_, alice_token) = account("alice")
    async with Client(server.http_url, token=alice_token) as alice:
        sent = [await alice.send("lobby", f"report number {n} is ready") for n in range(5)]
        await alice.send("lobby", "unrelated")
        for _ in range(200):  # new messages are searchable a moment after their ack
            reply = await alice.search("report", limit=2)
            if reply.pending == 0:
                break
            await asyncio.sleep(0.05)
        assert isinstance(reply, SearchReply)
        mids = [r.mid for r in reply.results]
        while reply.more:
            assert reply.before is not None
            reply = await alice.search("report", limit=2, before=reply.before)
            mids += [r.mid for r in reply.results]
        assert mids == [ack.mid for ack in reversed(sent)]
        first = (await alice.search("number 0 ", room="lobby")).results[0]
        assert first.text[first.highlight[0][0] : first.highlight[0][1]] == "number"
        context = await alice.history_around("lobby", first.seq, limit=3)
        assert [e.seq for e in context.events] == [first.seq - 1, first.seq, first.seq + 1]
        assert context.newer is True
        with pytest.raises(CommandError) as refused:
            await alice.search('"unclosed')
        assert refused.value.code == "bad_request"


async def test_mentions_and_notification_levels(server: ServerProcess, account: Account) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.http_url, token=bob_token) as bob,
    ):
        ack = await alice.send("lobby", "hi @bob")
        event = await next_event(bob, EventMessage, kind="message", seq=ack.seq)
        assert event.mentions == ["bob"]
        listed = await bob.mentions(limit=5)
        assert isinstance(listed, MentionsReply)
        assert [(e.mid, e.text) for e in listed.events] == [(ack.mid, "hi @bob")]
        assert listed.more is False
        await bob.set_notify("lobby", "all", until=0)
        changed = await next_event(bob, NotifyChanged, room="lobby")
        assert (changed.level, changed.until) == ("all", 0)
        with pytest.raises(CommandError) as refused:
            await bob.set_notify("lobby", "loud")
        assert refused.value.code == "bad_request"
    async with Client(server.http_url, token=bob_token) as again:
        lobby = again.rooms["lobby"]
        assert (lobby.unread, lobby.mentions, lobby.notify) == (1, 1, "all")


async def test_replies_threads_reactions_pins_and_versions(
    server: ServerProcess, account: Account
) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.http_url, token=bob_token) as bob,
    ):
        root = await alice.send("lobby", "lunch?")
        reply = await bob.reply("lobby", root.mid, "yes", cid="b-1")
        event = await next_event(alice, EventMessage, kind="message", seq=reply.seq)
        assert (event.thread, event.replies, event.repliers) == (root.mid, 1, ["bob"])
        assert (await bob.reply("lobby", root.mid, "yes", cid="b-1")).seq == reply.seq
        thread = await alice.thread("lobby", root.mid)
        assert thread.following is True  # the root's author
        assert (await bob.thread("lobby", root.mid, before=reply.seq)).following is True
        assert thread.root is not None
        assert (thread.root.mid, [e.mid for e in thread.events]) == (root.mid, [reply.mid])
        followed = await alice.threads()
        assert [(t.room, t.root.mid, t.unread) for t in followed.threads] == [
            ("lobby", root.mid, 1)
        ]
        await alice.follow("lobby", root.mid, following=False)
        changed = await next_event(alice, FollowChanged)
        assert (changed.thread, changed.following) == (root.mid, False)
        assert (await alice.thread("lobby", reply.mid)).following is False
        seq = await bob.react("lobby", root.mid, "🍕")
        assert seq is not None
        assert await bob.react("lobby", root.mid, "🍕") == seq  # a retry: the same event
        reacted = await next_event(alice, EventMessage, kind="reaction", seq=seq)
        assert (reacted.emoji, reacted.count, reacted.user) == ("🍕", 1, "bob")
        assert await bob.react("lobby", root.mid, "🍕", add=False) is not None
        assert await bob.react("lobby", root.mid, "🍕", add=False) is None
        pinned = await alice.pin("lobby", root.mid)
        pins = await bob.pins("lobby")
        assert [(e.mid, e.pinned) for e in pins.events] == [(root.mid, pinned)]
        await alice.edit("lobby", root.mid, "lunch at 1?")
        versions = await bob.versions("lobby", root.mid)
        assert [v.text for v in versions.versions] == ["lunch?", "lunch at 1?"]
        with pytest.raises(CommandError) as refused:
            await bob.react("lobby", root.mid, "not an emoji")
        assert refused.value.code == "bad_request"
        with pytest.raises(CommandError) as refused:
            await bob.reply("lobby", 999_999, "into nothing")
        assert refused.value.code == "not_found"


async def test_a_dm_reaches_the_other_user_as_a_room_change(
    server: ServerProcess, account: Account
) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.http_url, token=bob_token) as bob,
    ):
        room = await alice.dm("bob")
        assert room.kind == "direct"
        changed = await next_event(bob, RoomChanged)
        assert changed.room.name == room.name
        await alice.send(room.name, "psst")
        event = await next_event(bob, EventMessage, room=room.name, kind="message")
        assert event.text == "psst"


async def test_username_and_password_sign_in_and_out(server: ServerProcess) -> None:
    async with Client(server.http_url, username="carol", password=PASSWORD, register=True) as carol:
        assert carol.user is not None
        assert carol.user.name == "carol"
        token = carol.token
    # The session the client opened itself was ended when it closed.
    _, body, _ = http_json(f"{server.http_url}/api/me", token=token)
    assert body == {"user": None}
    async with Client(server.http_url, username="carol", password=PASSWORD) as again:
        assert again.user is not None


async def test_failures_to_connect_are_clear(
    server: ServerProcess, server_factory: Callable[..., ServerProcess]
) -> None:
    register(server.http_url, "dave")
    with pytest.raises(AuthError, match="cannot sign in as dave: wrong user name or password"):
        await Client(server.http_url, username="dave", password="not the password").start()
    with pytest.raises(AuthError, match="invalid or expired session token"):
        await Client(server.http_url, token="nonsense").start()
    with pytest.raises(ConnectError, match="connection refused"):
        await Client("http://127.0.0.1:1", token="t").start()
    echo = server_factory("echo")
    with pytest.raises(HandshakeRefused, match="400") as refused:
        await Client(echo.http_url, token="t").start()
    assert refused.value.status == 400


async def test_since_replays_what_came_after(server: ServerProcess, account: Account) -> None:
    (_, alice_token), (_, bob_token) = account("alice"), account("bob")
    async with Client(server.http_url, token=alice_token) as alice:
        acks = [await alice.send("lobby", f"m{i}") for i in range(4)]
    async with Client(server.http_url, token=bob_token, since={"LOBBY": acks[1].seq}) as bob:
        replayed = [await next_event(bob, EventMessage) for _ in range(2)]
        assert [e.text for e in replayed] == ["m2", "m3"]
    with pytest.raises(CommandError, match="future"):
        await Client(server.http_url, token=bob_token, since={"lobby": 10_000}).start()


async def test_a_revoked_session_ends_the_event_stream_with_auth_error(
    server: ServerProcess, account: Account
) -> None:
    _, token = account("erin")
    async with Client(server.http_url, token=token, backoff=FAST) as erin:
        status, _, _ = http_json(f"{server.http_url}/api/logout", {}, token=token)
        assert status == 204
        with pytest.raises(AuthError, match="ended the session"):
            await next_event(erin, EventMessage)
        with pytest.raises(AuthError):
            await erin.send("lobby", "still there?")


async def test_every_event_exactly_once_across_a_server_restart(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """The server restarts (same port, same database) while one client sends. Another client,
    slower to reconnect, must see every message once, in order: the ones sent while it was
    away are replayed by ``resume``, the later ones arrive live."""
    first = server_factory("serve")
    port = first.port
    sender_token = register(first.http_url, "sender")
    reader_token = register(first.http_url, "reader")
    slow = Backoff(initial=2.0, maximum=2.0, jitter=0)
    async with (
        Client(first.http_url, token=sender_token, backoff=FAST) as sender,
        Client(first.http_url, token=reader_token, backoff=slow) as reader,
    ):
        seen: list[int] = []
        states: list[object] = []
        reconnected = asyncio.Event()

        async def collect() -> None:
            async for event in reader.events():
                if isinstance(event, EventMessage) and event.room == "lobby":
                    seen.append(event.seq)
                elif isinstance(event, Connected | Disconnected):
                    states.append(event)
                    if isinstance(event, Connected) and event.reconnected:
                        reconnected.set()

        collector = asyncio.create_task(collect())
        acks = [await sender.send("lobby", f"before {i}") for i in range(5)]
        await asyncio.to_thread(first.stop)
        during = asyncio.create_task(sender.send("lobby", "sent while the server was down"))
        server_factory("serve", "--port", str(port))
        acks.append(await asyncio.wait_for(during, 30))
        acks += [await sender.send("lobby", f"while reader is away {i}") for i in range(3)]
        await asyncio.wait_for(reconnected.wait(), 30)
        acks += [await sender.send("lobby", f"after {i}") for i in range(3)]
        deadline = asyncio.get_running_loop().time() + 20
        while (
            not seen or seen[-1] < acks[-1].seq
        ) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        collector.cancel()
    sent = [ack.seq for ack in acks]
    assert len(set(sent)) == len(sent)  # the send retried across the restart was stored once
    assert seen == list(range(seen[0], seen[-1] + 1))  # no gap, no repeat
    assert set(sent) <= set(seen)
    assert [type(s).__name__ for s in states] == ["Connected", "Disconnected", "Connected"]


# -- a scripted server, for failures at an exact moment ------------------------------------


def _welcome(seq: int) -> str:
    room = m.RoomInfo(name="lobby", kind="public", seq=seq, member=True)
    return encode(m.Welcome(user=m.UserInfo(name="bot"), rooms=[room])).decode()


def _event(seq: int, text: str, cid: str | None = None) -> str:
    message = m.EventMessage(
        room="lobby", seq=seq, kind="message", user="bot", ts=1, mid=seq, text=text, cid=cid
    )
    return encode(message).decode()


async def test_a_send_cut_off_before_its_ack_is_resent_with_the_same_cid() -> None:
    """Connection 1 delivers events 1-2, takes a ``send`` and drops (1011) without acking.
    Connection 2 must get ``resume`` from seq 2, then the same ``send`` with the same cid;
    it replays 2 (an overlap) and 3, and acks. The client yields 1, 2, 3 exactly once."""
    received: list[list[dict[str, Any]]] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        assert ws.request.headers["Authorization"] == "Bearer tok"
        got: list[dict[str, Any]] = []
        received.append(got)
        first = len(received) == 1
        await ws.send(_welcome(0 if first else 3))
        resume = json.loads(await ws.recv())
        got.append(resume)
        await ws.send(json.dumps({"type": "resumed", "re": resume.get("id"), "rooms": {}}))
        if first:
            await ws.send(_event(1, "one"))
            await ws.send(_event(2, "two"))
            got.append(json.loads(await ws.recv()))  # the send
            await ws.close(1011, "crash before the ack")
            return
        send = json.loads(await ws.recv())
        got.append(send)
        await ws.send(_event(2, "two"))  # overlaps what the client already has
        await ws.send(_event(3, "three", send["cid"]))
        ack = {"type": "ack", "re": send["id"], "cid": send["cid"], "room": "lobby"}
        await ws.send(json.dumps({**ack, "seq": 3, "mid": 3, "ts": 1}))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=["parley.v1"]) as stub:  # type: ignore[list-item]
        port = stub.sockets[0].getsockname()[1]
        async with Client(f"ws://127.0.0.1:{port}/ws", token="tok", backoff=FAST) as client:
            seqs: list[int] = []

            async def collect() -> None:
                async for event in client.events():
                    if isinstance(event, EventMessage):
                        seqs.append(event.seq)

            collector = asyncio.create_task(collect())
            while len(seqs) < 2:
                await asyncio.sleep(0.01)
            ack = await asyncio.wait_for(client.send("lobby", "three"), 10)
            while len(seqs) < 3:
                await asyncio.sleep(0.01)
            collector.cancel()
    assert (ack.seq, ack.mid) == (3, 3)
    assert seqs == [1, 2, 3]
    first_conn, second_conn = received
    assert first_conn[0]["rooms"] == {}
    assert second_conn[0] == {"type": "resume", "id": second_conn[0]["id"], "rooms": {"lobby": 2}}
    assert first_conn[1]["cid"] == second_conn[1]["cid"]
    assert first_conn[1]["id"] != second_conn[1]["id"]


async def test_a_welcome_in_pages_and_rooms_listed_page_by_page(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")
    admin_token = register(server.http_url, "admin")  # the first account: no room quota
    bob_token = register(server.http_url, "bob")
    topic = "\N{GRINNING FACE}" * 250  # 1,000 bytes: 300 such rooms pass the reply budget
    names = [f"r{n:03d}" for n in range(300)]
    async with Client(server.http_url, token=admin_token) as admin:
        for start in range(0, len(names), 50):
            await asyncio.gather(*(admin.create(n, topic=topic) for n in names[start : start + 50]))
    async with Client(server.http_url, token=admin_token) as admin:
        # The welcome came in pages (welcome, more_rooms ...): the client has them all.
        assert sorted(admin.rooms) == sorted([*names, "lobby"])
        assert admin.welcome is not None
        assert admin.welcome.more is False
        await admin.send("r299", "the stream works after the last page")
    async with Client(server.http_url, token=bob_token) as bob:
        assert list(bob.rooms) == ["lobby"]  # public rooms are not in bob's welcome
        page = await bob.rooms_page("R1", limit=60)
        assert [r.name for r in page.rooms] == names[100:160]
        assert page.more is True
        assert page.next == "r159"
        rest = await bob.rooms_page("R1", after=page.next, limit=60)
        assert [r.name for r in rest.rooms] == names[160:200]
        assert rest.more is False
        assert rest.next is None
        assert [r.name for r in await bob.list_rooms("r2")] == names[200:300]
        assert len(await bob.list_rooms(most=120)) == 120
        with pytest.raises(CommandError) as refused:
            await bob.rooms_page("not a name")
        assert refused.value.code == "bad_request"
