"""permessage-deflate (RFC 7692), bounded, without I/O.

Parley negotiates the extension only when the operator enables it (``--deflate``), and
always without context takeover in both directions (sections 7.1.1.1 and 7.1.1.2: a server
may require ``client_no_context_takeover`` even when the client did not offer it). Two things
follow, and they are why:

* **No memory per idle connection.** Without context takeover no zlib stream outlives a
  message: an idle connection holds no compressor or decompressor (with takeover, zlib's
  state costs about 300 KiB per connection at the default window and memory level).
* **Compress once for everyone.** The compressed form of a message then depends only on the
  message, so a broadcast compresses it once and sends the same bytes to every connection
  that negotiated the extension (see :class:`FrameCompressor`).

Decompression is bounded: :meth:`Inflater.inflate` stops as soon as the output would pass the
message size limit, so a small compressed frame cannot expand into gigabytes (a
decompression bomb) before it is refused with 1009.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from parley.websocket.codes import Opcode
from parley.websocket.frames import encode_frame

EXTENSION = "permessage-deflate"
# The four bytes every sync flush ends with; removed on the wire (section 7.2.1).
_TAIL = b"\x00\x00\xff\xff"
_COMPRESSIBLE = frozenset((Opcode.TEXT, Opcode.BINARY))  # data messages (section 6)


@dataclass(frozen=True, slots=True)
class DeflateSettings:
    """The operator's settings (``parley serve --deflate ...``)."""

    #: zlib compression level, 1 (fast) to 9 (small).
    level: int = 6
    #: zlib memLevel for the compressor, 1 to 9: memory used while compressing one message.
    mem_level: int = 8
    #: Window bits used to compress (9 to 15); also offered to the client as the server's max.
    window_bits: int = 15
    #: Messages shorter than this are sent uncompressed (RFC 7692 allows mixing).
    min_size: int = 256


def _params(header: str) -> list[tuple[str, dict[str, str | None]]]:
    """Parse ``Sec-WebSocket-Extensions`` into offers: ``[(name, {param: value})]``."""
    offers = []
    for offer in header.split(","):
        parts = [part.strip() for part in offer.split(";")]
        if not parts[0]:
            continue
        params: dict[str, str | None] = {}
        for part in parts[1:]:
            if not part:
                continue
            key, eq, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"') if eq else None
        offers.append((parts[0].lower(), params))
    return offers


def negotiate(header: str | None, settings: DeflateSettings) -> str | None:
    """The ``Sec-WebSocket-Extensions`` response for the client's offer, or None to decline.

    Accepts the first permessage-deflate offer whose parameters are valid; an offer that
    limits the server's window to fewer bits than zlib supports (8) is declined.
    """
    if not header:
        return None
    for name, params in _params(header):
        if name != EXTENSION:
            continue
        known = {
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        }
        if set(params) - known:
            continue
        response = [EXTENSION, "server_no_context_takeover", "client_no_context_takeover"]
        server_bits = params.get("server_max_window_bits", "absent")
        if server_bits != "absent":
            if server_bits is None or not server_bits.isdigit() or not 9 <= int(server_bits) <= 15:
                continue
            response.append(f"server_max_window_bits={min(int(server_bits), settings.window_bits)}")
        client_bits = params.get("client_max_window_bits", "absent")
        if client_bits not in ("absent", None) and (
            not client_bits.isdigit() or not 8 <= int(client_bits) <= 15
        ):
            continue
        return "; ".join(response)
    return None


def window_bits_of(response: str, settings: DeflateSettings) -> int:
    """The window bits the server agreed to compress with, from its own response."""
    for part in response.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "server_max_window_bits":
            return int(value)
    return settings.window_bits


class Inflater:
    """Decompresses one client message at a time (no context takeover), bounded."""

    __slots__ = ()

    def inflate(self, payload: bytes, max_size: int) -> bytes | None:
        """The message, or None when it would be larger than ``max_size`` bytes."""
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(payload + _TAIL, max_size + 1)
        except zlib.error:
            return None
        if len(data) > max_size or inflater.unconsumed_tail:
            return None
        return data


class FrameCompressor:
    """Compresses server frames for connections that negotiated the extension.

    Broadcasts call :meth:`compress` with the same frame object for every member; the last
    result is remembered, so the message is compressed once per broadcast, not once per
    connection.
    """

    __slots__ = ("_last_in", "_last_out", "settings", "window_bits")

    def __init__(self, settings: DeflateSettings, window_bits: int | None = None) -> None:
        self.settings = settings
        self.window_bits = window_bits or settings.window_bits
        self._last_in: bytes | None = None
        self._last_out = b""

    def compress(self, frame: bytes) -> bytes:
        """The compressed equivalent of an unfragmented, unmasked text or binary frame.

        Control frames and short messages come back unchanged.
        """
        if frame is self._last_in:
            return self._last_out
        first = frame[0]
        opcode = first & 0x0F
        length = frame[1] & 0x7F
        header = 2 if length < 126 else 4 if length == 126 else 10
        payload = frame[header:]
        if opcode not in _COMPRESSIBLE or len(payload) < self.settings.min_size:
            out = frame
        else:
            out = encode_frame(opcode, self.compress_payload(payload), rsv1=True)
        self._last_in, self._last_out = frame, out
        return out

    def compress_payload(self, payload: bytes) -> bytes:
        compressor = zlib.compressobj(
            self.settings.level, zlib.DEFLATED, -self.window_bits, self.settings.mem_level
        )
        data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4] if data.endswith(_TAIL) else data
