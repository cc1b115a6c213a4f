"""RFC 6455 (sections 5 to 8) and RFC 7692 conformance of ``parley echo --verbatim``.

The echo server is the conformance target client suites expect: every message comes back
unchanged. These tests drive it over real sockets on 127.0.0.1, from a raw client written here
(independent of Parley's framing: it can send what libraries refuse to) and, for compression,
from the independent ``websockets`` library. What they cover:

* framing (5.2): every payload length encoding (7, 16 and 64 bits) at its boundaries, text
  and binary, up to 16 MiB;
* fragmentation (5.4): 1 to 65,536 fragments, 1-byte fragments, control frames (ping) between
  fragments answered at once; continuation without a start, a new message inside one;
* control frames (5.5): pong payloads, a 125-byte ping, refused 126-byte and fragmented ones;
* masking (5.1, 5.3): an unmasked client frame is refused;
* reserved bits and opcodes (5.2): RSV1-3 without an extension, opcodes 3-7 and 0xB-0xF;
* UTF-8 (8.1): invalid text refused with 1007 (fast, on the fragment that breaks it), valid
  code points split across fragment boundaries accepted, a truncated code point at the end;
* closing (5.5.1, 7.1-7.4): codes echoed, invalid codes and 1-byte payloads refused with
  1002, invalid UTF-8 reasons with 1007, the server closes TCP after the handshake;
* limits: one byte over ``--max-message-size`` is 1009; the echo applies backpressure
  instead of closing a client that sends faster than it reads (issue 14, finding 6);
* permessage-deflate (RFC 7692): negotiation with every window-bits and context-takeover
  offer, compressed text and binary of many sizes, fragmented compressed messages, RSV1 on a
  continuation or control frame refused, a declined offer (``server_max_window_bits=8``).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from tests.conftest import TEST_ENV
from tests.helpers.process import ServerProcess, start_server

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
LIMIT = 16 << 20


def mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, masked: bool = True
) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + mask(payload, key)


class Client:
    """A raw WebSocket client with a bytearray read buffer (large messages stay linear)."""

    def __init__(self, port: int, extensions: str | None = None, timeout: float = 20) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET / HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
        ]  # fmt: skip
        if extensions:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.buf = bytearray(rest)
        self.head = head.decode("latin-1")
        assert self.head.startswith("HTTP/1.1 101"), self.head

    def _more(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> tuple[int, bytes, int]:
        """(opcode, payload, first byte) of the next frame."""
        first, second = self._take(2)
        assert not second & 0x80, "server frames are not masked"
        n = second & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return first & 0x0F, self._take(n), first

    def message(self) -> tuple[int, bytes]:
        """The next data message, reassembled (pongs skipped)."""
        parts: list[bytes] = []
        opcode = -1
        while True:
            op, payload, first = self.recv()
            if op == PONG:
                continue
            assert op != CLOSE, ("closed", payload)
            if op != CONT:
                opcode = op
            parts.append(payload)
            if first & 0x80:
                return opcode, b"".join(parts)

    def close_code(self) -> int:
        """Read until the server's close frame; its code (1005 for none)."""
        while True:
            op, payload, _ = self.recv()
            if op == CLOSE:
                return 1005 if not payload else struct.unpack("!H", payload[:2])[0]

    def at_eof(self) -> bool:
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def _start(tmp: Path, *extra: str) -> ServerProcess:
    return start_server(
        "echo", "--verbatim", "--max-message-size", "16MiB", *extra, cwd=tmp, env=TEST_ENV
    )


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = _start(tmp_path_factory.mktemp("echo"))
    yield server
    server.stop()
    assert "Traceback" not in server.output, server.output


@pytest.fixture(scope="module")
def deflate_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = _start(tmp_path_factory.mktemp("deflate"), "--deflate")
    yield server
    server.stop()
    assert "Traceback" not in server.output, server.output


def refused(port: int, data: bytes, code: int) -> None:
    client = Client(port)
    try:
        client.send(data)
        assert client.close_code() == code
    finally:
        client.close()


# -- 5.2 lengths, 5.6 data frames ----------------------------------------------------------


@pytest.mark.parametrize(
    "size", [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, (4 << 20) + 3, LIMIT]
)
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_every_length_is_echoed(echo: ServerProcess, size: int, opcode: int) -> None:
    payload = (
        (b"\xc3\xa9" * (size // 2) + b"a" * (size % 2)) if opcode == TEXT else os.urandom(size)
    )
    client = Client(echo.port)
    client.send(frame(opcode, payload))
    assert client.message() == (opcode, payload)
    client.close()


def test_one_byte_over_the_limit_is_1009(echo: ServerProcess) -> None:
    client = Client(echo.port)
    # The header alone is refused: the payload is never sent.
    client.send(struct.pack("!BBQ", 0x82, 0xFF, LIMIT + 1) + os.urandom(4))
    assert client.close_code() == 1009
    client.close()


# -- 5.4 fragmentation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "pieces"),
    [(10, 1), (10, 2), (1000, 10), (100_000, 1000), (4 << 20, 65536), (256 << 10, 256 << 10)],
    ids=["1", "2", "10", "1000", "4MiB-in-64-byte", "256KiB-in-1-byte"],
)
def test_fragmented_messages_of_any_count(echo: ServerProcess, size: int, pieces: int) -> None:
    payload = os.urandom(size)
    step = size // pieces
    chunks = [payload[i : i + step] for i in range(0, size, step)]
    data = bytearray(frame(BINARY, chunks[0], fin=len(chunks) == 1))
    for index, chunk in enumerate(chunks[1:], 2):
        data += frame(CONT, chunk, fin=index == len(chunks))
    client = Client(echo.port, timeout=60)
    sender = threading.Thread(target=client.send, args=(bytes(data),))
    sender.start()
    assert client.message() == (BINARY, payload)
    sender.join()
    client.close()


def test_pings_between_fragments_are_answered_at_once(echo: ServerProcess) -> None:
    client = Client(echo.port)
    client.send(frame(TEXT, b"Hello, ", fin=False) + frame(PING, b"in between"))
    assert client.recv()[:2] == (PONG, b"in between")  # before the message is complete
    client.send(frame(PONG, b"unsolicited") + frame(CONT, b"world", fin=False))
    client.send(frame(PING, b"") + frame(CONT, b"!"))
    assert client.recv()[:2] == (PONG, b"")
    assert client.message() == (TEXT, b"Hello, world!")
    client.close()


def test_continuation_without_a_start_is_1002(echo: ServerProcess) -> None:
    refused(echo.port, frame(CONT, b"orphan"), 1002)


def test_new_message_inside_a_fragmented_one_is_1002(echo: ServerProcess) -> None:
    refused(echo.port, frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002)


def test_only_empty_padding_fragments_are_refused(echo: ServerProcess) -> None:
    """Past --max-fragments (128) fragments must carry bytes on average: a message padded
    with thousands of empty frames is refused with 1009 (it costs work and carries nothing)."""
    data = frame(TEXT, b"x", fin=False) + b"".join(frame(CONT, b"", fin=False) for _ in range(200))
    refused(echo.port, data + frame(CONT, b"y"), 1009)


# -- 5.5 control frames ---------------------------------------------------------------------


def test_ping_payloads_come_back_in_pongs(echo: ServerProcess) -> None:
    client = Client(echo.port)
    for payload in (b"", b"x", os.urandom(125)):
        client.send(frame(PING, payload))
        assert client.recv()[:2] == (PONG, payload)
    client.close()


@pytest.mark.parametrize(
    "data",
    [
        frame(PING, b"x" * 126),
        frame(PING, b"x", fin=False),
        frame(CLOSE, struct.pack("!H", 1000), fin=False),
        frame(PONG, b"x" * 126),
    ],
    ids=["ping-126", "fragmented-ping", "fragmented-close", "pong-126"],
)
def test_bad_control_frames_are_1002(echo: ServerProcess, data: bytes) -> None:
    refused(echo.port, data, 1002)


# -- 5.1 masking, 5.2 reserved bits and opcodes -------------------------------------------


def test_an_unmasked_client_frame_is_1002(echo: ServerProcess) -> None:
    refused(echo.port, frame(TEXT, b"hi", masked=False), 1002)


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10, 0x70])
def test_reserved_bits_without_an_extension_are_1002(echo: ServerProcess, rsv: int) -> None:
    refused(echo.port, frame(TEXT, b"hi", rsv=rsv), 1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_are_1002(echo: ServerProcess, opcode: int) -> None:
    refused(echo.port, frame(opcode, b""), 1002)


# -- 8.1 UTF-8 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xc3", b"\xe2\x82"],
    ids=["ff", "overlong", "surrogate", "above-10ffff", "truncated", "truncated-3"],
)
def test_invalid_utf8_is_1007(echo: ServerProcess, bad: bytes) -> None:
    refused(echo.port, frame(TEXT, b"ok " + bad), 1007)


def test_code_points_split_across_fragments_are_accepted(echo: ServerProcess) -> None:
    text = "κόσμε 😀 €".encode()
    client = Client(echo.port)
    data = b"".join(
        frame(CONT if i else TEXT, text[i : i + 1], fin=False) for i in range(len(text))
    )
    client.send(data + frame(CONT, b""))
    assert client.message() == (TEXT, text)
    client.close()


def test_invalid_utf8_fails_fast_on_its_fragment(echo: ServerProcess) -> None:
    """The message never ends, but the fragment with the bad byte is enough (8.1)."""
    client = Client(echo.port)
    client.send(frame(TEXT, "κόσμε".encode(), fin=False) + frame(CONT, b"\xed\xa0\x80", fin=False))
    assert client.close_code() == 1007
    client.close()


def test_a_code_point_truncated_at_the_end_of_a_fragmented_message_is_1007(
    echo: ServerProcess,
) -> None:
    refused(echo.port, frame(TEXT, b"ok \xf0\x9f", fin=False) + frame(CONT, b"\x98"), 1007)


# -- 5.5.1 and 7 closing ------------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
def test_valid_close_codes_are_echoed_and_tcp_closed(echo: ServerProcess, code: int) -> None:
    client = Client(echo.port, timeout=5)
    client.send(frame(CLOSE, struct.pack("!H", code) + "fin ✓".encode()))
    assert client.close_code() == code
    assert client.at_eof()  # the server closes the TCP connection first (7.1.1)
    client.close()


def test_a_close_without_a_code_is_answered_without_one(echo: ServerProcess) -> None:
    client = Client(echo.port, timeout=5)
    client.send(frame(CLOSE, b""))
    assert client.close_code() == 1005
    client.close()


@pytest.mark.parametrize(
    "code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes_are_1002(echo: ServerProcess, code: int) -> None:
    refused(echo.port, frame(CLOSE, struct.pack("!H", code)), 1002)


def test_a_one_byte_close_payload_is_1002(echo: ServerProcess) -> None:
    refused(echo.port, frame(CLOSE, b"\x03"), 1002)


def test_a_close_reason_that_is_not_utf8_is_1007(echo: ServerProcess) -> None:
    refused(echo.port, frame(CLOSE, struct.pack("!H", 1000) + b"\xff\xfe"), 1007)


def test_nothing_after_a_close_is_echoed(echo: ServerProcess) -> None:
    client = Client(echo.port, timeout=5)
    client.send(frame(CLOSE, struct.pack("!H", 1000)) + frame(TEXT, b"too late"))
    assert client.recv()[0] == CLOSE  # and no echo of "too late" before or after it
    assert client.at_eof()
    assert not client.buf
    client.close()


# -- backpressure (issue 14, finding 6) ---------------------------------------------------


def test_a_client_that_sends_faster_than_it_reads_is_slowed_not_closed(echo: ServerProcess) -> None:
    """A client sends 1 MiB messages without reading anything: the echo stops reading while
    its client has more than the high-water mark unread, so the sender stalls, and every
    message comes back once the client reads.

    The stall is what is checked, not a time: the kernel's buffers on the way (the echo's
    receive buffer autotunes up to ``net.ipv4.tcp_rmem``'s maximum, 32 MiB on some machines,
    plus both send buffers) absorb tens of MiB before TCP holds the sender back, so the
    sender offers far more than they can hold and must stop well before the end."""
    total = 128  # MiB: more than every buffer on the way can hold
    client = Client(echo.port, timeout=60)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    block = os.urandom(1 << 20)

    def payload(i: int) -> bytes:
        return i.to_bytes(8, "big") + block[8:]

    sent = 0
    done = threading.Event()

    def send_all() -> None:
        nonlocal sent
        for i in range(total):
            client.send(frame(BINARY, payload(i)))
            sent = i + 1
        done.set()

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    stalled_at = -1
    last = -1
    for _ in range(120):  # at most 30 s to stall
        done.wait(0.5)
        if done.is_set():
            break
        if sent == last:
            stalled_at = sent
            break
        last = sent
    assert not done.is_set(), "the echo read all 128 MiB while its client read nothing"
    assert 0 < stalled_at < total
    for i in range(total):
        assert client.message() == (BINARY, payload(i))
    sender.join(10)
    assert done.is_set()
    client.close()


# -- RFC 7692 permessage-deflate ------------------------------------------------------------


OFFERS = [
    {},
    {"client_max_window_bits": None},
    {"client_max_window_bits": 9},
    {"client_max_window_bits": 12},
    {"client_max_window_bits": 15},
    {"server_max_window_bits": 9},
    {"server_max_window_bits": 12},
    {"server_max_window_bits": 15},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 10, "client_max_window_bits": 9, "client_no_context_takeover": True},
]


@pytest.mark.parametrize("offer", OFFERS, ids=[str(sorted(o.items())) or "plain" for o in OFFERS])
async def test_deflate_with_every_offer(
    deflate_echo: ServerProcess, offer: dict[str, object]
) -> None:
    factory = ClientPerMessageDeflateFactory(**offer)  # type: ignore[arg-type]
    messages: list[str | bytes] = [
        "", "a", "hello " * 100, "κόσμε 😀" * 1000, os.urandom(300), b"\0" * 100_000,
        ("compressible " * 80_000), os.urandom(1 << 20),
    ]  # fmt: skip
    async with ws_connect(
        deflate_echo.ws_url, extensions=[factory], compression=None, max_size=LIMIT
    ) as ws:
        header = ws.response.headers["Sec-WebSocket-Extensions"]
        assert header.startswith("permessage-deflate")
        if "server_max_window_bits" in offer:
            assert f"server_max_window_bits={offer['server_max_window_bits']}" in header
        for message in messages * 2:  # twice: no state may leak from one message to the next
            await ws.send(message)
            assert await asyncio.wait_for(ws.recv(), 20) == message


def test_deflate_fragmented_compressed_message(deflate_echo: ServerProcess) -> None:
    text = ("fragmented and compressed " * 5000).encode()
    squeezer = zlib.compressobj(wbits=-15)
    body = squeezer.compress(text) + squeezer.flush(zlib.Z_SYNC_FLUSH)
    assert body.endswith(b"\x00\x00\xff\xff")
    body = body[:-4]
    client = Client(deflate_echo.port, extensions="permessage-deflate")
    assert "permessage-deflate" in client.head
    third = len(body) // 3
    client.send(frame(TEXT, body[:third], fin=False, rsv=0x40))  # RSV1 on the first only
    client.send(frame(PING, b"p") + frame(CONT, body[third : 2 * third], fin=False))
    client.send(frame(CONT, body[2 * third :]))
    assert client.recv()[:2] == (PONG, b"p")
    op, payload, first = client.recv()
    assert op == TEXT
    if first & 0x40:
        payload = zlib.decompressobj(wbits=-15).decompress(payload + b"\x00\x00\xff\xff")
    assert payload == text
    client.close()


def test_deflate_uncompressed_messages_are_accepted(deflate_echo: ServerProcess) -> None:
    client = Client(deflate_echo.port, extensions="permessage-deflate")
    client.send(frame(BINARY, b"not compressed"))
    assert client.message() == (BINARY, b"not compressed")
    client.close()


@pytest.mark.parametrize(
    "data",
    [
        frame(TEXT, b"a", fin=False) + frame(CONT, b"b", rsv=0x40),
        frame(PING, b"p", rsv=0x40),
        frame(TEXT, b"x", rsv=0x20),
    ],
    ids=["rsv1-on-continuation", "rsv1-on-ping", "rsv2"],
)
def test_deflate_misplaced_reserved_bits_are_1002(deflate_echo: ServerProcess, data: bytes) -> None:
    client = Client(deflate_echo.port, extensions="permessage-deflate")
    client.send(data)
    assert client.close_code() == 1002
    client.close()


def test_deflate_bomb_over_the_limit_is_1009(deflate_echo: ServerProcess) -> None:
    squeezer = zlib.compressobj(wbits=-15)
    body = squeezer.compress(b"\0" * (LIMIT + 1)) + squeezer.flush(zlib.Z_SYNC_FLUSH)
    client = Client(deflate_echo.port, extensions="permessage-deflate")
    client.send(frame(BINARY, body[:-4], rsv=0x40))
    assert client.close_code() == 1009
    client.close()


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; unknown_param",
        "x-webkit-deflate-frame",
    ],
)
def test_deflate_offers_that_cannot_be_accepted_are_declined(
    deflate_echo: ServerProcess, offer: str
) -> None:
    client = Client(deflate_echo.port, extensions=offer)
    assert "sec-websocket-extensions" not in client.head.lower()
    client.send(frame(TEXT, b"plain"))
    assert client.message() == (TEXT, b"plain")
    client.close()


def test_without_deflate_the_offer_is_declined(echo: ServerProcess) -> None:
    client = Client(echo.port, extensions="permessage-deflate; client_max_window_bits")
    assert "sec-websocket-extensions" not in client.head.lower()
    client.close()
