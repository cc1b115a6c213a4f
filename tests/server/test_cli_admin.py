"""``parley user admin / sessions / end-session``, ``parley registration`` and ``parley
invite ...``: the administration commands, on the database, with a server running."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import TEST_ENV
from tests.helpers.chat import PASSWORD, http_json, register
from tests.helpers.process import ServerProcess


def parley(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--db", str(tmp_path / "parley.db")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
        stdin=subprocess.DEVNULL,
    )


def test_admin_right_and_sessions(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory("serve")
    register(server.http_url, "alice")
    bob = register(server.http_url, "bob")
    made = parley(tmp_path, "user", "admin", "bob")
    assert (made.returncode, made.stdout) == (0, "bob is an administrator\n")
    assert http_json(f"{server.http_url}/api/me", token=bob)[1]["user"]["admin"] is True
    assert parley(tmp_path, "user", "admin", "bob", "--off").stdout == (
        "bob is no longer an administrator\n"
    )
    missing = parley(tmp_path, "user", "admin", "nobody")
    assert (missing.returncode, missing.stderr) == (1, "parley: no user named 'nobody'\n")

    listed = parley(tmp_path, "user", "sessions", "bob").stdout.splitlines()
    assert len(listed) == 1
    session_id = listed[0].split("\t")[0]
    assert re.fullmatch(r"[0-9a-f]{16}", session_id)
    ended = parley(tmp_path, "user", "end-session", "bob", session_id)
    assert ended.stdout == f"ended the session {session_id} of bob\n"
    assert http_json(f"{server.http_url}/api/me", token=bob)[1] == {"user": None}
    again = parley(tmp_path, "user", "end-session", "bob", session_id)
    assert (again.returncode, again.stderr) == (1, f"parley: bob has no session '{session_id}'\n")


def test_registration_mode_and_invitations(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory("serve")
    register(server.http_url, "alice")
    assert parley(tmp_path, "registration").stdout == "registration: not set (the flag decides)\n"
    assert parley(tmp_path, "registration", "invite").stdout == "registration: invite\n"
    bad = parley(tmp_path, "registration", "maybe")
    assert bad.returncode == 2
    status, answer, _ = http_json(
        f"{server.http_url}/api/register", {"username": "carol", "password": PASSWORD}
    )
    assert (status, answer["error"]) == (403, "invite_required")  # the running server follows

    made = parley(tmp_path, "invite", "create", "--room", "lobby", "--public-url", server.http_url)
    match = re.fullmatch(r"invitation #1: (\S+)/\?invite=(\S+)\n", made.stdout)
    assert match is not None, made
    assert match.group(1) == server.http_url
    status, answer, _ = http_json(
        f"{server.http_url}/api/register",
        {"username": "carol", "password": PASSWORD, "invite": match.group(2)},
    )
    assert status == 201
    other = parley(tmp_path, "invite", "create", "--expires", "2h")
    assert other.stdout.startswith("invitation #2: /?invite=")
    listed = parley(tmp_path, "invite", "list").stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["#2", "account", "valid"],
        ["#1", "account", "used"],
    ]
    assert listed[1].endswith("\toperator\tlobby\tcarol")
    assert parley(tmp_path, "invite", "revoke", "2").stdout == "revoked invitation #2\n"
    used = parley(tmp_path, "invite", "revoke", "1")
    assert (used.returncode, used.stderr) == (1, "parley: this invitation was already used\n")
    for args, message in (
        (("--expires", "10s"), "parley: an invitation lasts from 60 seconds to 30 days\n"),
        (("--room", "nope"), "parley: no room named 'nope'\n"),
        (("--existing",), "parley: a room invitation names at least one room\n"),
    ):
        refused = parley(tmp_path, "invite", "create", *args)
        assert (refused.returncode, refused.stderr) == (1, message), args
    assert parley(tmp_path, "invite", "create", "--expires", "soon").returncode == 2
    with sqlite3.connect(tmp_path / "parley.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]
        actors = {
            row[0]
            for row in db.execute("SELECT actor FROM audit_log WHERE action <> ?", ("invite.use",))
        }
    assert actions == [
        "settings.change",
        "invite.create",
        "invite.use",
        "invite.create",
        "invite.revoke",
    ]
    assert actors == {"operator"}
