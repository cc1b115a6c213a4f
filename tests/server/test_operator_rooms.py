"""The operator's tools on a database a server is using: ``parley room ...``, ``parley user
rename`` and ``parley check``; the server notices within its sync interval and its clients
follow (docs/protocol.md: the ``archive``, ``unarchive`` and ``rename`` events, ``room`` with
``removed``)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_ENV
from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

FOLLOW = 15  # seconds: a server's sync interval (5 s) with room to spare on a busy machine


def parley(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--db", str(tmp_path / "parley.db")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")


async def connected(server: ServerProcess, name: str) -> Chat:
    return await Chat.connect(server.ws_url, register(server.http_url, name))


async def test_an_archived_room_is_read_only_for_connected_clients_and_unarchived_again(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = await connected(server, "alice"), await connected(server, "bob")
    assert (await alice.command("create", room="plans"))["type"] == "ok"
    assert (await bob.command("join", room="plans"))["type"] == "ok"
    said = await alice.command("send", room="plans", text="keep this")

    done = parley(tmp_path, "room", "archive", "plans")
    assert (done.returncode, done.stdout) == (0, "archived 'plans'\n")
    for chat in (alice, bob):  # the event reaches everyone, within the sync interval
        event = await chat.next("event", timeout=FOLLOW, room="plans", kind="archive")
        assert event["user"] == "operator"
    refused = await bob.command("send", room="plans", text="too late")
    assert refused["code"] == "forbidden"
    assert refused["message"] == "room 'plans' is archived: it can be read, not changed"
    for command in (
        {"type": "edit", "mid": said["mid"], "text": "changed"},
        {"type": "delete", "mid": said["mid"]},
        {"type": "topic", "topic": "new"},
    ):
        fields = dict(command)
        reply = await alice.command(str(fields.pop("type")), room="plans", **fields)
        assert reply["code"] == "forbidden", reply
        assert "archived" in reply["message"]
    history = await bob.command("history", room="plans")
    assert [e["text"] for e in history["events"] if e["kind"] == "message"] == ["keep this"]
    rooms = {r["name"]: r for r in (await bob.command("rooms"))["rooms"]}
    assert rooms["plans"]["archived"] is True

    assert parley(tmp_path, "room", "unarchive", "plans").stdout == "unarchived 'plans'\n"
    await alice.next("event", timeout=FOLLOW, room="plans", kind="unarchive")
    assert (await bob.command("send", room="plans", text="back"))["type"] == "ack"
    for chat in (alice, bob):
        await chat.close()


async def test_a_renamed_room_is_followed_live_by_its_members(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice = await connected(server, "alice")
    assert (await alice.command("create", room="teh-team"))["type"] == "ok"
    done = parley(tmp_path, "room", "rename", "teh-team", "the-team")
    assert (done.returncode, done.stdout) == (0, "renamed 'teh-team' to 'the-team'\n")
    event = await alice.next("event", timeout=FOLLOW, kind="rename")
    assert (event["text"], event["previous"]) == ("the-team", "teh-team")
    # The connection follows: commands name the room by its new name now. (Its cache is
    # updated by the same sync that delivered the event, so allow a moment.)
    for _ in range(50):
        reply = await alice.command("send", room="the-team", text="hello")
        if reply["type"] == "ack":
            break
        await asyncio.sleep(0.1)
    assert reply["type"] == "ack", reply
    assert reply["room"] == "the-team"
    assert (await alice.command("send", room="teh-team", text="x"))["code"] == "forbidden"
    await alice.close()


async def test_a_deleted_room_disappears_from_its_members_and_is_erased(
    server: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = await connected(server, "alice"), await connected(server, "bob")
    assert (await alice.command("create", room="secret", private=True))["type"] == "ok"
    assert (await alice.command("invite", room="secret", user="bob"))["type"] == "ok"
    await alice.command("send", room="secret", text="the plan")
    done = parley(tmp_path, "room", "delete", "secret", "--yes")
    assert (done.returncode, done.stdout) == (
        0,
        "deleted 'secret' (2 members, its history erased)\n",
    )
    for chat in (alice, bob):
        gone = await chat.next("room", timeout=FOLLOW, removed=True)
        assert gone["removed"] is True
        assert (gone["room"]["name"], gone["room"]["member"]) == ("secret", False)
        history = await chat.command("history", room="secret")
        assert history["code"] == "forbidden"
    # The name is free again, and a new room of that name shares nothing with the old one.
    assert (await bob.command("create", room="secret"))["type"] == "ok"
    assert (await bob.command("history", room="secret"))["events"][-1]["kind"] == "join"
    database = sqlite3.connect(tmp_path / "parley.db")
    assert database.execute("SELECT COUNT(*) FROM events WHERE text = 'the plan'").fetchone() == (
        0,
    )
    database.close()
    for chat in (alice, bob):
        await chat.close()


def test_room_commands_refuse_clearly(tmp_path: Path) -> None:
    parley(tmp_path, "room", "list")  # creates the database
    cases = [
        (["room", "archive", "nowhere"], 1, "parley: no room named 'nowhere'\n"),
        (
            ["room", "archive", "lobby"],
            1,
            "parley: the lobby cannot be archived: everyone starts there\n",
        ),
        (
            ["room", "delete", "lobby", "--yes"],
            1,
            "parley: the lobby cannot be deleted: everyone starts there\n",
        ),
        (
            ["room", "rename", "lobby", "hall"],
            1,
            "parley: the lobby keeps its name: clients and guests find it by it\n",
        ),
        (
            ["room", "delete", "lobby"],
            2,
            "parley: deleting a room cannot be undone: add --yes to confirm\n",
        ),
    ]
    for args, code, stderr in cases:
        done = parley(tmp_path, *args)
        assert (done.returncode, done.stderr) == (code, stderr), args
    made = parley(tmp_path, "room", "list")
    assert made.stdout == "#1\t'lobby'\tpublic\t0 members\topen\n"


def test_check_finds_names_made_under_older_rules_and_renaming_fixes_them(
    tmp_path: Path,
) -> None:
    assert parley(tmp_path, "check").returncode == 0  # a new database: nothing to report
    # Names as older versions let them in (written directly, as they were then).
    database = sqlite3.connect(tmp_path / "parley.db")
    with database:
        database.execute(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            " VALUES ('alice\n', 'alice\n', 'x', 1), ('guesthouse', 'guesthouse', 'x', 1),"
            " ('fine', 'fine', 'x', 1)"
        )
        database.execute(
            "INSERT INTO rooms (name, name_key, kind, created_at)"
            " VALUES ('lobby\n', 'lobby\n', 'public', 1)"
        )
    ids = dict(database.execute("SELECT name, id FROM users").fetchall())
    bad_alice, guesthouse = ids["alice\n"], ids["guesthouse"]
    room_id = database.execute("SELECT id FROM rooms WHERE name = 'lobby\n'").fetchone()[0]
    database.close()

    report = parley(tmp_path, "check")
    assert report.returncode == 1
    lines = report.stdout.splitlines()
    assert lines[0].startswith(f"user #{bad_alice} 'alice\\n': user names are")
    assert lines[1] == f"  fix: parley user rename '#{bad_alice}' NEW-NAME"
    assert lines[2].startswith(f"user #{guesthouse} 'guesthouse': user names starting")
    assert lines[4].startswith(f"room #{room_id} 'lobby\\n': room names are")
    assert len(lines) == 6

    renamed = parley(tmp_path, "user", "rename", f"#{bad_alice}", "alice")
    assert renamed.stdout == "renamed 'alice\\n' to 'alice'; its sessions were ended\n"
    assert parley(tmp_path, "user", "rename", "guesthouse", "guest2").returncode == 1
    assert parley(tmp_path, "user", "rename", "guesthouse", "fine").stderr == (
        "parley: the name 'fine' is taken\n"
    )
    assert parley(tmp_path, "user", "rename", "guesthouse", "hostel").returncode == 0
    assert parley(tmp_path, "room", "rename", f"#{room_id}", "hall").returncode == 0
    final = parley(tmp_path, "check")
    assert (final.returncode, final.stdout) == (0, "every user and room name follows the rules\n")


def test_a_server_warns_about_names_that_break_the_rules(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    parley(tmp_path, "room", "list")  # creates the database
    database = sqlite3.connect(tmp_path / "parley.db")
    with database:
        database.execute(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            " VALUES ('alice\n', 'alice\n', 'x', 1)"
        )
    database.close()
    server = server_factory("serve")
    server.wait_for_line(r"user #\d+ 'alice\\n' breaks the name rules .*fix: parley user rename")


async def test_the_client_library_follows_a_rename_and_an_archive(
    server: ServerProcess, tmp_path: Path
) -> None:
    from parley.client import Client, EventMessage

    token = register(server.http_url, "alice")
    async with Client(server.http_url, token=token) as alice:
        await alice.create("drafts")
        await alice.send("drafts", "one")

        async def next_kind(kind: str) -> EventMessage:
            async for event in alice.events():
                if isinstance(event, EventMessage) and event.kind == kind:
                    return event
            raise AssertionError("the stream ended")

        assert parley(tmp_path, "room", "rename", "drafts", "final").returncode == 0
        renamed = await asyncio.wait_for(next_kind("rename"), FOLLOW)
        assert (renamed.room, renamed.text, renamed.previous) == ("drafts", "final", "drafts")
        assert "drafts" not in alice.rooms
        assert "drafts" not in alice.positions
        assert alice.positions["final"] == renamed.seq
        assert parley(tmp_path, "room", "archive", "final").returncode == 0
        archived = await asyncio.wait_for(next_kind("archive"), FOLLOW)
        assert archived.room == "final"
        assert alice.rooms["final"].archived
