"""A small asyncio WebSocket client connection: the only module of the client with sockets.

Why not a WebSocket library? ``parley connect --trace`` must show the handshake's raw lines
and every frame with its mask bit, and libraries only expose whole messages. The protocol work
is already done without I/O — the handshake in :mod:`parley.client.handshake` (with the
server's :func:`~parley.websocket.handshake.accept_key`), framing in
:mod:`parley.websocket.frames` (shared with the server; :mod:`parley.client.frames` reads
frame by frame for the trace) — so what is left here is the
plumbing: a TCP (or TLS) stream, a reader task that answers pings and the closing handshake,
and an optional keepalive that notices a server that vanished without a FIN.

One reader task per connection reads everything; :meth:`WebSocket.recv` hands out data
messages in order and raises :class:`~parley.client.errors.ConnectionClosed` once the
connection is closed, with the close code the server sent (1006 if it sent none).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
import time
from collections.abc import Mapping, Sequence

from parley.client.errors import (
    ConnectError,
    ConnectionClosed,
    HandshakeRefused,
    describe_close,
)
from parley.client.frames import (
    DEFAULT_MAX_MESSAGE,
    Frame,
    FrameReader,
    MessageAssembler,
)
from parley.client.handshake import (
    MAX_HEAD,
    build_request,
    check_response,
    new_key,
    parse_response,
    refusal_reason,
)
from parley.client.trace import Tracer
from parley.client.urls import ServerURL
from parley.websocket.closing import ClosingHandshake, ConnectionState
from parley.websocket.codes import CloseCode, Opcode
from parley.websocket.frames import (
    BinaryMessage,
    CloseReceived,
    Ping,
    Pong,
    ProtocolFailure,
    Side,
    TextMessage,
    encode_frame,
)

DataMessage = TextMessage | BinaryMessage

OPEN, CLOSING, CLOSED = ConnectionState.OPEN, ConnectionState.CLOSING, ConnectionState.CLOSED


def os_reason(exc: BaseException) -> str:
    """A short reason for a failed connection: ``connection refused``, not ``[Errno 111] ...``."""
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class WebSocket:
    """One open client connection; create it with :meth:`open`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        url: ServerURL,
        subprotocol: str | None,
        tracer: Tracer | None,
        max_message: int,
        ping_interval: float | None,
        ping_timeout: float,
        close_timeout: float,
    ) -> None:
        self.url = url
        self.subprotocol = subprotocol
        self.tracer = tracer
        self._closing = ClosingHandshake(Side.CLIENT)
        #: The close code and reason the server sent (1006 and "" when it sent none).
        self.close_code = int(CloseCode.ABNORMAL)
        self.close_reason = ""
        self._reader = reader
        self._writer = writer
        self._frames = FrameReader(max_frame=max_message)
        self._assembler = MessageAssembler(max_message=max_message)
        self._messages: asyncio.Queue[DataMessage | None] = asyncio.Queue()
        self._done = asyncio.get_running_loop().create_future()
        self._close_timeout = close_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._last_seen = time.monotonic()
        self._read_task = asyncio.create_task(self._read_loop())
        self._ping_task = (
            asyncio.create_task(self._keepalive()) if ping_interval is not None else None
        )

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: ServerURL,
        *,
        subprotocols: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        tracer: Tracer | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (covers TCP, TLS and the handshake)
        ssl_context: ssl.SSLContext | None = None,
        max_message: int = DEFAULT_MAX_MESSAGE,
        ping_interval: float | None = None,
        ping_timeout: float = 20.0,
        close_timeout: float = 5.0,
    ) -> WebSocket:
        """Connect and perform the opening handshake.

        Raises :class:`ConnectError` when the server cannot be reached (or closes the
        connection during the handshake) and :class:`HandshakeRefused` when it answers
        anything but a valid ``101``.
        """
        if tracer is not None:
            tracer.note(f"connecting to {url.host} port {url.port}")
        context = (ssl_context or ssl.create_default_context()) if url.secure else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    url.host,
                    url.port,
                    ssl=context,
                    server_hostname=url.host if context else None,
                    limit=MAX_HEAD * 4,
                ),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectError(url.ws_url, os_reason(exc)) from None
        if tracer is not None:
            peer = writer.get_extra_info("peername")
            where = f"{peer[0]} port {peer[1]}" if isinstance(peer, tuple) else url.host
            tracer.note(f"connected to {where}{' (TLS)' if context else ''}")
        try:
            subprotocol = await asyncio.wait_for(
                _handshake(reader, writer, url, subprotocols, headers, tracer), timeout
            )
        except BaseException as exc:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if isinstance(exc, TimeoutError):
                raise ConnectError(url.ws_url, "no answer to the WebSocket handshake") from None
            if isinstance(exc, OSError | asyncio.IncompleteReadError):
                reason = "the server closed the connection during the handshake"
                raise ConnectError(url.ws_url, reason) from None
            if isinstance(exc, asyncio.LimitOverrunError):
                raise HandshakeRefused(0, "", "the response head is too long") from None
            raise
        if tracer is not None:
            agreed = f"subprotocol {subprotocol}" if subprotocol else "no subprotocol"
            tracer.note(f"Sec-WebSocket-Accept matches our key: WebSocket open ({agreed})")
        return cls(
            reader,
            writer,
            url=url,
            subprotocol=subprotocol,
            tracer=tracer,
            max_message=max_message,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
        )

    @property
    def state(self) -> ConnectionState:
        """Open, closing (a close frame was sent or received) or closed (the socket is gone)."""
        return self._closing.state

    @property
    def closed_by_server(self) -> bool:
        """True unless we started the closing handshake (a dropped connection counts as the
        server's doing)."""
        return not self._closing.started_here

    # -- receiving -------------------------------------------------------------------------

    async def recv(self) -> DataMessage:
        """The next text or binary message; raises :class:`ConnectionClosed` once closed."""
        message = await self._messages.get()
        if message is None:
            self._messages.put_nowait(None)  # every later call raises too
            raise ConnectionClosed(
                self.close_code, self.close_reason, by_server=self.closed_by_server
            )
        return message

    async def _read_loop(self) -> None:
        try:
            while self.state is not CLOSED:
                data = await self._reader.read(65536)
                if not data:
                    break
                self._last_seen = time.monotonic()
                if self._on_data(data):
                    break
            if self.state is CLOSING:
                # We answered (or sent) a close frame: the server now closes the TCP connection.
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(self._reader.read(), self._close_timeout)
        except OSError:
            pass
        finally:
            self._finish()

    def _on_data(self, data: bytes) -> bool:
        """Handle received bytes; True when nothing more is to be read."""
        for item in self._frames.feed(data):
            if isinstance(item, ProtocolFailure):
                self._fail(item)
                return True
            if self.tracer is not None:
                self.tracer.frame(item, sent=False)
            message = self._assembler.add(item)
            if message is None:
                continue
            if isinstance(message, TextMessage | BinaryMessage):
                # Also while closing (see DELIVER_DATA in websocket/closing.py).
                if self._closing.delivers_data:
                    self._messages.put_nowait(message)
            elif isinstance(message, Ping):
                if self._closing.answers_pings:
                    self._write(Opcode.PONG, message.data)
            elif isinstance(message, Pong):
                pass
            elif isinstance(message, CloseReceived):
                self.close_code, self.close_reason = message.code, message.reason
                echo = self._closing.receive_close(message.code, message.reason)
                if echo is not None:  # the server started the closing handshake
                    self._write(Opcode.CLOSE, echo)
                return True
            else:
                self._fail(message)
                return True
        return False

    def _fail(self, failure: ProtocolFailure) -> None:
        """The server broke the protocol: say why in a close frame and drop the connection."""
        if self.tracer is not None:
            self.tracer.note(f"protocol error from the server: {failure.reason}")
        payload = self._closing.send_close(failure.code, failure.reason)
        if payload is not None:
            self._write(Opcode.CLOSE, payload)
        self.close_code, self.close_reason = failure.code, failure.reason

    def _finish(self) -> None:
        if self._closing.lost() is CLOSED:
            return
        if self._ping_task is not None:
            self._ping_task.cancel()
        self._writer.close()
        self._messages.put_nowait(None)
        if not self._done.done():
            self._done.set_result(None)
        if self.tracer is not None:
            closed = describe_close(self.close_code, self.close_reason)
            self.tracer.note(f"connection closed: {closed}")

    # -- sending ---------------------------------------------------------------------------

    def _write(self, opcode: int, payload: bytes) -> None:
        key = os.urandom(4)
        if self.tracer is not None:
            self.tracer.frame(Frame(True, opcode, payload, masked=True, mask_key=key), sent=True)
        if not self._writer.is_closing():
            self._writer.write(encode_frame(opcode, payload, side=Side.CLIENT, mask_key=key))

    async def _send(self, opcode: int, payload: bytes) -> None:
        if self.state is not OPEN:
            raise ConnectionClosed(
                self.close_code, self.close_reason, by_server=self.closed_by_server
            )
        self._write(opcode, payload)
        try:
            await self._writer.drain()
        except OSError:
            self._writer.transport.abort()
            await self.wait_closed()
            raise ConnectionClosed(self.close_code, self.close_reason) from None

    async def send_text(self, text: str) -> None:
        await self._send(Opcode.TEXT, text.encode())

    async def send_binary(self, data: bytes) -> None:
        await self._send(Opcode.BINARY, data)

    async def ping(self, data: bytes = b"") -> None:
        await self._send(Opcode.PING, data)

    async def _keepalive(self) -> None:
        """Ping when the server has been quiet; drop the connection if nothing at all arrives
        in the ``ping_timeout`` after the ping.

        The test is "did any byte arrive after the ping was sent", not "has it been quiet for
        ``ping_timeout`` now": the answer to a ping on a fast network comes back sooner than
        a timer can be late, so comparing two durations dropped healthy connections whenever
        the sleep overshot by more than the round trip (every other ping, on loopback).
        """
        assert self._ping_interval is not None
        while self.state is OPEN:
            quiet = time.monotonic() - self._last_seen
            if quiet < self._ping_interval:
                await asyncio.sleep(self._ping_interval - quiet)
                continue
            ping_sent = time.monotonic()
            self._write(Opcode.PING, b"")
            await asyncio.sleep(self._ping_timeout)
            if self.state is OPEN and self._last_seen < ping_sent:
                self.close_reason = "the server did not answer a ping"
                self._writer.transport.abort()
                return

    # -- closing ---------------------------------------------------------------------------

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Perform the closing handshake (or just wait for it if it is under way)."""
        payload = self._closing.send_close(code, reason)
        if payload is not None:
            self._write(Opcode.CLOSE, payload)
            with contextlib.suppress(OSError):
                await self._writer.drain()
        try:
            await asyncio.wait_for(asyncio.shield(self._done), self._close_timeout)
        except TimeoutError:
            self.abort()
            await self.wait_closed()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self._writer.transport.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._done)
        with contextlib.suppress(Exception):
            await self._read_task

    @property
    def is_open(self) -> bool:
        return self.state is OPEN


async def _handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    url: ServerURL,
    subprotocols: Sequence[str],
    headers: Mapping[str, str] | None,
    tracer: Tracer | None,
) -> str | None:
    key = new_key()
    request = build_request(
        url.host_header, url.path, key, subprotocols=subprotocols, headers=headers
    )
    if tracer is not None:
        tracer.request(request)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if tracer is not None:
        tracer.response(head)
    response = parse_response(head[:-4])
    if response.status != 101:
        body = await _read_body(reader, response.content_length)
        reason = refusal_reason(response, body)
        if tracer is not None and body:
            tracer.note(f"response body: {reason}")
        hint = ""
        if response.status == 400 and subprotocols and "subprotocol" in reason:
            hint = "is this a Parley server? parley connect --raw talks to any WebSocket server"
        raise HandshakeRefused(response.status, response.phrase, reason, hint=hint)
    return check_response(response, key, subprotocols)


async def _read_body(reader: asyncio.StreamReader, length: int | None) -> bytes:
    """Up to 4 KiB of a refusal's body (it only carries a one-line reason)."""
    try:
        if length is not None:
            return await asyncio.wait_for(reader.readexactly(min(length, 4096)), 5)
        return await asyncio.wait_for(reader.read(4096), 5)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return b""
