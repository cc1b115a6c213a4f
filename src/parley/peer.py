"""What the application layers (echo, chat) need from a client connection.

A structural type, so that ``chat/`` and ``echo.py`` never import the server layer: the
server's :class:`~parley.server.connection.WebSocketConnection` satisfies it, and so can a
test double or a future transport.
"""

from __future__ import annotations

from typing import Protocol

from parley.websocket.codes import CloseCode

__all__ = ["CloseCode", "Peer"]


class Peer(Protocol):
    """One client connection, seen from the application."""

    @property
    def open(self) -> bool:
        """True while messages can be sent."""

    @property
    def remote(self) -> str:
        """The client's address, for logs."""

    def send_frame(self, frame: bytes) -> None:
        """Queue an encoded WebSocket frame (built once, possibly for many peers)."""

    def send_text(self, text: str) -> None:
        """Queue a text message."""

    def send_binary(self, data: bytes) -> None:
        """Queue a binary message."""

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake with ``code``."""

    async def drain(self) -> None:
        """Write what is queued and wait until the client has taken most of it.

        Long replays call this between pages so that a slow client slows the replay down
        instead of overflowing its send buffer.
        """
