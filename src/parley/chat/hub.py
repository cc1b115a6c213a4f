"""This node's local index of rooms: who here receives each room's stream, and where it stands.

A :class:`RoomFeed` exists while the room has local subscribers. It delivers the room's events
to them in ``seq`` order, gap-free, each message prepared once for all of them
(:class:`~parley.peer.PreparedText`: the connections encode it once):

* ``live`` peers are in sync with ``last_seq``: every next event is queued for each of them;
* ``catching`` peers are replaying from the store (see ``Node.stream``) and join ``live``
  at the exact moment their cursor equals ``last_seq``, so no event can fall between the
  replay and the live stream;
* ``guests`` are the tutorial's plain-text clients (lobby only), which get message text only.

Events that arrive ahead of ``last_seq + 1`` wait in ``pending`` until the missing ones come
(from the broker, or from the store when they do not come soon).
"""

from __future__ import annotations

import asyncio

from parley.peer import Peer, PreparedText


class RoomFeed:
    """One room's local stream; see the module docstring."""

    __slots__ = (
        "catching",
        "channel",
        "gap_task",
        "guests",
        "last_seq",
        "live",
        "pending",
        "ready",
        "room_id",
        "waiters",
    )

    def __init__(self, room_id: int, channel: str, ready: asyncio.Future[None]) -> None:
        self.room_id = room_id
        self.channel = channel
        #: Resolved once the broker subscription is active and ``last_seq`` is known.
        self.ready = ready
        self.last_seq = 0
        self.live: dict[Peer, int] = {}  # peer -> its user id
        self.catching: dict[Peer, object] = {}  # peer -> the token of its catch-up
        self.guests: set[Peer] = set()
        self.pending: dict[int, tuple[PreparedText, PreparedText | None]] = {}
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.gap_task: asyncio.Task[None] | None = None

    @property
    def empty(self) -> bool:
        return not (self.live or self.catching or self.guests)

    def deliver(self, seq: int, message: PreparedText, plain: PreparedText | None) -> None:
        """Queue the next event (``seq == last_seq + 1``) for every live peer and guest."""
        self.last_seq = seq
        for peer in self.live:
            peer.send_prepared(message)
        if plain is not None:
            for guest in self.guests:
                guest.send_prepared(plain)
        if self.waiters:
            self._wake_waiters()

    def deliver_transient(self, message: PreparedText, skip_user: int) -> None:
        """Queue a message that is not part of the stream (typing, presence) for live peers."""
        for peer, user_id in self.live.items():
            if user_id != skip_user:
                peer.send_prepared(message)

    def wait_for(self, seq: int) -> asyncio.Future[None]:
        """A future resolved once ``last_seq >= seq``."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.last_seq >= seq:
            future.set_result(None)
        else:
            self.waiters.append((seq, future))
        return future

    def _wake_waiters(self) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for seq, future in self.waiters:
            if future.done():
                continue
            if seq <= self.last_seq:
                future.set_result(None)
            else:
                still.append((seq, future))
        self.waiters = still
