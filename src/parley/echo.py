"""The tutorial's echo server (``index.js``), as ``parley echo``.

Each text message ``m`` is answered with ``We received your m``; a binary message gets the
same prefix as binary. ``--verbatim`` instead sends every message back unchanged and of the
same type: the conformance echo server that WebSocket client test suites expect.
"""

from __future__ import annotations

import logging

from parley.peer import Peer

log = logging.getLogger("parley.echo")

REPLY_PREFIX = "We received your "


class EchoHandler:
    """Answers every message on the connection it was given."""

    __slots__ = ("verbatim",)

    def __init__(self, *, verbatim: bool = False) -> None:
        self.verbatim = verbatim

    def on_open(self, conn: Peer) -> None:
        log.info("Client connected")

    def on_text(self, conn: Peer, text: str) -> None:
        conn.send_text(text if self.verbatim else REPLY_PREFIX + text)

    def on_binary(self, conn: Peer, data: bytes) -> None:
        conn.send_binary(data if self.verbatim else REPLY_PREFIX.encode() + data)

    def on_closed(self, conn: Peer) -> None:
        log.info("Client disconnected")
