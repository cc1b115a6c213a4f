"""Files from the clients: ``Client.upload`` and ``send(files=...)``, ``set_profile``, the
``profile`` notice as a client event, ``parley send --file`` and the terminal's ``/upload``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from parley.client import Client
from parley.client.errors import CommandError
from parley.protocol.messages import EventMessage, ProfileChanged
from tests.client.conftest import run_parley
from tests.client.test_terminal import Terminal, expect
from tests.files import images
from tests.helpers.chat import PASSWORD, register
from tests.helpers.files import fetch
from tests.helpers.process import ServerProcess


async def test_the_library_uploads_sends_and_sets_a_profile(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice_token, bob_token = register(server.http_url, "alice"), register(server.http_url, "bob")
    photo = tmp_path / "photo.png"
    photo.write_bytes(images.png(30, 20))
    async with (
        Client(server.http_url, token=alice_token) as alice,
        Client(server.http_url, token=bob_token) as bob,
    ):
        info = await alice.upload(photo)
        assert (info.name, info.type, info.width, info.height) == ("photo.png", "image/png", 30, 20)
        ack = await alice.send("lobby", "look", files=[info.id])

        async def message() -> EventMessage:
            async for event in bob.events():
                if isinstance(event, EventMessage) and event.seq == ack.seq:
                    return event
            raise AssertionError("no event")

        event = await asyncio.wait_for(message(), 20)
        assert event.files == [info]
        status, _, _ = await fetch(server.http_url, bob_token, f"/files/{info.id}/photo.png")
        assert status == 200
        avatar = await alice.upload(photo, name="me.png", avatar=True)
        await alice.set_profile(display_name="Alice", avatar=avatar.id)

        async def profile() -> ProfileChanged:
            async for event in bob.events():
                if isinstance(event, ProfileChanged):
                    return event
            raise AssertionError("no profile")

        changed = await asyncio.wait_for(profile(), 20)
        assert (changed.user, changed.display_name, changed.avatar) == ("alice", "Alice", avatar.id)
        empty = tmp_path / "empty"
        empty.write_bytes(b"")
        with pytest.raises(CommandError) as refused:
            await alice.upload(empty)
        assert refused.value.code == "bad_request"


def test_parley_send_file(server: ServerProcess, tmp_path: Path) -> None:
    alice = register(server.http_url, "alice")
    notes = tmp_path / "notes.txt"
    notes.write_text("the notes\n")
    sent = run_parley(
        "send",
        server.http_url,
        "lobby",
        "",
        "--file",
        str(notes),
        "--file",
        str(notes),
        "--token",
        alice,
    )
    assert (sent.returncode, sent.stderr) == (0, ""), sent.stderr
    ack = json.loads(sent.stdout)
    assert ack["type"] == "ack"
    missing = run_parley(
        "send", server.http_url, "lobby", "x", "--file", str(tmp_path / "nope"), "--token", alice
    )
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert "nope" in missing.stderr


async def test_the_terminal_uploads_and_shows_files(
    server: ServerProcess, terminal: Terminal, tmp_path: Path
) -> None:
    token = register(server.http_url, "alice")
    async with Client(server.http_url, token=token) as library:
        await library.set_profile(display_name="Alice L.")
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7\n" + b"x" * 3000)
    child = terminal("connect", server.http_url, "--user", "alice")
    await expect(child, "Password: ")
    child.sendline(PASSWORD)
    await expect(child, "#lobby>")
    child.sendline(f"/upload {report} the report")
    await expect(child, r"uploaded report\.pdf \(2\.9 KiB\)")
    await expect(
        child,
        r"<alice> the report \[file: report\.pdf, 2\.9 KiB, /files/[A-Za-z0-9_-]{22}/report\.pdf\]",
    )
    child.sendline(f"/upload {tmp_path / 'missing.bin'}")
    await expect(child, "cannot read")
    child.sendline("/who")
    await expect(child, r'#lobby: alice "Alice L\." \(online\)')
