"""Strict input, one policy: names matched whole, one text policy for everything people read,
pathological JSON refused clearly (docs/protocol.md "Names and text")."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable

import pytest

from tests.helpers.chat import PASSWORD, Chat, http_json, register
from tests.helpers.process import ServerProcess

Connect = Callable[..., Awaitable[Chat]]


@pytest.mark.parametrize("name", ["alice\n", "alice\r\n", "\nalice", "guesthouse", "Guest-1"])
def test_user_names_are_matched_whole_and_guest_names_are_reserved(
    server: ServerProcess, name: str
) -> None:
    status, body, _ = http_json(
        f"{server.http_url}/api/register", {"username": name, "password": PASSWORD}
    )
    assert status == 400, body
    assert body["error"] == "invalid_username"


async def test_room_names_are_matched_whole(connect: Connect) -> None:
    alice = await connect("alice")
    for command in (
        {"type": "create", "room": "lobby\n"},
        {"type": "create", "room": "dev\n"},
        {"type": "join", "room": "lobby\n"},
        {"type": "send", "room": "lobby\n", "text": "hi"},
    ):
        fields = dict(command)
        reply = await alice.command(str(fields.pop("type")), **fields)
        assert reply["code"] == "bad_request", (command, reply)
    rooms = await alice.command("rooms")
    assert all("\n" not in room["name"] for room in rooms["rooms"])


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ({"type": "send", "room": "lobby", "text": "ring \u0007"}, "U+0007 (BEL"),
        ({"type": "send", "room": "lobby", "text": "clear \x1b[2J"}, "U+001B (ESC"),
        ({"type": "send", "room": "lobby", "text": "line\r\nbreak"}, "U+000D (CR"),
        ({"type": "send", "room": "lobby", "text": "c1 \x9b"}, "C1 control"),
        ({"type": "send", "room": "lobby", "text": "pay \u202etxt.exe"}, "right-to-left override"),
        ({"type": "send", "room": "lobby", "text": "iso \u2066x\u2069"}, "U+2066"),
        ({"type": "send", "room": "lobby", "text": "bom \ufeff"}, "U+FEFF"),
        ({"type": "send", "room": "lobby", "text": "sep \u2028"}, "line separator"),
        ({"type": "send", "room": "lobby", "text": "ok", "cid": "c\x01"}, "cid"),
        ({"type": "topic", "room": "lobby", "topic": "two\nlines"}, "one line"),
        ({"type": "topic", "room": "lobby", "topic": "a\ttab"}, "one line"),
        ({"type": "create", "room": "news", "topic": "\x1b]52;c;aGk=\x07"}, "U+001B"),
    ],
)
async def test_text_policy_refusals_name_the_character(
    connect: Connect, command: dict[str, object], message: str
) -> None:
    alice = await connect("alice")
    fields = dict(command)
    reply = await alice.command(str(fields.pop("type")), **fields)
    assert reply["type"] == "error"
    assert reply["code"] == "bad_request"
    assert message in reply["message"], reply


async def test_edits_follow_the_same_text_policy(connect: Connect) -> None:
    alice = await connect("alice")
    ack = await alice.command("send", room="lobby", text="fine")
    reply = await alice.command("edit", room="lobby", mid=ack["mid"], text="evil \u202e")
    assert reply["code"] == "bad_request"
    history = await alice.command("history", room="lobby")
    assert [e.get("text") for e in history["events"] if e["kind"] == "message"] == ["fine"]


async def test_what_writing_needs_is_kept_exactly(connect: Connect) -> None:
    alice = await connect("alice")
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    text = (
        f"family 👨\u200d👩\u200d👧, flag {scotland}\n"
        "\t\u062a\u0633\u062a \u200f\u0645\u0631\u062d\u0628\u0627, "  # Arabic, RLM
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645, "  # Persian with a ZWNJ
        "soft\u00adhyphen, e\u0301"
    )
    ack = await alice.command("send", room="lobby", text=text)
    assert ack["type"] == "ack", ack
    history = await alice.command("history", room="lobby")
    assert history["events"][-1]["text"] == text


@pytest.mark.parametrize("blank", ["   ", "\n\t", "\u200b\u200d", "\u00ad \ufe0f"])
async def test_text_that_shows_nothing_is_empty(connect: Connect, blank: str) -> None:
    alice = await connect("alice")
    reply = await alice.command("send", room="lobby", text=blank)
    assert (reply["code"], reply["message"]) == ("bad_request", "text is empty")


async def test_a_bad_id_is_refused_without_being_echoed(connect: Connect) -> None:
    alice = await connect("alice")
    await alice.send_raw({"type": "ping", "id": "x\x00y"})
    error = await alice.next("error")
    assert error["code"] == "bad_request"
    assert "re" not in error
    assert (await alice.command("ping"))["type"] == "pong"


DEEP = "[" * 5000 + "]" * 5000


async def test_deep_json_before_authentication_is_bad_request_then_1008(
    server: ServerProcess,
) -> None:
    chat = await Chat.connect(server.ws_url, welcome=False)
    await chat.send_raw(DEEP)
    error = await chat.next("error")
    assert error["code"] == "bad_request"
    assert "nested more than 32 levels" in error["message"]
    assert await asyncio.wait_for(chat.closed, 5) == 1008  # authenticate first; not 1011


@pytest.mark.parametrize(
    "frame",
    [
        DEEP,
        '{"type":"send","room":"lobby","text":"x","cid":' + "{" * 3000 + "}" * 3000 + "}",
        '{"a":' * 3000 + "1" + "}" * 3000,
        "[" * 60_000,  # never closed (and under the 64 KiB message limit)
    ],
)
async def test_deep_json_after_authentication_is_bad_request(connect: Connect, frame: str) -> None:
    alice = await connect("alice")
    await alice.send_raw(frame)
    error = await alice.next("error")
    assert error["code"] == "bad_request"
    assert (await alice.command("ping"))["type"] == "pong"


async def test_brackets_inside_strings_do_not_count_as_nesting(connect: Connect) -> None:
    alice = await connect("alice")
    text = "[" * 3000 + "{" * 900
    ack = await alice.command("send", room="lobby", text=text)
    assert ack["type"] == "ack", ack


@pytest.mark.parametrize("path", ["/api/login", "/api/register"])
def test_deep_json_to_the_account_api_is_400(server: ServerProcess, path: str) -> None:
    request = urllib.request.Request(
        server.http_url + path,
        data=DEEP.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
        error.close()
    assert status == 400
    assert json.loads(body)["error"] == "bad_request"
    register(server.http_url, "stillworks")  # and the server is fine
