"""What nodes send each other through the broker: one compact, typed envelope.

A room event travels with its ``seq`` (so receivers can order it and detect gaps), the exact
JSON its clients receive (encoded once, by the node that committed it) and, for the lobby,
the line plain-text clients receive. ``origin`` lets a node ignore its own publications,
which it has already delivered locally.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec


class Kind(IntEnum):
    EVENT = 0  #: a stored room event, ordered by seq
    TRANSIENT = 1  #: typing or presence: not stored, delivered to whoever is there now
    NOTICE = 2  #: to one user's connections (membership, read marker, revoked session)
    #: A profile change, once for the whole deployment (``PROFILES_CHANNEL``): each node
    #: tells its own connections that share one of ``rooms`` with ``user``, and ``user``'s.
    PROFILE = 3


class Publication(msgspec.Struct, array_like=True, frozen=True):
    origin: str
    kind: Kind
    #: EVENT: the event's seq. Otherwise 0.
    seq: int
    #: The JSON payload for clients (EVENT, TRANSIENT) or the notice (NOTICE, PROFILE).
    data: bytes
    #: EVENT in the lobby: the text plain-text clients receive.
    plain: str | None = None
    #: TRANSIENT: a user whose own connections must not receive it (the typist). 0: none.
    skip_user: int = 0
    #: Wall-clock time of publication (seconds since the epoch), for the broker-lag metric.
    sent: float = 0.0
    #: EVENT: the user the event removes from the room (a kick, a ban), whose connections
    #: stop receiving the room right after it (``chat/hub.py``). 0: none.
    removes: int = 0
    #: PROFILE: the user whose profile changed, and the ids of their rooms.
    user: int = 0
    rooms: tuple[int, ...] = ()


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Publication)


def pack(publication: Publication) -> bytes:
    return _encoder.encode(publication)


def unpack(data: bytes) -> Publication:
    """Raises msgspec.DecodeError for anything that is not a publication."""
    return _decoder.decode(data)


#: The channel of profile changes: every node subscribes to it for its whole life.
PROFILES_CHANNEL = "profiles"


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"
