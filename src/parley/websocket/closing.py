"""The closing handshake (RFC 6455 sections 5.5.1 and 7), for both ends, without I/O.

Theory of operation. A connection is ``OPEN`` until a close frame is sent or received, then
``CLOSING`` until its TCP connection is gone, then ``CLOSED``. Three events move it, and
:data:`TRANSITIONS` says for each state what each one does, in one table:

* ``SEND``: we start the handshake (the application closes, the peer broke the protocol, a
  send buffer overflowed). Our close frame carries our code and reason.
* ``RECEIVE``: a close frame arrived. If we had not sent one, the peer started the handshake
  and we answer with a close frame echoing its code (section 5.5.1); if we had, it is the
  answer to ours and the handshake is complete. Either way nothing after it is read.
* ``LOST``: the TCP connection is gone; from ``OPEN``, without any handshake (1006).

A side sends at most one close frame, and sends no data after it (section 5.5.1): the
connections ask :attr:`ClosingHandshake.open` before sending, and answer pings only while
open. What a side does with a data message that arrives after it sent its close frame is
:data:`DELIVER_DATA`: the server's application has ended the conversation (or the client broke
the protocol), so the server drops it; a client hands it out, because the server sent it
before it saw the client's close frame. Who closes the TCP connection is the I/O layer's: the
server does, as soon as the handshake is complete (section 7.1.1); the client waits for that,
for a while.

:class:`ClosingHandshake` keeps one connection's state and returns the payload of each close
frame to send; the caller encodes it for its side (:func:`~parley.websocket.frames.encode_frame`)
and writes it. ``server/connection.py`` and ``client/websocket.py`` both use it.
"""

from __future__ import annotations

from enum import Enum

from parley.websocket.frames import Side, close_payload


class ConnectionState(Enum):
    """Where a connection is in its life after the opening handshake."""

    OPEN = "open"
    CLOSING = "closing"  #: a close frame was sent or received; the TCP connection is not gone
    CLOSED = "closed"  #: the TCP connection is gone


class CloseEvent(Enum):
    """What moves a connection towards ``CLOSED``."""

    SEND = "we send a close frame"
    RECEIVE = "a close frame arrived"
    LOST = "the TCP connection is gone"


OPEN, CLOSING, CLOSED = ConnectionState.OPEN, ConnectionState.CLOSING, ConnectionState.CLOSED
SEND, RECEIVE, LOST = CloseEvent.SEND, CloseEvent.RECEIVE, CloseEvent.LOST

#: (state, event) -> (next state, whether a close frame is sent now).
TRANSITIONS: dict[tuple[ConnectionState, CloseEvent], tuple[ConnectionState, bool]] = {
    (OPEN, SEND): (CLOSING, True),  # we start the handshake
    (OPEN, RECEIVE): (CLOSING, True),  # the peer starts it: echo its code
    (OPEN, LOST): (CLOSED, False),  # dropped without a handshake
    (CLOSING, SEND): (CLOSING, False),  # one close frame per side, ever
    (CLOSING, RECEIVE): (CLOSING, False),  # the answer to ours: the handshake is complete
    (CLOSING, LOST): (CLOSED, False),
    (CLOSED, SEND): (CLOSED, False),
    (CLOSED, RECEIVE): (CLOSED, False),
    (CLOSED, LOST): (CLOSED, False),
}

#: (side, state) -> whether a data message received now goes to the application.
DELIVER_DATA: dict[tuple[Side, ConnectionState], bool] = {
    (Side.SERVER, OPEN): True,
    (Side.SERVER, CLOSING): False,  # the server ended the conversation
    (Side.SERVER, CLOSED): False,
    (Side.CLIENT, OPEN): True,
    (Side.CLIENT, CLOSING): True,  # sent by the server before it saw our close frame
    (Side.CLIENT, CLOSED): False,
}


class ClosingHandshake:
    """One connection's closing handshake; see the module docstring.

    ``delivers_data`` is kept as a plain attribute (the connections read it once per message
    received), updated on every transition from :data:`DELIVER_DATA`.
    """

    __slots__ = ("delivers_data", "received", "sent", "side", "started_here", "state")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.state = OPEN
        self.delivers_data = DELIVER_DATA[side, OPEN]
        #: True when we sent the first close frame; False when the peer did, or nobody did.
        self.started_here = False
        #: The code and reason of the close frame we sent, and of the one we received.
        self.sent: tuple[int, str] | None = None
        self.received: tuple[int, str] | None = None

    def __repr__(self) -> str:
        return f"<ClosingHandshake {self.side.value} {self.state.value}>"

    @property
    def open(self) -> bool:
        """True while data may be sent."""
        return self.state is OPEN

    @property
    def answers_pings(self) -> bool:
        """Whether a ping gets a pong now: only while open (after our close frame we send
        nothing more, section 5.5.1)."""
        return self.state is OPEN

    def send_close(self, code: int, reason: str = "") -> bytes | None:
        """We close with ``code``: the payload of the close frame to send, or None when the
        handshake is already under way (then nothing is sent)."""
        if not self._step(SEND):
            return None
        self.started_here = True
        self.sent = (code, reason)
        return close_payload(code, reason)

    def receive_close(self, code: int, reason: str) -> bytes | None:
        """A close frame arrived: the payload of the echo to send (the same code, no reason),
        or None when it answers ours. The caller reads nothing after it."""
        self.received = (code, reason)
        if not self._step(RECEIVE):
            return None
        self.sent = (code, "")
        return close_payload(code)

    def lost(self) -> ConnectionState:
        """The TCP connection is gone; returns the state it was in (``OPEN``: no handshake at
        all, the connection was lost abnormally; ``CLOSED``: this was already known)."""
        before = self.state
        self._step(LOST)
        return before

    def _step(self, event: CloseEvent) -> bool:
        self.state, send = TRANSITIONS[self.state, event]
        self.delivers_data = DELIVER_DATA[self.side, self.state]
        return send
