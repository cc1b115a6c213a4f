"""The tutorial's plain-text chat (``app.js``): a client that speaks no subprotocol.

Every text message a plain-text client sends is delivered verbatim, as text, to every open
plain-text connection, the sender included, in the order the server received the messages.
The frame is built once and the same bytes are queued for every connection.

One deliberate change from the tutorial: a binary message is refused with close code 1003
(unsupported data) instead of being relayed as text, because this mode is defined by text and
a silent conversion would hide a client bug.
"""

from __future__ import annotations

import logging

from parley.peer import Peer
from parley.websocket.frames import CloseCode, encode_text

log = logging.getLogger("parley.plaintext")


class PlainTextChat:
    """The set of plain-text connections and the broadcast between them."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        self.members: set[Peer] = set()

    def on_open(self, conn: Peer) -> None:
        self.members.add(conn)
        log.info("Client connected")

    def on_text(self, conn: Peer, text: str) -> None:
        frame = encode_text(text)
        for member in self.members:
            member.send_frame(frame)

    def on_binary(self, conn: Peer, data: bytes) -> None:
        conn.close(CloseCode.UNSUPPORTED_DATA, "plain-text mode accepts text messages only")

    def on_closed(self, conn: Peer) -> None:
        self.members.discard(conn)
        log.info("Client disconnected")
