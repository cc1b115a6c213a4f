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

Flow control, since a guest cannot be sent an error: nothing a guest sent is dropped.

* **Rate limit: slowed, not refused.** Every message charges the guest's own bucket and the
  bucket of its address (so that 200 guest connections from one address share one
  ``--guest-ip-rate``); when either is in debt, the message is still taken but the socket is
  not read again until the debt is paid (:meth:`~parley.chat.ratelimit.TokenBucket.charge`).
  Only a guest that keeps its socket saturated, throttled without a break for
  ``max_throttle`` seconds, is closed with 4003.
* **Store backpressure.** Messages being stored count as the connection's work in flight
  (``chat/inflight.py``): past its bound, or the node's, the socket is not read until the
  store catches up.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from parley.chat.inflight import InFlight
from parley.chat.node import Node
from parley.chat.ratelimit import BucketTable, RateLimit, TokenBucket
from parley.peer import CloseCode, Peer
from parley.protocol.text import text_problem
from parley.store.base import NotPermitted, StoreError

log = logging.getLogger("parley.guests")


@dataclass(frozen=True, slots=True)
class GuestLimits:
    """How fast guests may post (flags of ``parley serve``)."""

    #: Messages per second of one guest connection (``--rate-limit``/``--rate-burst``).
    rate: RateLimit = field(default_factory=RateLimit)
    #: Messages per second of all the guests of one address (``--guest-ip-rate``).
    per_address: RateLimit = field(default_factory=lambda: RateLimit(rate=20.0, burst=60))
    #: Seconds a guest may be throttled without a break before it is closed with 4003.
    max_throttle: float = 30.0


class _Guest:
    """What the handler keeps per guest connection."""

    __slots__ = ("bucket", "flight", "name", "ready", "resume", "throttled_since")

    def __init__(self, name: str, bucket: TokenBucket, flight: InFlight) -> None:
        self.name = name
        self.bucket = bucket
        self.flight = flight
        self.ready: asyncio.Task[None] | None = None
        #: When the guest was first throttled, in the current unbroken run of throttling.
        self.throttled_since: float | None = None
        #: The timer that reads the guest's socket again after a throttle.
        self.resume: asyncio.TimerHandle | None = None


class Guests:
    """The handler of every plain-text connection."""

    def __init__(
        self,
        node: Node,
        *,
        max_text: int,
        rate: RateLimit | None = None,
        limits: GuestLimits | None = None,
    ) -> None:
        self.node = node
        self.max_text = max_text
        self.limits = limits or GuestLimits(rate=rate or RateLimit())
        self.rate = self.limits.rate
        self.names: dict[Peer, str] = {}
        self._guests: dict[Peer, _Guest] = {}
        #: Buckets of guests' addresses, kept after their connections close (until full).
        self._addresses: BucketTable[str] = BucketTable(self.limits.per_address)

    def on_open(self, conn: Peer) -> None:
        name = f"guest-{secrets.token_hex(2)}"
        self.names[conn] = name
        guest = _Guest(name, TokenBucket(self.rate), InFlight(conn, self.node.work))
        self._guests[conn] = guest
        log.info("Client connected")
        guest.ready = asyncio.create_task(self.node.add_guest(conn))
        guest.ready.add_done_callback(lambda task: self._added(conn, task))

    def _added(self, conn: Peer, task: asyncio.Task[None]) -> None:
        """Joining the lobby's feed failed (the store went away, e.g. at shutdown): the guest
        is told to come back later, as when a message cannot be stored, and the failure is
        retrieved here even for a guest that never sends (no orphaned task exception)."""
        if task.cancelled() or (error := task.exception()) is None:
            return
        if isinstance(error, StoreError):
            log.warning("could not add a guest to the lobby (%s); closing that guest", error)
            conn.close(CloseCode.TRY_AGAIN_LATER, "the server cannot store messages now")
        else:
            log.error("could not add a guest to the lobby", exc_info=error)
            conn.close(CloseCode.INTERNAL_ERROR, "internal error")

    def on_text(self, conn: Peer, text: str) -> None:
        guest = self._guests.get(conn)
        if guest is None:
            return
        problem = text_problem(text, what="a message")
        if problem is not None:
            conn.close(CloseCode.INVALID_DATA, problem)
            return
        if len(text) > self.max_text:
            reason = f"messages are limited to {self.max_text} characters"
            conn.close(CloseCode.MESSAGE_TOO_BIG, reason)
            return
        flooding = self._throttle(conn, guest)
        # The name and readiness are taken now: a message received before the guest left is
        # still delivered, as the tutorial's server would. So is the one that ends a flood:
        # every message the server read is posted.
        assert guest.ready is not None
        size = len(text)
        guest.flight.start(size)
        self.node.spawn(self._post(conn, guest, text, size))
        if flooding:
            log.info(
                "disconnecting a guest that kept flooding",
                extra={"event": "rate_limit_close", "remote": conn.remote},
            )
            conn.close(CloseCode.RATE_LIMITED, "too many messages")

    def _throttle(self, conn: Peer, guest: _Guest) -> bool:
        """Charge the guest's buckets; over the rate, hold its reading until they refill.
        True when the guest has been throttled without a break for longer than allowed."""
        own = guest.bucket.charge()
        shared = self._addresses.get(conn.remote).charge()
        wait = max(own, shared)
        now = time.monotonic()
        if wait <= 0.0:
            guest.throttled_since = None
            return False
        self.node.stats.rate_limited += 1
        if guest.throttled_since is None:
            guest.throttled_since = now
        elif now - guest.throttled_since > self.limits.max_throttle:
            return True
        if guest.resume is None:
            conn.hold_reading()
            loop = asyncio.get_running_loop()
            guest.resume = loop.call_later(wait, self._resume, conn, guest)
        return False

    def _resume(self, conn: Peer, guest: _Guest) -> None:
        guest.resume = None
        conn.release_reading()

    async def _post(self, conn: Peer, guest: _Guest, text: str, size: int) -> None:
        try:
            assert guest.ready is not None
            try:
                await asyncio.shield(guest.ready)  # its failure is handled by _added
                appended = await self.node.store.post_message(
                    self.node.lobby_id, None, guest.name, text
                )
            except NotPermitted:  # the lobby is an announcement room (permissions.py)
                conn.close(CloseCode.POLICY_VIOLATION, "only moderators may post in the lobby")
                return
            except StoreError:
                log.warning("could not store a guest message; closing that guest")
                conn.close(CloseCode.TRY_AGAIN_LATER, "the server cannot store messages now")
                return
            self.node.publish_event(appended.event)
        finally:
            guest.flight.finish(size)

    def on_binary(self, conn: Peer, data: bytes) -> None:
        conn.close(CloseCode.UNSUPPORTED_DATA, "plain-text mode accepts text messages only")

    def on_closed(self, conn: Peer) -> None:
        self.names.pop(conn, None)
        guest = self._guests.pop(conn, None)
        if guest is not None:
            guest.flight.close()
            if guest.resume is not None:
                guest.resume.cancel()
        self.node.remove_guest(conn)
        log.info("Client disconnected")
