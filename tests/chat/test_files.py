"""Files, images and profiles end to end, against a real server (docs/protocol.md, section
12): uploads and their limits, sending files, who may fetch them, what is served and how,
Range, a deleted message's file gone at once, a cut-off upload leaving nothing, the
collector, and a profile change reaching another client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.files import images
from tests.helpers.chat import Chat
from tests.helpers.files import fetch, upload
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]

MAX_UPLOAD = 256 * 1024
QUOTA = 600 * 1024


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory(
        "serve",
        "--rate-limit", "1000",
        "--rate-burst", "1000",
        "--max-upload", str(MAX_UPLOAD),
        "--upload-quota", str(QUOTA),
        "--upload-ttl", "2s",
        "--collect-interval", "0.5s",
    )  # fmt: skip


def blob_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "parley.db.files"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def spool_files(tmp_path: Path) -> list[Path]:
    spool = tmp_path / "parley.db.files" / "tmp"
    return sorted(spool.iterdir()) if spool.exists() else []


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` until it holds (the test's timeout bounds the wait)."""
    while not await condition():
        await asyncio.sleep(0.05)


async def test_an_image_is_sent_served_stripped_and_shown_in_history(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    status, body = await upload(server.http_url, alice.token, images.jpeg_with_gps(), "me.jpg")
    assert status == 201, body
    info = body["upload"]
    assert (info["name"], info["type"]) == ("me.jpg", "image/jpeg")
    assert (info["width"], info["height"]) == (480, 640)  # upright
    assert (info["thumb_width"], info["thumb_height"]) == (240, 320)
    assert len(info["id"]) == 22
    ack = await alice.command("send", room="lobby", files=[info["id"]], cid="f1")
    assert ack["type"] == "ack", ack
    event = await bob.next("event", kind="message", seq=ack["seq"])
    assert event["files"] == [info]
    assert event["text"] == ""
    history = await bob.command("history", room="lobby", limit=1)
    assert history["events"][0]["files"] == [info]
    status, headers, served = await fetch(server.http_url, bob.token, f"/files/{info['id']}/me.jpg")
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"].startswith("inline; filename*=UTF-8''me.jpg")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "private, no-cache"
    assert int(headers["Content-Length"]) == len(served) == info["size"]
    assert images.CAMERA.encode() not in served
    assert b"Exif" not in served
    status, headers, thumb = await fetch(server.http_url, bob.token, f"/thumbs/{info['id']}")
    assert (status, headers["Content-Type"]) == (200, "image/webp")
    assert thumb.startswith(b"RIFF")


async def test_html_named_png_is_never_served_inline(
    server: ServerProcess, connect: Connect
) -> None:
    alice = await connect("alice")
    for data in (images.HTML_AS_PNG, images.HTML):
        status, body = await upload(server.http_url, alice.token, data, "cat.png")
        assert status == 201
        info = body["upload"]
        assert info["type"] in ("application/octet-stream", "text/plain; charset=utf-8")
        assert "thumb_width" not in info
        status, headers, served = await fetch(
            server.http_url, alice.token, f"/files/{info['id']}/cat.png"
        )
        assert status == 200
        assert served == data  # not an image: kept as it came ...
        assert headers["Content-Disposition"].startswith("attachment;")  # ... and only downloaded
        assert headers["Content-Type"] != "text/html"
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, _ = await fetch(server.http_url, alice.token, f"/thumbs/{info['id']}")
        assert status == 404


async def test_upload_limits_and_bad_requests(server: ServerProcess, connect: Connect) -> None:
    alice = await connect("alice")
    url, token = server.http_url, alice.token
    status, body = await upload(url, token, b"x" * (MAX_UPLOAD + 1))
    assert (status, body["error"]) == (413, "too_large")
    # Both would read "256 KiB": the message gives the bytes that differ; the fields, always.
    assert body["message"] == "the file is 262,145 bytes; the limit is 262,144 bytes"
    assert (body["size"], body["limit"]) == (MAX_UPLOAD + 1, MAX_UPLOAD)
    status, body = await upload(url, token, b"x" * (MAX_UPLOAD * 3 // 2))
    assert body["message"] == "the file is 384 KiB; the limit is 256 KiB"
    assert (await upload(url, token, b"x" * MAX_UPLOAD))[0] == 201  # exactly the limit

    async def chunked() -> bytes:  # no Content-Length: counted as it comes
        for _ in range(MAX_UPLOAD // 1024 + 2):
            yield b"y" * 1024  # type: ignore[misc]

    status, body = await upload(url, token, chunked())  # type: ignore[arg-type]
    assert (status, body["error"]) == (413, "too_large")
    assert body["message"] == "the file is over the limit of 256 KiB"
    assert body["limit"] == MAX_UPLOAD
    assert "size" not in body
    # The quota: 600 KiB; 256 KiB are used.
    assert (await upload(url, token, b"a" * MAX_UPLOAD))[0] == 201
    status, body = await upload(url, token, b"b" * MAX_UPLOAD)
    assert (status, body["error"]) == (413, "quota_exceeded")
    assert body["message"] == (
        "your files hold 512 KiB of the 600 KiB allowed and this file is 256 KiB; delete some first"
    )
    assert (body["used"], body["quota"], body["size"]) == (2 * MAX_UPLOAD, QUOTA, MAX_UPLOAD)
    for query, reason in [
        ("", "name"),
        ("name=", "name"),
        ("name=a%2Fb", "/"),
        ("name=..", ".."),
        ("name=" + "n" * 201, "limit"),
        ("name=a%0Ab", "one line"),
        ("name=x%E2%80%AEgnp.exe", "U+202E"),
        ("name=ok&avatar=yes", "avatar"),
    ]:
        status, body = await upload(url, token, b"z", query=query)
        assert (status, body["error"]) == (400, "bad_request"), query
        assert reason in body["message"], (query, body)
    status, body = await upload(url, token, b"", "empty")
    assert (status, body["error"]) == (400, "bad_request")
    status, body = await upload(url, token, b"z", headers={"Content-Type": "text/plain"})
    assert (status, body["error"]) == (415, "unsupported_media_type")
    status, body = await upload(url, token, b"z", headers={"Origin": "http://evil.example"})
    assert (status, body["error"]) == (403, "forbidden_origin")
    status, body = await upload(url, None, b"z")
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = await upload(url, token, b"not an image", "a.png", query="name=a.png&avatar=1")
    assert (status, body["error"]) == (400, "bad_image")


async def test_sending_files_that_are_not_yours_to_send(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    _, mine = await upload(server.http_url, alice.token, b"alice's")
    _, bobs = await upload(server.http_url, bob.token, b"bob's")
    _, avatar = await upload(
        server.http_url, alice.token, images.png(), query="name=a.png&avatar=1"
    )
    for files in ([bobs["upload"]["id"]], [avatar["upload"]["id"]], ["A" * 22]):
        reply = await alice.command("send", room="lobby", files=files)
        assert (reply["type"], reply["code"]) == ("error", "not_found"), files
        assert "no such upload" in reply["message"]
    mid = mine["upload"]["id"]
    for files in ([mid, mid], [mid] * 11, ["short"]):
        reply = await alice.command("send", room="lobby", files=files)
        assert (reply["type"], reply["code"]) == ("error", "bad_request"), files
    reply = await alice.command("send", room="lobby", text="   ", files=[mid])
    assert reply["code"] == "bad_request"  # blank text is not "no text"
    assert (await alice.command("send", room="lobby"))["code"] == "bad_request"  # nothing
    assert (await alice.command("send", room="lobby", files=[mid], text="here"))["type"] == "ack"
    again = await alice.command("send", room="lobby", files=[mid])
    assert again["code"] == "not_found"  # sent already


async def test_who_may_fetch_and_a_deleted_message_stops_its_file(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    await alice.command("create", room="ops", private=True)
    await alice.command("invite", room="ops", user="bob")
    _, body = await upload(server.http_url, alice.token, b"the plan", "plan.txt")
    fid = body["upload"]["id"]
    path = f"/files/{fid}/plan.txt"
    assert (await fetch(server.http_url, bob.token, path))[0] == 404  # not sent yet
    assert (await fetch(server.http_url, alice.token, path))[0] == 200  # its uploader
    ack = await alice.command("send", room="ops", text="see", files=[fid])
    status, headers, served = await fetch(server.http_url, bob.token, path)
    assert (status, served) == (200, b"the plan")
    assert headers["Content-Disposition"].startswith("attachment;")
    # Not a member, an unknown id, a malformed one, no session: nothing tells them apart.
    answers = [
        await fetch(server.http_url, carol.token, path),
        await fetch(server.http_url, carol.token, f"/files/{'B' * 22}/plan.txt"),
        await fetch(server.http_url, carol.token, "/files/..%2F..%2Fetc/passwd"),
    ]
    assert {(s, b) for s, _, b in answers} == {(404, answers[0][2])}
    assert (await fetch(server.http_url, None, path))[0] == 401
    # Deleted: 404 from the moment the delete is acknowledged, for everyone.
    assert (await alice.command("delete", room="ops", mid=ack["mid"]))["type"] == "ok"
    for who in (alice, bob):
        assert (await fetch(server.http_url, who.token, path))[0] == 404
    history = await bob.command("history", room="ops", limit=5)
    message = next(
        e for e in history["events"] if e.get("mid") == ack["mid"] and e["kind"] == "message"
    )
    assert "files" not in message
    assert message["deleted"] is True


async def test_ranges_and_revalidation(server: ServerProcess, connect: Connect) -> None:
    alice = await connect("alice")
    data = os.urandom(100_000)
    _, body = await upload(server.http_url, alice.token, data, "data.bin")
    path = f"/files/{body['upload']['id']}/data.bin"
    url, token = server.http_url, alice.token
    status, headers, whole = await fetch(url, token, path)
    assert (status, whole, headers["Accept-Ranges"]) == (200, data, "bytes")
    etag = headers["ETag"]
    import hashlib

    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    cases = [
        ("bytes=0-9", 206, data[:10], "bytes 0-9/100000"),
        ("bytes=99990-", 206, data[99990:], "bytes 99990-99999/100000"),
        ("bytes=-5", 206, data[-5:], "bytes 99995-99999/100000"),
        ("bytes=50000-200000", 206, data[50000:], "bytes 50000-99999/100000"),
        ("bytes=0-1,5-6", 200, data, None),  # several ranges: the whole file
        ("pages=1-2", 200, data, None),
    ]
    for header, code, part, content_range in cases:
        status, headers, got = await fetch(url, token, path, {"Range": header})
        assert (status, got) == (code, part), header
        assert headers.get("Content-Range") == content_range, header
    status, headers, _ = await fetch(url, token, path, {"Range": "bytes=100000-"})
    assert (status, headers["Content-Range"]) == (416, "bytes */100000")
    status, _, got = await fetch(url, token, path, {"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (status, got) == (200, data)
    status, _, got = await fetch(url, token, path, {"If-None-Match": etag})
    assert (status, got) == (304, b"")
    status, headers, got = await fetch(url, token, path, method="HEAD")
    assert (status, got, headers["Content-Length"]) == (200, b"", "100000")


async def test_an_upload_cut_off_leaves_nothing(
    server: ServerProcess, connect: Connect, tmp_path: Path
) -> None:
    alice = await connect("alice")
    before = blob_files(tmp_path)
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(
            b"POST /api/uploads?name=big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + alice.token.encode() + b"\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 200000\r\n\r\n"
            + b"q"
            * 100_000
        )

        async def spooling() -> bool:
            return bool(spool_files(tmp_path))

        await until(spooling)  # it is being received
    # The client is gone half-way: the server logs it and removes what it wrote.
    server.wait_for_line("an upload was cut off")

    async def clean() -> bool:
        return not spool_files(tmp_path)

    await until(clean)
    assert blob_files(tmp_path) == before
    assert (await upload(server.http_url, alice.token, b"q" * 10))[0] == 201  # still fine


async def test_the_collector_removes_orphans(
    server: ServerProcess, connect: Connect, tmp_path: Path
) -> None:
    """--upload-ttl 2s: an upload never sent, and a deleted message's file, lose their bytes;
    a sent file keeps them."""
    alice = await connect("alice")
    _, kept = await upload(server.http_url, alice.token, b"kept", "kept.txt")
    _, unsent = await upload(server.http_url, alice.token, b"never sent", "unsent.txt")
    _, deleted = await upload(server.http_url, alice.token, images.png(), "gone.png")
    await alice.command("send", room="lobby", text="k", files=[kept["upload"]["id"]])
    ack = await alice.command("send", room="lobby", text="d", files=[deleted["upload"]["id"]])
    await alice.command("delete", room="lobby", mid=ack["mid"])
    assert len(blob_files(tmp_path)) == 4  # kept, unsent, the PNG and its thumbnail

    async def collected() -> bool:
        return [p.read_bytes() for p in blob_files(tmp_path)] == [b"kept"]

    await until(collected)
    status, _, got = await fetch(server.http_url, alice.token, f"/files/{kept['upload']['id']}/k")
    assert (status, got) == (200, b"kept")
    status, _, _ = await fetch(server.http_url, alice.token, f"/files/{unsent['upload']['id']}/u")
    assert status == 404
    server.wait_for_line("collected")


async def test_a_profile_change_reaches_another_client(
    server: ServerProcess, connect: Connect
) -> None:
    alice, bob = await connect("alice"), await connect("bob")
    status, body = await upload(
        server.http_url, alice.token, images.png(100, 60), query="name=me.png&avatar=1"
    )
    assert status == 201
    avatar = body["upload"]
    assert (avatar["thumb_width"], avatar["thumb_height"]) == (60, 60)  # square
    reply = await alice.command("profile", display_name="Alice Liddell", avatar=avatar["id"])
    assert reply["type"] == "ok"
    notice = await bob.next("profile", user="alice")
    assert notice == {
        "type": "profile",
        "user": "alice",
        "display_name": "Alice Liddell",
        "avatar": avatar["id"],
    }
    assert (await alice.next("profile"))["display_name"] == "Alice Liddell"  # her own too
    who = await bob.command("who", room="lobby")
    assert who["profiles"] == {"alice": {"display_name": "Alice Liddell", "avatar": avatar["id"]}}
    status, headers, _ = await fetch(server.http_url, bob.token, f"/avatars/{avatar['id']}")
    assert (status, headers["Content-Type"]) == (200, "image/webp")
    again = await connect("alice")
    assert again.welcome["user"]["display_name"] == "Alice Liddell"
    assert again.welcome["user"]["avatar"] == avatar["id"]
    # Bad profiles: the text policy, the length, blank, someone else's or a plain upload.
    _, plain = await upload(server.http_url, bob.token, images.png(), "p.png")
    for fields, code in [
        ({"display_name": "a\nb"}, "bad_request"),
        ({"display_name": "x\u202ey"}, "bad_request"),
        ({"display_name": "n" * 65}, "bad_request"),
        ({"display_name": "   "}, "bad_request"),
        ({"avatar": "short"}, "bad_request"),
        ({"avatar": plain["upload"]["id"]}, "not_found"),
    ]:
        reply = await alice.command("profile", **fields)
        assert (reply["type"], reply["code"]) == ("error", code), fields
    assert (await alice.command("profile", display_name="", avatar=""))["type"] == "ok"
    cleared = await bob.next("profile", user="alice", display_name="")
    assert cleared["avatar"] == ""
    assert "profiles" not in await bob.command("who", room="lobby")
    assert (await fetch(server.http_url, bob.token, f"/avatars/{avatar['id']}"))[0] == 404
    assert json.dumps(cleared)  # plain JSON


async def test_a_guest_reads_the_names_of_a_messages_files(
    server: ServerProcess, connect: Connect
) -> None:
    alice = await connect("alice")
    async with ws_connect(server.ws_url + "/") as guest:
        _, body = await upload(server.http_url, alice.token, b"notes", "notes.txt")
        await alice.command("send", room="lobby", files=[body["upload"]["id"]])
        assert await asyncio.wait_for(guest.recv(), 10) == "alice: [file: notes.txt]"
        _, body = await upload(server.http_url, alice.token, b"more", "more.txt")
        await alice.command("send", room="lobby", text="see", files=[body["upload"]["id"]])
        assert await asyncio.wait_for(guest.recv(), 10) == "alice: see [file: more.txt]"
