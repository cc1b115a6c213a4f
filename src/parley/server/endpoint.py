"""Accepting WebSocket connections for one server: limits, liveness, and closing at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from aiohttp import web

from parley.config import WebSocketLimits
from parley.server.connection import (
    ConnectionContext,
    ConnectionHandler,
    ConnectionSet,
    ConnectionStats,
    Flusher,
    WebSocketConnection,
)
from parley.server.upgrade import DetachedResponse, take_over
from parley.websocket import deflate
from parley.websocket.frames import FrameParser
from parley.websocket.handshake import Handshake, HandshakeError, negotiate

log = logging.getLogger(__name__)

__all__ = ["WebSocketEndpoint", "WebSocketLimits", "client_address"]


def client_address(request: web.BaseRequest, *, behind_proxy: bool) -> str:
    """The client's IP address: the socket's peer, or, behind a trusted proxy, the address
    the proxy appended last to ``X-Forwarded-For`` (earlier entries are the client's claims)."""
    if behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "")


class WebSocketEndpoint:
    """Turns accepted handshakes into connections and keeps the set of live ones.

    ``deflate_settings`` enables permessage-deflate (off when None).
    """

    def __init__(
        self,
        limits: WebSocketLimits,
        *,
        deflate_settings: deflate.DeflateSettings | None = None,
        behind_proxy: bool = False,
    ) -> None:
        self.limits = limits
        self.deflate_settings = deflate_settings
        self.behind_proxy = behind_proxy
        self._ctx: ConnectionContext | None = None
        self._connections = ConnectionSet()
        self._stats = ConnectionStats()
        self._compressors: dict[int, deflate.FrameCompressor] = {}
        self._inflater = deflate.Inflater()
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def connections(self) -> ConnectionSet:
        return self._connections

    @property
    def stats(self) -> ConnectionStats:
        return self._stats

    def _context(self) -> ConnectionContext:
        if self._ctx is None:
            self._ctx = ConnectionContext(self.limits, Flusher(asyncio.get_running_loop()))
            self._ctx.connections = self._connections
            self._ctx.stats = self._stats
            self._heartbeat = asyncio.create_task(self._sweep_forever())
        return self._ctx

    async def _sweep_forever(self) -> None:
        interval = min(self.limits.ping_interval, self.limits.ping_timeout) / 2
        while True:
            await asyncio.sleep(interval)
            self._connections.sweep(time.monotonic())

    def handshake(
        self,
        request: web.BaseRequest,
        *,
        subprotocols: Sequence[str] = (),
        allow_no_subprotocol: bool = True,
    ) -> Handshake | web.Response:
        """Validate the upgrade request: the agreed handshake, or the response to send instead
        (4xx for a bad handshake, 503/429 over the connection limits)."""
        if len(self._connections) >= self.limits.max_connections:
            return _refusal(503, "the server is at its connection limit; try again later")
        remote = client_address(request, behind_proxy=self.behind_proxy)
        if self._connections.per_ip[remote] >= self.limits.max_connections_per_ip:
            return _refusal(429, "too many connections from your address")
        if request.version < (1, 1):
            return _refusal(400, "a WebSocket handshake needs HTTP/1.1")
        for name in ("Sec-WebSocket-Key", "Sec-WebSocket-Version"):
            if len(request.headers.getall(name, ())) > 1:
                return _refusal(400, f"{name} must appear once")  # RFC 6455 section 11.3
        settings = self.deflate_settings
        try:
            return negotiate(
                request.method,
                request.headers,
                subprotocols=subprotocols,
                allow_no_subprotocol=allow_no_subprotocol,
                negotiate_extensions=(
                    (lambda offer: deflate.negotiate(offer, settings)) if settings else None
                ),
            )
        except HandshakeError as exc:
            return _refusal(exc.status, exc.reason, dict(exc.headers))

    def accept(
        self, request: web.BaseRequest, handshake: Handshake, handler: ConnectionHandler
    ) -> web.StreamResponse:
        """Take the socket over for ``handler``; return the response to give aiohttp.

        The handler's ``on_open`` runs before this returns, unless the client already left.
        """
        ctx = self._context()
        limits = self.limits
        remote = client_address(request, behind_proxy=self.behind_proxy)
        compressor = None
        inflater = None
        if handshake.extensions and self.deflate_settings is not None:
            bits = deflate.window_bits_of(handshake.extensions, self.deflate_settings)
            compressor = self._compressors.get(bits)
            if compressor is None:
                compressor = deflate.FrameCompressor(self.deflate_settings, bits)
                self._compressors[bits] = compressor
            inflater = self._inflater

        def make(transport: asyncio.Transport) -> WebSocketConnection:
            return WebSocketConnection(
                transport,
                parser=FrameParser(
                    max_message_size=limits.max_message_size,
                    max_fragments=limits.max_fragments,
                    inflater=inflater,
                ),
                handler=handler,
                ctx=ctx,
                remote=remote,
                subprotocol=handshake.subprotocol,
                compressor=compressor,
            )

        try:
            take_over(request, handshake, make)
        except ConnectionResetError:
            log.debug("client left during the handshake")
        return DetachedResponse()

    def close_all(self, code: int, reason: str) -> None:
        """Start the closing handshake on every live connection."""
        for conn in self._connections.snapshot():
            conn.close(code, reason)

    async def wait_closed(self, grace: float) -> None:
        """Wait until every connection is gone; abort the ones still open after ``grace`` s."""
        try:
            async with asyncio.timeout(grace):
                await self._connections.wait_empty()
        except TimeoutError:
            for conn in self._connections.snapshot():
                conn.abort()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat


def _refusal(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(status=status, text=reason + "\n", headers=headers)
    response.force_close()
    return response
