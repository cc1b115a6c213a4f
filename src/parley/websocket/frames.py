"""WebSocket framing (RFC 6455 section 5) without I/O: bytes in, events out; events in, bytes out.

Parley owns its WebSocket framing instead of using a library's connection object, because the
chat server's cost is dominated by how many objects and system calls each delivery needs (see
docs/architecture.md). This module is the whole wire format for frames, for both ends of a
connection, testable with plain bytes:

* :func:`encode_frame` / :func:`encode_close` build a frame as one :class:`Side` must send it
  (a client masks, a server does not);
* :func:`check_header` holds the rules every received frame header must follow, for the side
  that receives it (a server requires masked frames, a client refuses them);
* :class:`FrameParser` turns what a client sent into :data:`Event` values (the server's
  parser); the client reads frame by frame for its trace (:mod:`parley.client.frames`), with
  the same header check and the same message rules (:func:`check_sequence`,
  :func:`text_message`, :func:`parse_close_payload`).

The parser never raises on bad input: a peer that breaks the protocol gets a single
:class:`ProtocolFailure` carrying the close code to send (RFC 6455 section 7.4.1), after which
the parser ignores further input.
"""

from __future__ import annotations

import codecs
import os
import struct
from enum import Enum
from typing import NamedTuple, Protocol

from parley.websocket.codes import (
    CONTROL_OPCODES,
    DATA_OPCODES,
    CloseCode,
    Opcode,
    is_valid_close_code,
)

# Module-level plain ints: the parser and the encoder run once per frame, and both an enum
# member's lookup (``Opcode.TEXT``) and a comparison of an int with a member cost more.
_CONT = int(Opcode.CONT)
_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CLOSE = int(Opcode.CLOSE)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)
_MESSAGE_OPCODES = frozenset((_TEXT, _BINARY))  # the opcodes that start a message

_PACK_LEN16 = struct.Struct("!BBH").pack
_PACK_LEN64 = struct.Struct("!BBQ").pack
_PACK_CODE = struct.Struct("!H").pack
_UNPACK_LEN16 = struct.Struct("!H").unpack_from
_UNPACK_LEN64 = struct.Struct("!Q").unpack_from

MAX_CONTROL_PAYLOAD = 125
MAX_CLOSE_REASON_BYTES = MAX_CONTROL_PAYLOAD - 2


class Side(Enum):
    """Which end of a connection: what it must do to the frames it sends (a client masks
    them, section 5.3) and what it must refuse in those it receives (section 5.1)."""

    SERVER = "server"
    CLIENT = "client"


_SERVER = Side.SERVER
_CLIENT = Side.CLIENT


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

# The failures more than one rule gives, built once.
_TOO_BIG = ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "message too big")
_NOT_UTF8 = ProtocolFailure(CloseCode.INVALID_DATA, "text is not valid UTF-8")
_RESERVED_BITS = ProtocolFailure(CloseCode.PROTOCOL_ERROR, "reserved bits set")
_UNMASKED = ProtocolFailure(CloseCode.PROTOCOL_ERROR, "client frames must be masked")
_MASKED = ProtocolFailure(CloseCode.PROTOCOL_ERROR, "server frames must not be masked")
_NO_START = ProtocolFailure(CloseCode.PROTOCOL_ERROR, "continuation without a start")
_INTERLEAVED = ProtocolFailure(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one")


class Inflater(Protocol):
    """Decompresses one message of a negotiated extension (permessage-deflate).

    ``inflate`` returns the message, or ``None`` when the output would exceed ``max_size``
    bytes: that is how a decompression bomb is stopped before it is expanded.
    """

    def inflate(self, payload: bytes, max_size: int) -> bytes | None: ...


#: Payloads longer than this are unmasked a chunk at a time (a multiple of 4, so that every
#: chunk starts at the key's first byte): the big integers of one chunk are all that is held
#: besides the input and the output, not four copies of a 64 MiB message.
_UNMASK_CHUNK = 1 << 20


def unmask(payload: bytes | bytearray | memoryview, mask: bytes | bytearray) -> bytes:
    """XOR ``payload`` with the 4-byte ``mask`` repeated (section 5.3); masking is the same.

    One big-integer XOR does the whole payload in C, which is much faster in CPython than a loop
    over bytes, and byte order does not matter for XOR as long as both sides use the same one.
    """
    n = len(payload)
    if n == 0:
        return b""
    if n <= _UNMASK_CHUNK:
        key = (mask * ((n >> 2) + 1))[:n]
        value = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
        return value.to_bytes(n, "little")
    whole_key = int.from_bytes(mask * (_UNMASK_CHUNK >> 2), "little")
    view = memoryview(payload)
    parts = []
    for start in range(0, n, _UNMASK_CHUNK):
        chunk = view[start : start + _UNMASK_CHUNK]
        size = len(chunk)
        key_int = (
            whole_key
            if size == _UNMASK_CHUNK
            else int.from_bytes((mask * ((size >> 2) + 1))[:size], "little")
        )
        parts.append((int.from_bytes(chunk, "little") ^ key_int).to_bytes(size, "little"))
    return b"".join(parts)


def read_length(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """The payload length of the frame starting at ``pos``, and where its length field ends
    (the masking key, if any, comes next); None while those bytes have not all arrived.

    Section 5.2's 7-bit, 16-bit and 64-bit length forms, for both sides.
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


# -- the rules of a received frame ---------------------------------------------------------


def check_header(
    side: Side, first: int, second: int, length: int, extension: bool = False
) -> ProtocolFailure | None:
    """Check a received frame's header from its first two bytes and its payload length; the
    failure to close with, or None.

    ``side`` is the side that *receives* the frame: a server requires masked frames, a client
    refuses them (section 5.1). ``extension`` is whether permessage-deflate was negotiated:
    RSV1 then marks a compressed message, allowed only on the first frame of a data message
    (RFC 7692 section 6); any other reserved bit fails. These rules depend on the header alone,
    so a bad frame is refused before its payload is buffered. The rules that depend on the
    frames before it (fragmentation: :func:`check_sequence`) and on size limits are the
    reader's.
    """
    if second & 0x80:
        if side is _CLIENT:
            return _MASKED
    elif side is _SERVER:
        return _UNMASKED
    rsv = first & 0x70
    opcode = first & 0x0F
    if rsv:
        if rsv != 0x40 or not extension:
            return _RESERVED_BITS
        if opcode not in _MESSAGE_OPCODES:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "RSV1 on a non-initial frame")
    if opcode in CONTROL_OPCODES:
        if not first & 0x80:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
        if length > MAX_CONTROL_PAYLOAD:
            return ProtocolFailure(CloseCode.PROTOCOL_ERROR, "control frame too long")
    elif opcode not in DATA_OPCODES:
        return ProtocolFailure(CloseCode.PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
    return None


def check_sequence(opcode: int, fragmented: bool) -> ProtocolFailure | None:
    """Section 5.4 for a data frame: a continuation needs a message in progress
    (``fragmented``), and a new message may not start inside one. Control frames may come
    between fragments and are not checked here."""
    if opcode == _CONT:
        return None if fragmented else _NO_START
    return _INTERLEAVED if fragmented else None


def text_message(payload: bytes) -> TextMessage | ProtocolFailure:
    """A complete text message, or 1007 when it is not valid UTF-8 (section 8.1)."""
    try:
        return TextMessage(payload.decode())
    except UnicodeDecodeError:
        return _NOT_UTF8


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


# -- sending -------------------------------------------------------------------------------


def encode_frame(
    opcode: int,
    payload: bytes,
    *,
    side: Side = _SERVER,
    fin: bool = True,
    rsv1: bool = False,
    mask_key: bytes | None = None,
) -> bytes:
    """One frame as ``side`` must send it: unmasked from a server, masked from a client.

    A client's frame is masked with ``mask_key``, or a fresh key from :func:`os.urandom`;
    callers that pass one must make it just as unpredictable (the client connection does, to
    show it in traces), because a predictable key is what masking exists to prevent (cache
    poisoning of intermediaries, section 10.3). Callers that send the same message to many
    connections encode it once and queue the same bytes for each of them.
    """
    first = opcode | 0x80 if fin else opcode
    if rsv1:
        first |= 0x40
    n = len(payload)
    if side is _SERVER:
        if n < 126:
            return bytes((first, n)) + payload
        if n < 65536:
            return _PACK_LEN16(first, 126, n) + payload
        return _PACK_LEN64(first, 127, n) + payload
    key = os.urandom(4) if mask_key is None else mask_key
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = _PACK_LEN16(first, 0x80 | 126, n)
    else:
        head = _PACK_LEN64(first, 0x80 | 127, n)
    return head + key + unmask(payload, key)


def encode_text(text: str) -> bytes:
    """A server's text frame for ``text``."""
    return encode_frame(_TEXT, text.encode())


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code, then the reason truncated to fit in 125 bytes;
    empty for ``CloseCode.NO_STATUS``, which stands for a close frame without a code.

    Truncation never splits a UTF-8 sequence, so the reason stays valid for the peer.
    """
    if code == CloseCode.NO_STATUS:
        return b""
    raw = reason.encode()
    if len(raw) > MAX_CLOSE_REASON_BYTES:
        raw = raw[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore").encode()
    return _PACK_CODE(code) + raw


def encode_close(
    code: int, reason: str = "", *, side: Side = _SERVER, mask_key: bytes | None = None
) -> bytes:
    """A close frame as ``side`` sends it (see :func:`close_payload`)."""
    return encode_frame(_CLOSE, close_payload(code, reason), side=side, mask_key=mask_key)


# -- the server's parser -------------------------------------------------------------------


class FrameParser:
    """Turns bytes from a client into events; one parser per connection.

    Limits are enforced as early as possible, from the frame headers, before any payload is
    buffered: ``max_message_size`` bounds a whole message (after decompression, when an
    extension is on). Text is validated incrementally, so invalid UTF-8 split across
    fragments fails on the fragment that carries it.

    Cost stays proportional to the bytes received, whatever the frame sizes: a frame whose
    payload has not all arrived is collected in a ``bytearray`` (not re-joined with each read),
    and fragments are appended to one ``bytearray`` (no object kept per fragment). So the
    number of fragments is not what must be limited, only fragments that carry nothing:
    ``max_fragments`` frames per message are allowed whatever their size, and beyond that
    a message may have as many fragments as it has bytes so far (an average of at least one
    byte each). A legal message the size limit allows is never refused for its fragmentation
    unless it is padded with empty fragments.
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
        "_need",
        "_partial",
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
        #: Bytes of a frame whose payload is still arriving, and how many it needs in all.
        self._partial = bytearray()
        self._need = 0
        self._done = False
        self._frag_opcode = -1  # -1: no fragmented message in progress
        self._frag_parts = bytearray()
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
        return len(self._buffer) + len(self._partial) + self._frag_size

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data`` (any chunk of the stream) and return the events it completes."""
        if self._done:
            return []
        if self._need:
            # A large frame is arriving: collect it without re-copying what came before.
            partial = self._partial
            partial += data
            if len(partial) < self._need:
                return []
            buf: bytes | bytearray = partial  # parsed in place: no copy of a large frame
            self._partial = bytearray()
            self._need = 0
        else:
            buf = self._buffer + data if self._buffer else data
        events: list[Event] = []
        pos = 0
        end = len(buf)
        extension = self._inflater is not None
        while end - pos >= 2:
            first = buf[pos]
            opcode = first & 0x0F
            sized = read_length(buf, pos)
            if sized is None:
                break
            length, header = sized
            # Check the header before waiting for the payload, so an oversized or illegal
            # frame is refused without buffering it. The common data frame (a whole message,
            # none in progress, under the limit) has nothing more to check: no call for it.
            failure = check_header(_SERVER, first, buf[pos + 1], length, extension)
            if (
                failure is None
                and opcode < 8
                and (opcode == _CONT or self._frag_opcode >= 0 or length > self.max_message_size)
            ):
                failure = self._check_data_header(first, opcode, length)
            if failure is not None:
                return self._fail(events, failure)
            payload_start = header + 4
            frame_end = payload_start + length
            if frame_end > end:
                if length >= 65536:  # worth collecting in a bytearray (see feed)
                    self._partial = bytearray(buf[pos:])
                    self._need = frame_end - pos
                    self._buffer = b""
                    return events
                break
            body = (
                memoryview(buf)[payload_start:frame_end]
                if length > _UNMASK_CHUNK
                else buf[payload_start:frame_end]
            )
            payload = unmask(body, buf[header:payload_start])
            pos = frame_end
            event = self._on_frame(first, opcode, payload)
            if event is not None:
                if type(event) is ProtocolFailure:
                    return self._fail(events, event)
                events.append(event)
                if self._done:  # a close frame: nothing after it is read
                    self._buffer = b""
                    return events
        self._buffer = bytes(buf[pos:]) if pos < end else b""
        return events

    def _fail(self, events: list[Event], failure: ProtocolFailure) -> list[Event]:
        self._done = True
        self._buffer = b""
        self._partial = bytearray()
        self._need = 0
        self._frag_parts = bytearray()
        events.append(failure)
        return events

    def _check_data_header(self, first: int, opcode: int, length: int) -> ProtocolFailure | None:
        """What the server checks of a data frame's header beyond :func:`check_header`:
        fragmentation and its limits."""
        fragmented = self._frag_opcode >= 0
        if opcode == _CONT or fragmented:
            failure = check_sequence(opcode, fragmented)
            if failure is not None:
                return failure
            if (
                opcode == _CONT
                and self._frag_count >= self.max_fragments
                and self._frag_count >= self._frag_size + length
            ):
                return ProtocolFailure(CloseCode.MESSAGE_TOO_BIG, "too many empty fragments")
        # A compressed message may expand; its size is checked again after inflating.
        if self._frag_size + length > self.max_message_size and not (
            first & 0x40 or self._frag_compressed
        ):
            return _TOO_BIG
        if length > self.max_message_size:
            return _TOO_BIG
        return None

    def _on_frame(self, first: int, opcode: int, payload: bytes) -> Event | None:
        fin = first & 0x80
        if opcode in _MESSAGE_OPCODES:
            compressed = bool(first & 0x40)
            if fin:
                return self._complete(opcode, payload, compressed)
            self._frag_opcode = opcode
            self._frag_parts = bytearray(payload)
            self._frag_size = len(payload)
            self._frag_count = 1
            self._frag_compressed = compressed
            self._frag_decoder = None
            if opcode == _TEXT and not compressed:
                self._frag_decoder = codecs.getincrementaldecoder("utf-8")()
                return self._check_fragment_text(payload, final=False)
            return None
        if opcode == _CONT:
            self._frag_parts += payload
            self._frag_size += len(payload)
            self._frag_count += 1
            if self._frag_size > self.max_message_size:
                return _TOO_BIG
            if self._frag_decoder is not None:
                failure = self._check_fragment_text(payload, final=bool(fin))
                if failure is not None:
                    return failure
            if not fin:
                return None
            whole = bytes(self._frag_parts)
            opcode, compressed = self._frag_opcode, self._frag_compressed
            self._frag_opcode = -1
            self._frag_parts = bytearray()
            self._frag_size = 0
            self._frag_count = 0
            self._frag_decoder = None
            return self._complete(opcode, whole, compressed)
        if opcode == _PING:
            return Ping(payload)
        if opcode == _PONG:
            return Pong(payload)
        # A close frame: after it nothing more is read (section 5.5.1).
        event = parse_close_payload(payload)
        self._done = True
        return event

    def _check_fragment_text(self, payload: bytes, *, final: bool) -> ProtocolFailure | None:
        assert self._frag_decoder is not None
        try:
            self._frag_decoder.decode(payload, final)
        except UnicodeDecodeError:
            return _NOT_UTF8
        return None

    def _complete(self, opcode: int, payload: bytes, compressed: bool) -> Event:
        if compressed:
            assert self._inflater is not None
            inflated = self._inflater.inflate(payload, self.max_message_size)
            if inflated is None:
                return _TOO_BIG
            payload = inflated
        if opcode == _BINARY:
            return BinaryMessage(payload)
        try:  # text_message(), inlined: this runs once per message received
            return TextMessage(payload.decode())
        except UnicodeDecodeError:
            return _NOT_UTF8
