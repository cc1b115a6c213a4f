"""Client-side framing, checked against the server's own framing code in both directions:
what the client encodes, the server's parser (which insists on masks) must read; what the
server encodes, the client's reader must read."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.client.frames import Frame, FrameReader, MessageAssembler
from parley.websocket.codes import Opcode
from parley.websocket.frames import (
    BinaryMessage,
    CloseReceived,
    FrameParser,
    Ping,
    ProtocolFailure,
    Side,
    TextMessage,
    encode_close,
    encode_frame,
)


def read_all(data: bytes, *, chunk: int | None = None) -> list[Frame | ProtocolFailure]:
    reader = FrameReader()
    if chunk is None:
        return reader.feed(data)
    out: list[Frame | ProtocolFailure] = []
    for i in range(0, len(data), chunk):
        out.extend(reader.feed(data[i : i + chunk]))
    return out


def test_rfc_example_masked_hello() -> None:
    # RFC 6455 section 5.7: a masked "Hello" with key 37 fa 21 3d.
    frame = encode_frame(
        Opcode.TEXT, b"Hello", side=Side.CLIENT, mask_key=bytes.fromhex("37fa213d")
    )
    assert frame == bytes.fromhex("818537fa213d7f9f4d5158")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_server_parser_reads_client_frames_of_every_length_class(size: int) -> None:
    payload = os.urandom(size)
    parser = FrameParser(max_message_size=1 << 20)
    assert parser.feed(encode_frame(Opcode.BINARY, payload, side=Side.CLIENT)) == [
        BinaryMessage(payload)
    ]


def test_every_frame_gets_a_fresh_mask() -> None:
    first, second = (encode_frame(Opcode.TEXT, b"same", side=Side.CLIENT) for _ in range(2))
    assert first[2:6] != second[2:6]
    assert first[1] & 0x80  # the mask bit


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70_000])
def test_client_reader_reads_server_frames(size: int) -> None:
    payload = os.urandom(size)
    frames = read_all(encode_frame(Opcode.BINARY, payload), chunk=997)
    assert frames == [Frame(True, Opcode.BINARY, payload)]


@given(st.lists(st.text(max_size=300), min_size=1, max_size=8), st.integers(1, 50))
def test_messages_survive_any_chunking(texts: list[str], chunk: int) -> None:
    stream = b"".join(encode_frame(Opcode.TEXT, t.encode()) for t in texts)
    assembler = MessageAssembler()
    got = []
    for item in read_all(stream, chunk=chunk):
        assert isinstance(item, Frame)
        got.append(assembler.add(item))
    assert got == [TextMessage(t) for t in texts]


def test_fragments_are_joined_and_control_frames_pass_between_them() -> None:
    stream = (
        bytes((0x01, 3)) + b"caf"  # TEXT, FIN=0
        + encode_frame(Opcode.PING, b"p")
        + bytes((0x80, 2)) + "é".encode()  # CONTINUATION, FIN=1
    )  # fmt: skip
    assembler = MessageAssembler()
    results = [assembler.add(f) for f in read_all(stream) if isinstance(f, Frame)]
    assert results == [None, Ping(b"p"), TextMessage("café")]


def test_close_frame_ends_reading() -> None:
    stream = encode_close(1001, "bye") + encode_frame(Opcode.TEXT, b"after")
    frames = read_all(stream)
    assert len(frames) == 1
    assert isinstance(frames[0], Frame)
    assert MessageAssembler().add(frames[0]) == CloseReceived(1001, "bye")


def test_client_close_frame_is_masked_and_server_reads_it() -> None:
    parser = FrameParser(max_message_size=1024)
    assert parser.feed(encode_close(1000, "done", side=Side.CLIENT)) == [
        CloseReceived(1000, "done")
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (encode_frame(Opcode.TEXT, b"x", side=Side.CLIENT), 1002),  # servers must not mask
        (bytes((0xC1, 1)) + b"x", 1002),  # RSV1 without an extension
        (bytes((0x83, 0)), 1002),  # reserved opcode
        (bytes((0x09, 0)), 1002),  # fragmented ping
        (bytes((0x89, 126, 0, 126)) + b"x" * 126, 1002),  # control frame too long
    ],
)
def test_protocol_violations(data: bytes, code: int) -> None:
    frames = read_all(data)
    assert isinstance(frames[-1], ProtocolFailure)
    assert frames[-1].code == code


def test_oversized_frame_is_refused_from_its_header() -> None:
    reader = FrameReader(max_frame=10)
    header_only = bytes((0x82, 126, 0x10, 0x00))  # announces 4096 bytes, sends none
    assert reader.feed(header_only) == [ProtocolFailure(1009, "message too big")]


@pytest.mark.parametrize(
    "frames",
    [
        [Frame(True, Opcode.CONT, b"x")],
        [Frame(False, Opcode.TEXT, b"a"), Frame(True, Opcode.TEXT, b"b")],
        [Frame(True, Opcode.TEXT, b"\xff")],
    ],
)
def test_assembler_refuses_bad_sequences(frames: list[Frame]) -> None:
    assembler = MessageAssembler()
    results = [assembler.add(f) for f in frames]
    assert isinstance(results[-1], ProtocolFailure)


def test_close_without_code() -> None:
    assert MessageAssembler().add(Frame(True, Opcode.CLOSE, b"")) == CloseReceived(1005, "")
