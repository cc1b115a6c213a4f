"""The ``--trace`` lines."""

from __future__ import annotations

from parley.client.frames import Frame
from parley.client.trace import LineTracer, describe_frame, escape_binary
from parley.websocket.codes import Opcode
from parley.websocket.frames import close_payload


def test_frame_lines() -> None:
    sent = Frame(True, Opcode.TEXT, b"hello", masked=True, mask_key=b"\x01\x02\x03\x04")
    assert describe_frame(sent, sent=True) == ('TEXT   fin=1 masked=1 len=5 key=01020304 "hello"')
    close = Frame(True, Opcode.CLOSE, close_payload(1001, "bye"))
    assert describe_frame(close, sent=False) == (
        "CLOSE  fin=1 masked=0 len=5 code=1001 (going away): bye"
    )
    binary = Frame(True, Opcode.BINARY, b"\x00\xff")
    assert describe_frame(binary, sent=False).endswith("len=2 00 ff")
    long_text = Frame(True, Opcode.TEXT, b"x" * 500 + b"\n")
    assert describe_frame(long_text, sent=False).endswith('x…"')


def test_continuations_of_text_are_shown_as_text() -> None:
    lines: list[str] = []
    tracer = LineTracer(lines.append)
    tracer.frame(Frame(False, Opcode.TEXT, b"hel"), sent=False)
    tracer.frame(Frame(True, Opcode.CONT, b"lo\n"), sent=False)
    assert lines == [
        '<< TEXT   fin=0 masked=0 len=3 "hel"',
        '<< CONT   fin=1 masked=0 len=3 "lo\\n"',
    ]


def test_handshake_lines_hide_the_token() -> None:
    lines: list[str] = []
    tracer = LineTracer(lines.append)
    tracer.request(b"GET /ws HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nHost: x\r\n\r\n")
    assert lines == ["> GET /ws HTTP/1.1", "> Authorization: Bearer ***", "> Host: x", ">"]


def test_escape_binary() -> None:
    assert escape_binary(b"We\x00\xff\\") == "We\\x00\\xff\\\\"
