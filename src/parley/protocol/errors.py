"""Error codes of the ``parley.v1`` protocol and the close codes Parley uses.

An error event never closes the connection: the client may correct itself and go on. Close
codes are for the WebSocket protocol itself, for failed authentication and for the server's
own life cycle; each says whether the client should reconnect.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` event, by whose fault and what to do."""

    BAD_REQUEST = "bad_request"  #: malformed JSON, unknown type, missing or mistyped field
    UNAUTHORIZED = "unauthorized"  #: not signed in, or the token is not valid
    FORBIDDEN = "forbidden"  #: not allowed, or the room is private and not yours
    NOT_FOUND = "not_found"  #: no such room, user or message
    CONFLICT = "conflict"  #: the name is taken
    TOO_LARGE = "too_large"  #: the text is over the server's limit
    RATE_LIMITED = "rate_limited"  #: slow down; the command was not executed
    UNAVAILABLE = "unavailable"  #: the server cannot store it now; retry later (same cid)
    INTERNAL = "internal"  #: a bug on the server; it was logged


class ProtocolError(Exception):
    """A command the server refuses; becomes an ``error`` event for the client."""

    def __init__(self, code: ErrorCode, message: str, re: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.re = re


class Close(IntEnum):
    """Close codes; see docs/protocol.md for which ones mean "reconnect"."""

    NORMAL = 1000  #: the client or server is done; do not reconnect
    GOING_AWAY = 1001  #: server shutdown or restart; reconnect (possibly elsewhere) and resume
    PROTOCOL_ERROR = 1002  #: the client broke RFC 6455; fix the client
    UNSUPPORTED_DATA = 1003  #: binary data where text is required
    INVALID_DATA = 1007  #: text that is not UTF-8
    POLICY = 1008  #: authentication failed, timed out or the session was revoked; sign in again
    TOO_BIG = 1009  #: a message over the size limit
    INTERNAL = 1011  #: a bug on the server; reconnect after a delay
    TRY_AGAIN_LATER = 1013  #: the server is overloaded or its database is down; reconnect later
    TOO_SLOW = 4001  #: the client did not read and its send buffer filled; reconnect and resume
    RATE_LIMITED = 4003  #: sustained flooding after rate_limited errors; reconnect after a delay
