"""What the application layers (echo, chat) need from a client connection.

A structural type, so that ``chat/`` and ``echo.py`` never import the server layer nor build
WebSocket frames: the server's :class:`~parley.server.connection.WebSocketConnection`
satisfies it, and so can a test double or a future transport. The application hands over
payloads (text as ``str`` or as UTF-8 ``bytes``, binary, a :class:`PreparedText` for many
peers) and close codes (:class:`~parley.websocket.codes.CloseCode`, re-exported here);
framing, masking and compression are the connection's.
"""

from __future__ import annotations

from typing import Protocol

from parley.websocket.codes import CloseCode

__all__ = ["CloseCode", "Peer", "PreparedText"]


class PreparedText:
    """A text message prepared once to be sent to many peers (a broadcast, a stored event).

    The application makes one per message and hands the same object to each peer's
    :meth:`Peer.send_prepared`. The connection encodes it the first time it is sent and keeps
    the encoding in :attr:`frame`, so a message costs one encoding (and with permessage-deflate
    one compression per setting) however many peers receive it.
    """

    __slots__ = ("frame", "payload")

    def __init__(self, text: str | bytes) -> None:
        #: The message as UTF-8 (``bytes`` are taken to be UTF-8 already, like JSON is).
        self.payload = text.encode() if isinstance(text, str) else text
        #: The encoded frame; set by the connection that sends the message first.
        self.frame: bytes | None = None

    def __repr__(self) -> str:
        return f"<PreparedText {self.payload[:40]!r}>"


class Peer(Protocol):
    """One client connection, seen from the application."""

    @property
    def open(self) -> bool:
        """True while messages can be sent."""

    @property
    def remote(self) -> str:
        """The client's address, for logs."""

    def send_text(self, text: str) -> None:
        """Queue a text message."""

    def send_encoded_text(self, payload: bytes) -> None:
        """Queue a text message given as UTF-8: the chat protocol's JSON, which is encoded to
        bytes, is sent without a decode and an encode."""

    def send_prepared(self, message: PreparedText) -> None:
        """Queue a message prepared for many peers (see :class:`PreparedText`)."""

    def send_binary(self, data: bytes) -> None:
        """Queue a binary message."""

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake with ``code``."""

    async def drain(self) -> None:
        """Write what is queued, then return when the peer's unsent bytes are below the
        high-water mark (``--max-send-buffer``) or the connection is closed.

        Long replays call this between pages so that a slow client slows the replay down
        instead of overflowing its send buffer.
        """

    def hold_reading(self) -> None:
        """Stop reading from this peer until :meth:`release_reading` (holds nest).

        How the application applies backpressure to input: messages already read wait, in
        order, and TCP slows the client down; nothing is dropped.
        """

    def release_reading(self) -> None:
        """Undo one :meth:`hold_reading`."""
