"""What can go wrong for a client, as exceptions that carry a one-line explanation.

Every exception here derives from :class:`ClientError`, whose ``str()`` is a complete sentence
fit for a terminal (``parley connect`` prints exactly that, never a traceback). They are split
by what the caller can do about it: retry later (:class:`ConnectError`,
:class:`ConnectionClosed` with a retriable code), fix credentials (:class:`AuthError`), fix the
request (:class:`CommandError`), or nothing (:class:`HandshakeRefused` for a server that is not
what the URL promised).
"""

from __future__ import annotations

from parley.websocket.codes import CloseCode

#: Close codes after which a client should reconnect (docs/architecture.md, "Close codes").
RETRIABLE_CLOSE_CODES = frozenset(code for code in CloseCode if code.retriable)


def describe_close(code: int, reason: str = "") -> str:
    """``1001 (going away): server shutting down`` — a close code people can read."""
    known = CloseCode.lookup(code)
    text = f"{code} ({known.label})" if known is not None else str(code)
    return f"{text}: {reason}" if reason else text


class ClientError(Exception):
    """Base of every client error; ``str(error)`` is one line for people."""


class ConnectError(ClientError):
    """The server could not be reached (DNS, refused, timeout, TLS)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot connect to {url}: {reason}")
        self.url = url
        self.reason = reason


class HandshakeRefused(ClientError):
    """The server answered the upgrade request with something other than a valid ``101``.

    ``status`` is the HTTP status (0 when the answer was not HTTP), ``reason`` the server's
    one-line explanation (Parley's JSON ``message``, or the status phrase).
    """

    def __init__(self, status: int, phrase: str, reason: str, *, hint: str = "") -> None:
        shown = f"{status} {phrase}".strip() if status else "no HTTP response"
        detail = "" if reason == phrase else f": {reason}"
        message = f"the server refused the WebSocket handshake: {shown}{detail}"
        if status == 101:
            message = f"invalid WebSocket handshake response: {reason}"
        super().__init__(message + (f" ({hint})" if hint else ""))
        self.status = status
        self.phrase = phrase
        self.reason = reason


class AuthError(ClientError):
    """Signing in failed, or the server ended the session (close code 1008). Reconnecting with
    the same credentials cannot help."""


class ConnectionClosed(ClientError):
    """The WebSocket is closed; ``code`` and ``reason`` are the close frame's (1006 when the
    connection dropped without one)."""

    def __init__(self, code: int, reason: str = "", *, by_server: bool = True) -> None:
        who = "the server closed the connection" if by_server else "connection closed"
        if code == CloseCode.ABNORMAL:
            who = "connection lost"
        super().__init__(f"{who}: {describe_close(code, reason)}")
        self.code = code
        self.reason = reason

    @property
    def retriable(self) -> bool:
        return self.code in RETRIABLE_CLOSE_CODES


class ConnectionLost(ClientError):
    """The connection dropped before the server answered a command that is not safe to repeat
    (edit, delete, leave ...): it may or may not have been applied."""


class CommandError(ClientError):
    """The server refused a command with an ``error`` reply (``code`` from
    :class:`parley.protocol.errors.ErrorCode`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ClientClosed(ClientError):
    """The client was closed (by :meth:`Client.close`) while the operation waited."""

    def __init__(self) -> None:
        super().__init__("the client is closed")
