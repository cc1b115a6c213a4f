"""Bad input gets a clear answer (a close code or an HTTP status) and never disturbs others."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers.process import ServerProcess
from tests.helpers.rawws import RawClient, client_frame, http_request


@pytest.fixture
async def bystanders(chat_server: ServerProcess) -> AsyncIterator[list[ClientConnection]]:
    """Two well-behaved clients that must keep chatting whatever the others do."""
    clients = [await connect(chat_server.ws_url), await connect(chat_server.ws_url)]
    yield clients
    for ws in clients:
        await ws.close()


async def assert_still_chatting(clients: list[ClientConnection], text: str = "still fine") -> None:
    await clients[0].send(text)
    for ws in clients:
        # Skip anything a misbehaving client managed to broadcast before being closed.
        while (message := await asyncio.wait_for(ws.recv(), 5)) != text:
            pass
        assert message == text


@pytest.fixture
def raw(chat_server: ServerProcess) -> Iterator[Callable[[], RawClient]]:
    """Open raw clients to the chat server; all are closed after the test."""
    opened: list[RawClient] = []

    def open_client() -> RawClient:
        client = RawClient(chat_server.port, "/")
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


async def test_invalid_utf8_closes_with_1007(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_frame(1, b"bad \xff\xfe text")
    assert client.recv_close().close_code == 1007
    assert client.at_eof()
    await assert_still_chatting(bystanders)


async def test_invalid_utf8_split_across_fragments_closes_with_1007(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_frame(1, b"caf\xc3", fin=False)
    client.send_frame(0, b"\x28 oops")
    assert client.recv_close().close_code == 1007
    await assert_still_chatting(bystanders)


async def test_message_over_the_frame_limit_closes_with_1009(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    # chat_server runs with --max-message-size 8KiB
    client = raw()
    client.send_text("x" * 8193)
    assert client.recv_close().close_code == 1009
    await assert_still_chatting(bystanders, "after big")


async def test_text_over_the_chat_limit_closes_a_guest_with_1009(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    # chat_server runs with --max-text 7000: a guest's message at the limit is delivered
    client = raw()
    client.send_text("y" * 7000)
    assert client.recv_frame().payload == b"y" * 7000
    client.send_text("y" * 7001)
    close = client.recv_close()
    assert close.close_code == 1009
    assert b"7000 characters" in close.payload
    await assert_still_chatting(bystanders, "after long")


async def test_echo_frame_limit_is_exact(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("echo", "--max-message-size", "4KiB", "--verbatim")
    client = RawClient(server.port)
    try:
        client.send_text("z" * 4096)
        assert client.recv_frame().payload == b"z" * 4096
        client.send_text("z" * 4097)
        assert client.recv_close().close_code == 1009
    finally:
        client.close()


async def test_oversized_length_is_refused_before_the_payload_is_sent(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_raw(struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 40) + b"mask")
    assert client.recv_close().close_code == 1009
    await assert_still_chatting(bystanders)


async def test_unmasked_frame_closes_with_1002(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_frame(1, b"hi", mask=False)
    assert client.recv_close().close_code == 1002
    await assert_still_chatting(bystanders)


async def test_reserved_opcode_closes_with_1002(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_frame(0x3, b"")
    assert client.recv_close().close_code == 1002
    await assert_still_chatting(bystanders)


async def test_binary_in_plain_text_mode_closes_with_1003(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    client = raw()
    client.send_frame(2, b"\x00\x01")
    assert client.recv_close().close_code == 1003
    await assert_still_chatting(bystanders)


async def test_disconnect_mid_message_is_a_disconnect(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    before = chat_server.count("Client disconnected")
    client = raw()
    # Half a frame: header says 100 bytes, only 10 arrive, then the socket goes away.
    client.send_raw(struct.pack("!BB", 0x81, 0x80 | 100) + b"mask" + b"0123456789")
    client.close()
    chat_server.wait_for_count("Client disconnected", before + 1)
    await assert_still_chatting(bystanders)


async def test_disconnect_mid_fragmented_message_is_a_disconnect(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    before = chat_server.count("Client disconnected")
    client = raw()
    client.send_frame(1, b"first half", fin=False)
    client.close()
    chat_server.wait_for_count("Client disconnected", before + 1)
    await assert_still_chatting(bystanders)


async def test_plain_http_request_on_the_websocket_url_is_426(chat_server: ServerProcess) -> None:
    answer = http_request(chat_server.port, b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 426")
    assert b"WebSocket only" in answer


@pytest.mark.parametrize(
    ("request_headers", "status"),
    [
        ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n", b"400"),
        (
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: short\r\n",
            b"400",
        ),
        (
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 7\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            b"426",
        ),
        (
            "Upgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            b"400",
        ),
        (
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n",
            b"400",
        ),
    ],
)
async def test_malformed_upgrades_get_a_4xx(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    request_headers: str,
    status: bytes,
) -> None:
    for path in ("/", "/ws"):
        answer = http_request(
            chat_server.port,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{request_headers}\r\n".encode(),
        )
        assert answer.split(b" ", 2)[1] == status, answer
    await assert_still_chatting(bystanders)


async def test_garbage_instead_of_http_is_400(
    chat_server: ServerProcess, bystanders: list[ClientConnection]
) -> None:
    answer = http_request(chat_server.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    assert answer.split(b" ", 2)[1] == b"400", answer
    await assert_still_chatting(bystanders)


async def test_websocket_data_sent_with_the_request_is_not_lost(chat_server: ServerProcess) -> None:
    """A client that pipelines its first frame right behind the handshake request."""
    listener = await connect(chat_server.ws_url)
    client = RawClient(chat_server.port, handshake=False)
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    client.send_raw(request + client_frame(1, b"eager"))
    assert await asyncio.wait_for(listener.recv(), 5) == "eager"
    await listener.close()
    client.close()


async def test_nul_in_a_guest_message_closes_with_1007(
    chat_server: ServerProcess,
    bystanders: list[ClientConnection],
    raw: Callable[[], RawClient],
) -> None:
    # U+0000 cannot be stored in every database and is never needed in chat text.
    client = raw()
    client.send_text("a\x00b")
    assert client.recv_close().close_code == 1007
    await assert_still_chatting(bystanders)
