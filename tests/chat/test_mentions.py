"""Mentions and notification levels over parley.v1, against a real server: the event's
``mentions``, counts in the welcome and ``unread`` notices, the ``mentions`` view, ``@room``
refusals, and ``notify`` synced to the user's other connections."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from tests.helpers.chat import Chat

Connect = Callable[..., Awaitable[Chat]]


def room_of(welcome: dict[str, object], name: str) -> dict[str, object]:
    rooms = welcome["rooms"]
    assert isinstance(rooms, list)
    return next(r for r in rooms if r["name"] == name)


async def test_a_mention_is_on_the_event_counted_and_listed(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    ack = await alice.command("send", room="lobby", text="@Bob look, and mail bob@x.org")
    event = await bob.next("event", kind="message")
    assert event["mentions"] == ["bob"]
    plain = await alice.command("send", room="lobby", text="nothing for bob")
    assert "mentions" not in await bob.next("event", kind="message", seq=plain["seq"])
    # A fresh connection's welcome has both counts.
    again = await connect("bob")
    lobby = room_of(again.welcome, "lobby")
    assert (lobby["unread"], lobby["mentions"]) == (2, 1)
    assert (lobby["notify"], lobby["muted_until"]) == ("mentions", 0)
    listed = await bob.command("mentions")
    assert listed["type"] == "mentions"
    assert [(e["mid"], e["room"], e["text"]) for e in listed["events"]] == [
        (ack["mid"], "lobby", "@Bob look, and mail bob@x.org")
    ]
    assert listed["more"] is False
    # Reading past it: every connection of bob hears the new counts.
    await bob.send_raw({"type": "read", "room": "lobby", "seq": ack["seq"]})
    for chat in (bob, again):
        notice = await chat.next("unread", room="lobby")
        assert (notice["read"], notice["unread"], notice["mentions"]) == (ack["seq"], 1, 0)


async def test_edits_add_and_remove_mentions_and_deletes_retract(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    ack = await alice.command("send", room="lobby", text="hi @bob")
    reply = await alice.command("edit", room="lobby", mid=ack["mid"], text="hi @bob @carol")
    assert reply["type"] == "ok"
    edit = await carol.next("event", kind="edit")
    assert edit["mentions"] == ["bob", "carol"]
    assert edit["mentions_added"] == ["carol"]
    assert "mentions_removed" not in edit
    await alice.command("edit", room="lobby", mid=ack["mid"], text="hi @carol")
    edit = await bob.next("event", kind="edit", seq=reply["seq"] + 1)
    assert edit["mentions_removed"] == ["bob"]
    assert (await bob.command("mentions"))["events"] == []
    assert [e["text"] for e in (await carol.command("mentions"))["events"]] == ["hi @carol"]
    await alice.command("delete", room="lobby", mid=ack["mid"])
    deleted = await carol.next("event", kind="delete")
    assert deleted["mentions_removed"] == ["carol"]
    assert (await carol.command("mentions"))["events"] == []
    fresh = await connect("carol")
    assert room_of(fresh.welcome, "lobby")["mentions"] == 0


async def test_the_mentions_view_pages_and_refuses_bad_requests(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    # Long messages: the byte budget (256 KiB) cuts the page before the count does.
    big = "@bob " + "x" * 3900
    acks = [await alice.command("send", room="lobby", text=big) for _ in range(80)]
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        page = await bob.command("mentions", limit=100, **({"before": before} if before else {}))
        pages += 1
        assert len(page["events"]) < 80 or pages > 1
        seen += [e["mid"] for e in page["events"]]
        if not page["more"]:
            break
        before = page["events"][-1]["mid"]
    assert pages >= 2
    assert seen == sorted((a["mid"] for a in acks), reverse=True)  # all, once, newest first
    for bad in ({"limit": 0}, {"limit": 101}, {"before": 0}, {"before": "x"}, {"limit": -1}):
        reply = await bob.command("mentions", **bad)
        assert (reply["type"], reply["code"]) == ("error", "bad_request"), bad


async def test_room_mentions_are_refused_to_others_in_big_rooms(connect: Connect) -> None:
    owner = await connect("owner")
    await owner.command("create", room="big")
    people = [await connect(f"member{i}") for i in range(21)]
    for chat in people:
        assert (await chat.command("join", room="big"))["type"] == "ok"
    refused = await people[0].command("send", room="big", text="@room hello")
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert "@room" in refused["message"]
    ok = await owner.command("send", room="big", text="@room hello")
    assert ok["type"] == "ack"
    event = await people[1].next("event", kind="message", room="big")
    assert event["mentions"] == ["@room"]
    # A small room: anyone may.
    await people[0].command("create", room="small")
    assert (await people[0].command("send", room="small", text="@room x"))["type"] == "ack"
    # Too many names: refused, not cut.
    many = " ".join(f"@name{i}" for i in range(21))
    refused = await people[0].command("send", room="small", text=many)
    assert (refused["type"], refused["code"]) == ("error", "forbidden")


async def test_notify_is_stored_and_synced_to_every_connection(connect: Connect) -> None:
    bob, other_tab = await connect("bob"), await connect("bob")
    until = int(time.time() * 1000) + 3_600_000
    reply = await bob.command("notify", room="lobby", level="none", until=until)
    assert reply["type"] == "ok"
    for chat in (bob, other_tab):
        notice = await chat.next("notify")
        assert (notice["room"], notice["level"], notice["until"]) == ("lobby", "none", until)
    fresh = await connect("bob")
    lobby = room_of(fresh.welcome, "lobby")
    assert (lobby["notify"], lobby["muted_until"]) == ("none", until)
    assert (await bob.command("notify", room="lobby", level="all"))["type"] == "ok"
    assert (await other_tab.next("notify", level="all"))["until"] == 0
    for bad in (
        {"room": "lobby", "level": "loud"},
        {"room": "lobby", "level": "ALL"},
        {"room": "lobby", "level": "all", "until": -1},
        {"room": "lobby"},
        {"level": "all"},
    ):
        reply = await bob.command("notify", **bad)
        assert (reply["type"], reply["code"]) == ("error", "bad_request"), bad
    reply = await bob.command("notify", room="secret", level="all")
    assert (reply["type"], reply["code"]) == ("error", "forbidden")
