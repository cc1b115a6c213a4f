"""WebSocket framing (RFC 6455 section 5) without I/O: bytes in, events out; events in, bytes out.

Parley owns its WebSocket framing instead of using a library's connection object, because the
chat server's cost is dominated by how many objects and system calls each delivery needs (see
docs/architecture.md). This module is the whole wire format for frames, testable with plain
bytes: :class:`FrameParser` turns what a client sent into :data:`Event` values, and
:func:`encode_frame` / :func:`encode_close` build what the server sends.

The parser never raises on bad input: a client that breaks the protocol gets a single
:class:`ProtocolFailure` carrying the close code to send (RFC 6455 section 7.4.1), after which
the parser ignores further input.
"""

from __future__ import annotations

import codecs
import struct
from enum import IntEnum
from typing import NamedTuple, Protocol

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_DATA_OPCODES = frozenset((OP_CONTINUATION, OP_TEXT, OP_BINARY))
_CONTROL_OPCODES = frozenset((OP_CLOSE, OP_PING, OP_PONG))

_PACK_LEN16 = struct.Struct("!BBH").pack
_PACK_LEN64 = struct.Struct("!BBQ").pack
_PACK_CODE = struct.Struct("!H").pack
_UNPACK_LEN16 = struct.Struct("!H").unpack_from
_UNPACK_LEN64 = struct.Struct("!Q").unpack_from

MAX_CONTROL_PAYLOAD = 125
MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - 2


class CloseCode(IntEnum):
    """Close codes (RFC 6455 section 7.4.1, IANA registry) and Parley's own (4000-4999)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013


def is_valid_close_code(code: int) -> bool:
    """Whether a peer may send ``code`` in a close frame.

    1004, 1005, 1006 and 1015 are reserved for local use and never appear on the wire; 1012-1014
    were registered after RFC 6455 and are accepted; 3000-3999 are registered libraries' codes
    and 4000-4999 private ones (section 7.4.2).
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


class TextMessage(NamedTuple):
    """A complete text message, already checked to be valid UTF-8."""

    text: str


class BinaryMessage(NamedTuple):
    """A complete binary message."""

    data: bytes


class Ping(NamedTuple):
    """A ping; the connection must answer with a pong carrying the same payload."""

    data: bytes


class Pong(NamedTuple):
    """A pong, solicited or not."""

    data: bytes


class CloseReceived(NamedTuple):
    """The peer started or answered the closing handshake."""

    code: int
    reason: str


class ProtocolFailure(NamedTuple):
    """The peer broke the protocol: close with ``code``; ``reason`` goes in the frame and logs."""

    code: int
    reason: str


Event = TextMessage | BinaryMessage | Ping | Pong | CloseReceived | ProtocolFailure


class Inflater(Protocol):
    """Decompresses one message of a negotiated extension (permessage-deflate).

    ``inflate`` returns the message, or ``None`` when the output would exceed ``max_size``
    bytes: that is how a decompression bomb is stopped before it is expanded.
    """

    def inflate(self, payload: bytes, max_size: int) -> bytes | None: ...


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` repeated (section 5.3).

    One big-integer XOR does the whole payload in C, which is much faster in CPython than a loop
    over bytes, and byte order does not matter for XOR as long as both sides use the same one.
    """
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def read_length(buf: bytes, pos: int) -> tuple[int, int] | None:
    """The payload length of the frame starting at ``pos``, and where its length field ends
    (the masking key, if any, comes next); None while those bytes have not all arrived.

    Shared by the server's parser (which requires masked frames) and the client's (which
    refuses them): section 5.2's 7-bit, 16-bit and 64-bit length forms.
    """
    length = buf[pos + 1] & 0x7F
    header = pos + 2
    if length == 126:
        if len(buf) - header < 2:
            return None
        return _UNPACK_LEN16(buf, header)[0], header + 2
    if length == 127:
        if len(buf) - header < 8:
            return None
        return _UNPACK_LEN64(buf, header)[0], header + 8
    return length, header


def encode_frame(opcode: int, payload: bytes, *, rsv1: bool = False) -> bytes:
    """One unfragmented, unmasked frame as a server sends it.

    Callers that send the same message to many connections call this once and write the same
    bytes to each of them.
    """
    first = 0x80 | opcode | (0x40 if rsv1 else 0)
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return _PACK_LEN16(first, 126, n) + payload
    return _PACK_LEN64(first, 127, n) + payload


def encode_text(text: str) -> bytes:
    """A text frame for ``text``."""
    return encode_frame(OP_TEXT, text.encode())


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code, then the reason truncated to fit in 125 bytes.

    Truncation never splits a UTF-8 sequence, so the reason stays valid for the peer.
    """
    raw = reason.encode()
    if len(raw) > MAX_CLOSE_REASON_BYTES:
        raw = raw[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore").encode()
    return _PACK_CODE(code) + raw


def encode_close(code: int, reason: str = "") -> bytes:
    """A close frame. ``CloseCode.NO_STATUS`` gives the empty close frame it stands for."""
    if code == CloseCode.NO_STATUS:
        return encode_frame(OP_CLOSE, b"")
    return encode_frame(OP_CLOSE, close_payload(code, reason))


def parse_close_payload(payload: bytes) -> CloseReceived | ProtocolFailure:
    """Read a close frame's payload (section 5.5.1)."""
    if not payload:
        return CloseReceived(CloseCode.NO_STATUS, "")
    if len(payload) == 1:
        return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "close frame with a 1-byte payload")
    code = _UNPACK_LEN16(payload)[0]
    if not is_valid_close_code(code):
        return ProtocolFailure(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        return ProtocolFailure(CloseCode.INVALID_DATA, "close reason is not valid UTF-8")
    return CloseReceived(code, reason)


class FrameParser:
    """Turns bytes from a client into events; one parser per connection.

    Limits are enforced as early as possible, from the frame headers, before any payload is
    buffered: ``max_message_size`` bounds a whole message (after decompression, when an
    extension is on), ``max_fragments`` the number of frames one message may be split into.
    Text is validated incrementally, so invalid UTF-8 split across fragments fails on the
    fragment that carries it.
    """

    __slots__ = (
        "_buffer",
        "_done",
        "_frag_compressed",
        "_frag_count",
        "_frag_decoder",
        "_frag_opcode",
        "_frag_parts",
        "_frag_size",
        "_inflater",
        "max_fragments",
        "max_message_size",
    )

    def __init__(
        self,
        *,
        max_message_size: int,
        max_fragments: int = 1024,
        inflater: Inflater | None = None,
    ) -> None:
        self.max_message_size = max_message_size
        self.max_fragments = max_fragments
        self._inflater = inflater
        self._buffer = b""
        self._done = False
        self._frag_opcode = -1  # -1: no fragmented message in progress
        self._frag_parts: list[bytes] = []
        self._frag_size = 0
        self._frag_count = 0
        self._frag_compressed = False
        self._frag_decoder: codecs.IncrementalDecoder | None = None

    @property
    def done(self) -> bool:
        """True after a close frame or a :class:`ProtocolFailure`; later input is ignored."""
        return self._done

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame or message (for memory accounting)."""
        return len(self._buffer) + self._frag_size

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data`` (any chunk of the stream) and return the events it completes."""
        if self._done:
            return []
        buf = self._buffer + data if self._buffer else data
        events: list[Event] = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            first = buf[pos]
            second = buf[pos + 1]
            opcode = first & 0x0F
            sized = read_length(buf, pos)
            if sized is None:
                break
            length, header = sized
            # Check the header before waiting for the payload, so an oversized or illegal
            # frame is refused without buffering it.
            failure = self._check_header(first, second, opcode, length)
            if failure is not None:
                return self._fail(events, failure)
            payload_start = header + 4
            frame_end = payload_start + length
            if frame_end > end:
                break
            payload = unmask(buf[payload_start:frame_end], buf[header:payload_start])
            pos = frame_end
            event = self._on_frame(first, opcode, payload)
            if event is not None:
                if type(event) is ProtocolFailure:
                    return self._fail(events, event)
                events.append(event)
                if self._done:  # a close frame: nothing after it is read
                    self._buffer = b""
                    return events
        self._buffer = buf[pos:] if pos < end else b""
        return events

    def _fail(self, events: list[Event], failure: ProtocolFailure) -> list[Event]:
        self._done = True
        self._buffer = b""
        self._frag_parts = []
        events.append(failure)
        return events

    def _check_header(
        self, first: int, second: int, opcode: int, length: int
    ) -> ProtocolFailure | None:
        if not second & 0x80:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
        rsv = first & 0x70
        if rsv:
            # RSV1 marks a compressed message (RFC 7692), allowed only on the first frame of a
            # data message and only when the extension was negotiated.
            if rsv != 0x40 or self._inflater is None:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "reserved bits set")
            if opcode not in (OP_TEXT, OP_BINARY):
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "RSV1 on a non-initial frame")
        if opcode in _CONTROL_OPCODES:
            if not first & 0x80:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "control frame too long")
            return None
        if opcode not in _DATA_OPCODES:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
        if opcode == OP_CONTINUATION:
            if self._frag_opcode < 0:
                return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "continuation without a start")
            if self._frag_count >= self.max_fragments:
                return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
        elif self._frag_opcode >= 0:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one")
        # A compressed message may expand; its size is checked again after inflating.
        if self._frag_size + length > self.max_message_size and not (
            first & 0x40 or self._frag_compressed
        ):
            return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
        if length > self.max_message_size:
            return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
        return None

    def _on_frame(self, first: int, opcode: int, payload: bytes) -> Event | None:
        fin = first & 0x80
        if opcode in (OP_TEXT, OP_BINARY):
            compressed = bool(first & 0x40)
            if fin:
                return self._complete(opcode, payload, compressed)
            self._frag_opcode = opcode
            self._frag_parts = [payload]
            self._frag_size = len(payload)
            self._frag_count = 1
            self._frag_compressed = compressed
            self._frag_decoder = None
            if opcode == OP_TEXT and not compressed:
                self._frag_decoder = codecs.getincrementaldecoder("utf-8")()
                return self._check_fragment_text(payload, final=False)
            return None
        if opcode == OP_CONTINUATION:
            self._frag_parts.append(payload)
            self._frag_size += len(payload)
            self._frag_count += 1
            if self._frag_size > self.max_message_size:
                return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
            if self._frag_decoder is not None:
                failure = self._check_fragment_text(payload, final=bool(fin))
                if failure is not None:
                    return failure
            if not fin:
                return None
            whole = b"".join(self._frag_parts)
            opcode, compressed = self._frag_opcode, self._frag_compressed
            self._frag_opcode = -1
            self._frag_parts = []
            self._frag_size = 0
            self._frag_count = 0
            self._frag_decoder = None
            return self._complete(opcode, whole, compressed)
        if opcode == OP_PING:
            return Ping(payload)
        if opcode == OP_PONG:
            return Pong(payload)
        # OP_CLOSE: after it nothing more is read (section 5.5.1).
        event = parse_close_payload(payload)
        self._done = True
        return event

    def _check_fragment_text(self, payload: bytes, *, final: bool) -> ProtocolFailure | None:
        assert self._frag_decoder is not None
        try:
            self._frag_decoder.decode(payload, final)
        except UnicodeDecodeError:
            return ProtocolFailure(CloseCode.INVALID_DATA, "text is not valid UTF-8")
        return None

    def _complete(self, opcode: int, payload: bytes, compressed: bool) -> Event:
        if compressed:
            assert self._inflater is not None
            inflated = self._inflater.inflate(payload, self.max_message_size)
            if inflated is None:
                return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
            payload = inflated
        if opcode == OP_BINARY:
            return BinaryMessage(payload)
        try:
            return TextMessage(payload.decode())
        except UnicodeDecodeError:
            return ProtocolFailure(CloseCode.INVALID_DATA, "text is not valid UTF-8")
