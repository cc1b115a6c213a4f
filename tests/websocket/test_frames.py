"""The Sans-I/O frame parser and encoder, tested with plain bytes (RFC 6455 section 5)."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.websocket.codes import CloseCode, is_valid_close_code
from parley.websocket.frames import (
    BinaryMessage,
    CloseReceived,
    FrameParser,
    Ping,
    Pong,
    ProtocolFailure,
    TextMessage,
    close_payload,
    encode_close,
    encode_frame,
    unmask,
)
from tests.helpers.rawws import client_frame

TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


def parser(**kwargs: int) -> FrameParser:
    return FrameParser(max_message_size=kwargs.pop("max_message_size", 1024), **kwargs)


def failure_code(events: list[object]) -> int:
    assert events, "expected a failure"
    last = events[-1]
    assert isinstance(last, ProtocolFailure), events
    return last.code


def test_masked_text_frame() -> None:
    assert parser().feed(client_frame(TEXT, "héllo".encode())) == [TextMessage("héllo")]


def test_binary_ping_pong() -> None:
    data = client_frame(BINARY, b"\x00\xff") + client_frame(PING, b"p") + client_frame(PONG, b"q")
    assert parser().feed(data) == [BinaryMessage(b"\x00\xff"), Ping(b"p"), Pong(b"q")]


def test_empty_messages() -> None:
    assert parser().feed(client_frame(TEXT, b"") + client_frame(BINARY, b"")) == [
        TextMessage(""),
        BinaryMessage(b""),
    ]


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 127, 65535, 65536, 70000])
def test_every_length_encoding_round_trips(size: int) -> None:
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    p = parser(max_message_size=100_000)
    assert p.feed(client_frame(BINARY, payload)) == [BinaryMessage(payload)]


def test_byte_by_byte_feeding_gives_the_same_events() -> None:
    stream = (
        client_frame(TEXT, b"one")
        + client_frame(TEXT, b"tw", fin=False)
        + client_frame(PING, b"!")
        + client_frame(CONT, b"o")
        + client_frame(BINARY, b"x" * 300)
    )
    p = parser()
    events = []
    for i in range(len(stream)):
        events += p.feed(stream[i : i + 1])
    assert events == [TextMessage("one"), Ping(b"!"), TextMessage("two"), BinaryMessage(b"x" * 300)]
    assert p.buffered == 0


def test_fragmented_message_with_interleaved_control_frame() -> None:
    data = (
        client_frame(BINARY, b"ab", fin=False)
        + client_frame(PING, b"")
        + client_frame(CONT, b"cd", fin=False)
        + client_frame(CONT, b"ef")
    )
    assert parser().feed(data) == [Ping(b""), BinaryMessage(b"abcdef")]


def test_multibyte_character_split_across_fragments_is_valid() -> None:
    raw = "€".encode()  # three bytes
    data = client_frame(TEXT, raw[:1], fin=False) + client_frame(CONT, raw[1:])
    assert parser().feed(data) == [TextMessage("€")]


def test_invalid_utf8_fails_with_1007() -> None:
    assert failure_code(parser().feed(client_frame(TEXT, b"\xff\xfe"))) == 1007


def test_invalid_utf8_split_across_fragments_fails_on_the_bad_fragment() -> None:
    p = parser()
    assert p.feed(client_frame(TEXT, b"ok", fin=False)) == []
    # 0xC3 starts a two-byte sequence; 0x28 cannot continue it.
    events = p.feed(client_frame(CONT, b"\xc3", fin=False))
    assert events == []  # still possibly valid
    assert failure_code(p.feed(client_frame(CONT, b"\x28", fin=False))) == 1007


def test_truncated_utf8_at_end_of_message_fails() -> None:
    p = parser()
    events = p.feed(client_frame(TEXT, b"a\xe2\x82", fin=False) + client_frame(CONT, b""))
    assert failure_code(events) == 1007


def test_unmasked_client_frame_is_a_protocol_error() -> None:
    assert failure_code(parser().feed(client_frame(TEXT, b"hi", mask=False))) == 1002


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10])
def test_reserved_bits_without_extension(rsv: int) -> None:
    assert failure_code(parser().feed(client_frame(TEXT, b"hi", rsv=rsv))) == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes(opcode: int) -> None:
    assert failure_code(parser().feed(client_frame(opcode, b""))) == 1002


def test_fragmented_control_frame() -> None:
    assert failure_code(parser().feed(client_frame(PING, b"x", fin=False))) == 1002


def test_control_frame_longer_than_125() -> None:
    assert failure_code(parser().feed(client_frame(PING, b"x" * 126))) == 1002


def test_continuation_without_start() -> None:
    assert failure_code(parser().feed(client_frame(CONT, b"x"))) == 1002


def test_new_message_inside_fragmented_one() -> None:
    data = client_frame(TEXT, b"a", fin=False) + client_frame(TEXT, b"b")
    assert failure_code(parser().feed(data)) == 1002


def test_oversized_frame_is_refused_from_its_header_alone() -> None:
    p = parser(max_message_size=1000)
    header_only = client_frame(BINARY, b"x" * 1001)[:8]  # 2 + 2 length bytes + 4 mask bytes
    assert failure_code(p.feed(header_only)) == 1009


def test_huge_declared_64bit_length_is_refused_without_buffering() -> None:
    header = struct.pack("!BBQ", 0x82, 0x80 | 127, 2**63 - 1) + b"mask"
    assert failure_code(parser().feed(header)) == 1009


def test_message_at_the_limit_passes_and_one_byte_more_fails() -> None:
    assert parser(max_message_size=100).feed(client_frame(TEXT, b"x" * 100)) == [
        TextMessage("x" * 100)
    ]
    assert failure_code(parser(max_message_size=100).feed(client_frame(TEXT, b"x" * 101))) == 1009


def test_fragments_adding_up_past_the_limit() -> None:
    data = client_frame(BINARY, b"x" * 60, fin=False) + client_frame(CONT, b"x" * 60)
    assert failure_code(parser(max_message_size=100).feed(data)) == 1009


def test_many_fragments_that_carry_bytes_are_allowed() -> None:
    """Past max_fragments a message may still have as many fragments as bytes: a legal
    message the size limit allows is not refused for being split finely (issue 14, 6)."""
    p = parser(max_fragments=3)
    data = client_frame(BINARY, b"a", fin=False)
    data += b"".join(client_frame(CONT, b"b", fin=False) for _ in range(1000))
    data += client_frame(CONT, b"d")
    assert p.feed(data) == [BinaryMessage(b"a" + b"b" * 1000 + b"d")]


def test_too_many_empty_fragments() -> None:
    p = parser(max_fragments=3)
    data = client_frame(BINARY, b"a", fin=False) + client_frame(CONT, b"", fin=False)
    data += client_frame(CONT, b"", fin=False) + client_frame(CONT, b"d")
    assert failure_code(p.feed(data)) == 1009


def test_close_frames() -> None:
    assert parser().feed(client_frame(CLOSE, b"")) == [CloseReceived(1005, "")]
    assert parser().feed(client_frame(CLOSE, struct.pack("!H", 1000) + b"bye")) == [
        CloseReceived(1000, "bye")
    ]
    assert failure_code(parser().feed(client_frame(CLOSE, b"\x03"))) == 1002
    assert failure_code(parser().feed(client_frame(CLOSE, struct.pack("!H", 1005)))) == 1002
    bad_reason = struct.pack("!H", 1000) + b"\xff"
    assert failure_code(parser().feed(client_frame(CLOSE, bad_reason))) == 1007


def test_nothing_is_read_after_a_close_frame() -> None:
    p = parser()
    events = p.feed(client_frame(CLOSE, b"") + client_frame(TEXT, b"late"))
    assert events == [CloseReceived(1005, "")]
    assert p.done
    assert p.feed(client_frame(TEXT, b"later")) == []


def test_nothing_is_read_after_a_failure() -> None:
    p = parser()
    assert failure_code(p.feed(client_frame(TEXT, b"\xff") + client_frame(TEXT, b"x"))) == 1007
    assert p.feed(client_frame(TEXT, b"ok")) == []


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (999, False),
        (1000, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1011, True),
        (1014, True),
        (1015, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
    ],
)
def test_close_code_validity(code: int, valid: bool) -> None:
    assert is_valid_close_code(code) is valid


def test_encode_frame_headers() -> None:
    assert encode_frame(1, b"hi") == b"\x81\x02hi"
    assert encode_frame(2, b"x" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert encode_frame(2, b"x" * 65536)[:10] == b"\x82\x7f" + struct.pack("!Q", 65536)
    assert encode_frame(1, b"z", rsv1=True)[0] == 0xC1


def test_close_payload_truncates_on_a_character_boundary() -> None:
    payload = close_payload(1000, "é" * 100)  # 200 bytes of reason
    assert len(payload) <= 125
    payload[2:].decode()  # still valid UTF-8
    assert encode_close(CloseCode.NO_STATUS) == b"\x88\x00"
    assert encode_close(1001, "bye") == b"\x88\x05\x03\xe9bye"


def test_unmask_matches_the_definition() -> None:
    data = bytes(range(37))
    key = b"\x01\x80\xff\x10"
    assert unmask(data, key) == bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert unmask(b"", key) == b""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=20))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    p = parser(max_message_size=200, max_fragments=4)
    for chunk in chunks:
        for event in p.feed(chunk):
            if isinstance(event, ProtocolFailure):
                assert is_valid_close_code(event.code)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([TEXT, BINARY]), st.text(max_size=50)), max_size=10),
    st.integers(min_value=1, max_value=17),
)
def test_any_split_of_valid_frames_gives_the_messages(
    messages: list[tuple[int, str]], step: int
) -> None:
    stream = b"".join(client_frame(op, text.encode()) for op, text in messages)
    p = parser(max_message_size=10_000)
    events = []
    for i in range(0, len(stream), step):
        events += p.feed(stream[i : i + step])
    expected = [TextMessage(t) if op == TEXT else BinaryMessage(t.encode()) for op, t in messages]
    assert events == expected


def test_large_payloads_are_unmasked_in_chunks_exactly_as_small_ones() -> None:
    mask = os.urandom(4)
    big = os.urandom(2 * (1 << 20) + 7)  # over the chunk size, not a multiple of 4
    pieces = b"".join(unmask(big[i : i + 4096], mask) for i in range(0, len(big), 4096))
    assert unmask(big, mask) == pieces
    assert unmask(memoryview(bytearray(big)), bytearray(mask)) == pieces
    assert unmask(unmask(big, mask), mask) == big


def test_a_large_frame_in_many_reads_is_parsed_once_whole() -> None:
    payload = os.urandom(3 << 20)
    data = client_frame(BINARY, payload[:10], fin=False) + client_frame(CONT, payload[10:])
    p = parser(max_message_size=4 << 20)
    events = []
    for start in range(0, len(data), 65536):
        events += p.feed(data[start : start + 65536])
    assert events == [BinaryMessage(payload)]
    assert p.buffered == 0
