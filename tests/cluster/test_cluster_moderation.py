"""Moderation across nodes: a ban made on one node takes effect at once on the banned user's
connections on another (their feed of the room ends with the ban event), and the stored ban
holds on every node."""

from __future__ import annotations

from tests.cluster.conftest import Cluster
from tests.helpers.chat import Chat, register


async def test_a_ban_on_one_node_removes_the_user_on_another(cluster: Cluster) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    register(first.http_url, "root")  # the first account: a server admin
    owner_token = register(first.http_url, "owner")
    dave_token = register(first.http_url, "dave")
    owner = await Chat.connect(first.ws_url, owner_token)
    assert (await owner.command("create", room="club"))["type"] == "ok"
    dave = await Chat.connect(second.ws_url, dave_token)
    assert (await dave.command("join", room="club"))["type"] == "ok"
    said = await owner.command("send", room="club", text="before")
    assert (await dave.next("event", kind="message"))["seq"] == said["seq"]

    banned = await owner.command("ban", room="club", user="dave")
    assert banned["type"] == "ok"
    event = await dave.next("event", kind="ban")
    assert (event["user"], event["by"], event["seq"]) == ("dave", "owner", banned["seq"])
    assert (await dave.next("room"))["room"]["member"] is False
    await owner.command("send", room="club", text="after the ban")
    await owner.command("send", room="lobby", text="marker")
    seen = []
    while True:
        message = await dave.next()
        seen.append(message)
        if message.get("text") == "marker":
            break
    assert not [m for m in seen if m.get("room") == "club"], seen
    # The ban is stored: refused on the other node too, and by a fresh connection there.
    assert (await dave.command("join", room="club"))["code"] == "banned"
    fresh = await Chat.connect(second.ws_url, dave_token)
    assert "club" not in [r["name"] for r in fresh.welcome["rooms"]]
    assert (await fresh.command("send", room="club", text="x"))["code"] == "forbidden"
    for chat in (owner, dave, fresh):
        await chat.close()
