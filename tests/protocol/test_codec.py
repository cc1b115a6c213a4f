"""The parley.v1 codec with plain values: every command, every malformed case (no I/O)."""

from __future__ import annotations

import contextlib
import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.protocol import messages as m
from parley.protocol.codec import decode_command, encode, error_message
from parley.protocol.errors import ErrorCode, ProtocolError


def decode(obj: object, **kwargs: int) -> m.AnyCommand:
    return decode_command(json.dumps(obj), **kwargs)


def refused(
    obj: object | str, code: ErrorCode = ErrorCode.BAD_REQUEST, **kwargs: int
) -> ProtocolError:
    raw = obj if isinstance(obj, str) else json.dumps(obj)
    with pytest.raises(ProtocolError) as info:
        decode_command(raw, **kwargs)
    assert info.value.code is code, info.value.message
    return info.value


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"type": "auth", "token": "t"}, m.Auth(token="t")),
        (
            {"type": "create", "room": "dev", "private": True, "topic": "x"},
            m.Create(room="dev", private=True, topic="x"),
        ),
        ({"type": "create", "room": "dev"}, m.Create(room="dev")),
        ({"type": "join", "room": "lobby", "id": "7"}, m.Join(room="lobby", id="7")),
        ({"type": "leave", "room": "dm:alice:bob"}, m.Leave(room="dm:alice:bob")),
        ({"type": "invite", "room": "dev", "user": "bob"}, m.Invite(room="dev", user="bob")),
        ({"type": "rooms"}, m.Rooms()),
        ({"type": "who", "room": "dev"}, m.Who(room="dev")),
        (
            {"type": "send", "room": "dev", "text": "hi", "cid": "c1"},
            m.Send(room="dev", text="hi", cid="c1"),
        ),
        ({"type": "send", "room": "dev", "text": "no cid"}, m.Send(room="dev", text="no cid")),
        (
            {"type": "edit", "room": "dev", "mid": 3, "text": "new"},
            m.Edit(room="dev", mid=3, text="new"),
        ),
        ({"type": "delete", "room": "dev", "mid": 3}, m.Delete(room="dev", mid=3)),
        ({"type": "topic", "room": "dev", "topic": "t"}, m.SetTopic(room="dev", topic="t")),
        ({"type": "history", "room": "dev"}, m.History(room="dev", before=None, limit=50)),
        (
            {"type": "history", "room": "dev", "before": 10, "limit": 100},
            m.History(room="dev", before=10, limit=100),
        ),
        (
            {"type": "resume", "rooms": {"dev": 0, "lobby": 41}},
            m.Resume(rooms={"dev": 0, "lobby": 41}),
        ),
        ({"type": "resume"}, m.Resume(rooms={})),
        ({"type": "typing", "room": "dev"}, m.Typing(room="dev")),
        ({"type": "read", "room": "dev", "seq": 5}, m.Read(room="dev", seq=5)),
        ({"type": "dm", "user": "Bob"}, m.Dm(user="Bob")),
        ({"type": "ping"}, m.Ping()),
        ({"type": "ping", "future_field": 1}, m.Ping()),  # unknown fields are ignored
    ],
)
def test_every_command_decodes(frame: dict[str, object], expected: m.AnyCommand) -> None:
    assert decode(frame) == expected


def test_bytes_decode_too() -> None:
    assert decode_command(b'{"type":"ping","id":"x"}') == m.Ping(id="x")


@pytest.mark.parametrize(
    "raw",
    ["", "not json", "{", '{"type":"ping"', "\ud800", "[]", "42", "null", '"ping"', "[{}]"],
)
def test_not_a_json_object(raw: str) -> None:
    refused(raw)


@pytest.mark.parametrize(
    "frame",
    [
        {},
        {"id": "1"},
        {"type": 5},
        {"type": None},
        {"type": "launch-missiles"},
        {"type": "event"},  # a server message type is not a command
        {"type": "send", "room": "dev"},  # missing text
        {"type": "send", "text": "hi"},  # missing room
        {"type": "send", "room": "dev", "text": 5},
        {"type": "send", "room": "dev", "text": "hi", "cid": ""},
        {"type": "send", "room": "dev", "text": "hi", "cid": "x" * 65},
        {"type": "send", "room": "dev", "text": "   "},
        {"type": "send", "room": "dev", "text": ""},
        {"type": "send", "room": "bad room", "text": "hi"},
        {"type": "send", "room": "", "text": "hi"},
        {"type": "send", "room": "x" * 41, "text": "hi"},
        {"type": "send", "room": "dm:alice", "text": "hi"},
        {"type": "create", "room": "dm:alice:bob"},  # direct names are not created by hand
        {"type": "create", "room": "-dash"},
        {"type": "create", "room": "dev", "private": "yes"},
        {"type": "create", "room": "dev", "topic": "t" * 251},
        {"type": "edit", "room": "dev", "mid": 0, "text": "x"},
        {"type": "edit", "room": "dev", "mid": "3", "text": "x"},
        {"type": "edit", "room": "dev", "mid": 1.5, "text": "x"},
        {"type": "delete", "room": "dev"},
        {"type": "history", "room": "dev", "limit": 0},
        {"type": "history", "room": "dev", "limit": 101},
        {"type": "history", "room": "dev", "before": 0},
        {"type": "history", "room": "dev", "before": "10"},
        {"type": "resume", "rooms": {"dev": -1}},
        {"type": "resume", "rooms": {"bad room": 1}},
        {"type": "resume", "rooms": ["dev"]},
        {"type": "resume", "rooms": {"dev": "1"}},
        {"type": "read", "room": "dev", "seq": -1},
        {"type": "read", "room": "dev"},
        {"type": "dm", "user": "x"},
        {"type": "dm", "user": "has space"},
        {"type": "invite", "room": "dev"},
        {"type": "auth"},
        {"type": "auth", "token": ""},
        {"type": "ping", "id": ""},
        {"type": "ping", "id": 7},
        {"type": "ping", "id": "x" * 65},
    ],
)
def test_malformed_commands_are_bad_requests(frame: dict[str, object]) -> None:
    refused(frame)


def test_error_names_the_command_id_when_it_can() -> None:
    assert refused({"type": "nope", "id": "abc"}).re == "abc"
    assert refused({"type": "send", "id": "q1", "room": "dev"}).re == "q1"
    assert refused({"type": "send", "id": 5, "room": "dev"}).re is None


def test_unknown_type_is_named() -> None:
    assert "launch" in refused({"type": "launch"}).message


def test_invalid_room_message_is_readable() -> None:
    message = refused({"type": "join", "room": "bad room"}).message
    assert "room name" in message
    assert "regex" not in message


def test_text_limit_is_too_large_and_configurable() -> None:
    refused({"type": "send", "room": "dev", "text": "x" * 4001, "id": "i"}, ErrorCode.TOO_LARGE)
    assert decode({"type": "send", "room": "dev", "text": "x" * 4000})
    refused(
        {"type": "edit", "room": "dev", "mid": 1, "text": "x" * 11},
        ErrorCode.TOO_LARGE,
        max_text=10,
    )
    assert decode({"type": "send", "room": "dev", "text": "é" * 10}, max_text=10)


def test_encoding_leaves_out_defaults() -> None:
    assert encode(m.Pong()) == b'{"type":"pong"}'
    ack = m.Ack(re="1", cid="c", room="dev", seq=3, mid=9, ts=1)
    assert json.loads(encode(ack)) == {
        "type": "ack",
        "re": "1",
        "cid": "c",
        "room": "dev",
        "seq": 3,
        "mid": 9,
        "ts": 1,
    }
    event = m.EventMessage(room="dev", seq=1, kind="message", user="a", ts=2, mid=3, text="x")
    assert json.loads(encode(event)) == {
        "type": "event",
        "room": "dev",
        "seq": 1,
        "kind": "message",
        "user": "a",
        "ts": 2,
        "mid": 3,
        "text": "x",
    }


def test_error_message_encoding() -> None:
    raw = error_message(ProtocolError(ErrorCode.FORBIDDEN, "no", "r1"))
    assert json.loads(raw) == {"type": "error", "re": "r1", "code": "forbidden", "message": "no"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
command_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*sorted(m.COMMAND_TYPES), "event", "x", ""])},
    optional={
        "id": json_values,
        "room": st.one_of(st.sampled_from(["dev", "dm:a:b", "bad room", ""]), json_values),
        "text": json_values,
        "cid": json_values,
        "mid": json_values,
        "seq": json_values,
        "rooms": json_values,
        "limit": json_values,
        "before": json_values,
        "user": json_values,
        "token": json_values,
        "private": json_values,
    },
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(json_values, command_like))
def test_random_json_never_raises_anything_but_protocol_error(value: object) -> None:
    raw = json.dumps(value)
    try:
        command = decode_command(raw)
    except ProtocolError as error:
        assert error.code in (ErrorCode.BAD_REQUEST, ErrorCode.TOO_LARGE)
        assert error.message
    else:
        assert isinstance(command, m.Command)
        # What decodes re-encodes to something that decodes to the same command.
        assert decode_command(msgspec.json.encode(command)) == command


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_protocol_error(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_command(raw)


def test_nul_is_refused_in_free_text_fields() -> None:
    for frame in [
        {"type": "send", "room": "dev", "text": "a\x00b"},
        {"type": "edit", "room": "dev", "mid": 1, "text": "\x00"},
        {"type": "topic", "room": "dev", "topic": "t\x00"},
        {"type": "send", "room": "dev", "text": "ok", "cid": "c\x00"},
        {"type": "ping", "id": "i\x00"},
    ]:
        assert "NUL" in refused(frame).message
