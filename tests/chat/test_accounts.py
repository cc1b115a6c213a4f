"""Accounts and sessions over HTTP, and authentication of WebSockets."""

from __future__ import annotations

import asyncio
import base64
import urllib.request
from collections.abc import Awaitable, Callable
from unittest.mock import ANY

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from parley.chat.auth import HashCost, hash_token
from tests.helpers.chat import PASSWORD, Chat, http_json, http_status, login, register
from tests.helpers.process import ServerProcess


def test_register_login_logout_and_me(server: ServerProcess) -> None:
    base = server.http_url
    status, body, headers = http_json(
        f"{base}/api/register", {"username": "Alice", "password": PASSWORD}
    )
    assert status == 201
    assert body["user"] == {"name": "Alice", "admin": True}  # the first account is an admin
    token = body["token"]
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16  # >= 128 bits
    cookie = headers["Set-Cookie"]
    assert f"parley_session={token}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie

    status, body, _ = http_json(f"{base}/api/me", token=token)
    assert (status, body["user"]["name"]) == (200, "Alice")
    # Not signed in is an answer, not an error (a browser logs every 401 as one).
    assert http_json(f"{base}/api/me") == (200, {"user": None}, ANY)

    status, body, _ = http_json(f"{base}/api/register", {"username": "bob", "password": PASSWORD})
    assert body["user"]["admin"] is False

    second = login(base, "ALICE")  # names are case-insensitive
    assert second != token
    status, _, headers = http_json(f"{base}/api/logout", {}, token=token)
    assert status == 204
    assert "parley_session=" in headers["Set-Cookie"]
    assert http_json(f"{base}/api/me", token=token)[:2] == (200, {"user": None})
    assert http_json(f"{base}/api/me", token=second)[1]["user"]["name"] == "Alice"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "ab", "password": PASSWORD}, 400, "invalid_username"),
        ({"username": "has space", "password": PASSWORD}, 400, "invalid_username"),
        ({"username": "x" * 33, "password": PASSWORD}, 400, "invalid_username"),
        ({"username": "guest-1234", "password": PASSWORD}, 400, "invalid_username"),
        ({"username": "_under", "password": PASSWORD}, 400, "invalid_username"),
        ({"username": "carol", "password": "short"}, 400, "weak_password"),
        ({"username": "carol", "password": "password123"}, 400, "weak_password"),
        ({"username": "carol", "password": "aaaaaaaaaaaa"}, 400, "weak_password"),
        ({"username": "carol", "password": "my carol secret"}, 400, "weak_password"),
        ({"username": "carol"}, 400, "bad_request"),
        ({"username": 5, "password": PASSWORD}, 400, "bad_request"),
        ([1, 2], 400, "bad_request"),
    ],
)
def test_registration_is_validated(
    server: ServerProcess, body: object, status: int, code: str
) -> None:
    got_status, got, _ = http_json(f"{server.http_url}/api/register", body)  # type: ignore[arg-type]
    assert (got_status, got["error"]) == (status, code)
    assert got["message"]


def test_names_are_unique_whatever_the_case(server: ServerProcess) -> None:
    register(server.http_url, "Dana")
    status, body, _ = http_json(
        f"{server.http_url}/api/register", {"username": "dANA", "password": PASSWORD}
    )
    assert (status, body["error"]) == (409, "username_taken")


def test_wrong_password_and_unknown_user_get_the_same_answer(server: ServerProcess) -> None:
    register(server.http_url, "erin")
    wrong = http_json(
        f"{server.http_url}/api/login", {"username": "erin", "password": "not the password"}
    )
    unknown = http_json(
        f"{server.http_url}/api/login", {"username": "nobody-here", "password": PASSWORD}
    )
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]


def test_requests_that_are_not_json_are_refused(server: ServerProcess) -> None:
    request = urllib.request.Request(
        f"{server.http_url}/api/login", data=b"username=a&password=b", method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    assert http_status(request) == 415  # a form post is refused
    status, body, _ = http_json(f"{server.http_url}/api/login", None, method="POST")
    assert (status, body["error"]) == (415, "unsupported_media_type")


def test_closed_registration(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("serve", "--registration", "closed")
    status, body, _ = http_json(
        f"{server.http_url}/api/register", {"username": "frank", "password": PASSWORD}
    )
    assert (status, body["error"]) == (403, "registration_closed")


@pytest.mark.parametrize("token", ["forged-token", "x" * 43, ""])
async def test_forged_tokens_are_refused_at_the_handshake(
    server: ServerProcess, token: str
) -> None:
    register(server.http_url, "gina")
    headers = {"Authorization": f"Bearer {token}"} if token else {"Cookie": "parley_session=nope"}
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(
            server.ws_url + "/ws", subprotocols=["parley.v1"], additional_headers=headers
        )
    assert info.value.response.status_code == 401


async def test_expired_token_is_refused_at_the_handshake(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve", "--session-ttl", "2s")
    token = register(server.http_url, "henry")
    chat = await Chat.connect(server.ws_url, token)
    await chat.close()
    await asyncio.sleep(2.5)
    with pytest.raises(InvalidStatus) as info:
        await Chat.connect(server.ws_url, token)
    assert info.value.response.status_code == 401


async def test_cookie_authenticates_the_websocket(server: ServerProcess) -> None:
    token = register(server.http_url, "ivy")
    ws = await ws_connect(
        server.ws_url + "/ws",
        subprotocols=["parley.v1"],
        additional_headers={"Cookie": f"parley_session={token}"},
    )
    chat = Chat(ws)
    welcome = await chat.next("welcome")
    assert welcome["user"] == {"name": "ivy", "admin": True}  # the first account
    await chat.close()


async def test_auth_frame_for_clients_without_headers(server: ServerProcess) -> None:
    token = register(server.http_url, "jack")
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw({"type": "auth", "token": token})
    welcome = await chat.next("welcome")
    assert welcome["user"]["name"] == "jack"
    assert (await chat.command("ping"))["type"] == "pong"
    await chat.close()


async def test_bad_auth_frame_closes_with_1008(server: ServerProcess) -> None:
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw({"type": "auth", "token": "wrong"})
    error = await chat.next("error")
    assert error["code"] == "unauthorized"
    assert await asyncio.wait_for(chat.closed, 5) == 1008


async def test_commands_queued_behind_a_failed_auth_are_dropped_not_crashed(
    server: ServerProcess,
) -> None:
    # A client that pipelines its first commands behind its auth frame: if the token is bad,
    # those commands never run (and never reach a handler without a user: no internal error,
    # no traceback in the server's log, which the fixture checks).
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw({"type": "auth", "token": "wrong"})
    for n in range(3):
        await chat.send_raw({"type": "join", "id": f"j{n}", "room": "lobby"})
        await chat.send_raw({"type": "send", "id": f"s{n}", "room": "lobby", "text": "hi"})
    assert await asyncio.wait_for(chat.closed, 5) == 1008
    received = await chat.quiet(0.2)
    assert [m["code"] for m in received if m["type"] == "error"] == ["unauthorized"], received


async def test_a_command_before_auth_closes_with_1008(server: ServerProcess) -> None:
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw({"type": "send", "room": "lobby", "text": "hi"})
    assert (await chat.next("error"))["code"] == "unauthorized"
    assert await asyncio.wait_for(chat.closed, 5) == 1008


async def test_no_auth_within_the_timeout_closes_with_1008(server: ServerProcess) -> None:
    chat = await Chat.connect(server.ws_url, welcome=False)  # the server allows 1 s here
    assert await asyncio.wait_for(chat.closed, 5) == 1008


async def test_logout_closes_that_sessions_websockets_only(
    server: ServerProcess, connect: Callable[..., Awaitable[Chat]]
) -> None:
    token_a = register(server.http_url, "kate")
    token_b = login(server.http_url, "kate")
    first = await Chat.connect(server.ws_url, token_a)
    same_session = await Chat.connect(server.ws_url, token_a)
    other_session = await Chat.connect(server.ws_url, token_b)
    assert http_json(f"{server.http_url}/api/logout", {}, token=token_a)[0] == 204
    assert await asyncio.wait_for(first.closed, 5) == 1008
    assert await asyncio.wait_for(same_session.closed, 5) == 1008
    assert (await other_session.command("ping"))["type"] == "pong"
    for chat in (first, same_session, other_session):
        await chat.close()


def test_production_hash_defaults_are_argon2id_rfc9106() -> None:
    hasher = HashCost().hasher()
    digest = hasher.hash("correct horse battery")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert len(hash_token("x")) == 64
