"""Notification levels and mention counts across nodes: a ``notify`` on one node reaches the
user's connections on the others (the user's broker channel), and every node reads the same
stored level and counts."""

from __future__ import annotations

from tests.cluster.conftest import Cluster
from tests.helpers.chat import Chat, register


def lobby_of(chat: Chat) -> dict[str, object]:
    return next(r for r in chat.welcome["rooms"] if r["name"] == "lobby")


async def test_a_level_set_on_one_node_reaches_every_node(cluster: Cluster) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    bob_token = register(first.http_url, "bob")
    alice_token = register(first.http_url, "alice")
    here = await Chat.connect(first.ws_url, bob_token)
    there = await Chat.connect(second.ws_url, bob_token)
    reply = await here.command("notify", room="lobby", level="all", until=1_900_000_000_000)
    assert reply["type"] == "ok"
    for chat in (here, there):
        notice = await chat.next("notify", room="lobby")
        assert (notice["level"], notice["until"]) == ("all", 1_900_000_000_000)
    # A mention said on one node is counted, and listed, on the other.
    alice = await Chat.connect(second.ws_url, alice_token)
    ack = await alice.command("send", room="lobby", text="@bob over here")
    assert (await here.next("event", kind="message"))["mentions"] == ["bob"]
    fresh = await Chat.connect(second.ws_url, bob_token)
    lobby = lobby_of(fresh)
    assert (lobby["notify"], lobby["muted_until"], lobby["mentions"]) == (
        "all",
        1_900_000_000_000,
        1,
    )
    listed = await fresh.command("mentions")
    assert [e["mid"] for e in listed["events"]] == [ack["mid"]]
    await there.send_raw({"type": "read", "room": "lobby", "seq": ack["seq"]})
    notice = await here.next("unread", room="lobby")
    assert (notice["read"], notice["mentions"]) == (ack["seq"], 0)
    for chat in (here, there, alice, fresh):
        await chat.close()
