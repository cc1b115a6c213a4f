"""Files across nodes on PostgreSQL: uploaded through one node, served by another from the
shared database (no other service), deleted on one and gone on every node at once; a profile
changed on one node reaches a client of another, in one publication however many accounts
share a room with its user."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from redis.asyncio import Redis

from parley.chat.envelope import Kind, Publication, pack
from parley.store.postgres import PostgresStore
from tests.cluster.conftest import Cluster
from tests.files import images
from tests.helpers.chat import Chat, register
from tests.helpers.files import fetch, upload
from tests.helpers.metrics import fill_lobby, read_metrics


async def test_two_nodes_serve_the_same_file(cluster: Cluster) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    alice_token = register(first.http_url, "alice")
    bob_token = register(second.http_url, "bob")
    alice = await Chat.connect(first.ws_url, alice_token)
    bob = await Chat.connect(second.ws_url, bob_token)
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    status, body = await upload(first.http_url, alice_token, data, "big.bin")
    assert status == 201, body
    fid = body["upload"]["id"]
    ack = await alice.command("send", room="lobby", text="file", files=[fid])
    event = await bob.next("event", kind="message", seq=ack["seq"])
    assert event["files"][0]["id"] == fid
    path = f"/files/{fid}/big.bin"
    for node in (first, second):
        status, _, got = await fetch(node.http_url, bob_token, path)
        assert (status, got) == (200, data)
    status, _, got = await fetch(
        second.http_url, bob_token, path, {"Range": "bytes=1048570-1048585"}
    )
    assert (status, got) == (206, data[1048570:1048586])  # across a chunk boundary
    # The same bytes uploaded through the other node: one blob.
    status, again = await upload(second.http_url, bob_token, data, "copy.bin")
    assert status == 201
    assert again["upload"]["id"] != fid
    await alice.command("delete", room="lobby", mid=ack["mid"])
    for node in (first, second):
        assert (await fetch(node.http_url, bob_token, path))[0] == 404
    # bob's copy shares the blob: still served to him.
    status, _, got = await fetch(second.http_url, bob_token, f"/files/{again['upload']['id']}/c")
    assert (status, got) == (200, data)
    for chat in (alice, bob):
        await chat.close()


async def test_a_profile_change_reaches_another_node(cluster: Cluster) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    alice_token = register(first.http_url, "alice")
    bob_token = register(second.http_url, "bob")
    alice = await Chat.connect(first.ws_url, alice_token)
    bob = await Chat.connect(second.ws_url, bob_token)
    status, body = await upload(
        first.http_url, alice_token, images.png(), query="name=me.png&avatar=1"
    )
    assert status == 201
    avatar = body["upload"]["id"]
    assert (await alice.command("profile", display_name="Al", avatar=avatar))["type"] == "ok"
    notice = await bob.next("profile", user="alice")
    assert (notice["display_name"], notice["avatar"]) == ("Al", avatar)
    status, headers, _ = await fetch(second.http_url, bob_token, f"/avatars/{avatar}")
    assert (status, headers["Content-Type"]) == (200, "image/webp")
    for chat in (alice, bob):
        await chat.close()


async def test_an_upload_cut_off_leaves_nothing_in_postgresql(
    cluster: Cluster, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    node = cluster.start_node("--file-dir", str(spool))
    token = register(node.http_url, "alice")
    conn = await asyncpg.connect(cluster.db_url)
    try:
        before = await conn.fetchval("SELECT count(*) FROM blobs")
        with socket.create_connection(("127.0.0.1", node.port)) as raw:
            raw.sendall(
                b"POST /api/uploads?name=big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Content-Type: application/octet-stream\r\nContent-Length: 5000000\r\n\r\n"
                + b"q"
                * 2_000_000
            )
            while not any(spool.iterdir()):  # being received
                await asyncio.sleep(0.05)
        node.wait_for_line("an upload was cut off")
        while any(spool.iterdir()):
            await asyncio.sleep(0.05)
        assert await conn.fetchval("SELECT count(*) FROM blobs") == before
        assert await conn.fetchval("SELECT count(*) FROM blob_chunks WHERE n >= 0") == 0
        assert await conn.fetchval("SELECT count(*) FROM uploads") == 0
        status, _ = await upload(node.http_url, token, b"after", "after.txt")
        assert status == 201
    finally:
        await conn.close()


async def test_a_profile_change_is_one_publication_for_the_whole_cluster(
    cluster: Cluster,
) -> None:
    """200 accounts in the lobby, two nodes on Redis: one change is one PUBLISH, received once
    by the other node, which tells its own connections that share a room with the user (her
    other device too), and not carol, who shares none."""
    store = PostgresStore(cluster.db_url)
    await store.start()
    await fill_lobby(store, 200)
    await store.close()
    first, second = cluster.start_node(), cluster.start_node()
    alice_token = register(first.http_url, "alice")
    alice = await Chat.connect(first.ws_url, alice_token)
    alice_phone = await Chat.connect(second.ws_url, alice_token)
    bob = await Chat.connect(second.ws_url, register(second.http_url, "bob"))
    carol = await Chat.connect(second.ws_url, register(second.http_url, "carol"))
    assert (await carol.command("leave", room="lobby"))["type"] == "ok"
    await asyncio.sleep(0.5)  # the joins' and presence publications are out
    sent = read_metrics(first.http_url)["parley_broker_published_total"]
    received = read_metrics(second.http_url)["parley_broker_received_total"]
    assert (await alice.command("profile", display_name="Al"))["type"] == "ok"
    for chat in (alice, alice_phone, bob):
        assert (await chat.next("profile", user="alice"))["display_name"] == "Al"
    assert read_metrics(first.http_url)["parley_broker_published_total"] - sent == 1
    assert read_metrics(second.http_url)["parley_broker_received_total"] - received == 1
    # carol shares no room with alice: her own change (published after alice's, from the
    # node that received alice's) is the first profile notice she gets.
    assert (await carol.command("profile", display_name="C"))["type"] == "ok"
    assert (await carol.next("profile"))["user"] == "carol"
    for chat in (alice, alice_phone, bob):
        assert [m for m in await chat.quiet() if m["type"] == "profile"] == []
    # Bad publications on the channel (what does not decode, another kind) are ignored,
    # logged, and the next change still goes through.
    wrong_kind = pack(Publication("elsewhere", Kind.NOTICE, 0, b'{"tag":"profile"}'))
    cut = pack(Publication("elsewhere", Kind.PROFILE, 0, b"{}", user=1, rooms=(1, 2)))[:-3]
    client = Redis.from_url(cluster.redis.url)
    try:
        for data in (b"\xc1garbage", wrong_kind, cut):
            await client.publish("parley:profiles", data)
    finally:
        await client.aclose()
    second.wait_for_line("ignored an undecodable publication on profiles")
    assert (await alice.command("profile", display_name="Al2"))["type"] == "ok"
    assert (await bob.next("profile", user="alice"))["display_name"] == "Al2"
    for chat in (alice, alice_phone, bob, carol):
        await chat.close()
