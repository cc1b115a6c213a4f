"""A lean ``parley.v1`` client for load generation: an ``asyncio.Protocol`` on a raw socket.

Why not the ``websockets`` library: it runs a task per connection, builds an object and a
future per frame and decodes every payload. With 100 connections in one room, every send
comes back as 100 event frames, so the load generator would receive hundreds of thousands
of frames a second on its one core and would be measured instead of the server. This client
does only what the measurement needs, in callbacks, without a task per connection:

* the opening handshake (HTTP/1.1 upgrade; ``Sec-WebSocket-Accept`` and the subprotocol are
  checked);
* masked client frames (RFC 6455 section 5.3): a fresh ``os.urandom(4)`` key per frame, and
  the XOR done on one big integer instead of byte by byte;
* unmasked server frames walked header by header. A payload is JSON-decoded only when it must
  be: events are recognised by their first bytes (msgspec writes the tag field first) and
  counted; acks are matched to their send by the bytes of ``re``. One event and one ack in
  ``SAMPLE_EVERY`` are fully decoded and checked, so a change in the server's encoding shows up
  as an error instead of silently wrong numbers.

Anything unexpected (a masked or fragmented server frame, reserved bits, an ``error`` reply, an
ack for no pending send, a close) is recorded in :attr:`LeanClient.errors`; the benchmark
refuses to call a run valid when any connection has errors.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import Callable
from time import perf_counter
from typing import Any, cast

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "parley.v1"

OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

#: One event and one ack in this many are decoded in full and checked.
SAMPLE_EVERY = 256
#: The largest HTTP response head accepted during the handshake.
MAX_HANDSHAKE = 16 * 1024

_EVENT = b'{"type":"event"'
_ACK_RE = b'{"type":"ack","re":"'
_ACK_RE_LEN = len(_ACK_RE)
_SEND_HEAD = b'{"type":"send","id":"'

#: ``on_ack(client, started, now)``: ``started`` is the time given to :meth:`send_message`,
#: ``now`` when the ack's bytes were read (both ``time.perf_counter()`` seconds).
AckCallback = Callable[["LeanClient", float, float], None]


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """A complete, final, masked client frame (RFC 6455 section 5.2)."""
    n = len(payload)
    mask = os.urandom(4)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    if not n:
        return header + mask
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return header + mask + masked


def accept_key(key: bytes) -> bytes:
    """What the server must answer in ``Sec-WebSocket-Accept`` for ``key``."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())  # RFC 6455 requires SHA-1 here


class HandshakeFailed(Exception):
    """The server did not accept the WebSocket upgrade."""


class LeanClient(asyncio.Protocol):
    """One ``parley.v1`` connection of the load generator; see the module docstring.

    ``room`` is where :meth:`send_message` posts. Setup commands (``resume``, ``create``) go
    through :meth:`command`, which waits for the reply carrying their ``id``.
    """

    def __init__(
        self, *, index: int, host: str, port: int, token: str, room: str, text: bytes
    ) -> None:
        loop = asyncio.get_running_loop()
        self.index = index
        self.host = host
        self.port = port
        self.token = token
        self.room = room
        self.on_ack: AckCallback | None = None
        self.transport: asyncio.Transport | None = None
        #: Resolved by the ``welcome`` message (the server sends it right after the upgrade).
        self.welcome: asyncio.Future[dict[str, Any]] = loop.create_future()
        #: Sends without their ack yet: ``id`` bytes -> the time handed to send_message.
        self.pending: dict[bytes, float] = {}
        self.sent = 0
        self.acked = 0
        self.events = 0
        self.others = 0
        self.errors: list[str] = []
        self.closing = False
        self._key = base64.b64encode(os.urandom(16))
        self._upgraded = False
        self._head = b""
        self._buf = b""
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._command_ids = 0
        self._ack_countdown = SAMPLE_EVERY
        self._event_countdown = SAMPLE_EVERY
        # Every send frame is these bytes around its id (written twice: as id and as cid).
        self._send_mid = b'","room":"' + room.encode() + b'","text":"' + text + b'","cid":"c'

    # -- sending ---------------------------------------------------------------------------

    def send_message(self, started: float) -> None:
        """Post one message to ``room``; its ack's latency is measured from ``started``."""
        self.sent += 1
        ident = b"%d" % self.sent
        self.pending[ident] = started
        payload = _SEND_HEAD + ident + self._send_mid + ident + b'"}'
        assert self.transport is not None
        self.transport.write(mask_frame(OP_TEXT, payload))

    async def command(self, message: dict[str, Any], within: float = 10.0) -> dict[str, Any]:
        """Send a setup command and return its reply (an ``error`` reply raises)."""
        self._command_ids += 1
        ident = f"setup-{self._command_ids}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[ident] = future
        self._write_json({**message, "id": ident})
        reply = await asyncio.wait_for(future, within)
        if reply.get("type") == "error":
            raise RuntimeError(f"{message['type']} failed: {reply}")
        return reply

    def _write_json(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(mask_frame(OP_TEXT, json.dumps(message).encode()))

    def close(self) -> None:
        """Start the closing handshake and drop the socket once the frame is written."""
        if self.transport is None or self.closing:
            return
        self.closing = True
        self.transport.write(mask_frame(OP_CLOSE, (1000).to_bytes(2, "big")))
        self.transport.close()

    def reset_counts(self) -> None:
        """Start counting acks and events afresh (between benchmark phases)."""
        self.acked = 0
        self.events = 0

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self.transport = transport = cast(asyncio.Transport, transport)
        request = (
            f"GET /ws HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            f"Upgrade: websocket\r\n"
            f"Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self._key.decode()}\r\n"
            f"Sec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n"
            f"Authorization: Bearer {self.token}\r\n"
            f"\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        if not self._upgraded:
            data = self._handshake_response(data)
            if not data:
                return
        buf = self._buf + data if self._buf else data
        now = perf_counter()
        size = len(buf)
        pos = 0
        events = 0
        last_event = -1
        last_event_end = -1
        while size - pos >= 2:
            first = buf[pos]
            length = buf[pos + 1]
            if length < 126:
                start = pos + 2
            elif length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            else:  # the mask bit: servers must not mask (RFC 6455 section 5.1)
                self._fail("the server sent a masked frame")
                return
            stop = start + length
            if stop > size:
                break
            pos = stop
            if first == 0x81:  # a final text frame: every parley.v1 message
                if buf.startswith(_EVENT, start):
                    events += 1
                    last_event = start
                    last_event_end = stop
                elif buf.startswith(_ACK_RE, start):
                    quote = buf.find(b'"', start + _ACK_RE_LEN, stop)
                    self._on_ack(buf[start + _ACK_RE_LEN : quote], now, buf, start, stop)
                else:
                    self._on_message(buf[start:stop])
            else:
                self._on_other_frame(first, buf[start:stop])
                if self.closing:
                    return
        self._buf = buf[pos:] if pos < size else b""
        if events:
            self.events += events
            self._event_countdown -= events
            if self._event_countdown <= 0:
                self._event_countdown = SAMPLE_EVERY
                self._check_event(buf[last_event:last_event_end])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.errors.append(f"connection lost: {exc or 'closed by the server'}")
        self.closing = True
        failure = ConnectionError("connection lost")
        if not self.welcome.done():
            self.welcome.set_exception(failure)
        for future in self._replies.values():
            if not future.done():
                future.set_exception(failure)

    # -- receiving -----------------------------------------------------------------------------

    def _handshake_response(self, data: bytes) -> bytes:
        """Collect the 101 response; return the bytes after it (already WebSocket frames)."""
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HANDSHAKE:
                self._fail("the handshake response is too long")
            return b""
        head, rest = self._head[:end], self._head[end + 4 :]
        self._head = b""
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        problem = None
        if lines[0].split(" ", 2)[1:2] != ["101"]:
            problem = f"expected 101, got {lines[0]!r}"
        elif headers.get("sec-websocket-accept", "").encode() != accept_key(self._key):
            problem = "wrong Sec-WebSocket-Accept"
        elif headers.get("sec-websocket-protocol") != SUBPROTOCOL:
            problem = f"subprotocol {headers.get('sec-websocket-protocol')!r} was chosen"
        if problem is not None:
            self._fail(f"handshake failed: {problem}")
            if not self.welcome.done():
                self.welcome.set_exception(HandshakeFailed(problem))
            return b""
        self._upgraded = True
        return rest

    def _on_ack(self, ident: bytes, now: float, buf: bytes, start: int, stop: int) -> None:
        started = self.pending.pop(ident, None)
        if started is None:
            self.errors.append(f"an ack for no pending send: {buf[start:stop]!r}")
            return
        self.acked += 1
        self._ack_countdown -= 1
        if self._ack_countdown <= 0:
            self._ack_countdown = SAMPLE_EVERY
            self._check_ack(ident, buf[start:stop])
        if self.on_ack is not None:
            self.on_ack(self, started, now)

    def _check_ack(self, ident: bytes, payload: bytes) -> None:
        ack = json.loads(payload)
        ok = (
            ack.get("type") == "ack"
            and ack.get("re") == ident.decode()
            and ack.get("cid") == "c" + ident.decode()
            and ack.get("room") == self.room
            and all(isinstance(ack.get(field), int) for field in ("seq", "mid", "ts"))
        )
        if not ok:
            self.errors.append(f"a malformed ack: {payload!r}")

    def _check_event(self, payload: bytes) -> None:
        event = json.loads(payload)
        ok = (
            event.get("type") == "event"
            and isinstance(event.get("seq"), int)
            and isinstance(event.get("room"), str)
            and isinstance(event.get("kind"), str)
        )
        if not ok:
            self.errors.append(f"a malformed event: {payload!r}")

    def _on_message(self, payload: bytes) -> None:
        """Any other text message: decode it; replies resolve their command."""
        try:
            message = json.loads(payload)
        except ValueError:
            self.errors.append(f"a text frame that is not JSON: {payload[:200]!r}")
            return
        kind = message.get("type")
        re = message.get("re")
        if isinstance(re, str) and re in self._replies:
            future = self._replies.pop(re)
            if not future.done():
                future.set_result(message)
            return
        if kind == "welcome":
            if not self.welcome.done():
                self.welcome.set_result(message)
            return
        if kind == "error":
            if isinstance(re, str):
                self.pending.pop(re.encode(), None)
            self.errors.append(f"the server answered an error: {message}")
            return
        if kind == "ack":  # an ack whose fields are not in the expected order
            self.errors.append(f"an ack in an unexpected layout: {payload[:200]!r}")
            return
        self.others += 1  # presence, typing, room changes ...: not measured

    def _on_other_frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if first & 0x70:
            self._fail(f"reserved bits set in a server frame (first byte {first:#x})")
        elif not first & 0x80 or opcode == 0x0:
            self._fail("a fragmented server frame (this client does not expect fragmentation)")
        elif opcode == OP_PING:
            assert self.transport is not None
            self.transport.write(mask_frame(OP_PONG, payload))
        elif opcode == OP_PONG:
            pass
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.closing:
                self._fail(f"the server closed the connection: {code} {payload[2:]!r}")
        else:
            self._fail(f"an unexpected frame, opcode {opcode:#x}")

    def _fail(self, reason: str) -> None:
        self.errors.append(reason)
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


async def connect(
    *, index: int, host: str, port: int, token: str, room: str, text: bytes, within: float = 10
) -> LeanClient:
    """Open a connection and wait for the server's ``welcome``."""
    loop = asyncio.get_running_loop()

    def factory() -> LeanClient:
        return LeanClient(index=index, host=host, port=port, token=token, room=room, text=text)

    _, client = await asyncio.wait_for(loop.create_connection(factory, host, port), within)
    await asyncio.wait_for(client.welcome, within)
    return client
