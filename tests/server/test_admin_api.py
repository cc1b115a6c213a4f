"""The admin API (``/api/admin/...``) and invitations over HTTP, against a real server:
who may call it, the CSRF and origin checks, each operation and its effect on connected
clients, bad inputs, and the audit entry each action leaves."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.chat import PASSWORD, Chat, http_json, login, register
from tests.helpers.process import ServerProcess

NEW_PASSWORD = "a quite new secret"


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("serve", "--rate-limit", "1000", "--rate-burst", "1000")


@pytest.fixture
def tokens(server: ServerProcess) -> dict[str, str]:
    """alice (the first account: an admin) and bob (a member)."""
    return {name: register(server.http_url, name) for name in ("alice", "bob")}


def call(
    server: ServerProcess,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    status, answer, _ = http_json(f"{server.http_url}{path}", body, token=token)
    return status, answer


def raw_post(
    server: ServerProcess, path: str, data: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{server.http_url}{path}", data=data, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def audit_log(tmp_path: Path) -> list[tuple[str, str, str | None, str | None]]:
    """The server's audit log, oldest first (SQLite lets a reader in beside the server)."""
    with sqlite3.connect(tmp_path / "parley.db") as db:
        rows = db.execute(
            "SELECT actor, action, COALESCE(target, room), address FROM audit_log ORDER BY id"
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


READS = [
    "/api/admin/users",
    "/api/admin/users/sessions?user=bob",
    "/api/admin/rooms",
    "/api/admin/settings",
    "/api/admin/stats",
    "/api/admin/invites",
]
CHANGES = [
    ("/api/admin/users/disabled", {"user": "alice", "disabled": True}),
    ("/api/admin/users/password", {"user": "alice", "password": NEW_PASSWORD}),
    ("/api/admin/users/admin", {"user": "bob", "admin": True}),
    ("/api/admin/users/sessions/end", {"user": "alice", "session": "0" * 16}),
    ("/api/admin/rooms/archived", {"room": "lobby", "archived": True}),
    ("/api/admin/rooms/delete", {"room": "lobby"}),
    ("/api/admin/settings", {"registration": "closed"}),
    ("/api/admin/invites/revoke", {"id": 1}),
]


def test_only_admins_may_use_the_admin_api(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    for path in READS:
        assert call(server, path)[0] == 401, path
        status, answer = call(server, path, token=tokens["bob"])
        assert (status, answer["error"]) == (403, "forbidden"), path
        assert call(server, path, token=tokens["alice"])[0] == 200, path
    for path, body in CHANGES:
        assert call(server, path, body)[1]["error"] == "unauthorized", path
        status, answer = call(server, path, body, token=tokens["bob"])
        assert (status, answer["error"]) == (403, "forbidden"), path
    status, me = call(server, "/api/me", token=tokens["bob"])
    assert me["user"] == {"name": "bob", "admin": False}  # bob did not make himself admin
    assert audit_log(tmp_path) == []


def test_changes_from_another_origin_or_not_json_are_refused(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    body = json.dumps({"user": "bob", "disabled": True}).encode()
    auth = {"Authorization": f"Bearer {tokens['alice']}"}
    for path, _ in CHANGES:
        status, answer = raw_post(
            server,
            path,
            body,
            {**auth, "Content-Type": "application/json", "Origin": "http://evil.example"},
        )
        assert (status, answer["error"]) == (403, "forbidden_origin"), path
        status, answer = raw_post(server, path, body, {**auth, "Content-Type": "text/plain"})
        assert (status, answer["error"]) == (415, "unsupported_media_type"), path
    # A page of the server's own origin may.
    own = {**auth, "Content-Type": "application/json", "Origin": server.http_url}
    status, _ = raw_post(server, "/api/admin/users/disabled", body, own)
    assert status == 200
    assert audit_log(tmp_path) == [
        ("alice", "user.disable", "bob", "127.0.0.1"),
        ("alice", "session.revoke", "bob", "127.0.0.1"),  # in the same transaction
    ]


async def test_disable_reset_password_admin_and_sessions(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    admin = tokens["alice"]
    bob_chat = await Chat.connect(server.ws_url, tokens["bob"])
    status, answer = call(server, "/api/admin/users?q=O", token=admin)
    assert [u["name"] for u in answer["users"]] == ["bob"]
    assert call(server, "/api/admin/users?after=alice", token=admin)[1]["users"][0]["name"] == "bob"

    second = login(server.http_url, "bob")
    status, answer = call(server, "/api/admin/users/sessions?user=bob", token=admin)
    assert status == 200
    assert len(answer["sessions"]) == 2
    ended = answer["sessions"][0]["id"]
    status, _ = call(
        server, "/api/admin/users/sessions/end", {"user": "bob", "session": ended}, admin
    )
    assert status == 200
    left = call(server, "/api/admin/users/sessions?user=bob", token=admin)[1]["sessions"]
    assert [s["id"] for s in left] != [ended]
    assert len(left) == 1
    status, answer = call(
        server, "/api/admin/users/sessions/end", {"user": "bob", "session": ended}, admin
    )
    assert (status, answer["error"]) == (404, "not_found")

    status, answer = call(
        server, "/api/admin/users/disabled", {"user": "bob", "disabled": True}, admin
    )
    assert (status, answer["user"]["disabled"]) == (200, True)
    await bob_chat.closed  # closed at once, not at the next session check
    assert call(server, "/api/me", token=second)[1] == {"user": None}
    status, answer = http_json(
        f"{server.http_url}/api/login", {"username": "bob", "password": PASSWORD}
    )[:2]
    assert (status, answer["error"]) == (403, "account_disabled")
    call(server, "/api/admin/users/disabled", {"user": "bob", "disabled": False}, admin)

    status, answer = call(
        server, "/api/admin/users/password", {"user": "bob", "password": NEW_PASSWORD}, admin
    )
    assert status == 200
    login(server.http_url, "bob", NEW_PASSWORD)

    status, answer = call(server, "/api/admin/users/admin", {"user": "bob", "admin": True}, admin)
    assert answer["user"]["admin"] is True
    bob = login(server.http_url, "bob", NEW_PASSWORD)
    assert call(server, "/api/admin/users", token=bob)[0] == 200
    call(server, "/api/admin/users/admin", {"user": "bob", "admin": False}, admin)
    assert call(server, "/api/admin/users", token=bob)[0] == 403

    assert [(actor, action, target) for actor, action, target, _ in audit_log(tmp_path)] == [
        ("alice", "session.revoke", "bob"),
        ("alice", "user.disable", "bob"),
        ("alice", "session.revoke", "bob"),
        ("alice", "user.enable", "bob"),
        ("alice", "user.set_password", "bob"),
        ("alice", "user.make_admin", "bob"),
        ("alice", "user.drop_admin", "bob"),
    ]
    assert NEW_PASSWORD not in (tmp_path / "parley.db").read_bytes().decode("latin-1")
    await bob_chat.close()


async def test_archive_and_delete_rooms_reach_connected_members(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    admin = tokens["alice"]
    bob = await Chat.connect(server.ws_url, tokens["bob"])
    assert (await bob.command("create", room="plans"))["type"] == "ok"
    status, answer = call(server, "/api/admin/rooms?q=PLA", token=admin)
    assert answer["rooms"] == [
        {
            "id": answer["rooms"][0]["id"],
            "name": "plans",
            "kind": "public",
            "archived": False,
            "members": 1,
        }
    ]
    status, answer = call(
        server, "/api/admin/rooms/archived", {"room": "plans", "archived": True}, admin
    )
    assert answer["room"]["archived"] is True
    event = await bob.next("event", room="plans", kind="archive")  # published at once
    assert event["user"] == "alice"
    call(server, "/api/admin/rooms/archived", {"room": "plans", "archived": False}, admin)

    # A new owner: a member of the room; the previous owner becomes a member.
    carol = await Chat.connect(server.ws_url, register(server.http_url, "carol"))
    assert (await carol.command("join", room="plans"))["type"] == "ok"
    register(server.http_url, "dave")
    for user, status, code in (
        ("dave", 409, "conflict"),  # not a member
        ("alice", 403, "forbidden"),  # an admin names no role of their own
        ("nobody", 404, "not_found"),
    ):
        got, answer = call(server, "/api/admin/rooms/owner", {"room": "plans", "user": user}, admin)
        assert (got, answer["error"]) == (status, code), answer
    status, answer = call(
        server, "/api/admin/rooms/owner", {"room": "plans", "user": "carol"}, admin
    )
    assert (status, answer["events"]) == (200, 2)
    roles = [
        (e["text"], e.get("target") or e.get("member"))
        for e in [await bob.next("event", room="plans", kind="role") for _ in range(2)]
    ]
    assert [text for text, _ in roles] == ["owner", "member"]
    await carol.close()
    status, answer = call(server, "/api/admin/rooms/delete", {"room": "plans"}, admin)
    assert (status, answer) == (200, {"deleted": "plans", "members": 2})
    gone = await bob.next("room", removed=True)
    assert gone["room"]["name"] == "plans"
    for path, body in (
        ("/api/admin/rooms/delete", {"room": "lobby"}),
        ("/api/admin/rooms/archived", {"room": "lobby", "archived": True}),
    ):
        status, answer = call(server, path, body, admin)
        assert (status, answer["error"]) == (403, "forbidden")
    assert [(a, action, t) for a, action, t, _ in audit_log(tmp_path)] == [
        ("alice", "room.archive", "plans"),
        ("alice", "room.unarchive", "plans"),
        ("alice", "room.role", "carol"),
        ("alice", "room.role", "bob"),
        ("alice", "room.delete", "plans"),
    ]
    await bob.close()


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/admin/users/disabled", {"user": "alice", "disabled": True}, 403, "forbidden"),
        ("/api/admin/users/admin", {"user": "alice", "admin": False}, 403, "forbidden"),
        ("/api/admin/users/disabled", {"user": "nobody", "disabled": True}, 404, "not_found"),
        ("/api/admin/users/disabled", {"user": "bob", "disabled": "yes"}, 400, "bad_request"),
        ("/api/admin/users/disabled", {"user": "x" * 65, "disabled": True}, 400, "bad_request"),
        ("/api/admin/users/disabled", {"user": ["bob"], "disabled": True}, 400, "bad_request"),
        ("/api/admin/users/password", {"user": "bob", "password": "short"}, 400, "weak_password"),
        ("/api/admin/users/password", {"user": "bob"}, 400, "bad_request"),
        ("/api/admin/users/sessions/end", {"user": "bob", "session": "x"}, 400, "bad_request"),
        ("/api/admin/rooms/archived", {"room": "nope", "archived": True}, 404, "not_found"),
        ("/api/admin/rooms/delete", {"room": ""}, 400, "bad_request"),
        ("/api/admin/settings", {"registration": "maybe"}, 400, "bad_request"),
        ("/api/admin/settings", {"colour": "red"}, 400, "bad_request"),
        ("/api/admin/settings", {}, 400, "bad_request"),
        ("/api/admin/settings", {"member_invites": 1}, 400, "bad_request"),
        ("/api/admin/invites/revoke", {"id": "1"}, 400, "bad_request"),
        ("/api/admin/invites/revoke", {"id": True}, 400, "bad_request"),
        ("/api/admin/invites/revoke", {"id": 99}, 404, "not_found"),
        ("/api/invites", {"kind": "party"}, 400, "bad_request"),
        ("/api/invites", {"rooms": "lobby"}, 400, "bad_request"),
        ("/api/invites", {"rooms": ["nope"]}, 404, "not_found"),
        ("/api/invites", {"rooms": ["r"] * 21}, 400, "bad_request"),
        ("/api/invites", {"expires_in": 10}, 400, "bad_request"),
        ("/api/invites", {"expires_in": 10**12}, 400, "bad_request"),
        ("/api/invites", {"kind": "room"}, 400, "bad_request"),
        ("/api/invites/check", {"token": 5}, 410, "invite_invalid"),
        ("/api/invites/check", {"token": "x" * 10_000}, 410, "invite_invalid"),
        ("/api/invites/accept", {"token": "nope"}, 410, "invite_invalid"),
    ],
)
def test_bad_inputs_get_clear_errors(
    server: ServerProcess,
    tokens: dict[str, str],
    tmp_path: Path,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    got, answer = call(server, path, body, tokens["alice"])
    assert (got, answer["error"]) == (status, code), answer
    assert answer["message"]
    assert audit_log(tmp_path) == []


def test_bad_queries_and_bodies(server: ServerProcess, tokens: dict[str, str]) -> None:
    admin = tokens["alice"]
    for path in (
        "/api/admin/users?q=" + "x" * 65,
        "/api/admin/rooms?after=",
        "/api/admin/users/sessions",
        "/api/admin/invites?before=abc",
        "/api/admin/invites?before=" + "9" * 40,
    ):
        status, answer = call(server, path, token=admin)
        assert (status, answer["error"]) == (400, "bad_request"), path
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    for data in (b"{", b"[1]", b"[" * 10_000, b"\xff"):
        status, answer = raw_post(server, "/api/admin/users/disabled", data, headers)
        assert (status, answer["error"]) == (400, "bad_request"), data[:10]
    assert call(server, "/api/admin/users?q=%25", token=admin)[1]["users"] == []


def test_registration_modes_are_stored_and_invitations_let_people_in(
    server: ServerProcess, tokens: dict[str, str], tmp_path: Path
) -> None:
    admin = tokens["alice"]
    base = server.http_url
    status, answer = call(server, "/api/admin/settings", token=admin)
    assert answer == {
        "registration": "open",
        "registration_default": "open",
        "member_invites": False,
    }
    status, answer = call(server, "/api/admin/settings", {"registration": "invite"}, admin)
    assert answer["registration"] == "invite"
    status, answer = http_json(f"{base}/api/register", {"username": "carol", "password": PASSWORD})[
        :2
    ]
    assert (status, answer["error"]) == (403, "invite_required")

    status, created = call(server, "/api/invites", {"rooms": ["lobby"]}, admin)
    assert status == 201
    token = created["token"]
    assert created["link"] == f"{base}/?invite={token}"
    assert created["invite"]["state"] == "valid"
    assert call(server, "/api/invites/check", {"token": token})[1]["kind"] == "account"
    status, answer = http_json(
        f"{base}/api/register", {"username": "carol", "password": PASSWORD, "invite": token}
    )[:2]
    assert (status, answer["user"]["name"]) == (201, "carol")
    status, answer = http_json(
        f"{base}/api/register", {"username": "dave", "password": PASSWORD, "invite": token}
    )[:2]
    assert (status, answer["error"]) == (410, "invite_invalid")
    assert answer["message"] == "this invitation link was already used"

    revoked = call(server, "/api/invites", {}, admin)[1]
    call(server, "/api/admin/invites/revoke", {"id": revoked["invite"]["id"]}, admin)
    status, answer = call(server, "/api/invites/check", {"token": revoked["token"]})
    assert (status, answer["message"]) == (410, "this invitation link was revoked")
    listed = call(server, "/api/admin/invites", token=admin)[1]["invites"]
    assert [(i["state"], i["used_by"]) for i in listed] == [("revoked", None), ("used", "carol")]
    status, answer = call(server, "/api/admin/invites/revoke", {"id": listed[1]["id"]}, admin)
    assert (status, answer["error"]) == (409, "conflict")

    # Members may invite only when an admin allows it.
    status, answer = call(server, "/api/invites", {}, tokens["bob"])
    assert (status, answer["error"]) == (403, "forbidden")
    call(server, "/api/admin/settings", {"member_invites": True}, admin)
    assert call(server, "/api/invites", {}, tokens["bob"])[0] == 201

    call(server, "/api/admin/settings", {"registration": "closed"}, admin)
    fresh = call(server, "/api/invites", {}, admin)[1]["token"]
    status, answer = http_json(
        f"{base}/api/register", {"username": "erin", "password": PASSWORD, "invite": fresh}
    )[:2]
    assert (status, answer["error"]) == (403, "registration_closed")
    actions = [action for _, action, _, _ in audit_log(tmp_path)]
    assert actions == [
        "settings.change",
        "invite.create",
        "invite.use",
        "invite.create",
        "invite.revoke",
        "settings.change",
        "invite.create",
        "settings.change",
        "invite.create",
    ]


async def test_a_room_invitation_joins_an_existing_user(
    server: ServerProcess, tokens: dict[str, str]
) -> None:
    alice = await Chat.connect(server.ws_url, tokens["alice"])
    assert (await alice.command("create", room="secret", private=True))["type"] == "ok"
    status, created = call(
        server, "/api/invites", {"kind": "room", "rooms": ["secret"]}, tokens["alice"]
    )
    assert status == 201
    status, answer = call(server, "/api/invites/accept", {"token": created["token"]}, tokens["bob"])
    assert (status, answer) == (200, {"joined": ["secret"]})
    event = await alice.next("event", room="secret", kind="join", user="bob")
    assert (event["user"], event["by"]) == ("bob", "alice")
    status, answer = call(server, "/api/invites/accept", {"token": created["token"]}, tokens["bob"])
    assert (status, answer["error"]) == (410, "invite_invalid")
    await alice.close()


def test_the_registration_mode_reaches_every_node(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Two processes on one database: a mode set through one is followed by the other."""
    one = server_factory("serve", "--port", "0")
    two = server_factory("serve", "--port", "0", "--registration", "open")
    admin = register(one.http_url, "alice")
    call(one, "/api/admin/settings", {"registration": "invite"}, admin)
    status, answer = http_json(
        f"{two.http_url}/api/register", {"username": "zed", "password": PASSWORD}
    )[:2]
    assert (status, answer["error"]) == (403, "invite_required")
    # A process started later follows it too, and says that the flag is only the default.
    three = server_factory("serve", "--port", "0")
    three.wait_for_line(r"registration is invite, as an admin set it \(--registration open")


async def test_live_figures(server: ServerProcess, tokens: dict[str, str]) -> None:
    """One process: the totals are its own figures, and the per-node list holds it alone,
    named by its host name and the port it listens on. Figures are published every 2 s."""
    chat = await Chat.connect(server.ws_url, tokens["bob"])
    deadline = time.monotonic() + 10
    while True:
        status, figures = call(server, "/api/admin/stats", token=tokens["alice"])
        assert status == 200
        if (figures["connections"] >= 1 and figures["commits"] >= 2) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    await chat.close()
    assert figures["connections"] == 1
    assert figures["commits"] >= 2  # the two registrations at least
    assert set(figures) == {
        "at",
        "node",
        "partial",
        "nodes_total",
        "connections",
        "messages_per_second",
        "commit_ms",
        "messages_in",
        "events_published",
        "commits",
        "commit_seconds",
        "nodes",
    }
    (node,) = figures["nodes"]
    assert (figures["nodes_total"], figures["partial"]) == (1, False)
    assert node["node"] == figures["node"]
    assert node["address"].endswith(f":{server.port}")
    assert node["connections"] == figures["connections"]
    assert node["started"] <= node["at"] <= figures["at"]


async def test_what_members_may_invite_to(server: ServerProcess, tokens: dict[str, str]) -> None:
    """With member invitations on: public rooms and their own rooms, never another's private
    room nor a direct room; a bad ``invite`` in a registration is refused."""
    admin, bob = tokens["alice"], tokens["bob"]
    alice = await Chat.connect(server.ws_url, admin)
    assert (await alice.command("create", room="hidden", private=True))["type"] == "ok"
    assert (await alice.command("create", room="open-room"))["type"] == "ok"
    call(server, "/api/admin/settings", {"member_invites": True}, admin)
    assert call(server, "/api/invites", {"rooms": ["open-room", "lobby"]}, bob)[0] == 201
    for rooms in (["hidden"], ["dm:alice:bob"]):
        status, answer = call(server, "/api/invites", {"rooms": rooms}, bob)
        assert (status, answer["error"]) == (404, "not_found"), rooms
    status, answer, _ = http_json(
        f"{server.http_url}/api/register", {"username": "fay", "password": PASSWORD, "invite": 5}
    )
    assert (status, answer["error"]) == (400, "bad_request")
    await alice.close()


def test_a_server_removes_audit_entries_past_the_retention(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """``--audit-retention`` is applied by the running server, with its collector."""
    server = server_factory("serve", "--collect-interval", "0.2s", "--audit-retention", "2s")
    token = register(server.http_url, "alice")
    assert http_json(f"{server.http_url}/api/logout", {}, token=token)[0] == 204
    assert [action for _, action, _, _ in audit_log(tmp_path)] == ["session.end"]
    deadline = time.monotonic() + 20
    while audit_log(tmp_path):
        assert time.monotonic() < deadline, "the entry outlived its retention"
        time.sleep(0.1)
