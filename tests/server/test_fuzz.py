"""Fuzzing over real sockets (bounded, loopback only): malformed handshakes, random frame
sequences and random protocol frames never crash the server, never produce a traceback, and
never disturb the clients that behave. The server fixture fails any test whose server printed
a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect as ws_connect
from websockets.sync.client import connect as sync_connect

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess
from tests.helpers.rawws import RawClient, http_request

Factory = Callable[..., ServerProcess]

KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
HANDSHAKE = ("Upgrade: websocket", "Connection: Upgrade", KEY)


def req(first: str, *headers: str, body: bytes = b"") -> bytes:
    """A request: its first line, headers (Host added), then the body."""
    lines = [first, "Host: 127.0.0.1", *headers]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


V13 = "Sec-WebSocket-Version: 13"
MALFORMED_REQUESTS = [
    b"GET / HTTP/1.1\r\n\r\n",
    req("get /ws HTTP/1.1", *HANDSHAKE, V13),
    req("GET /ws HTTP/1.0", *HANDSHAKE, V13),
    req("GET /ws HTTP/1.1", *HANDSHAKE, KEY, V13),
    req(
        "GET /ws HTTP/1.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: \x00\x01",
        V13,
    ),
    req("GET /ws HTTP/1.1", *HANDSHAKE, "Sec-WebSocket-Version: 13, 8"),
    req("GET /ws HTTP/1.1", "Upgrade: websocket, websocket", "Connection: Upgrade", KEY),
    req("GET http://evil.example/ws HTTP/1.1", *HANDSHAKE, V13),
    req("GET /" + "a" * 20000 + " HTTP/1.1"),
    req("GET /ws HTTP/1.1", "X-Folded: a", "  continued", *HANDSHAKE),
    req("GET /ws HTTP/1.1", "No-Colon-Here"),
    req("GET /ws HTTP/1.1", "X-Null: a\x00b"),
    req("GET /ws HTTP/1.1", "Transfer-Encoding: chunked", "Content-Length: 5", body=b"0\r\n\r\n"),
    req("GET /ws HTTP/1.1", "Content-Length: -1"),
    req(
        "POST /api/login HTTP/1.1",
        "Content-Type: application/json",
        "Content-Length: 10",
        body=b"{",
    ),
    req(
        "POST /api/login HTTP/1.1",
        "Content-Type: application/json",
        "Content-Length: 200000",
        body=b"x" * 70000,
    ),
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64),
    b"\r\n\r\n\r\n",
    os.urandom(512),
]


#: Unusual but valid: a lower-case method is accepted by aiohttp's parser, and a request
#: target in absolute form must be accepted by HTTP/1.1 servers (RFC 9112 section 3.2.2).
MAY_UPGRADE = {1, 7}


@pytest.mark.parametrize("index", range(len(MALFORMED_REQUESTS)))
async def test_malformed_handshakes_get_an_http_answer_or_a_close(
    server_factory: Factory, index: int
) -> None:
    raw = MALFORMED_REQUESTS[index]
    server = server_factory("serve")
    answer = await asyncio.to_thread(http_request, server.port, raw, 3.0)
    if answer:
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), answer[:200]
        status = int(status_line.split(b" ")[1])
        assert status < 500, answer[:300]  # the client's fault, never ours
        assert status != 101 or index in MAY_UPGRADE, answer[:200]
    async with ws_connect(server.ws_url) as a, ws_connect(server.ws_url) as b:
        await a.send("still fine")
        assert await asyncio.wait_for(b.recv(), 5) == "still fine"


@st.composite
def raw_frame(draw: st.DrawFn) -> bytes:
    """A frame with every field chosen at random, valid or not."""
    fin = draw(st.booleans())
    rsv = draw(st.sampled_from([0, 0, 0, 0x40, 0x20, 0x10, 0x70]))
    opcode = draw(st.sampled_from([0, 1, 1, 2, 2, 8, 9, 10, 3, 11, 15]))
    masked = draw(st.sampled_from([True, True, True, False]))
    payload = draw(
        st.one_of(
            st.binary(max_size=40),
            st.text(max_size=20).map(str.encode),
            st.sampled_from([b"\xff\xfe", b"\xc3", b"\xe2\x82", struct.pack("!H", 1000) + b"\xff"]),
        )
    )
    length_form = draw(st.sampled_from(["exact", "exact", "lie_big", "lie_small", "long16"]))
    n = len(payload)
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    if length_form == "lie_big":
        header = struct.pack("!BBQ", first, mask_bit | 127, draw(st.integers(2**20, 2**63 - 1)))
    elif length_form == "lie_small" and n:
        header = struct.pack("!BB", first, mask_bit | (n - 1))
    elif length_form == "long16":
        header = struct.pack("!BBH", first, mask_bit | 126, n)  # non-minimal encoding
    else:
        header = struct.pack("!BB", first, mask_bit | n)
    if not masked:
        return header + payload
    key = draw(st.binary(min_size=4, max_size=4))
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    from tests.conftest import TEST_ENV
    from tests.helpers.process import start_server

    folder = tmp_path_factory.mktemp("fuzz")
    server = start_server(
        "serve", "--rate-burst", "100000", "--rate-limit", "100000", cwd=folder, env=TEST_ENV
    )
    yield server  # type: ignore[misc]
    server.stop()
    assert "Traceback" not in server.output, server.output


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(raw_frame(), min_size=1, max_size=8), split=st.integers(1, 13))
def test_random_frame_sequences(
    fuzz_server: ServerProcess, frames: list[bytes], split: int
) -> None:
    client = RawClient(fuzz_server.port, timeout=3)
    try:
        stream = b"".join(frames)
        # Whatever happened, the server either still talks to us or closed properly; after a
        # violation it may drop the connection while we are still sending (a broken pipe).
        try:
            for i in range(0, len(stream), split):
                client.send_raw(stream[i : i + split])
            client.send_raw(b"\x88\x82" + b"\x00\x00\x00\x00" + struct.pack("!H", 1000))
            while True:
                frame = client.recv_frame()
                if frame.opcode == 8:
                    code = frame.close_code
                    assert code in (1000, 1002, 1003, 1005, 1007, 1009), code
                    break
        except (ConnectionError, TimeoutError, OSError):
            pass  # dropped: allowed after a violation
    finally:
        client.close()
    # The server still chats. (A guest receives what is said once it has joined the lobby's
    # feed, a moment after its handshake: say it until it is heard, within a bound.)
    with sync_connect(fuzz_server.ws_url) as a, sync_connect(fuzz_server.ws_url) as b:
        deadline = time.monotonic() + 10
        heard = False
        while not heard and time.monotonic() < deadline:
            a.send("alive")
            with contextlib.suppress(TimeoutError):
                while not heard:
                    heard = b.recv(timeout=0.5) == "alive"
        assert heard


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
commands = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "send",
                "edit",
                "delete",
                "join",
                "leave",
                "create",
                "history",
                "resume",
                "typing",
                "read",
                "dm",
                "invite",
                "who",
                "rooms",
                "topic",
                "ping",
                "auth",
                "bogus",
            ]
        )
    },
    optional={
        "id": st.one_of(st.text(max_size=70), json_values),
        "room": st.one_of(st.sampled_from(["lobby", "dev", "dm:a:b", "x y", ""]), json_values),
        "text": json_values,
        "cid": json_values,
        "mid": st.one_of(st.integers(-5, 10**12), json_values),
        "seq": st.one_of(st.integers(-5, 10**12), json_values),
        "rooms": json_values,
        "limit": json_values,
        "before": json_values,
        "user": json_values,
        "private": json_values,
        "topic": json_values,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(st.one_of(commands, json_values), min_size=1, max_size=6))
def test_random_protocol_frames_keep_the_connection_usable(
    fuzz_server: ServerProcess, frames: list[object]
) -> None:
    async def run() -> None:
        token = _token(fuzz_server)
        chat = await Chat.connect(fuzz_server.ws_url, token)
        try:
            for frame in frames:
                await chat.send_raw(json.dumps(frame))
            pong = await chat.command("ping")
            assert pong["type"] == "pong"
            assert not chat.closed.done()
        finally:
            await chat.close()

    asyncio.run(run())


_tokens: dict[int, str] = {}


def _token(server: ServerProcess) -> str:
    if server.port not in _tokens:
        _tokens[server.port] = register(server.http_url, "fuzzer")
    return _tokens[server.port]
