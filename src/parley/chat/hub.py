"""A room's local stream on this node: who here receives it, and the rules of its order.

A :class:`RoomFeed` exists while the room has local subscribers. It is a pure state machine
(no I/O, no event loop: ``tests/chat/test_hub.py`` drives it with plain values); the node
feeds it what the broker and the store bring (:meth:`RoomFeed.start`, :meth:`RoomFeed.offer`)
and it delivers the room's events to its subscribers in ``seq`` order, gap-free, each
message prepared once for all of them (:class:`~parley.peer.PreparedText`: the connections
encode it once).

The order rules:

* Until :meth:`start` tells it the room's ``last_seq`` (read from the store *after* the node
  subscribed to the room's channel), every event is held.
* Then an event is delivered when its seq is ``last_seq + 1``, followed by every held event
  that has become next. An event further ahead is held (there is a gap: the node fills it
  from the store if the broker does not). An event at or below ``last_seq`` is dropped: a
  duplicate, or one the feed already got from the store.

Subscribers:

* ``live`` peers are in sync with ``last_seq``: every next event is queued for each of them;
* ``catching`` peers are replaying from the store (see ``Node.stream``) and join ``live`` at
  the exact moment their cursor equals ``last_seq`` (:meth:`go_live`), so no event can fall
  between the replay and the live stream;
* ``holding`` peers reached the end of their replay during a ``resume`` whose other rooms are
  still replaying: their live events are kept in the connection's :class:`Holding` (bounded)
  until ``resumed`` has been sent, then :meth:`release` makes them live. ``resumed`` thus
  comes after every replayed event and before any live one;
* ``guests`` are the tutorial's plain-text clients (lobby only), which get message text only.

An event that removes a member from the room (a kick, a ban: ``offer(..., removes=user id)``)
is the last one that member's peers receive: right after delivering it, the feed drops them
and calls :attr:`RoomFeed.on_removed`, in the same step, on every node that delivers it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from parley.peer import Peer, PreparedText

#: What a feed delivers for one event: the ``parley.v1`` message, and the plain-text guests'
#: line (None when guests see nothing of it). Prepared once, queued for every subscriber.
FeedItem = tuple[PreparedText, PreparedText | None]


class Holding:
    """The live events kept for one connection while its ``resume`` finishes (see the module
    docstring), in the order they arrived, at most ``limit`` bytes.

    An event that would pass the limit is not kept: its room is let go instead (all of its
    kept events are dropped, and the room is named in :attr:`overflowed`). Nothing is lost:
    the events are in the store, and the resume replays that room again from where its replay
    had reached.
    """

    __slots__ = ("items", "limit", "overflowed", "size")

    def __init__(self, limit: int) -> None:
        self.items: list[tuple[int, PreparedText]] = []
        self.size = 0
        self.limit = limit
        #: Rooms let go since the resume last looked: they must be replayed again.
        self.overflowed: set[int] = set()

    def keep(self, room_id: int, message: PreparedText) -> bool:
        """Keep a live event of ``room_id``; False (and the room let go) if over the limit."""
        size = len(message.payload)
        if self.size + size > self.limit:
            self.forget(room_id)
            self.overflowed.add(room_id)
            return False
        self.items.append((room_id, message))
        self.size += size
        return True

    def forget(self, room_id: int) -> None:
        """Drop what was kept for ``room_id`` (let go, or no longer streamed)."""
        if any(kept == room_id for kept, _ in self.items):
            self.items = [(kept, message) for kept, message in self.items if kept != room_id]
            self.size = sum(len(message.payload) for _, message in self.items)


class Arrival(Enum):
    """What :meth:`RoomFeed.offer` did with an event."""

    DELIVERED = "delivered"  #: it was next: delivered, with the held events it unblocked
    HELD = "held"  #: ahead of a gap, or the feed has not started: held until its turn
    PASSED = "passed"  #: at or below ``last_seq``: dropped


class RoomFeed:
    """One room's local stream; see the module docstring."""

    __slots__ = (
        "_reached",
        "_removals",
        "catching",
        "channel",
        "guests",
        "held",
        "holding",
        "last_seq",
        "live",
        "on_removed",
        "room_id",
        "started",
    )

    def __init__(self, room_id: int, channel: str) -> None:
        self.room_id = room_id
        self.channel = channel
        #: Whether the room's ``last_seq`` is known (see :meth:`start`).
        self.started = False
        self.last_seq = 0
        #: Events that arrived before their turn, by seq.
        self.held: dict[int, FeedItem] = {}
        self.live: dict[Peer, int] = {}  # peer -> its user id
        self.catching: dict[Peer, object] = {}  # peer -> the token of its catch-up
        self.holding: dict[Peer, tuple[int, Holding]] = {}  # peer -> its user id, its holding
        self.guests: set[Peer] = set()
        self._reached: list[tuple[int, Callable[[], None]]] = []
        #: Seq -> the user its event removes from the room (see the module docstring).
        self._removals: dict[int, int] = {}
        #: Called with the user id once an event that removes a member was delivered.
        self.on_removed: Callable[[int], None] | None = None

    # -- the order -------------------------------------------------------------------------

    def start(self, last_seq: int) -> int:
        """The room's ``last_seq`` is known: deliver what was held and is next, drop what it
        passed. Returns the number of deliveries made (one per subscriber per event)."""
        self.started = True
        self.last_seq = last_seq
        return self._release_held()

    def offer(self, seq: int, item: FeedItem, removes: int = 0) -> tuple[Arrival, int]:
        """An event of the room arrived (from the broker, or read from the store): deliver,
        hold or drop it (the module docstring says when). ``removes``: the user the event
        removes from the room (0: none). Returns what was done and the number of deliveries
        made."""
        if seq <= self.last_seq:
            return Arrival.PASSED, 0
        if removes:
            self._removals[seq] = removes
        if not self.started or seq > self.last_seq + 1:
            self.held[seq] = item
            return Arrival.HELD, 0
        return Arrival.DELIVERED, self._deliver(seq, item) + self._release_held()

    @property
    def gap(self) -> bool:
        """Events are held behind a missing one (the node should fill it from the store)."""
        return self.started and bool(self.held)

    @property
    def gap_end(self) -> int:
        """The seq of the newest held event (0 when none is held)."""
        return max(self.held, default=0)

    def when_reached(self, seq: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` once ``last_seq >= seq`` (now, if it already is)."""
        if self.last_seq >= seq:
            callback()
        else:
            self._reached.append((seq, callback))

    def _deliver(self, seq: int, item: FeedItem) -> int:
        self.last_seq = seq
        message, plain = item
        for peer in self.live:
            peer.send_prepared(message)
        delivered = len(self.live)
        if self.holding:
            for peer, (_, holding) in list(self.holding.items()):
                if not holding.keep(self.room_id, message):
                    del self.holding[peer]
        if plain is not None:
            for guest in self.guests:
                guest.send_prepared(plain)
            delivered += len(self.guests)
        if self._reached:
            self._call_reached()
        if self._removals:
            removed = self._removals.pop(seq, 0)
            if removed:
                self._drop_user(removed)
        return delivered

    def _drop_user(self, user_id: int) -> None:
        """The event just delivered removed ``user_id``: their peers get nothing more."""
        for peer in [peer for peer, uid in self.live.items() if uid == user_id]:
            del self.live[peer]
        for peer in [peer for peer, (uid, _) in self.holding.items() if uid == user_id]:
            self._unhold(peer)
        if self.on_removed is not None:
            self.on_removed(user_id)

    def _release_held(self) -> int:
        held = self.held
        delivered = 0
        while held:
            item = held.pop(self.last_seq + 1, None)
            if item is None:
                break
            delivered += self._deliver(self.last_seq + 1, item)
        for seq in [s for s in held if s <= self.last_seq]:
            del held[seq]
        for seq in [s for s in self._removals if s <= self.last_seq]:
            del self._removals[seq]
        return delivered

    def _call_reached(self) -> None:
        due = [callback for seq, callback in self._reached if seq <= self.last_seq]
        self._reached = [(seq, cb) for seq, cb in self._reached if seq > self.last_seq]
        for callback in due:
            callback()

    # -- subscribers -----------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not (self.live or self.catching or self.holding or self.guests)

    def begin_catch_up(self, peer: Peer) -> object:
        """``peer`` (re)starts replaying the room from the store; the token names this
        catch-up (a later one, or :meth:`drop`, ends it)."""
        token = object()
        self.live.pop(peer, None)
        self._unhold(peer)
        self.catching[peer] = token
        return token

    def is_catching_up(self, peer: Peer, token: object) -> bool:
        return self.catching.get(peer) is token

    def go_live(self, peer: Peer, token: object, user_id: int, cursor: int) -> bool:
        """Make ``peer`` live if its replay reached ``last_seq`` (``cursor == last_seq``) and
        this catch-up is still current; the next event delivered reaches it."""
        if cursor != self.last_seq or self.catching.get(peer) is not token:
            return False
        del self.catching[peer]
        self.live[peer] = user_id
        return True

    def hold(self, peer: Peer, token: object, user_id: int, cursor: int, holding: Holding) -> bool:
        """Like :meth:`go_live`, but the events that follow are kept in ``holding`` until
        :meth:`release`."""
        if cursor != self.last_seq or self.catching.get(peer) is not token:
            return False
        del self.catching[peer]
        self.holding[peer] = (user_id, holding)
        return True

    def release(self, peer: Peer) -> bool:
        """A held ``peer`` goes live (its holding's events were sent by the caller, first).
        False if it was not held here (let go, or dropped)."""
        entry = self.holding.pop(peer, None)
        if entry is None:
            return False
        self.live[peer] = entry[0]
        return True

    def _unhold(self, peer: Peer) -> None:
        entry = self.holding.pop(peer, None)
        if entry is not None:
            entry[1].forget(self.room_id)

    def end_catch_up(self, peer: Peer, token: object) -> None:
        """The catch-up ``token`` ended without going live (the peer closed, or was dropped)."""
        if self.catching.get(peer) is token:
            del self.catching[peer]

    def drop(self, peer: Peer) -> None:
        """``peer`` no longer receives the room (live or catching up)."""
        self.live.pop(peer, None)
        self.catching.pop(peer, None)
        self._unhold(peer)

    def deliver_transient(self, message: PreparedText, skip_user: int) -> None:
        """Queue a message that is not part of the stream (typing, presence) for live peers."""
        for peer, user_id in self.live.items():
            if user_id != skip_user:
                peer.send_prepared(message)
