"""Messages: ack after commit, one order, idempotent resends, edits, deletes, history, unread
counts, typing and presence."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.helpers.chat import Chat

Connect = Callable[..., Awaitable[Chat]]


async def test_ack_then_event_for_everyone(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    ack = await alice.command("send", room="lobby", text="hello", cid="a1")
    assert ack["type"] == "ack"
    assert (ack["cid"], ack["room"]) == ("a1", "lobby")
    assert ack["seq"] > 0
    assert ack["mid"] > 0
    assert ack["ts"] > 0
    for chat in (alice, bob):
        event = await chat.next("event", kind="message")
        assert event["seq"] == ack["seq"]
        assert event["mid"] == ack["mid"]
        assert event["text"] == "hello"
        assert event["user"] == "alice"


async def test_one_gap_free_order_for_every_client(connect: Connect) -> None:
    senders = [await connect(f"sender{i}") for i in range(4)]
    listener = await connect("listener")
    per_sender = 25

    async def send_all(index: int) -> list[int]:
        acks = []
        for n in range(per_sender):
            ack = await senders[index].command(
                "send", room="lobby", text=f"{index}:{n}", cid=f"{index}-{n}"
            )
            acks.append(ack["seq"])
        return acks

    acked = await asyncio.gather(*(send_all(i) for i in range(4)))
    total = 4 * per_sender
    orders = []
    for chat in [*senders, listener]:
        events: list[dict[str, object]] = []
        while sum(e["kind"] == "message" for e in events) < total:
            events.append(await chat.next("event", 15, room="lobby"))
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap or disorder"
        orders.append([e["text"] for e in events if e["kind"] == "message"])
    assert all(order == orders[0] for order in orders)
    for index in range(4):
        assert acked[index] == sorted(acked[index])  # each sender's messages in its order


async def test_resending_a_cid_never_duplicates(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    first = await alice.command("send", room="lobby", text="once", cid="same")
    again = await alice.command("send", room="lobby", text="once", cid="same")
    assert again == {**first, "re": again["re"]}
    await asyncio.sleep(0.3)
    history = await bob.command("history", room="lobby")
    assert [e["text"] for e in history["events"] if e["kind"] == "message"] == ["once"]
    # Another user may use the same cid: ids are per user.
    other = await bob.command("send", room="lobby", text="mine", cid="same")
    assert other["mid"] != first["mid"]


async def test_edit_and_delete_own_messages_only(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")  # alice is the first: an admin
    carol = await connect("carol")
    ack = await bob.command("send", room="lobby", text="typo", cid="b1")
    edited = await bob.command("edit", room="lobby", mid=ack["mid"], text="fixed")
    assert edited["type"] == "ok"
    event = await carol.next("event", kind="edit")
    assert (event["mid"], event["text"], event["seq"]) == (ack["mid"], "fixed", edited["seq"])
    refused = await carol.command("edit", room="lobby", mid=ack["mid"], text="hijack")
    assert refused["code"] == "forbidden"
    assert (await carol.command("delete", room="lobby", mid=ack["mid"]))["code"] == "forbidden"
    assert (await bob.command("edit", room="lobby", mid=999999, text="x"))["code"] == "not_found"
    # An admin may delete anyone's message.
    deleted = await alice.command("delete", room="lobby", mid=ack["mid"])
    assert deleted["type"] == "ok"
    assert (await carol.next("event", kind="delete"))["mid"] == ack["mid"]
    assert (await bob.command("edit", room="lobby", mid=ack["mid"], text="back"))[
        "code"
    ] == "not_found"
    history = await carol.command("history", room="lobby")
    message = next(
        e for e in history["events"] if e.get("mid") == ack["mid"] and e["kind"] == "message"
    )
    assert message["deleted"] is True
    assert message.get("text", "") == ""
    assert all(
        "typo" not in (e.get("text") or "") and "fixed" not in (e.get("text") or "")
        for e in history["events"]
    )


async def test_text_limits(connect: Connect) -> None:
    alice = await connect("alice")
    too_long = await alice.command("send", room="lobby", text="x" * 4001, cid="l1")
    assert too_long["code"] == "too_large"
    ok = await alice.command("send", room="lobby", text="x" * 4000, cid="l2")
    assert ok["type"] == "ack"
    assert (await alice.command("send", room="lobby", text="  ", cid="l3"))["code"] == "bad_request"


async def test_history_pages_backwards(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.command("create", room="book")
    for n in range(120):
        await alice.command("send", room="book", text=f"m{n}", cid=f"m{n}")
    page = await alice.command("history", room="book", limit=100)
    assert len(page["events"]) == 100
    assert page["more"] is True
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == sorted(seqs)
    older = await alice.command("history", room="book", before=seqs[0], limit=100)
    assert [e["seq"] for e in older["events"]] == list(range(1, seqs[0]))
    assert older["more"] is False
    assert (await alice.command("history", room="book", limit=101))["code"] == "bad_request"


async def test_unread_counts_and_read_markers(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="news")
    await bob.command("join", room="news")
    last = None
    for n in range(3):
        last = await alice.command("send", room="news", text=f"n{n}", cid=f"n{n}")
    rooms = await bob.command("rooms")
    news = next(r for r in rooms["rooms"] if r["name"] == "news")
    assert news["unread"] == 3
    await bob.send_raw({"type": "read", "room": "news", "seq": last["seq"] - 1})
    notice = await bob.next("unread")
    assert (notice["room"], notice["read"], notice["unread"]) == ("news", last["seq"] - 1, 1)
    # Markers never move backwards.
    await bob.send_raw({"type": "read", "room": "news", "seq": 1})
    assert (await bob.next("unread"))["read"] == last["seq"] - 1
    own = await alice.command("rooms")
    assert next(r for r in own["rooms"] if r["name"] == "news")["unread"] == 0  # own messages
    assert (await bob.command("read", room="dev-none", seq=1))["code"] == "forbidden"


async def test_typing_reaches_others_not_self_and_is_rate_limited(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    for _ in range(5):
        await alice.send_raw({"type": "typing", "room": "lobby"})
    notice = await bob.next("typing")
    assert (notice["room"], notice["user"]) == ("lobby", "alice")
    extra = [m for m in await bob.quiet(0.5) if m["type"] == "typing"]
    assert extra == []
    assert [m for m in await alice.quiet(0.2) if m["type"] == "typing"] == []


async def test_presence_counts_tabs_once_and_clears_on_abrupt_disconnect(connect: Connect) -> None:
    watcher = await connect("watcher")
    tab1 = await connect("dora")
    assert (await watcher.next("presence", user="dora"))["online"] is True
    tab2 = await connect("dora")
    await tab1.close()
    assert [m for m in await watcher.quiet(0.4) if m["type"] == "presence"] == []
    tab2.ws.transport.abort()  # no close frame
    offline = await watcher.next("presence", user="dora")
    assert offline["online"] is False
    who = await watcher.command("who", room="lobby")
    assert "dora" not in who["online"]
    assert "watcher" in who["online"]
