"""The tutorial's plain-text clients (a WebSocket without a subprotocol), as guests in the lobby.

Each text message a guest sends is stored as a ``message`` event of ``lobby`` and delivered,
verbatim and as text, to every plain-text connection, the sender included, in the order the
server received the messages (the tutorial's ``app.js``), and to ``parley.v1`` clients as a
message from the guest (named ``guest-xxxx``). Messages of signed-in users in the lobby reach
guests as ``name: text``. Guests get no history: like the tutorial, they see what is said
while they are connected.

Deliberate changes from the tutorial: a binary message is refused with close code 1003
(this mode is defined by text, and a silent conversion would hide a client bug); a message
longer than the server's text limit closes with 1009, one that breaks the text policy
(``protocol/text.py``: control characters, invisible reordering characters) with 1007; when
the database cannot store a message the guest is closed with 1013 (try again later) rather
than being told nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from parley.chat.node import Node
from parley.chat.ratelimit import RateLimit, TokenBucket
from parley.peer import CloseCode, Peer
from parley.protocol.text import text_problem
from parley.store.base import StoreError

log = logging.getLogger("parley.guests")


class Guests:
    """The handler of every plain-text connection."""

    def __init__(self, node: Node, *, max_text: int, rate: RateLimit | None = None) -> None:
        self.node = node
        self.max_text = max_text
        self.rate = rate or RateLimit()
        self.names: dict[Peer, str] = {}
        self._ready: dict[Peer, asyncio.Task[None]] = {}
        self._buckets: dict[Peer, TokenBucket] = {}

    def on_open(self, conn: Peer) -> None:
        self.names[conn] = f"guest-{secrets.token_hex(2)}"
        self._buckets[conn] = TokenBucket(self.rate)
        log.info("Client connected")
        self._ready[conn] = asyncio.create_task(self.node.add_guest(conn))

    def on_text(self, conn: Peer, text: str) -> None:
        bucket = self._buckets[conn]
        if not bucket.take():
            # A guest cannot receive error events: over the limit its messages are dropped,
            # and a guest that keeps flooding is disconnected.
            self.node.stats.rate_limited += 1
            if bucket.abusive:
                conn.close(CloseCode.RATE_LIMITED, "too many messages")
            return
        problem = text_problem(text, what="a message")
        if problem is not None:
            conn.close(CloseCode.INVALID_DATA, problem)
            return
        if len(text) > self.max_text:
            reason = f"messages are limited to {self.max_text} characters"
            conn.close(CloseCode.MESSAGE_TOO_BIG, reason)
            return
        # The name and readiness are taken now: a message received before the guest left is
        # still delivered, as the tutorial's server would.
        self.node.spawn(self._post(conn, self.names[conn], self._ready[conn], text))

    async def _post(self, conn: Peer, name: str, ready: asyncio.Task[None], text: str) -> None:
        await asyncio.shield(ready)
        try:
            appended = await self.node.store.post_message(self.node.lobby_id, None, name, text)
        except StoreError:
            log.warning("could not store a guest message; closing that guest")
            conn.close(CloseCode.TRY_AGAIN_LATER, "the server cannot store messages now")
            return
        self.node.publish_event(appended.event)

    def on_binary(self, conn: Peer, data: bytes) -> None:
        conn.close(CloseCode.UNSUPPORTED_DATA, "plain-text mode accepts text messages only")

    def on_closed(self, conn: Peer) -> None:
        self.names.pop(conn, None)
        self._ready.pop(conn, None)
        self._buckets.pop(conn, None)
        self.node.remove_guest(conn)
        log.info("Client disconnected")
