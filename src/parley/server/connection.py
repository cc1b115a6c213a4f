"""One WebSocket connection after the handshake: frames in, frames out, the closing handshake.

A :class:`WebSocketConnection` is the asyncio protocol of its socket once Parley has taken it
over from aiohttp (see :mod:`parley.server.upgrade`). It is deliberately small and callback
driven, with no task per connection, because chat servers hold many idle connections and spend
their time delivering one message to many of them:

* incoming frames are parsed by :class:`~parley.websocket.frames.FrameParser` and handed to the
  connection's :class:`ConnectionHandler` synchronously, in order;
* outgoing frames are appended to a per-connection outbox and written by the :class:`Flusher`
  once per event-loop pass, so several frames due to one connection cost one system call;
* flow control both ways. Output: the transport's buffer has a high-water mark
  (``max_send_buffer``); while a client leaves more than that unread, the server stops reading
  from it (it cannot ask for more than it takes), and a client above the mark that reads
  nothing at all for ``slow_client_grace`` seconds, or whose unsent data reaches the hard cap
  (:data:`SEND_BUFFER_CAP_FACTOR` times the mark, the most memory one connection may hold), is
  closed with 4001. Input: the application may hold the socket's reading
  (:meth:`WebSocketConnection.hold_reading`) while the work it already took is pending (store
  writes in flight, a rate limit); frames already read wait, in order, until it lets go;
* liveness is checked by one sweep over all connections (:meth:`ConnectionSet.sweep`), not a
  timer per connection: a connection silent for ``ping_interval`` gets a ping, and one that
  stays silent for ``ping_timeout`` more is dropped, so half-open TCP connections do not pile up.

Everything shared by the connections of one server (limits, the flusher, counters) lives in
one :class:`ConnectionContext`, so a connection carries one reference, not ten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Protocol

from parley.config import WebSocketLimits
from parley.peer import PreparedText
from parley.websocket.closing import ClosingHandshake, ConnectionState
from parley.websocket.codes import CloseCode, Opcode
from parley.websocket.deflate import FrameCompressor
from parley.websocket.frames import (
    BinaryMessage,
    CloseReceived,
    Event,
    FrameParser,
    Ping,
    ProtocolFailure,
    Side,
    TextMessage,
    encode_frame,
)

log = logging.getLogger(__name__)

_TEXT, _BINARY = Opcode.TEXT, Opcode.BINARY
_CLOSE, _PING, _PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG
_OPEN, _CLOSED = ConnectionState.OPEN, ConnectionState.CLOSED

#: The hard cap on one connection's unsent data, as a multiple of the high-water mark
#: (``max_send_buffer``). Above the mark a client has ``slow_client_grace`` seconds to catch
#: up, but a broadcast keeps adding to its buffer meanwhile: the cap is what bounds the
#: memory one connection can hold (4 MiB with the defaults) whatever the traffic.
SEND_BUFFER_CAP_FACTOR = 4


def _plain_socket_fd(transport: asyncio.Transport) -> int:
    """The socket's file descriptor when the transport writes it as is (plain TCP), else -1
    (TLS must go through the transport). Only used while the transport is not closing, so the
    descriptor cannot have been closed and reused."""
    if transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    fileno = getattr(sock, "fileno", None)
    if fileno is None:
        return -1
    try:
        fd = fileno()
    except (OSError, ValueError):
        return -1
    return fd if isinstance(fd, int) else -1


class ConnectionHandler(Protocol):
    """What a connection reports to the layer above it. Each method runs synchronously."""

    def on_open(self, conn: WebSocketConnection) -> None:
        """The handshake is done; messages may be sent and will arrive."""

    def on_text(self, conn: WebSocketConnection, text: str) -> None:
        """A complete text message arrived."""

    def on_binary(self, conn: WebSocketConnection, data: bytes) -> None:
        """A complete binary message arrived."""

    def on_closed(self, conn: WebSocketConnection) -> None:
        """The connection is gone (``conn.close_code`` says how); called exactly once."""


@dataclass(slots=True)
class ConnectionStats:
    """Counters of one server's connections, read by the metrics endpoint.

    Plain integers, updated where the work happens anyway (once per message received, once
    per write to a socket), so that counting costs nothing measurable on the hot path.
    """

    opened: int = 0
    messages_in: int = 0
    frames_out: int = 0
    writes: int = 0
    bytes_out: int = 0
    #: Times a connection stopped being read (a first :meth:`WebSocketConnection.hold_reading`).
    reads_paused: int = 0
    closed_by_code: Counter[int] = field(default_factory=Counter)


class Flusher:
    """Writes every connection's pending frames once per event-loop pass.

    Frames queued while the loop runs callbacks (for example a broadcast to a thousand
    connections, or several messages read from one socket) are joined per connection and handed
    to the kernel with a single ``write``: system calls, not bytes, are what fan-out costs.
    """

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: list[WebSocketConnection] = []
        self._scheduled = False

    def mark(self, conn: WebSocketConnection) -> None:
        """Remember that ``conn`` has frames to write at the end of this loop pass."""
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every pending outbox now."""
        self._scheduled = False
        dirty = self._dirty
        self._dirty = []
        for conn in dirty:
            conn.flush()


class ConnectionSet:
    """The live connections of one server: for shutdown, connection limits and liveness."""

    __slots__ = ("_empty", "_members", "per_ip")

    def __init__(self) -> None:
        self._members: set[WebSocketConnection] = set()
        self.per_ip: Counter[str] = Counter()
        self._empty: asyncio.Event | None = None

    def add(self, conn: WebSocketConnection) -> None:
        self._members.add(conn)
        self.per_ip[conn.remote] += 1

    def discard(self, conn: WebSocketConnection) -> None:
        if conn not in self._members:
            return
        self._members.discard(conn)
        self.per_ip[conn.remote] -= 1
        if self.per_ip[conn.remote] <= 0:
            del self.per_ip[conn.remote]
        if not self._members and self._empty is not None:
            self._empty.set()

    def __len__(self) -> int:
        return len(self._members)

    def snapshot(self) -> list[WebSocketConnection]:
        """The members now, safe to iterate while connections come and go."""
        return list(self._members)

    async def wait_empty(self) -> None:
        """Return once no connection is left."""
        if self._members:
            self._empty = asyncio.Event()
            await self._empty.wait()

    def sweep(self, now: float) -> None:
        """Ping the connections that went quiet; drop those that did not answer in time."""
        for conn in self.snapshot():
            conn.check_alive(now)


class ConnectionContext:
    """What the connections of one server share."""

    __slots__ = ("connections", "flusher", "limits", "stats")

    def __init__(self, limits: WebSocketLimits, flusher: Flusher) -> None:
        self.limits = limits
        self.flusher = flusher
        self.connections = ConnectionSet()
        self.stats = ConnectionStats()


class WebSocketConnection(asyncio.Protocol):
    """A server-side WebSocket connection; see the module docstring."""

    __slots__ = (
        "_close_timer",
        "_closing",
        "_drain_waiter",
        "_fd",
        "_holds",
        "_out",
        "_out_size",
        "_pending",
        "_send_cap",
        "_slow_mark",
        "_slow_timer",
        "_writing_paused",
        "_written",
        "close_code",
        "close_reason",
        "compressor",
        "ctx",
        "handler",
        "last_seen",
        "parser",
        "ping_sent",
        "remote",
        "subprotocol",
        "transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        *,
        parser: FrameParser,
        handler: ConnectionHandler,
        ctx: ConnectionContext,
        remote: str,
        subprotocol: str | None = None,
        compressor: FrameCompressor | None = None,
    ) -> None:
        self.transport = transport
        self.parser = parser
        self.handler = handler
        self.ctx = ctx
        #: The client's address (from the socket, or the proxy's header when trusted).
        self.remote = remote
        self.subprotocol = subprotocol
        #: Set when the client negotiated permessage-deflate.
        self.compressor = compressor
        self._closing = ClosingHandshake(Side.SERVER)
        #: The code of the close frame received, or the one we closed with; 1006 when the
        #: connection dropped without any close frame.
        self.close_code: int = CloseCode.ABNORMAL
        self.close_reason = ""
        self.last_seen = time.monotonic()
        self.ping_sent = 0.0
        self._out: list[bytes] | None = None
        self._out_size = 0
        self._close_timer: asyncio.TimerHandle | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._fd = _plain_socket_fd(transport)
        #: Reasons the socket is not read now (the application's holds and a full send buffer).
        self._holds = 0
        #: Events read before a hold, delivered in order once it is released.
        self._pending: deque[Event] = deque()
        self._writing_paused = False
        self._slow_timer: asyncio.TimerHandle | None = None
        #: Bytes handed to the transport in all, and how many of them the kernel had taken
        #: when the grace period started: a client that took more since is making progress.
        self._written = 0
        self._slow_mark = 0
        self._send_cap = ctx.limits.max_send_buffer * SEND_BUFFER_CAP_FACTOR

    def __repr__(self) -> str:
        return f"<WebSocketConnection {self.remote} state={self.state.value}>"

    @property
    def state(self) -> ConnectionState:
        """Open, closing (a close frame was sent or received) or closed (the socket is gone)."""
        return self._closing.state

    # -- sending ---------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """True while messages can be sent."""
        return self._closing.state is _OPEN

    def send_frame(self, frame: bytes) -> None:
        """Queue an already encoded, uncompressed data frame; it is written at the end of this
        loop pass (compressed first when the client negotiated permessage-deflate). The
        application does not call this (it sends payloads, see :class:`~parley.peer.Peer`).

        Does nothing once the connection is closing. Disconnects a client whose unsent data
        reaches the hard cap (see the module docstring).
        """
        if self._closing.state is not _OPEN:
            return
        if self.compressor is not None:
            frame = self.compressor.compress(frame)
        self._queue(frame)

    def send_text(self, text: str) -> None:
        """Queue a text message."""
        self.send_frame(encode_frame(_TEXT, text.encode()))

    def send_encoded_text(self, payload: bytes) -> None:
        """Queue a text message given as UTF-8 (not checked again: the caller encoded it)."""
        self.send_frame(encode_frame(_TEXT, payload))

    def send_prepared(self, message: PreparedText) -> None:
        """Queue a message prepared for many connections: encoded by the first connection that
        sends it, the same bytes queued for every other (and compressed once per setting, by
        the :class:`FrameCompressor` the connections of one setting share).

        This is the broadcast's hot path, one call per receiver: it repeats :meth:`send_frame`
        and :meth:`_queue` instead of calling them (a call costs as much as the rest).
        """
        if self._closing.state is not _OPEN:
            return
        frame = message.frame
        if frame is None:
            frame = message.frame = encode_frame(_TEXT, message.payload)
        if self.compressor is not None:
            frame = self.compressor.compress(frame)
        out = self._out
        if out is None:
            self._out = [frame]
            self.ctx.flusher.mark(self)
        else:
            out.append(frame)
        self._out_size += len(frame)
        if self._out_size > self._send_cap:
            self._overflow()

    def send_binary(self, data: bytes) -> None:
        """Queue a binary message."""
        self.send_frame(encode_frame(_BINARY, data))

    def _queue(self, frame: bytes) -> None:
        out = self._out
        if out is None:
            self._out = [frame]
            self.ctx.flusher.mark(self)
        else:
            out.append(frame)
        self._out_size += len(frame)
        if self._out_size > self._send_cap:
            self._overflow()

    def flush(self) -> None:
        """Write the outbox to the transport now (the :class:`Flusher` calls this)."""
        out = self._out
        if out is None:
            return
        self._out = None
        size = self._out_size
        self._out_size = 0
        transport = self.transport
        if transport.is_closing():
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        self._written += len(data)
        fd = self._fd
        if fd >= 0 and not transport.get_write_buffer_size():
            # Straight to the socket: the transport has nothing queued, so order is kept,
            # and a plain write() costs a fifth less than the transport's (the per-write cost
            # is what a broadcast pays a thousand times). Whatever the kernel does not take
            # goes to the transport, which waits for the socket to drain.
            try:
                sent = os.write(fd, data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # the transport will meet the same error and close the connection
            if sent < len(data):
                transport.write(memoryview(data)[sent:] if sent else data)
        else:
            transport.write(data)
        stats = self.ctx.stats
        stats.frames_out += len(out)
        stats.writes += 1
        stats.bytes_out += size
        # (The state is tested second: the buffer is rarely over the cap.)
        if transport.get_write_buffer_size() > self._send_cap and self._closing.state is _OPEN:
            self._overflow()

    def _overflow(self, why: str = "") -> None:
        """The client stopped reading: drop what it has not got and tell it why, then go."""
        why = why or f"unsent data over the cap of {self._send_cap} bytes"
        log.info(
            "closing a slow client: %s",
            why,
            extra={"event": "slow_client", "remote": self.remote},
        )
        self._out = None
        self._out_size = 0
        self.close_code = CloseCode.TOO_SLOW
        self.close_reason = "too slow: send buffer full"
        payload = self._closing.send_close(self.close_code, self.close_reason)
        if payload is not None and not self.transport.is_closing():
            # The close frame queues behind data the kernel could not send; the client reads
            # it if it ever catches up, otherwise the timer aborts the socket.
            self.transport.write(encode_frame(_CLOSE, payload))
        self._start_close_timer()

    async def drain(self) -> None:
        """Flush the outbox, then wait while the client leaves more than the high-water mark
        (``max_send_buffer``) unread. Returns at once when the connection is closing or
        closed, and when it closes while waiting."""
        self.flush()
        if self._closing.state is not _OPEN or not self._writing_paused:
            return
        if self._drain_waiter is None:
            self._drain_waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drain_waiter)

    def pause_writing(self) -> None:
        """The transport's buffer passed the high-water mark: stop reading from this client
        (it cannot ask for more than it takes) and give it ``slow_client_grace`` seconds."""
        if self._writing_paused:
            return
        self._writing_paused = True
        self.hold_reading()
        if self._slow_timer is None and self._closing.state is _OPEN:
            self._start_slow_timer()

    def _start_slow_timer(self) -> None:
        self._slow_mark = self._written - self.transport.get_write_buffer_size()
        grace = self.ctx.limits.slow_client_grace
        self._slow_timer = asyncio.get_running_loop().call_later(grace, self._too_slow)

    def resume_writing(self) -> None:
        """The client caught up (the buffer fell to half the mark): read from it again."""
        if not self._writing_paused:
            return
        self._writing_paused = False
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None
        self._wake_drain()
        self.release_reading()

    def _too_slow(self) -> None:
        """The grace period is over: a client that read nothing in it is closed; one that
        read something gets another (the hard cap still bounds what it can hold)."""
        self._slow_timer = None
        if not self._writing_paused or self._closing.state is not _OPEN:
            return
        if self._written - self.transport.get_write_buffer_size() > self._slow_mark:
            self._start_slow_timer()
            return
        self._overflow(
            f"nothing read for {self.ctx.limits.slow_client_grace:g} s with more than "
            f"{self.ctx.limits.max_send_buffer} bytes unsent"
        )

    def _wake_drain(self) -> None:
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        self._drain_waiter = None

    # -- input flow control ------------------------------------------------------------------

    @property
    def reading_held(self) -> bool:
        """True while the socket is not read (see :meth:`hold_reading`)."""
        return self._holds > 0

    def hold_reading(self) -> None:
        """Stop reading the socket until a matching :meth:`release_reading`; holds nest.

        Frames already read are delivered only after the last hold is released, in order;
        the kernel's buffers then fill and TCP slows the client down: nothing is dropped.
        """
        self._holds += 1
        if self._holds == 1 and not self.transport.is_closing():
            self.ctx.stats.reads_paused += 1
            self.transport.pause_reading()

    def release_reading(self) -> None:
        """Undo one :meth:`hold_reading`; at the last one, read again (frames already read
        first)."""
        if self._holds == 0:
            return
        self._holds -= 1
        if self._holds:
            return
        # The client could not be heard while held: its silence proves nothing.
        self.last_seen = time.monotonic()
        self.ping_sent = 0.0
        if self._pending:
            asyncio.get_running_loop().call_soon(self._run_pending)
        if not self.transport.is_closing():
            self.transport.resume_reading()

    # -- liveness --------------------------------------------------------------------------

    def check_alive(self, now: float) -> None:
        """Ping a connection quiet for ``ping_interval``; drop one that never answered."""
        if self._closing.state is not _OPEN or self._holds:
            return  # (a held socket is not read, so its silence says nothing)
        limits = self.ctx.limits
        if self.ping_sent:
            if now - self.ping_sent >= limits.ping_timeout:
                log.info(
                    "dropping a connection that did not answer a ping",
                    extra={"event": "ping_timeout", "remote": self.remote},
                )
                self.close_reason = "no answer to ping"
                self.abort()
        elif now - self.last_seen >= limits.ping_interval:
            self.ping_sent = now
            self._queue(encode_frame(_PING, b""))

    # -- closing ---------------------------------------------------------------------------

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake: send a close frame after what is queued, then wait.

        The socket is closed when the client answers, or after ``close_timeout`` seconds.
        """
        payload = self._closing.send_close(code, reason)
        if payload is None:
            return
        self.close_code = code
        self.close_reason = reason
        self._write_now(encode_frame(_CLOSE, payload))
        self._start_close_timer()

    def _write_now(self, frame: bytes) -> None:
        """Write ``frame`` after everything queued, without waiting for the loop pass."""
        if self._out is None:
            self._out = [frame]
        else:
            self._out.append(frame)
        self._out_size += len(frame)
        self.flush()

    def abort(self) -> None:
        """Drop the connection at once, without a closing handshake."""
        self.transport.abort()

    def _start_close_timer(self) -> None:
        if self._close_timer is None:
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(self.ctx.limits.close_timeout, self.abort)

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        high = self.ctx.limits.max_send_buffer
        self.transport.set_write_buffer_limits(high=high, low=high // 2)
        self.ctx.connections.add(self)
        self.ctx.stats.opened += 1
        self.handler.on_open(self)

    def data_received(self, data: bytes) -> None:
        """Parse ``data`` and dispatch each complete event, in order (after any held back).

        A bug in a handler must not take the server down or leave the client guessing: it is
        logged with its traceback and the client is closed with 1011 (internal error).
        """
        self.last_seen = time.monotonic()
        self.ping_sent = 0.0
        events = self.parser.feed(data)
        if self._pending or self._holds:
            self._pending.extend(events)
            self._run_pending()
            return
        try:
            remaining = iter(events)
            for event in remaining:
                self._dispatch(event)
                if self._holds:  # the handler held reading: the rest waits, in order
                    self._pending.extend(remaining)
                    return
        except Exception:
            self._internal_error()

    def _run_pending(self) -> None:
        """Deliver events held back by :meth:`hold_reading`, until the next hold."""
        pending = self._pending
        try:
            while pending and not self._holds:
                self._dispatch(pending.popleft())
        except Exception:
            self._internal_error()

    def _deliver_read_messages(self) -> None:
        """The socket is gone while frames it sent wait behind a hold: hand over the messages
        among them (up to a close frame or an error), holds or not. The server read them, so
        they are not lost with the connection, as they would not have been without a hold."""
        pending = self._pending
        try:
            while pending and isinstance(pending[0], TextMessage | BinaryMessage):
                self._dispatch(pending.popleft())
        except Exception:
            log.exception("internal error while handling a message from %s", self.remote)
        pending.clear()

    def _internal_error(self) -> None:
        log.exception("internal error while handling a message from %s", self.remote)
        self._pending.clear()
        self.close(CloseCode.INTERNAL_ERROR, "internal error")

    def _dispatch(self, event: Event) -> None:
        closing = self._closing
        if isinstance(event, TextMessage):
            if closing.delivers_data:
                self.ctx.stats.messages_in += 1
                self.handler.on_text(self, event.text)
        elif isinstance(event, BinaryMessage):
            if closing.delivers_data:
                self.ctx.stats.messages_in += 1
                self.handler.on_binary(self, event.data)
        elif isinstance(event, Ping):
            if closing.answers_pings:
                self._queue(encode_frame(_PONG, event.data))
        elif isinstance(event, CloseReceived):
            self._on_close_frame(event)
        elif isinstance(event, ProtocolFailure):
            self._on_failure(event)
        # A Pong needs nothing: any data from the peer shows it is alive.

    def _on_close_frame(self, event: CloseReceived) -> None:
        echo = self._closing.receive_close(event.code, event.reason)
        if echo is not None:  # the client started the handshake
            self.close_code = event.code
            self.close_reason = event.reason
            self._write_now(encode_frame(_CLOSE, echo))
        # The handshake is complete: the server closes the TCP connection first (7.1.1).
        self.transport.close()

    def _on_failure(self, failure: ProtocolFailure) -> None:
        log.info(
            "closing a client that broke the protocol: %s (%d)",
            failure.reason,
            failure.code,
            extra={"event": "protocol_error", "remote": self.remote, "code": failure.code},
        )
        self.close(failure.code, failure.reason)
        # The parser reads nothing more, so the client's close frame would never be seen.
        self.transport.close()

    def eof_received(self) -> bool:
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pending and self._closing.state is _OPEN:
            self._deliver_read_messages()
        before = self._closing.lost()
        if before is _CLOSED:
            return
        if before is _OPEN:
            self.close_code = CloseCode.ABNORMAL
        self._out = None
        self._pending.clear()
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None
        self.ctx.connections.discard(self)
        self.ctx.stats.closed_by_code[self.close_code] += 1
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._wake_drain()
        self.handler.on_closed(self)
