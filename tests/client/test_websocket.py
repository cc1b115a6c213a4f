"""The client connection (``parley.client.websocket``) against hand-written servers that
misbehave on purpose: silence, a frame a server must not send, a refusal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from parley.client.errors import ConnectionClosed, HandshakeRefused
from parley.client.urls import parse_url
from parley.client.websocket import WebSocket
from parley.websocket.codes import Opcode
from parley.websocket.frames import FrameParser, encode_frame
from parley.websocket.handshake import accept_key

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read an upgrade request and answer 101 (no subprotocol)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    key = next(
        line.split(":", 1)[1].strip()
        for line in head.split("\r\n")
        if line.lower().startswith("sec-websocket-key:")
    )
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
    )


@pytest.fixture
async def stub() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """``url = await stub(handler)``: a TCP server on a free port running ``handler``; at the
    end, every connection is closed and every handler still running is cancelled."""
    servers: list[asyncio.Server] = []
    running: set[asyncio.Task[None]] = set()

    async def start(handler: Handler) -> str:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            running.add(task)
            try:
                await handler(reader, writer)
            finally:
                writer.close()
                running.discard(task)

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        servers.append(server)
        return f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"

    yield start
    for task in list(running):
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_silent_server_is_noticed_by_the_keepalive(
    stub: Callable[..., Awaitable[str]],
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        await asyncio.sleep(30)  # reads nothing, answers no ping

    url = await stub(silent)
    ws = await WebSocket.open(parse_url(url), ping_interval=0.2, ping_timeout=0.3)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.code == 1006
    assert "did not answer a ping" in str(closed.value)


async def test_server_close_is_answered_with_the_same_code(
    stub: Callable[..., Awaitable[str]],
) -> None:
    answered: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        writer.write(
            encode_frame(Opcode.TEXT, b"last words") + encode_frame(Opcode.CLOSE, b"\x03\xe9bye")
        )
        parser = FrameParser(max_message_size=1024)
        answered.set_result(parser.feed(await reader.read(1024)))
        writer.close()

    ws = await WebSocket.open(parse_url(await stub(closing)))
    assert (await ws.recv()).text == "last words"  # type: ignore[union-attr]
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert (closed.value.code, closed.value.reason) == (1001, "bye")
    assert [(e.code, e.reason) for e in await answered] == [(1001, "")]  # type: ignore[union-attr]


async def test_a_masked_frame_from_the_server_is_a_protocol_error(
    stub: Callable[..., Awaitable[str]],
) -> None:
    async def masking(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        writer.write(bytes((0x81, 0x80 | 1)) + b"\x00\x00\x00\x00x")
        await reader.read()  # the client's close frame, then EOF

    ws = await WebSocket.open(parse_url(await stub(masking)), close_timeout=1)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.code == 1002
    assert "must not be masked" in closed.value.reason


async def test_a_refusal_carries_the_servers_reason(stub: Callable[..., Awaitable[str]]) -> None:
    async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"go away, please\n"
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    with pytest.raises(HandshakeRefused) as refused:
        await WebSocket.open(parse_url(await stub(refusing)))
    assert refused.value.status == 429
    assert str(refused.value) == (
        "the server refused the WebSocket handshake: 429 Too Many Requests: go away, please"
    )


async def test_a_server_that_hangs_up_during_the_handshake(
    stub: Callable[..., Awaitable[str]],
) -> None:
    async def hangup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    with pytest.raises(Exception, match="closed the connection during the handshake"):
        await WebSocket.open(parse_url(await stub(hangup)))
