"""Reactions, pins and edit versions over parley.v1, against a real server: the events and
what messages read back carry, retries that store nothing, who may pin, the bounds, and bad
input (emoji that are not one, unknown and deleted messages, other rooms, non-members)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


def message(history: dict[str, object], mid: int) -> dict[str, object]:
    events = history["events"]
    assert isinstance(events, list)
    return next(e for e in events if e["kind"] == "message" and e["mid"] == mid)


async def test_reactions_are_events_and_messages_carry_their_totals(connect: Connect) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    said = await alice.command("send", room="lobby", text="ship it?")
    first = await bob.command("react", room="lobby", mid=said["mid"], emoji="👍")
    assert first["type"] == "ok"
    event = await carol.next("event", kind="reaction", seq=first["seq"])
    assert (event["user"], event["mid"], event["emoji"], event["count"]) == (
        "bob",
        said["mid"],
        "👍",
        1,
    )
    assert "removed" not in event
    # Again: the same seq, nothing stored.
    again = await bob.command("react", room="lobby", mid=said["mid"], emoji="👍")
    assert again == {"type": "ok", "re": again["re"], "seq": first["seq"]}
    await carol.command("react", room="lobby", mid=said["mid"], emoji="👍")
    await carol.command("react", room="lobby", mid=said["mid"], emoji=":shipit:")
    await alice.command("react", room="lobby", mid=said["mid"], emoji="👩‍💻")
    history = await alice.command("history", room="lobby", limit=20)
    assert message(history, said["mid"])["reactions"] == [
        {"emoji": "👍", "count": 2, "users": ["bob", "carol"]},
        {"emoji": ":shipit:", "count": 1, "users": ["carol"]},
        {"emoji": "👩‍💻", "count": 1, "users": ["alice"]},
    ]
    # Read back, each reaction event carries its emoji's total now.
    counts = [e["count"] for e in history["events"] if e["kind"] == "reaction"]
    assert counts == [2, 2, 1, 1]
    taken = await bob.command("unreact", room="lobby", mid=said["mid"], emoji="👍")
    event = await alice.next("event", kind="reaction", seq=taken["seq"])
    assert (event["removed"], event["count"]) == (True, 1)
    nothing = await bob.command("unreact", room="lobby", mid=said["mid"], emoji="👍")
    assert nothing["type"] == "ok"
    assert "seq" not in nothing
    # Reactions are never unread.
    fresh = await connect("carol")
    lobby = next(r for r in fresh.welcome["rooms"] if r["name"] == "lobby")
    assert lobby["unread"] == 1  # alice's message only


async def test_bad_emoji_are_refused(connect: Connect) -> None:
    alice = await connect("alice")
    said = await alice.command("send", room="lobby", text="x")
    for emoji in (
        "",
        "a",
        "ok",
        "👍👍",
        "👍 ",
        " 👍",
        "👍\u200b",
        "\u200d",
        "1",
        ":Up:",
        ":a b:",
        "::",
        ":" + "x" * 33 + ":",
        "👍" * 40,
        "x" * 10_000,
        "<b>",
        "\u202e👍",
    ):
        refused = await alice.command("react", room="lobby", mid=said["mid"], emoji=emoji)
        assert (refused["type"], refused["code"]) == ("error", "bad_request"), emoji
    for emoji in ("👍🏽", "🇫🇷", "1️⃣", "❤️", ":+1:", ":party_parrot:"):
        reply = await alice.command("react", room="lobby", mid=said["mid"], emoji=emoji)
        assert reply["type"] == "ok", emoji
    for bad in ({"mid": 0}, {"mid": "1"}, {"emoji": 5}, {}):
        fields = {"room": "lobby", "mid": said["mid"], "emoji": "👍", **bad}
        if not bad:
            del fields["emoji"]
        refused = await alice.command("react", **fields)
        assert (refused["type"], refused["code"]) == ("error", "bad_request"), bad


async def test_reactions_on_missing_messages_by_outsiders_and_past_the_limit(
    connect: Connect,
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    await alice.command("create", room="club", private=True)
    inside = await alice.command("send", room="club", text="members only")
    outside = await bob.command("react", room="club", mid=inside["mid"], emoji="👍")
    assert (outside["type"], outside["code"]) == ("error", "forbidden")
    in_lobby = await alice.command("send", room="lobby", text="here")
    wrong_room = await alice.command("react", room="club", mid=in_lobby["mid"], emoji="👍")
    assert wrong_room["code"] == "not_found"
    unknown = await alice.command("react", room="lobby", mid=999_999, emoji="👍")
    assert unknown["code"] == "not_found"
    await alice.command("delete", room="lobby", mid=in_lobby["mid"])
    gone = await alice.command("react", room="lobby", mid=in_lobby["mid"], emoji="👍")
    assert gone["code"] == "not_found"
    # 20 different emoji, then no new one; an existing one still takes more people.
    said = await alice.command("send", room="lobby", text="spam me")
    for n in range(20):
        ok = await alice.command("react", room="lobby", mid=said["mid"], emoji=f":e{n}:")
        assert ok["type"] == "ok"
    refused = await bob.command("react", room="lobby", mid=said["mid"], emoji=":e20:")
    assert (refused["type"], refused["code"]) == ("error", "limit_reached")
    assert "20 different reactions" in refused["message"]
    assert (await bob.command("react", room="lobby", mid=said["mid"], emoji=":e3:"))["seq"]
    # Deleting the message erases its reactions.
    await alice.command("delete", room="lobby", mid=said["mid"])
    history = await alice.command("history", room="lobby", limit=50)
    assert "reactions" not in message(history, said["mid"])
    assert {e["count"] for e in history["events"] if e["kind"] == "reaction"} == {0}


async def test_who_may_pin_and_the_pins_list(connect: Connect) -> None:
    admin = await connect("admin")  # the first account: an administrator
    owner, bob, carol = await connect("owner"), await connect("bob"), await connect("carol")
    await owner.command("create", room="team")
    for chat in (bob, carol, admin):
        await chat.command("join", room="team")
    bobs = await bob.command("send", room="team", text="bob's")
    carols = await carol.command("send", room="team", text="carol's")
    refused = await carol.command("pin", room="team", mid=bobs["mid"])
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert "author" in refused["message"]
    by_author = await bob.command("pin", room="team", mid=bobs["mid"])
    event = await carol.next("event", kind="pin")
    assert (event["seq"], event["mid"], event["user"]) == (by_author["seq"], bobs["mid"], "bob")
    again = await owner.command("pin", room="team", mid=bobs["mid"])  # the creator, again
    assert again["seq"] == by_author["seq"]
    by_admin = await admin.command("pin", room="team", mid=carols["mid"])
    assert by_admin["type"] == "ok"
    pins = await carol.command("pins", room="team")
    assert [(e["mid"], e["pinned"]) for e in pins["events"]] == [
        (carols["mid"], by_admin["seq"]),
        (bobs["mid"], by_author["seq"]),
    ]
    assert pins["more"] is False
    page = await carol.command("pins", room="team", limit=1)
    assert ([e["mid"] for e in page["events"]], page["more"]) == ([carols["mid"]], True)
    rest = await carol.command("pins", room="team", limit=1, before=page["events"][0]["pinned"])
    assert [e["mid"] for e in rest["events"]] == [bobs["mid"]]
    # Unpin: an event; unpinning again changes nothing.
    unpinned = await owner.command("unpin", room="team", mid=carols["mid"])
    assert (await bob.next("event", kind="unpin"))["seq"] == unpinned["seq"]
    assert "seq" not in await owner.command("unpin", room="team", mid=carols["mid"])
    # A deleted message leaves the pins.
    await bob.command("delete", room="team", mid=bobs["mid"])
    assert (await carol.command("pins", room="team"))["events"] == []
    history = await carol.command("history", room="team", limit=50)
    assert "pinned" not in message(history, bobs["mid"])
    # Outsiders: a private room's pins and pinning are the usual forbidden.
    await owner.command("create", room="secret", private=True)
    hidden = await owner.command("send", room="secret", text="s")
    outsider = await connect("dave")
    for command, fields in (("pin", {"mid": hidden["mid"]}), ("pins", {})):
        refused = await outsider.command(command, room="secret", **fields)
        assert (refused["type"], refused["code"]) == ("error", "forbidden"), command
    unknown = await owner.command("pin", room="team", mid=999_999)
    assert unknown["code"] == "not_found"


async def test_versions_list_every_text_and_vanish_with_the_message(connect: Connect) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    said = await alice.command("send", room="lobby", text="frist")
    edits = [
        await alice.command("edit", room="lobby", mid=said["mid"], text=text)
        for text in ("first", "first!", "first.")
    ]
    reply = await bob.command("versions", room="lobby", mid=said["mid"])
    assert [(v["seq"], v["user"], v["text"]) for v in reply["versions"]] == [
        (said["seq"], "alice", "frist"),
        (edits[0]["seq"], "alice", "first"),
        (edits[1]["seq"], "alice", "first!"),
        (edits[2]["seq"], "alice", "first."),
    ]
    assert (reply["mid"], reply["more"]) == (said["mid"], False)
    page = await bob.command("versions", room="lobby", mid=said["mid"], limit=2)
    assert [v["text"] for v in page["versions"]] == ["first!", "first."]
    assert page["more"] is True
    rest = await bob.command(
        "versions", room="lobby", mid=said["mid"], before=page["versions"][0]["seq"]
    )
    assert [v["text"] for v in rest["versions"]] == ["frist", "first"]
    never_edited = await alice.command("send", room="lobby", text="once")
    only = await bob.command("versions", room="lobby", mid=never_edited["mid"])
    assert [v["text"] for v in only["versions"]] == ["once"]
    await alice.command("delete", room="lobby", mid=said["mid"])
    gone = await bob.command("versions", room="lobby", mid=said["mid"])
    assert (gone["type"], gone["code"]) == ("error", "not_found")
    await alice.command("create", room="other")
    elsewhere = await alice.command("versions", room="other", mid=never_edited["mid"])
    assert elsewhere["code"] == "not_found"
    for bad in ({"mid": 0}, {"limit": 0}, {"limit": 101}, {"before": 0}):
        refused = await bob.command("versions", **{"room": "lobby", "mid": 1, **bad})
        assert (refused["type"], refused["code"]) == ("error", "bad_request"), bad


async def test_reaction_spam_takes_from_the_rate_limit(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve", "--rate-limit", "5", "--rate-burst", "10")
    spammer = await Chat.connect(server.ws_url, register(server.http_url, "spammer"))
    calm = await Chat.connect(server.ws_url, register(server.http_url, "calm"))
    said = await calm.command("send", room="lobby", text="react to me")
    for n in range(30):
        emoji = "👍" if n % 2 == 0 else "👎"
        kind = "react" if n % 4 < 2 else "unreact"
        await spammer.send_raw(
            {"type": kind, "id": f"s{n}", "room": "lobby", "mid": said["mid"], "emoji": emoji}
        )
    for _ in range(20):  # past the burst of refusals: disconnected
        with contextlib.suppress(Exception):
            await spammer.send_raw({"type": "ping"})
    assert await asyncio.wait_for(spammer.closed, 10) == 4003
    codes = []
    while not spammer.inbox.empty():
        frame = spammer.inbox.get_nowait()
        if frame["type"] == "error":
            codes.append(frame["code"])
    assert "rate_limited" in codes
    # Someone else's reactions are not limited by the spammer's bucket.
    assert (await calm.command("react", room="lobby", mid=said["mid"], emoji="🎉"))["seq"]
    # What got through is consistent: at most one reaction per (user, emoji) is counted.
    history = await calm.command("history", room="lobby", limit=100)
    totals = {r["emoji"]: r["count"] for r in message(history, said["mid"]).get("reactions", [])}
    assert all(count <= 1 for emoji, count in totals.items() if emoji != "🎉")
    await calm.close()
