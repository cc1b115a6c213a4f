"""Error codes of the ``parley.v1`` protocol.

An error event never closes the connection: the client may correct itself and go on. Close
codes are for the WebSocket protocol itself, for failed authentication and for the server's
own life cycle: they are :class:`parley.websocket.codes.CloseCode`, which also says whether
the client should reconnect.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` event, by whose fault and what to do."""

    BAD_REQUEST = "bad_request"  #: malformed JSON, unknown type, missing or mistyped field
    UNAUTHORIZED = "unauthorized"  #: not signed in, or the token is not valid
    FORBIDDEN = "forbidden"  #: not allowed, or the room is private and not yours
    NOT_FOUND = "not_found"  #: no such room, user or message
    CONFLICT = "conflict"  #: the name is taken
    TOO_LARGE = "too_large"  #: the text is over the server's limit
    RATE_LIMITED = "rate_limited"  #: slow down; the command was not executed
    #: a per-user quota (rooms created, invitations received) is used up; nothing was done
    LIMIT_REACHED = "limit_reached"
    BANNED = "banned"  #: you are banned from the room (join), or the user is (invite)
    MUTED = "muted"  #: you are muted in the room until the end the ``mute`` event gave
    UNAVAILABLE = "unavailable"  #: the server cannot store it now; retry later (same cid)
    INTERNAL = "internal"  #: a bug on the server; it was logged


class ProtocolError(Exception):
    """A command the server refuses; becomes an ``error`` event for the client."""

    def __init__(self, code: ErrorCode, message: str, re: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.re = re
