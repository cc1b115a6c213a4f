"""The audit log from the operator's side: the ``parley user``/``room`` commands record their
acts, a running server records sign-ins refused past the limit and sessions ended, and
``parley audit`` reads them (filters, pages, bad input). Never a password or a token."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from parley.server.throttle import PAIR_LIMIT
from tests.conftest import TEST_ENV
from tests.helpers.chat import PASSWORD, _opener, register
from tests.helpers.process import ServerProcess

SECRET = "correct horse battery staple 42"


def parley(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args, "--db", str(tmp_path / "parley.db")],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV},
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def audit(tmp_path: Path, *args: str) -> list[str]:
    done = parley(tmp_path, "audit", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def whole_database(tmp_path: Path) -> str:
    """Every audit row as text."""
    with sqlite3.connect(tmp_path / "parley.db") as conn:
        return repr(conn.execute("SELECT * FROM audit_log").fetchall())


def test_the_operators_commands_are_audited_and_read_back(tmp_path: Path) -> None:
    for args, stdin in [
        (("user", "add", "alice", "--password-stdin"), PASSWORD + "\n"),
        (("user", "add", "bob", "--password-stdin"), PASSWORD + "\n"),
        (("user", "disable", "bob"), None),
        (("user", "enable", "bob"), None),
        (("user", "set-password", "bob", "--password-stdin"), SECRET + "\n"),
        (("user", "rename", "bob", "robert"), None),
    ]:
        assert parley(tmp_path, *args, stdin=stdin).returncode == 0
    lines = audit(tmp_path)
    actions = [line.split("\t")[3] for line in lines]
    assert actions == [
        "user.rename",
        "user.set_password",
        "user.enable",
        "user.disable",
        "user.add",
        "user.add",
    ]
    assert all(line.split("\t")[2] == "operator" for line in lines)
    assert "target='bob'" in lines[0]
    assert "'to robert'" in lines[0]
    assert SECRET not in whole_database(tmp_path)
    assert PASSWORD not in whole_database(tmp_path)
    assert "argon2" not in whole_database(tmp_path)
    # Filters and pages.
    assert [line.split("\t")[3] for line in audit(tmp_path, "--action", "user.add")] == [
        "user.add",
        "user.add",
    ]
    first = audit(tmp_path, "--limit", "2")
    assert len(first) == 3
    assert first[2].startswith("more: parley audit --before ")
    before = first[2].split()[4]
    second = audit(tmp_path, "--limit", "2", "--before", before)
    assert [line.split("\t")[3] for line in second[:2]] == ["user.enable", "user.disable"]
    assert audit(tmp_path, "--actor", "nobody") == []
    assert audit(tmp_path, "--since", "2999-01-01") == []
    assert len(audit(tmp_path, "--until", "2999-01-01T00:00")) == 6


def test_the_operators_room_tools_are_audited(tmp_path: Path) -> None:
    assert (
        parley(
            tmp_path, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n"
        ).returncode
        == 0
    )
    with sqlite3.connect(tmp_path / "parley.db") as conn:
        conn.execute(
            "INSERT INTO rooms (name, name_key, kind, created_at)"
            " VALUES ('old', 'old', 'public', 1)"
        )
    for args in (
        ("room", "archive", "old"),
        ("room", "unarchive", "old"),
        ("room", "rename", "old", "older"),
        ("room", "delete", "older", "--yes"),
    ):
        assert parley(tmp_path, *args).returncode == 0
    lines = audit(tmp_path, "--action", "room")
    assert [line.split("\t")[3] for line in lines] == [
        "room.delete",
        "room.rename",
        "room.unarchive",
        "room.archive",
    ]
    assert "room='older'" in lines[0]


def test_bad_audit_options_are_refused(tmp_path: Path) -> None:
    for args in (("--since", "yesterday"), ("--limit", "0"), ("--limit", "501"), ("--before", "x")):
        done = parley(tmp_path, "audit", *args)
        assert done.returncode == 2, (args, done.stdout)
        assert done.stderr.strip()


def sign_in(server: ServerProcess, password: str) -> int:
    request = urllib.request.Request(
        f"{server.http_url}/api/login",
        data=json.dumps({"username": "owner", "password": password}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": "192.0.2.9"},
    )
    with _opener.open(request, timeout=60) as response:
        return int(response.status)


def test_a_server_audits_refused_sign_ins_once_and_sessions_ended(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory("serve", "--behind-proxy")
    token = register(server.http_url, "owner")
    statuses = [sign_in(server, f"{SECRET} {n}") for n in range(PAIR_LIMIT.burst + 3)]
    assert statuses.count(429) == 3
    request = urllib.request.Request(
        f"{server.http_url}/api/logout",
        data=b"{}",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "X-Forwarded-For": "192.0.2.10",
        },
    )
    with _opener.open(request, timeout=30) as response:
        assert response.status == 204
    lines = audit(tmp_path)
    assert [line.split("\t")[3] for line in lines] == ["session.end", "login.throttled"]
    assert "from='192.0.2.10'" in lines[0]
    assert "from='192.0.2.9'" in lines[1]
    assert "target='owner'" in lines[1]
    stored = whole_database(tmp_path)
    assert SECRET not in stored
    assert token not in stored
