"""One header check and one serializer for both ends of a connection, told apart by ``Side``.

A server must refuse unmasked frames and a client masked ones (RFC 6455 section 5.1); every
other header rule is the same for both, and is checked here once for each side.
"""

from __future__ import annotations

import pytest

from parley.websocket.codes import CloseCode, Opcode
from parley.websocket.frames import (
    ProtocolFailure,
    Side,
    check_header,
    check_sequence,
    encode_close,
    encode_frame,
    unmask,
)

MASK = 0x80
FIN = 0x80


def check(side: Side, first: int, masked: bool, length: int = 0, **kw: bool) -> int | None:
    failure = check_header(side, first, (MASK if masked else 0) | min(length, 125), length, **kw)
    return None if failure is None else failure.code


@pytest.mark.parametrize(
    ("side", "masked", "expected"),
    [
        (Side.SERVER, True, None),
        (Side.SERVER, False, "client frames must be masked"),
        (Side.CLIENT, False, None),
        (Side.CLIENT, True, "server frames must not be masked"),
    ],
)
def test_the_mask_bit_by_side(side: Side, masked: bool, expected: str | None) -> None:
    failure = check_header(side, FIN | Opcode.TEXT, MASK if masked else 0, 0)
    assert failure == (
        None if expected is None else ProtocolFailure(CloseCode.PROTOCOL_ERROR, expected)
    )


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize(
    ("first", "length", "extension", "code"),
    [
        (FIN | Opcode.TEXT, 10, False, None),
        (Opcode.BINARY, 10, False, None),  # the first fragment of a message
        (FIN | Opcode.CONT, 10, False, None),
        (FIN | Opcode.PING, 125, False, None),
        (FIN | Opcode.PING, 126, False, 1002),  # control frame too long
        (Opcode.PONG, 0, False, 1002),  # fragmented control frame
        (FIN | 0x3, 0, False, 1002),  # reserved opcode
        (FIN | 0xB, 0, False, 1002),
        (FIN | 0x40 | Opcode.TEXT, 1, False, 1002),  # RSV1 without the extension
        (FIN | 0x40 | Opcode.TEXT, 1, True, None),  # ... and with it
        (FIN | 0x40 | Opcode.CONT, 1, True, 1002),  # RSV1 only on a message's first frame
        (FIN | 0x40 | Opcode.PING, 1, True, 1002),
        (FIN | 0x20 | Opcode.TEXT, 1, True, 1002),  # RSV2, RSV3: never
        (FIN | 0x10 | Opcode.TEXT, 1, True, 1002),
    ],
)
def test_the_other_header_rules_are_the_same_for_both_sides(
    side: Side, first: int, length: int, extension: bool, code: int | None
) -> None:
    masked = side is Side.SERVER
    assert check(side, first, masked, length, extension=extension) == code


@pytest.mark.parametrize(
    ("opcode", "fragmented", "reason"),
    [
        (Opcode.TEXT, False, None),
        (Opcode.CONT, True, None),
        (Opcode.CONT, False, "continuation without a start"),
        (Opcode.BINARY, True, "new message inside a fragmented one"),
    ],
)
def test_fragment_sequence(opcode: Opcode, fragmented: bool, reason: str | None) -> None:
    failure = check_sequence(opcode, fragmented)
    assert (failure.reason if failure else None) == reason


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_the_serializer_masks_for_a_client_only(size: int) -> None:
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    server = encode_frame(Opcode.BINARY, payload, side=Side.SERVER)
    key = b"\x01\x02\x03\x04"
    client = encode_frame(Opcode.BINARY, payload, side=Side.CLIENT, mask_key=key)
    # Same first byte and length field; the client's has the mask bit and the key.
    header = len(server) - size
    assert client[0] == server[0] == FIN | Opcode.BINARY
    assert client[1] == server[1] | MASK
    assert client[2:header] == server[2:header]
    assert client[header : header + 4] == key
    assert unmask(client[header + 4 :], key) == payload == server[header:]


def test_close_frames_by_side() -> None:
    key = b"\x00\x00\x00\x00"  # the identity mask shows the payload as is
    assert encode_close(1001, "bye") == b"\x88\x05\x03\xe9bye"
    assert encode_close(1001, "bye", side=Side.CLIENT, mask_key=key) == (
        b"\x88\x85" + key + b"\x03\xe9bye"
    )
    assert encode_close(CloseCode.NO_STATUS, side=Side.CLIENT, mask_key=key) == b"\x88\x80" + key


def test_fragment_bit_and_fresh_keys() -> None:
    assert encode_frame(Opcode.TEXT, b"a", fin=False) == b"\x01\x01a"
    first, second = (encode_frame(Opcode.TEXT, b"", side=Side.CLIENT) for _ in range(2))
    assert first[2:6] != second[2:6]
