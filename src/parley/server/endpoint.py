"""Accepting WebSocket connections for one server, and closing them all at shutdown."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from parley.server.connection import (
    ConnectionHandler,
    ConnectionSet,
    Flusher,
    WebSocketConnection,
)
from parley.server.upgrade import DetachedResponse, take_over
from parley.websocket.frames import FrameParser
from parley.websocket.handshake import Handshake

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WebSocketLimits:
    """Per-connection limits; every one is a flag of ``parley serve`` (see docs/security.md)."""

    #: Largest message a client may send, in bytes.
    max_message_size: int = 64 * 1024
    #: Most frames one message may be split into.
    max_fragments: int = 1024
    #: Unsent bytes a connection may hold before the client is considered too slow.
    max_send_buffer: int = 1 << 20
    #: Seconds to wait for the client's answer to our close frame.
    close_timeout: float = 5.0


class WebSocketEndpoint:
    """Turns accepted handshakes into connections and keeps the set of live ones."""

    def __init__(self, limits: WebSocketLimits) -> None:
        self.limits = limits
        self.connections = ConnectionSet()
        self._flusher: Flusher | None = None

    def accept(
        self, request: web.BaseRequest, handshake: Handshake, handler: ConnectionHandler
    ) -> web.StreamResponse:
        """Take the socket over for ``handler``; return the response to give aiohttp.

        The handler's ``on_open`` runs before this returns, unless the client already left.
        """
        if self._flusher is None:
            self._flusher = Flusher(asyncio.get_running_loop())
        flusher = self._flusher
        limits = self.limits

        def make(transport: asyncio.Transport) -> WebSocketConnection:
            return WebSocketConnection(
                transport,
                parser=FrameParser(
                    max_message_size=limits.max_message_size,
                    max_fragments=limits.max_fragments,
                ),
                handler=handler,
                flusher=flusher,
                connections=self.connections,
                subprotocol=handshake.subprotocol,
                max_send_buffer=limits.max_send_buffer,
                close_timeout=limits.close_timeout,
            )

        try:
            take_over(request, handshake, make)
        except ConnectionResetError:
            log.debug("client left during the handshake")
        return DetachedResponse()

    def close_all(self, code: int, reason: str) -> None:
        """Start the closing handshake on every live connection."""
        for conn in self.connections.snapshot():
            conn.close(code, reason)

    async def wait_closed(self, grace: float) -> None:
        """Wait until every connection is gone; abort the ones still open after ``grace`` s."""
        try:
            async with asyncio.timeout(grace):
                await self.connections.wait_empty()
        except TimeoutError:
            for conn in self.connections.snapshot():
                conn.abort()
        # Let connection_lost callbacks run before the loop stops.
        await asyncio.sleep(0)
