"""What :meth:`parley.client.Client.events` yields: typed values, one class per kind.

Room events, presence, typing, read markers and notification levels are the protocol's own
message types (:mod:`parley.protocol.messages`); :class:`Connected`, :class:`Disconnected` and
:class:`Reconnecting` are the client's, so that a program can show the connection's state
without polling it. Room events (:class:`EventMessage`) are delivered exactly once and in
``seq`` order per room, across reconnections; the others are live hints, and an error is a
refusal the server sent without naming a command.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.protocol.messages import (
    Error,
    EventMessage,
    NotifyChanged,
    Presence,
    ProfileChanged,
    RoomChanged,
    TypingNotice,
    Unread,
    Welcome,
)


@dataclass(frozen=True, slots=True)
class Connected:
    """The connection is open and signed in (``reconnected``: not for the first time)."""

    welcome: Welcome
    reconnected: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection dropped; the client reconnects and resumes on its own."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The next attempt to reconnect is in ``delay`` seconds (``error``: why the last failed)."""

    attempt: int
    delay: float
    error: str


ClientEvent = (
    EventMessage
    | Presence
    | TypingNotice
    | RoomChanged
    | Unread
    | NotifyChanged
    | ProfileChanged
    | Error
    | Connected
    | Disconnected
    | Reconnecting
)
