"""A hypothesis state machine drives the protocol through random sequences of commands from
three users against a real server, and checks every reply against a small model of what
Parley promises: who may see, send to, edit and delete what, and what history shows."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from websockets.sync.client import ClientConnection, connect

from tests.conftest import TEST_ENV
from tests.helpers.chat import register
from tests.helpers.process import ServerProcess, start_server

USERS = ["alice", "bob", "carol"]  # alice registers first: the admin
ROOM_NAMES = ["r1", "r2", "r3"]


@dataclass
class Message:
    author: str
    text: str
    deleted: bool = False


@dataclass
class RoomModel:
    private: bool
    members: set[str]
    messages: dict[int, Message] = field(default_factory=dict)  # mid -> message


# The text rules of docs/protocol.md, written out here independently of the server's code:
# control characters (but line feed and tab) and the invisible reordering characters are
# refused, and so is text that shows nothing.
REFUSED_CHARS = (
    {chr(c) for c in range(0x20)} - {"\n", "\t"}
    | {chr(c) for c in range(0x7F, 0xA0)}
    | set(
        "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufff9\ufffa\ufffb"
    )
)
INVISIBLE_CHARS = (
    set("\u00ad\u061c\u180e")
    | {chr(c) for c in range(0x200B, 0x2010)}
    | {chr(c) for c in range(0x2060, 0x2065)}
    | {chr(c) for c in range(0xFE00, 0xFE10)}
)


def refused_text(text: str) -> bool:
    blank = all(c.isspace() or c in INVISIBLE_CHARS for c in text)
    return blank or any(c in REFUSED_CHARS for c in text)


class SyncChat:
    """A blocking parley.v1 client: one command, its reply (events are skipped)."""

    _ids = itertools.count(1)

    def __init__(self, url: str, token: str) -> None:
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(
                url + "/ws",
                subprotocols=["parley.v1"],  # type: ignore[list-item]
                additional_headers={"Authorization": f"Bearer {token}"},
                # Events pile up unread between commands: an unbounded queue, so that closing
                # never waits for a reader blocked on a full one.
                max_queue=None,
            )
        )
        assert json.loads(self.ws.recv(timeout=10))["type"] == "welcome"

    def close(self) -> None:
        self._stack.close()

    def command(self, type_: str, **fields: Any) -> dict[str, Any]:
        ident = f"s{next(self._ids)}"
        self.ws.send(json.dumps({"type": type_, "id": ident, **fields}))
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if message.get("re") == ident:
                return message  # type: ignore[no-any-return]


_server: ServerProcess | None = None
_tokens: dict[str, str] = {}
_runs = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def stateful_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    global _server
    folder = tmp_path_factory.mktemp("stateful")
    # Every example creates and invites on one server: no rate or room quota may get in the way
    # (tests/chat/test_room_safety.py tests the quotas).
    _server = start_server(
        "serve",
        *("--rate-limit", "100000", "--rate-burst", "100000"),
        *("--rooms-per-day", "1000000", "--invitations-per-hour", "1000000"),
        cwd=folder,
        env=TEST_ENV,
    )
    for user in USERS:
        _tokens[user] = register(_server.http_url, user)
    yield
    _server.stop()
    assert "Traceback" not in _server.output, _server.output


class ProtocolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert _server is not None
        self.run = next(_runs)
        self.cids = itertools.count()
        self.chats = {user: SyncChat(_server.ws_url, _tokens[user]) for user in USERS}
        self.rooms: dict[str, RoomModel] = {}

    def room_name(self, index: int) -> str:
        return f"{ROOM_NAMES[index]}x{self.run}"  # fresh rooms for every run

    @initialize()
    def start_streams(self) -> None:
        for chat in self.chats.values():
            assert chat.command("resume", rooms={})["type"] == "resumed"

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2), private=st.booleans())
    def create(self, user: str, index: int, private: bool) -> None:
        name = self.room_name(index)
        reply = self.chats[user].command("create", room=name, private=private)
        if name in self.rooms:
            assert reply["code"] == "conflict"
        else:
            assert reply["type"] == "ok", reply
            self.rooms[name] = RoomModel(private=private, members={user})

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2))
    def join(self, user: str, index: int) -> None:
        name = self.room_name(index)
        reply = self.chats[user].command("join", room=name)
        room = self.rooms.get(name)
        if room is None or (room.private and user not in room.members):
            assert reply["code"] == "forbidden", reply
        else:
            assert reply["type"] == "ok", reply
            room.members.add(user)

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2), guest=st.sampled_from(USERS))
    def invite(self, user: str, index: int, guest: str) -> None:
        name = self.room_name(index)
        reply = self.chats[user].command("invite", room=name, user=guest)
        room = self.rooms.get(name)
        if room is None or user not in room.members:
            assert reply["code"] == "forbidden", reply
        else:
            assert reply["type"] == "ok", reply
            room.members.add(guest)

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2))
    def leave(self, user: str, index: int) -> None:
        name = self.room_name(index)
        reply = self.chats[user].command("leave", room=name)
        room = self.rooms.get(name)
        if room is None or user not in room.members:
            assert reply["code"] == "forbidden", reply
        else:
            assert reply["type"] == "ok", reply
            room.members.discard(user)

    @rule(
        user=st.sampled_from(USERS), index=st.integers(0, 2), text=st.text(min_size=1, max_size=20)
    )
    def send(self, user: str, index: int, text: str) -> None:
        name = self.room_name(index)
        # A fresh cid for every send: a reused one would (rightly) return the first ack.
        reply = self.chats[user].command(
            "send", room=name, text=text, cid=f"{user}-{self.run}-{next(self.cids)}"
        )
        room = self.rooms.get(name)
        if refused_text(text):
            assert reply["code"] == "bad_request", reply
        elif room is None or user not in room.members:
            assert reply["code"] == "forbidden", reply
        else:
            assert reply["type"] == "ack", reply
            room.messages[reply["mid"]] = Message(user, text)

    def _messages(self) -> list[tuple[str, int]]:
        return [(name, mid) for name, room in self.rooms.items() for mid in room.messages]

    @precondition(lambda self: self._messages())
    @rule(data=st.data(), user=st.sampled_from(USERS), delete=st.booleans())
    def change(self, data: st.DataObject, user: str, delete: bool) -> None:
        name, mid = data.draw(st.sampled_from(self._messages()))
        room = self.rooms[name]
        message = room.messages[mid]
        if delete:
            reply = self.chats[user].command("delete", room=name, mid=mid)
        else:
            reply = self.chats[user].command("edit", room=name, mid=mid, text="edited")
        if user not in room.members:
            assert reply["code"] == "forbidden", reply
        elif message.deleted:
            assert reply["code"] == "not_found", reply
        elif message.author != user and user != "alice":  # alice is the admin
            assert reply["code"] == "forbidden", reply
        else:
            assert reply["type"] == "ok", reply
            if delete:
                message.deleted = True
            else:
                message.text = "edited"

    @rule(user=st.sampled_from(USERS), index=st.integers(0, 2))
    def history(self, user: str, index: int) -> None:
        name = self.room_name(index)
        reply = self.chats[user].command("history", room=name, limit=100)
        room = self.rooms.get(name)
        if room is None or (room.private and user not in room.members):
            assert reply["code"] == "forbidden", reply
            return
        got = {
            e["mid"]: (e.get("text", ""), e.get("deleted", False))
            for e in reply["events"]
            if e["kind"] == "message"
        }
        expected = {
            mid: ("" if m.deleted else m.text, m.deleted) for mid, m in room.messages.items()
        }
        assert got == expected
        seqs = [e["seq"] for e in reply["events"]]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, one order

    @invariant()
    def still_connected(self) -> None:
        for chat in self.chats.values():
            assert chat.ws.close_code is None

    def teardown(self) -> None:
        for chat in self.chats.values():
            chat.close()


# Examples and steps as many as the suite's time allows; the profile (tests/conftest.py) says
# whether runs are derandomized and shrunk.
ProtocolMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_protocol_state_machine = ProtocolMachine.TestCase
