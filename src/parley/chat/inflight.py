"""Input backpressure: how much work a client may have started that the store has not finished.

Reading a message is cheap and storing it is not: a client that sends faster than the store
commits would otherwise make the server queue tasks (and their messages) without bound. So
each connection counts the commands and bytes it has in flight (:class:`InFlight`), and all
the connections of a node share one count of queued store work (:class:`WorkQueue`). Past
either bound the connection stops reading its socket (:meth:`~parley.peer.Peer.hold_reading`)
until enough of its work, or of everyone's, is done; TCP then slows the client down. Nothing
read is dropped and the order of one connection's commands is kept: a hold only delays the
frames after it.

The bounds are soft by one read: the messages of the read that crossed a bound are still
taken (they were already in memory), so one connection can pass its bound by at most one
read's worth, and the queue by one read's worth per connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.peer import Peer


@dataclass(frozen=True, slots=True)
class FlowLimits:
    """The bounds on input not yet handled (flags of ``parley serve``)."""

    #: Commands (guest lines) one connection may have read and not yet finished.
    max_in_flight: int = 32
    #: The bytes of those commands.
    max_in_flight_bytes: int = 1 << 20
    #: Commands all connections of a server may have queued for the store together ...
    max_store_queue: int = 4096
    #: ... and their bytes.
    max_store_queue_bytes: int = 16 << 20


class WorkQueue:
    """The work all connections of a node have in flight; over its bound, every connection
    that adds to it stops reading until it falls to half of it."""

    __slots__ = ("_waiting", "bytes", "commands", "limits")

    def __init__(self, limits: FlowLimits) -> None:
        self.limits = limits
        self.commands = 0
        self.bytes = 0
        self._waiting: set[InFlight] = set()

    @property
    def full(self) -> bool:
        limits = self.limits
        return self.commands >= limits.max_store_queue or self.bytes >= limits.max_store_queue_bytes

    @property
    def _low(self) -> bool:
        limits = self.limits
        return (
            self.commands <= limits.max_store_queue // 2
            and self.bytes <= limits.max_store_queue_bytes // 2
        )

    def _add(self, size: int) -> None:
        self.commands += 1
        self.bytes += size

    def _remove(self, commands: int, size: int) -> None:
        self.commands -= commands
        self.bytes -= size
        if self._waiting and self._low:
            waiting, self._waiting = self._waiting, set()
            for flight in waiting:
                flight._maybe_release()

    def _wait(self, flight: InFlight) -> None:
        self._waiting.add(flight)

    def _forget(self, flight: InFlight) -> None:
        self._waiting.discard(flight)


class InFlight:
    """One connection's commands in flight; holds its reading while over a bound."""

    __slots__ = ("_closed", "_held", "bytes", "commands", "peer", "queue")

    def __init__(self, peer: Peer, queue: WorkQueue) -> None:
        self.peer = peer
        self.queue = queue
        self.commands = 0
        self.bytes = 0
        self._held = False
        self._closed = False

    def start(self, size: int) -> None:
        """A command of ``size`` bytes was read and handed on; call :meth:`finish` when done."""
        if self._closed:
            return
        self.commands += 1
        self.bytes += size
        queue = self.queue
        queue._add(size)
        if self._held:
            return
        limits = queue.limits
        over_own = self.commands >= limits.max_in_flight or self.bytes >= limits.max_in_flight_bytes
        if over_own or queue.full:
            self._held = True
            self.peer.hold_reading()
            if queue.full:
                queue._wait(self)

    def finish(self, size: int) -> None:
        """The command :meth:`start` counted is done (stored, refused or failed)."""
        if self._closed:
            return
        self.commands -= 1
        self.bytes -= size
        self.queue._remove(1, size)
        self._maybe_release()

    def _maybe_release(self) -> None:
        if not self._held or self._closed:
            return
        limits = self.queue.limits
        busy = self.commands > limits.max_in_flight // 2
        if busy or self.bytes > limits.max_in_flight_bytes // 2:
            return
        if self.queue.full:
            self.queue._wait(self)
            return
        self._held = False
        self.peer.release_reading()

    def close(self) -> None:
        """The connection is gone: what it had in flight no longer counts (its tasks may
        still finish; :meth:`finish` then does nothing)."""
        if self._closed:
            return
        self._closed = True
        self.queue._forget(self)
        self.queue._remove(self.commands, self.bytes)
        self.commands = self.bytes = 0
