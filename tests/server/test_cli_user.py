"""``parley user ...``: the operator's account commands, on the database file."""

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
from tests.helpers.chat import PASSWORD, Chat, http_json, login
from tests.helpers.process import ServerProcess


def parley_user(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", "user", *args, "--db", str(tmp_path / "parley.db")],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def test_add_list_disable_enable(tmp_path: Path) -> None:
    first = parley_user(tmp_path, "add", "Alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert (first.returncode, first.stdout.strip()) == (0, "created Alice (admin)")
    second = parley_user(tmp_path, "add", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    assert second.stdout.strip() == "created bob"
    admin = parley_user(
        tmp_path, "add", "carol", "--admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert admin.stdout.strip() == "created carol (admin)"
    listing = parley_user(tmp_path, "list")
    assert listing.stdout.splitlines() == [
        "Alice\tadmin\tactive",
        "bob\tuser\tactive",
        "carol\tadmin\tactive",
    ]
    assert parley_user(tmp_path, "disable", "BOB").stdout.strip() == "disabled bob"
    assert "bob\tuser\tdisabled" in parley_user(tmp_path, "list").stdout
    assert parley_user(tmp_path, "enable", "bob").stdout.strip() == "enabled bob"


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["add", "alice", "--password-stdin"], "short\n", 1, "at least 8"),
        (["add", "x", "--password-stdin"], PASSWORD + "\n", 1, "user names are"),
        (["add", "alice", "--password-stdin"], "\n", 2, "no password"),
        (["add", "alice"], None, 2, "--password-stdin"),
        (["disable", "nobody"], None, 1, "no user named"),
        (["set-password", "nobody", "--password-stdin"], PASSWORD + "\n", 1, "no user named"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, args: list[str], stdin: str | None, code: int, message: str
) -> None:
    result = parley_user(tmp_path, *args, stdin=stdin)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_duplicate_name_is_refused(tmp_path: Path) -> None:
    parley_user(tmp_path, "add", "dave", "--password-stdin", stdin=PASSWORD + "\n")
    again = parley_user(tmp_path, "add", "DAVE", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "taken" in again.stderr


async def test_operator_actions_reach_a_running_server(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    parley_user(tmp_path, "add", "erin", "--password-stdin", stdin=PASSWORD + "\n")
    server = server_factory("serve", "--session-check", "1s")
    token = login(server.http_url, "erin")
    chat = await Chat.connect(server.ws_url, token)
    # set-password ends every session: the open connection is closed with 1008 (sign in again)
    changed = parley_user(
        tmp_path, "set-password", "erin", "--password-stdin", stdin="a new passphrase\n"
    )
    assert changed.returncode == 0
    assert await asyncio.wait_for(chat.closed, 10) == 1008
    assert (
        http_json(f"{server.http_url}/api/login", {"username": "erin", "password": PASSWORD})[0]
        == 401
    )
    token = login(server.http_url, "erin", "a new passphrase")
    chat = await Chat.connect(server.ws_url, token)
    assert parley_user(tmp_path, "disable", "erin").returncode == 0
    assert await asyncio.wait_for(chat.closed, 10) == 1008
    status, body, _ = http_json(
        f"{server.http_url}/api/login", {"username": "erin", "password": "a new passphrase"}
    )
    assert (status, body["error"]) == (403, "account_disabled")
    # Each change and the end of the sessions it caused are recorded together, by the operator.
    with sqlite3.connect(tmp_path / "parley.db") as db:
        rows = db.execute("SELECT actor, action, target, detail FROM audit_log ORDER BY id")
        assert rows.fetchall() == [
            ("operator", "user.add", "erin", "admin"),  # the first account
            ("operator", "user.set_password", "erin", None),
            ("operator", "session.revoke", "erin", "1 sessions"),
            ("operator", "user.disable", "erin", None),
            ("operator", "session.revoke", "erin", "1 sessions"),
        ]
