"""``parley room owner ROOM USER``: the operator changes a room's owner on a database a server
is using; members see the ``role`` events (by ``operator``), each act is in the audit log,
and bad arguments are one line and exit status 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess
from tests.server.test_operator_rooms import FOLLOW, connected, parley


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")


async def test_the_operator_makes_a_member_the_owner(server: ServerProcess, tmp_path: Path) -> None:
    register(server.http_url, "first")  # the first account is a server admin: not alice
    alice, bob = await connected(server, "alice"), await connected(server, "bob")
    assert (await alice.command("create", room="plans"))["type"] == "ok"
    assert (await bob.command("join", room="plans"))["type"] == "ok"

    done = parley(tmp_path, "room", "owner", "plans", "Bob")
    assert (done.returncode, done.stdout) == (0, "'Bob' owns 'plans' (2 role changes)\n")
    for chat in (alice, bob):  # bob made owner, then alice made a member: in that order
        made = await chat.next("event", timeout=FOLLOW, room="plans", kind="role")
        assert (made["user"], made["text"], made["by"]) == ("bob", "owner", "operator")
        demoted = await chat.next("event", timeout=FOLLOW, room="plans", kind="role")
        assert (demoted["user"], demoted["text"]) == ("alice", "member")

    # The new owner acts as one; the previous owner no longer may.
    promoted = await bob.command("role", room="plans", user="alice", role="moderator")
    assert promoted["type"] == "ok", promoted
    refused = await alice.command("role", room="plans", user="bob", role="member")
    assert refused["type"] == "error"

    again = parley(tmp_path, "room", "owner", "#2", "bob")
    assert (again.returncode, again.stdout) == (0, "'bob' already owns 'plans'\n")

    audit = parley(tmp_path, "audit", "--action", "room.role", "--actor", "operator")
    lines = audit.stdout.splitlines()
    assert len(lines) == 2
    assert all("\toperator\troom.role\t" in line for line in lines)
    assert "target='alice'" in lines[0]
    assert "'owner -> member'" in lines[0]
    assert "target='bob'" in lines[1]
    assert "'member -> owner'" in lines[1]
    for chat in (alice, bob):
        await chat.close()


async def test_bad_arguments_are_refused_in_one_line(server: ServerProcess, tmp_path: Path) -> None:
    alice = await connected(server, "alice")
    carol = await Chat.connect(server.ws_url, register(server.http_url, "carol"))
    assert (await alice.command("create", room="plans"))["type"] == "ok"
    assert (await alice.command("dm", user="carol"))["type"] == "ok"
    cases = {
        ("nowhere", "alice"): "no room named 'nowhere'",
        ("plans", "nobody"): "no user named 'nobody'",
        ("plans", "carol"): "carol is not a member of room 'plans'",
        ("plans", "alice\n"): "no user named 'alice\\n'",
    }
    for (room, user), message in cases.items():
        refused = parley(tmp_path, "room", "owner", room, user)
        assert refused.returncode == 1, (room, user)
        assert refused.stderr.strip() == f"parley: {message}", refused.stderr
    direct = [
        line for line in parley(tmp_path, "room", "list").stdout.splitlines() if "direct" in line
    ]
    [room_id] = [line.split("\t")[0] for line in direct]
    refused = parley(tmp_path, "room", "owner", room_id, "carol")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "parley: a direct room has no moderators"
    assert parley(tmp_path, "audit", "--action", "room.role").stdout == ""
    for chat in (alice, carol):
        await chat.close()
