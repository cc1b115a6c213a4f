"""WebSocket framing from the client's side (RFC 6455 section 5), without I/O.

``parley.websocket.frames`` is the server's half: its parser requires masked frames, as a
server must. A client needs the mirror image: it masks what it sends and refuses masked frames
from the server. This module is that mirror, built on the server module's shared pieces
(opcodes, :func:`~parley.websocket.frames.unmask`, close payloads, close-code rules), so the
wire format has one definition.

Unlike the server's parser, :class:`FrameReader` returns every frame as it was on the wire
(:class:`Frame`: FIN, RSV, opcode, mask bit, length) before :class:`MessageAssembler` joins
fragments into messages. That is what ``parley connect --trace`` prints, and why the client
does not use a WebSocket library that only shows whole messages.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from parley.websocket.frames import (
    MAX_CONTROL_PAYLOAD,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    BinaryMessage,
    CloseCode,
    CloseReceived,
    Ping,
    Pong,
    ProtocolFailure,
    TextMessage,
    close_payload,
    parse_close_payload,
    read_length,
    unmask,
)

_PACK_HEAD = struct.Struct("!BB").pack
_PACK_LEN16 = struct.Struct("!H").pack
_PACK_LEN64 = struct.Struct("!Q").pack

OPCODE_NAMES = {
    OP_CONTINUATION: "CONT",
    OP_TEXT: "TEXT",
    OP_BINARY: "BINARY",
    OP_CLOSE: "CLOSE",
    OP_PING: "PING",
    OP_PONG: "PONG",
}

#: Largest message the client accepts by default; Parley's own messages are far smaller.
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024

Message = TextMessage | BinaryMessage | Ping | Pong | CloseReceived


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as it was on the wire, with its payload already unmasked."""

    fin: bool
    opcode: int
    payload: bytes
    masked: bool = False
    rsv: int = 0  #: the three RSV bits, as the high nibble's bits 4-6 (0x40 = RSV1)
    mask_key: bytes = b""  #: the key the payload was masked with on the wire

    @property
    def name(self) -> str:
        return OPCODE_NAMES.get(self.opcode, f"0x{self.opcode:X}")


def encode_client_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask_key: bytes | None = None
) -> bytes:
    """One frame as a client must send it: masked with a fresh random key (section 5.3).

    Without ``mask_key``, a key from :func:`os.urandom`; callers that pass one must make it
    just as unpredictable (the connection does, to show it in traces), because a predictable
    key is what masking exists to prevent (cache poisoning of intermediaries).
    """
    key = os.urandom(4) if mask_key is None else mask_key
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = _PACK_HEAD(first, 0x80 | n)
    elif n < 65536:
        head = _PACK_HEAD(first, 0x80 | 126) + _PACK_LEN16(n)
    else:
        head = _PACK_HEAD(first, 0x80 | 127) + _PACK_LEN64(n)
    return head + key + unmask(payload, key)


def encode_client_close(code: int, reason: str = "", *, mask_key: bytes | None = None) -> bytes:
    """A masked close frame with ``code`` and ``reason`` (truncated to fit, as the server's)."""
    return encode_client_frame(OP_CLOSE, close_payload(code, reason), mask_key=mask_key)


class FrameReader:
    """Splits the bytes a server sent into :class:`Frame` values.

    A frame that breaks the rules a client checks (masked, reserved bits without an extension,
    a bad control frame, a frame over ``max_frame`` bytes) yields a :class:`ProtocolFailure`
    and the reader stops, like the server's parser.
    """

    __slots__ = ("_buffer", "_done", "max_frame")

    def __init__(self, *, max_frame: int = DEFAULT_MAX_MESSAGE) -> None:
        self.max_frame = max_frame
        self._buffer = b""
        self._done = False

    def feed(self, data: bytes) -> list[Frame | ProtocolFailure]:
        if self._done:
            return []
        buf = self._buffer + data if self._buffer else data
        out: list[Frame | ProtocolFailure] = []
        pos, end = 0, len(buf)
        while end - pos >= 2:
            first, second = buf[pos], buf[pos + 1]
            opcode = first & 0x0F
            sized = read_length(buf, pos)
            if sized is None:
                break
            length, header = sized
            failure = self._check(first, second, opcode, length)
            if failure is not None:
                self._done = True
                self._buffer = b""
                out.append(failure)
                return out
            if end - header < length:
                break
            payload = buf[header : header + length]
            pos = header + length
            out.append(Frame(bool(first & 0x80), opcode, payload, False, first & 0x70))
            if opcode == OP_CLOSE:  # nothing after a close frame is read (section 5.5.1)
                self._done = True
                self._buffer = b""
                return out
        self._buffer = buf[pos:]
        return out

    def _check(self, first: int, second: int, opcode: int, length: int) -> ProtocolFailure | None:
        if second & 0x80:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "server frames must not be masked")
        if first & 0x70:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "reserved bits set")
        if opcode in (OP_CLOSE, OP_PING, OP_PONG):
            if not first & 0x80:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "control frame too long")
        elif opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY):
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
        if length > self.max_frame:
            return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
        return None


class MessageAssembler:
    """Joins data frames into messages and checks text is UTF-8; control frames pass through."""

    __slots__ = ("_opcode", "_parts", "_size", "max_message")

    def __init__(self, *, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self.max_message = max_message
        self._opcode = -1  # -1: no fragmented message in progress
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: Frame) -> Message | ProtocolFailure | None:
        """The message ``frame`` completes, ``None`` if it is a fragment, or a failure."""
        opcode = frame.opcode
        if opcode == OP_PING:
            return Ping(frame.payload)
        if opcode == OP_PONG:
            return Pong(frame.payload)
        if opcode == OP_CLOSE:
            return parse_close_payload(frame.payload)
        if opcode == OP_CONTINUATION:
            if self._opcode < 0:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "continuation without a start")
        elif self._opcode >= 0:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one")
        else:
            self._opcode = opcode
        self._parts.append(frame.payload)
        self._size += len(frame.payload)
        if self._size > self.max_message:
            return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
        if not frame.fin:
            return None
        whole = b"".join(self._parts)
        kind = self._opcode
        self._opcode, self._parts, self._size = -1, [], 0
        if kind == OP_BINARY:
            return BinaryMessage(whole)
        try:
            return TextMessage(whole.decode())
        except UnicodeDecodeError:
            return ProtocolFailure(CloseCode.INVALID_DATA, "text is not valid UTF-8")
