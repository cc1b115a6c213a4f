"""Reading a server's frames one by one, for the client (RFC 6455 section 5), without I/O.

The wire format has one definition, :mod:`parley.websocket.frames`, for both sides: the client
encodes with :func:`~parley.websocket.frames.encode_frame` (``side=Side.CLIENT`` masks) and
checks every header with :func:`~parley.websocket.frames.check_header` (``Side.CLIENT``
refuses masked frames). What is left here is what only the client needs: unlike the server's
parser, :class:`FrameReader` returns every frame as it was on the wire (:class:`Frame`: FIN,
RSV, opcode, mask bit, length) before :class:`MessageAssembler` joins fragments into messages,
with the same fragmentation and text rules as the server's parser. That is what
``parley connect --trace`` prints, and why the client does not use a WebSocket library that
only shows whole messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.websocket.codes import CloseCode, Opcode
from parley.websocket.frames import (
    BinaryMessage,
    CloseReceived,
    Ping,
    Pong,
    ProtocolFailure,
    Side,
    TextMessage,
    check_header,
    check_sequence,
    parse_close_payload,
    read_length,
    text_message,
)

#: Largest message the client accepts by default; Parley's own messages are far smaller.
DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024

Message = TextMessage | BinaryMessage | Ping | Pong | CloseReceived

_TOO_BIG = ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")


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
        try:
            return Opcode(self.opcode).name
        except ValueError:  # a reserved opcode, in a frame the reader refused
            return f"0x{self.opcode:X}"


class FrameReader:
    """Splits the bytes a server sent into :class:`Frame` values.

    A frame that breaks the rules a client checks (:func:`check_header` for ``Side.CLIENT``:
    masked, reserved bits without an extension, a bad control frame; and a frame over
    ``max_frame`` bytes) yields a :class:`ProtocolFailure` and the reader stops, like the
    server's parser.
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
            first = buf[pos]
            opcode = first & 0x0F
            sized = read_length(buf, pos)
            if sized is None:
                break
            length, header = sized
            failure = check_header(Side.CLIENT, first, buf[pos + 1], length)
            if failure is None and length > self.max_frame:
                failure = _TOO_BIG
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
            if opcode == Opcode.CLOSE:  # nothing after a close frame is read (section 5.5.1)
                self._done = True
                self._buffer = b""
                return out
        self._buffer = buf[pos:]
        return out


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
        if opcode == Opcode.PING:
            return Ping(frame.payload)
        if opcode == Opcode.PONG:
            return Pong(frame.payload)
        if opcode == Opcode.CLOSE:
            return parse_close_payload(frame.payload)
        failure = check_sequence(opcode, self._opcode >= 0)
        if failure is not None:
            return failure
        if opcode != Opcode.CONT:
            self._opcode = opcode
        self._parts.append(frame.payload)
        self._size += len(frame.payload)
        if self._size > self.max_message:
            return _TOO_BIG
        if not frame.fin:
            return None
        whole = b"".join(self._parts)
        kind = self._opcode
        self._opcode, self._parts, self._size = -1, [], 0
        if kind == Opcode.BINARY:
            return BinaryMessage(whole)
        return text_message(whole)
