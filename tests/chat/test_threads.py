"""Threads over parley.v1, against a real server: replies as ``message`` events with
``thread``, the thread's summary on its root and on its events, ``history`` of a thread, unread
counts that leave replies to followers, ``follow`` / ``unfollow``, ``read`` of a thread,
``threads``, and the refusals (unknown, deleted and other rooms' messages, ``broadcast``
alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect as ws_connect

from tests.helpers.chat import Chat
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


def room_of(welcome: dict[str, object], name: str) -> dict[str, object]:
    rooms = welcome["rooms"]
    assert isinstance(rooms, list)
    return next(r for r in rooms if r["name"] == name)


async def test_a_reply_is_a_message_of_the_thread_with_its_summary(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    root = await alice.command("send", room="lobby", text="lunch?")
    first = await bob.command("send", room="lobby", text="yes", thread=root["mid"], cid="b1")
    assert first["type"] == "ack"
    event = await carol.next("event", kind="message", seq=first["seq"])
    assert (event["thread"], event["replies"], event["repliers"]) == (root["mid"], 1, ["bob"])
    assert event["last_reply_ts"] == event["ts"]
    assert "broadcast" not in event
    # A reply to a reply attaches to the root; the summary names the repliers, newest first.
    second = await carol.command("send", room="lobby", text="me too", thread=first["mid"])
    event = await alice.next("event", kind="message", seq=second["seq"])
    assert (event["thread"], event["replies"], event["repliers"]) == (
        root["mid"],
        2,
        ["carol", "bob"],
    )
    # Resending a reply with its cid answers the original ack and stores nothing.
    again = await bob.command("send", room="lobby", text="yes", thread=root["mid"], cid="b1")
    assert (again["seq"], again["mid"]) == (first["seq"], first["mid"])
    # Read back: the root carries the summary; the replies carry their thread's.
    history = await carol.command("history", room="lobby", limit=10)
    by_mid = {e.get("mid"): e for e in history["events"] if e["kind"] == "message"}
    assert (by_mid[root["mid"]]["replies"], by_mid[root["mid"]]["repliers"]) == (
        2,
        ["carol", "bob"],
    )
    assert by_mid[first["mid"]]["replies"] == 2
    assert "replies" not in by_mid.get(None, {})
    # The thread's own history: its replies, oldest first, and its root.
    thread = await alice.command("history", room="lobby", thread=first["mid"])
    assert [e["mid"] for e in thread["events"]] == [first["mid"], second["mid"]]
    assert thread["root"]["mid"] == root["mid"]
    assert thread["more"] is False
    paged = await alice.command("history", room="lobby", thread=root["mid"], limit=1)
    assert ([e["mid"] for e in paged["events"]], paged["more"]) == ([second["mid"]], True)
    older = await alice.command(
        "history", room="lobby", thread=root["mid"], limit=1, before=second["seq"]
    )
    assert [e["mid"] for e in older["events"]] == [first["mid"]]
    assert "root" not in older


async def test_deleting_a_reply_lowers_the_count_and_a_deleted_root_takes_no_reply(
    connect: Connect,
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    root = await alice.command("send", room="lobby", text="root")
    reply = await bob.command("send", room="lobby", text="reply", thread=root["mid"])
    await bob.command("delete", room="lobby", mid=reply["mid"])
    deleted = await alice.next("event", kind="delete")
    assert (deleted["thread"], deleted["replies"]) == (root["mid"], 0)
    await alice.command("delete", room="lobby", mid=root["mid"])
    for mid in (root["mid"], reply["mid"]):
        refused = await bob.command("send", room="lobby", text="late", thread=mid)
        assert (refused["type"], refused["code"]) == ("error", "not_found")
        assert f"no message {mid} in room 'lobby'" in refused["message"]
    # The history of a deleted root's thread still answers, with the root deleted.
    thread = await bob.command("history", room="lobby", thread=root["mid"])
    assert thread["root"]["deleted"] is True
    assert thread["events"][0]["deleted"] is True


async def test_bad_threads_are_refused_clearly(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.command("create", room="other")
    elsewhere = await alice.command("send", room="other", text="over here")
    for thread in (elsewhere["mid"], 999_999):
        refused = await alice.command("send", room="lobby", text="x", thread=thread)
        assert (refused["type"], refused["code"]) == ("error", "not_found"), thread
        history = await alice.command("history", room="lobby", thread=thread)
        assert (history["type"], history["code"]) == ("error", "not_found"), thread
    for bad in ({"thread": 0}, {"thread": "7"}, {"thread": -1}, {"broadcast": True}):
        refused = await alice.command("send", room="lobby", text="x", **bad)
        assert (refused["type"], refused["code"]) == ("error", "bad_request"), bad
    root = await alice.command("send", room="lobby", text="root")
    both = await alice.command("history", room="lobby", thread=root["mid"], around=1)
    assert (both["type"], both["code"]) == ("error", "bad_request")
    # A topic event is no message: not a thread either.
    topic = await alice.command("topic", room="other", topic="t")
    refused = await alice.command("send", room="other", text="x", thread=topic["seq"] + 10_000)
    assert refused["code"] == "not_found"


async def test_replies_are_unread_for_followers_only(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    carol, dave = await connect("carol"), await connect("dave")
    root = await alice.command("send", room="lobby", text="root")
    for chat in (bob, carol, dave):  # everyone has read up to the root
        await chat.send_raw({"type": "read", "room": "lobby", "seq": root["seq"]})
        await chat.next("unread")
    await bob.command("send", room="lobby", text="quiet reply", thread=root["mid"])
    await bob.command("send", room="lobby", text="@carol see", thread=root["mid"])
    shout = await bob.command(
        "send", room="lobby", text="loud reply", thread=root["mid"], broadcast=True
    )
    event = await dave.next("event", seq=shout["seq"])
    assert event["broadcast"] is True
    # The room's unread counts only the broadcast reply, for everyone; mentions in a thread
    # count in the thread.
    for name in ("carol", "dave"):
        lobby = room_of((await connect(name)).welcome, "lobby")
        assert (lobby["unread"], lobby["mentions"]) == (1, 0), name
    # The followers: alice (root), bob (replier), carol (mentioned). Not dave.
    for chat, unread, mentions in ((alice, 3, 0), (carol, 3, 1)):
        listed = await chat.command("threads")
        [thread] = listed["threads"]
        assert (thread["room"], thread["root"]["mid"]) == ("lobby", root["mid"])
        assert (thread["unread"], thread["mentions"]) == (unread, mentions)
        assert thread["root"]["replies"] == 3
    mine = await bob.command("threads")
    assert mine["threads"][0]["unread"] == 0  # his own replies
    assert (await dave.command("threads"))["threads"] == []
    # Reading the thread: every connection of carol hears it; the room's marker stays.
    other_tab = await connect("carol")
    await carol.send_raw(
        {"type": "read", "room": "lobby", "seq": shout["seq"], "thread": root["mid"]}
    )
    for chat in (carol, other_tab):
        notice = await chat.next("unread", thread=root["mid"])
        assert (notice["read"], notice["unread"], notice["mentions"]) == (shout["seq"], 0, 0)
    assert (await carol.command("threads"))["threads"][0]["unread"] == 0
    assert room_of((await connect("carol")).welcome, "lobby")["unread"] == 1


async def test_follow_and_unfollow_are_told_to_every_connection(connect: Connect) -> None:
    alice, dave = await connect("alice"), await connect("dave")
    dave_too = await connect("dave")
    root = await alice.command("send", room="lobby", text="root")
    await alice.command("send", room="lobby", text="reply", thread=root["mid"])
    reply = await dave.command("follow", room="lobby", mid=root["mid"])
    assert reply["type"] == "ok"
    for chat in (dave, dave_too):
        notice = await chat.next("follow")
        assert notice == {
            "type": "follow",
            "room": "lobby",
            "thread": root["mid"],
            "following": True,
        }
    assert [t["root"]["mid"] for t in (await dave.command("threads"))["threads"]] == [root["mid"]]
    await dave.command("unfollow", room="lobby", mid=root["mid"])
    assert (await dave_too.next("follow", following=False))["thread"] == root["mid"]
    assert (await dave.command("threads"))["threads"] == []
    # The root's author who unfollows stays out when others reply.
    await alice.command("unfollow", room="lobby", mid=root["mid"])
    await dave.command("send", room="lobby", text="more", thread=root["mid"])
    assert (await alice.command("threads"))["threads"] == []
    # ... until they reply again.
    await alice.command("send", room="lobby", text="back", thread=root["mid"])
    assert len((await alice.command("threads"))["threads"]) == 1
    for bad in ({"mid": 999_999}, {"mid": 0}, {"room": "nowhere", "mid": root["mid"]}):
        refused = await dave.command("follow", **{"room": "lobby", **bad})
        assert refused["type"] == "error", bad
        assert refused["code"] in ("not_found", "bad_request", "forbidden"), bad


async def test_threads_pages_by_last_reply(connect: Connect) -> None:
    alice = await connect("alice")
    roots = [await alice.command("send", room="lobby", text=f"root {i}") for i in range(5)]
    for root in roots:
        await alice.command("send", room="lobby", text="r", thread=root["mid"])
    # The first thread gets the newest reply: it comes first.
    await alice.command("send", room="lobby", text="again", thread=roots[0]["mid"])
    seen: list[tuple[int, int]] = []
    after = None
    while True:
        page = await alice.command("threads", limit=2, **({"after": after} if after else {}))
        seen += [(t["root"]["last_reply_ts"], t["root"]["mid"]) for t in page["threads"]]
        if not page["more"]:
            assert "next" not in page
            break
        after = page["next"]
    # Most recently replied-to first (a tie in the millisecond: the newer root first), once each.
    assert seen == sorted(seen, reverse=True)
    assert sorted(mid for _, mid in seen) == [r["mid"] for r in roots]
    assert dict((mid, ts) for ts, mid in seen)[roots[0]["mid"]] == max(ts for ts, _ in seen)
    for bad in ({"after": "x"}, {"after": "1:"}, {"limit": 0}, {"limit": 101}):
        refused = await alice.command("threads", **bad)
        assert (refused["type"], refused["code"]) == ("error", "bad_request"), bad


async def test_a_thread_page_keeps_to_the_reply_budget(connect: Connect) -> None:
    alice = await connect("alice")
    root = await alice.command("send", room="lobby", text="r" * 3900)
    big = "é" * 3900  # two bytes each in JSON: about 60 replies fill the budget
    acks = [
        await alice.command("send", room="lobby", text=big, thread=root["mid"]) for _ in range(80)
    ]
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        fields = {"before": before} if before else {}
        page = await alice.command("history", room="lobby", thread=root["mid"], limit=100, **fields)
        pages += 1
        assert len(page["events"]) < 80
        seen = [e["mid"] for e in page["events"]] + seen
        if not page["more"]:
            break
        before = page["events"][0]["seq"]
    assert pages >= 2
    assert seen == [a["mid"] for a in acks]  # every reply once, in order


async def test_guests_see_the_main_timeline_only(server: ServerProcess, connect: Connect) -> None:
    alice = await connect("alice")
    guest = await ws_connect(server.ws_url + "/")
    await guest.send("guest here")
    assert await asyncio.wait_for(guest.recv(), 5) == "guest here"
    root = await alice.command("send", room="lobby", text="root")
    await alice.command("send", room="lobby", text="in the thread", thread=root["mid"])
    await alice.command("send", room="lobby", text="to all", thread=root["mid"], broadcast=True)
    await alice.command("react", room="lobby", mid=root["mid"], emoji="👍")
    await alice.command("send", room="lobby", text="after")
    received = [await asyncio.wait_for(guest.recv(), 5) for _ in range(3)]
    assert received == ["alice: root", "alice: to all", "alice: after"]
    await guest.close()
