"""The hot path's shortcuts change how bytes are written, never which bytes.

Parley builds a broadcast's frame once and queues the same bytes for every connection, and
joins the frames due to one connection in a loop pass into one write. These tests compare
what a connection writes that way with the plain path — each message encoded for each
connection and written on its own, here by an independent implementation (the `websockets`
library's Sans-I/O server) — and check it is exactly the same byte stream, in the same order.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import pytest
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.protocol import SERVER, Protocol

from parley.config import WebSocketLimits
from parley.peer import PreparedText
from parley.server import connection as connection_module
from parley.server.connection import ConnectionContext, Flusher, WebSocketConnection
from parley.websocket.deflate import DeflateSettings, FrameCompressor, Inflater
from parley.websocket.frames import FrameParser, encode_text


class RecordingTransport(asyncio.Transport):
    """Stands in for a socket: records every write (a socket cannot be inspected)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (16384, 65536)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass  # nothing is ever buffered here

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


class Quiet:
    def on_open(self, conn: WebSocketConnection) -> None: ...
    def on_text(self, conn: WebSocketConnection, text: str) -> None: ...
    def on_binary(self, conn: WebSocketConnection, data: bytes) -> None: ...
    def on_closed(self, conn: WebSocketConnection) -> None: ...


def connections(
    count: int, compressor: FrameCompressor | None = None
) -> tuple[list[WebSocketConnection], list[RecordingTransport], Flusher]:
    loop = asyncio.get_running_loop()
    flusher = Flusher(loop)
    ctx = ConnectionContext(WebSocketLimits(), flusher)
    conns, transports = [], []
    for _ in range(count):
        transport = RecordingTransport()
        conn = WebSocketConnection(
            transport,
            parser=FrameParser(max_message_size=1 << 20),
            handler=Quiet(),
            ctx=ctx,
            remote="127.0.0.1",
            compressor=compressor,
        )
        conn.connection_made(transport)
        conns.append(conn)
        transports.append(transport)
    return conns, transports, flusher


def reference_stream(messages: list[str], *, deflate: bool = False) -> bytes:
    """What the plain path writes: websockets' own server encoding, one message at a time."""
    extensions = []
    if deflate:
        factory = ServerPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True
        )
        _, extension = factory.process_request_params([], [])
        extensions.append(extension)
    protocol = Protocol(SERVER)
    protocol.extensions = extensions
    out = b""
    for text in messages:
        protocol.send_text(text.encode())
        out += b"".join(protocol.data_to_send())
    return out


MESSAGES = ["hello", "", "ünïcødé ✓", "x" * 125, "y" * 126, "z" * 70_000, '{"type":"event"}']


async def test_broadcast_coalesced_equals_the_plain_path() -> None:
    conns, transports, flusher = connections(50)
    for text in MESSAGES:
        frame = encode_text(text)  # built once ...
        for conn in conns:
            conn.send_frame(frame)  # ... queued for everyone
    flusher.flush()
    expected = reference_stream(MESSAGES)
    for transport in transports:
        assert b"".join(transport.writes) == expected
        assert len(transport.writes) == 1  # seven frames, one system call


async def test_interleaved_broadcasts_and_private_messages_keep_their_order() -> None:
    conns, transports, flusher = connections(3)
    plan = []
    for n in range(40):
        shared = f"broadcast {n}"
        frame = encode_text(shared)
        for conn in conns:
            conn.send_frame(frame)
        private = f"just for one {n}"
        conns[n % 3].send_text(private)
        plan.append((shared, n % 3, private))
        if n % 7 == 0:
            flusher.flush()  # some loop passes end in the middle
    flusher.flush()
    for index, transport in enumerate(transports):
        messages = []
        for shared, target, private in plan:
            messages.append(shared)
            if target == index:
                messages.append(private)
        assert b"".join(transport.writes) == reference_stream(messages)


@pytest.mark.parametrize("count", [1, 20])
async def test_compressed_broadcast_equals_compressing_for_each_connection(count: int) -> None:
    settings = DeflateSettings()
    shared = FrameCompressor(settings)
    conns, transports, flusher = connections(count, shared)
    texts = ["short", "long " * 200, "ünïcødé " * 100, "z" * 70_000]
    for text in texts:
        frame = encode_text(text)
        for conn in conns:
            conn.send_frame(frame)
    flusher.flush()
    # The plain path: a compressor of its own for each connection, each message on its own.
    for transport in transports:
        own = FrameCompressor(settings)
        expected = b"".join(own.compress(encode_text(text)) for text in texts)
        assert b"".join(transport.writes) == expected
    # And what a client receives inflates back to the messages.
    assert _decode_server_stream(b"".join(transports[0].writes)) == texts


def _decode_server_stream(stream: bytes) -> list[str]:
    """Parse unmasked server frames and inflate RSV1 ones (RFC 7692, no context takeover)."""
    texts = []
    pos = 0
    while pos < len(stream):
        first, second = stream[pos], stream[pos + 1]
        length, header = second & 0x7F, 2
        if length == 126:
            length, header = int.from_bytes(stream[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, header = int.from_bytes(stream[pos + 2 : pos + 10], "big"), 10
        payload = stream[pos + header : pos + header + length]
        if first & 0x40:
            payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
        texts.append(payload.decode())
        pos += header + length
    return texts


async def test_compressed_frames_match_the_websockets_library() -> None:
    """Independent check of the compressed bytes: websockets (no context takeover) produces
    frames that inflate to the same text, and Parley's inflater reads websockets' frames."""
    texts = ["long " * 200, "ünïcødé " * 100]
    reference = reference_stream(texts, deflate=True)
    assert _decode_server_stream(reference) == texts
    inflater = Inflater()
    for text in texts:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        assert inflater.inflate(body[:-4], 1 << 20) == text.encode()


def test_reference_frames_are_plain_frames() -> None:
    """Guard for the reference itself: websockets encodes like RFC 6455 says."""
    assert reference_stream(["hi"]) == b"\x81\x02hi"


async def test_a_prepared_message_is_encoded_once_for_every_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the chat layer sends to many peers (``Peer.send_prepared``) is encoded by the
    first connection and the same bytes are queued for the others: the plain path's bytes."""
    encoded: list[bytes] = []
    real_encode = connection_module.encode_frame

    def counting_encode(opcode: int, payload: bytes, **kwargs: Any) -> bytes:
        encoded.append(payload)
        return real_encode(opcode, payload, **kwargs)

    monkeypatch.setattr(connection_module, "encode_frame", counting_encode)
    conns, transports, flusher = connections(30)
    for text in MESSAGES:
        message = PreparedText(text)
        for conn in conns:
            conn.send_prepared(message)
    flusher.flush()
    assert len(encoded) == len(MESSAGES)
    for transport in transports:
        assert b"".join(transport.writes) == reference_stream(MESSAGES)
        assert len(transport.writes) == 1


async def test_a_prepared_message_is_compressed_once_per_deflate_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compressed: list[int] = []
    real_compress = FrameCompressor.compress_payload

    def counting_compress(self: FrameCompressor, payload: bytes) -> bytes:
        compressed.append(self.window_bits)
        return real_compress(self, payload)

    monkeypatch.setattr(FrameCompressor, "compress_payload", counting_compress)
    settings = DeflateSettings()
    small_window = FrameCompressor(settings, 10)
    wide, wide_transports, wide_flusher = connections(10, FrameCompressor(settings))
    narrow, narrow_transports, narrow_flusher = connections(10, small_window)
    texts = ["long " * 200, "ünïcødé " * 100]
    for text in texts:
        message = PreparedText(text.encode())
        for conn in wide + narrow:
            conn.send_prepared(message)
    wide_flusher.flush()
    narrow_flusher.flush()
    assert sorted(compressed) == [10, 10, 15, 15]
    for transport in wide_transports + narrow_transports:
        assert _decode_server_stream(b"".join(transport.writes)) == texts
