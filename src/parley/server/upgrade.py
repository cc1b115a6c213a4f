"""Taking a socket over from aiohttp once the WebSocket handshake is agreed.

aiohttp parses the HTTP request and routes it; Parley validates the handshake itself
(:mod:`parley.websocket.handshake`), writes the ``101`` response, and then makes its own
:class:`~parley.server.connection.WebSocketConnection` the socket's protocol. From then on
aiohttp has no part in the connection: no task, no reader queue, no response object stays
alive for it. That is what keeps an idle connection at about 2 KiB instead of aiohttp's
13.5 KiB, and lets fan-out coalesce writes (docs/architecture.md has the measurements).

This touches two aiohttp internals, both guarded by ``tests/server/test_upgrade.py`` and by
the version bound in ``pyproject.toml``: the request handler's ``_message_tail`` (bytes the
client sent right after its request, which belong to the WebSocket stream) and the fact that
``RequestHandler.connection_lost`` with its transport detached forgets the connection without
closing the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from parley.server.connection import WebSocketConnection
from parley.websocket.handshake import Handshake


class DetachedResponse(web.StreamResponse):
    """What the aiohttp handler returns for a socket Parley took over: nothing left to write.

    Its status (101) is what aiohttp's access log records for the request.
    """

    def __init__(self) -> None:
        super().__init__(status=101)
        self.force_close()

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def wants_websocket(request: web.BaseRequest) -> bool:
    """Whether the request asks to upgrade to WebSocket (however badly formed the rest is)."""
    return "websocket" in request.headers.get("Upgrade", "").lower()


def take_over(
    request: web.BaseRequest,
    handshake: Handshake,
    make_connection: Callable[[asyncio.Transport], WebSocketConnection],
) -> WebSocketConnection:
    """Answer ``101``, detach the socket from aiohttp and give it to a new connection.

    ``make_connection`` builds the connection for the transport; it becomes the transport's
    protocol before any further byte is read. Raises :class:`ConnectionResetError` when the
    client has already gone. The caller then returns :class:`DetachedResponse` to aiohttp.
    """
    # uvloop's transports do not inherit from asyncio.Transport, but they implement it.
    transport = request.transport
    http_protocol = request.protocol
    if transport is None or transport.is_closing():
        raise ConnectionResetError("client went away during the handshake")
    transport.write(handshake.response)
    # Bytes that arrived after the request belong to the WebSocket stream.
    tail: bytes = getattr(http_protocol, "_message_tail", b"")
    http_protocol._message_tail = b""
    # With its transport detached, aiohttp's connection_lost() only forgets the connection.
    http_protocol.transport = None
    http_protocol.connection_lost(None)
    conn = make_connection(transport)
    transport.set_protocol(conn)
    conn.connection_made(transport)
    if not transport.is_reading():
        transport.resume_reading()
    if tail:
        conn.data_received(tail)
    return conn
